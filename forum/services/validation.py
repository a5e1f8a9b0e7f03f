"""Text checks every service applies before it writes anything."""

from __future__ import annotations

import re
import unicodedata

from forum.services.errors import invalid

# Control characters other than tab, newline and carriage return have no place in writing
# and are a classic way to smuggle content past filters.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(field: str, value: object, *, max_len: int, min_len: int = 0, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise invalid(field, "Must be text.")
    if "\x00" in value:
        raise invalid(field, "Contains a null byte.")
    if _CONTROL.search(value):
        raise invalid(field, "Contains control characters.")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise invalid(field, "Contains invalid characters.")
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    if required and not text:
        raise invalid(field, "Can't be empty.")
    if len(text) < min_len and (required or text):
        raise invalid(field, f"Must be at least {min_len} characters.")
    if len(text) > max_len:
        raise invalid(field, f"Must be at most {max_len:,} characters.")
    return text


def clean_single_line(field: str, value: object, *, max_len: int, min_len: int = 0, required: bool = True) -> str:
    text = clean_text(field, value, max_len=max_len, min_len=min_len, required=required)
    if "\n" in text or "\t" in text:
        raise invalid(field, "Must be a single line.")
    return text
