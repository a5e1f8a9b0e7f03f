"""Markdown is rendered once and sanitised by nh3: nothing executable survives."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from forum.rendering import ALLOWED_TAGS, ALLOWED_URL_SCHEMES, render_markdown, sanitise


class _Audit(HTMLParser):
    """Collects every tag, attribute and URL scheme that reached the output."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.schemes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            self.attributes.add(name)
            if name in ("href", "src", "action", "formaction") and value:
                self.schemes.add(urlsplit(value.strip()).scheme.lower())


def _audit(html: str) -> _Audit:
    audit = _Audit()
    audit.feed(html)
    return audit


def test_markdown_renders_emphasis_lists_and_quotes() -> None:
    html = render_markdown("**bold** and *soft*\n\n- one\n- two\n\n> quoted")
    assert "<strong>bold</strong>" in html
    assert "<em>soft</em>" in html
    assert "<li>one</li>" in html
    assert "<blockquote>" in html


def test_links_get_nofollow_ugc_noopener() -> None:
    html = render_markdown("[a guide](https://example.org/guide)")
    assert 'rel="nofollow ugc noopener"' in html


def test_raw_html_and_script_urls_do_not_survive() -> None:
    html = render_markdown("<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>")
    assert "<script" not in html
    assert 'href="javascript' not in html
    assert "<img" not in html


def test_headings_are_shifted_below_the_page_heading() -> None:
    assert render_markdown("# Big").startswith("<h3>")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_sanitising_twice_changes_nothing(text: str) -> None:
    once = render_markdown(text)
    assert sanitise(once) == once


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "<script>",
                "</script>",
                "<img src=x onerror=alert(1)>",
                "javascript:",
                "[l](javascript:x)",
                "<svg onload=alert(1)>",
                '"',
                "'",
                "<",
                ">",
                "&",
                "data:text/html,",
                "`",
                "*",
                "[",
                "](",
                ")",
                "\n",
                "<a href='vbscript:x'>",
                "<iframe src=//e>",
                "text",
                " ",
            ]
        ),
        max_size=30,
    ).map("".join)
)
def test_nothing_dangerous_ever_comes_out(text: str) -> None:
    audit = _audit(render_markdown(text))
    assert audit.tags <= ALLOWED_TAGS
    assert not {name for name in audit.attributes if name.startswith("on")}
    assert audit.schemes <= ALLOWED_URL_SCHEMES | {""}
