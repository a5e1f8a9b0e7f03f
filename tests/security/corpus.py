"""The XSS corpus (../shared/corpora/xss relative to the repo root) and an HTML audit that uses a real parser."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = Path(os.environ.get("FORUM_XSS_CORPUS", ROOT.parent / "shared" / "corpora" / "xss"))

# Our own payloads: if any of these runs, it sets a flag the browser test reads, even without a dialog.
CANARY_FLAG = "__hearthInjected"
CANARIES = [
    f"<script>window.{CANARY_FLAG}=1</script>",
    f'<img src=x onerror="window.{CANARY_FLAG}=1">',
    f"<svg onload=window.{CANARY_FLAG}=1>",
    f"[click me](javascript:window.{CANARY_FLAG}=1)",
    f'<a href="javascript:window.{CANARY_FLAG}=1">x</a>',
    f'<iframe srcdoc="<script>parent.{CANARY_FLAG}=1</script>"></iframe>',
    f'"><script>window.{CANARY_FLAG}=1</script>',
    f"'-alert(1)-'\"><img src=x onerror=window.{CANARY_FLAG}=1>",
    f"![x](javascript:window.{CANARY_FLAG}=1)",
    f'<details open ontoggle="window.{CANARY_FLAG}=1">',
]


def load_corpus() -> list[str]:
    """Every non-empty payload once, in file order, plus the canaries; skips (fails in CI) without the corpus."""
    files = sorted(CORPUS_DIR.glob("*.txt")) if CORPUS_DIR.is_dir() else []
    if not files:
        message = f"XSS corpus not found at {CORPUS_DIR} (expected ../shared/corpora/xss next to the repo)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + ": CI requires it", pytrace=False)
        pytest.skip(message + ": the injection corpus tests are skipped on this machine")
    seen: dict[str, None] = {}
    for path in files:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip():
                seen.setdefault(line, None)
    return [*seen, *CANARIES]


_DANGEROUS_SCHEME = re.compile(r"^(javascript|data|vbscript):", re.IGNORECASE)
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f]+")
# Attributes a browser only ever shows as text; every other attribute is checked for script and data URLs.
TEXT_ATTRIBUTES = frozenset({"value", "placeholder", "alt", "title", "aria-label", "aria-description"})
FORBIDDEN_TAGS = frozenset(
    {"iframe", "frame", "frameset", "object", "embed", "applet", "base", "svg", "math", "style", "noscript",
     "template", "portal", "xmp", "plaintext", "listing"}
)  # fmt: skip


class PageAudit(HTMLParser):
    """What a page would let a browser execute: inline or foreign scripts, handlers, script URLs, styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check_element(tag, dict(attrs))
        for name, value in attrs:
            self._check_attribute(tag, name, value or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in_script = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline script: {data.strip()[:80]!r}")

    def _check_element(self, tag: str, attrs: dict[str, str | None]) -> None:
        if tag == "script":
            self._in_script = True
            src = attrs.get("src") or ""
            if not src.startswith("/static/"):
                self.problems.append(f"script element not from /static/: {attrs!r}"[:160])
        elif tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}> element")
        elif tag == "meta" and "http-equiv" in attrs and (attrs["http-equiv"] or "").lower() == "refresh":
            self.problems.append("meta refresh")
        elif tag == "link" and not (attrs.get("href") or "").startswith("/static/"):
            self.problems.append(f"foreign <link>: {attrs!r}"[:160])

    def _check_attribute(self, tag: str, name: str, value: str) -> None:
        if name.startswith("on"):
            self.problems.append(f"<{tag} {name}=...> event handler")
        elif name in ("style", "srcdoc", "formaction"):
            self.problems.append(f"<{tag} {name}=...>")
        if name not in TEXT_ATTRIBUTES and _DANGEROUS_SCHEME.match(_IGNORED_IN_URL.sub("", value)):
            self.problems.append(f"<{tag} {name}={value[:60]!r}> script or data URL")


def audit_html(html: str) -> list[str]:
    audit = PageAudit()
    try:
        audit.feed(html)
        audit.close()
    except AssertionError as error:  # html.parser gives up on some malformed markup: never expected in our pages
        audit.problems.append(f"markup the parser cannot read: {error}")
    return audit.problems
