"""Markdown -> HTML -> sanitised HTML. Done once at write time; pages show the stored result."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
        "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "details", "summary",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"


@lru_cache(maxsize=2)
def _markdown(shift_headings: bool = True) -> MarkdownIt:
    # Raw HTML off: a post is Markdown, never markup; nh3 is the second wall, not the first.
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    if shift_headings:
        # Headings inside a post would compete with the page's own; shift them down to h3 and below.
        md.add_render_rule("heading_open", _heading_open)
        md.add_render_rule("heading_close", _heading_close)
    md.add_render_rule("image", _image)
    return md


def _shifted(tag: str) -> str:
    level = min(int(tag[1]) + 2, 6)
    return f"h{level}"


def _heading_open(self, tokens, idx, options, env):  # type: ignore[no-untyped-def]
    return f"<{_shifted(tokens[idx].tag)}>"


def _heading_close(self, tokens, idx, options, env):  # type: ignore[no-untyped-def]
    return f"</{_shifted(tokens[idx].tag)}>\n"


def _image(self, tokens, idx, options, env):  # type: ignore[no-untyped-def]
    # No <img>: a remote image would tell its host who read the post, and when. Its words stay, as a link the
    # reader can choose to follow (the cleaner gives it the rel of every other link, and drops a bad scheme).
    alt = self.renderInlineAsText(tokens[idx].children, options, env).strip()
    label = escapeHtml(f"[image: {alt}]" if alt else "[image]")
    if _inside_link(tokens, idx):
        return label  # a link within a link is not HTML; the outer one already leads somewhere
    return f'<a href="{escapeHtml(tokens[idx].attrGet("src") or "")}">{label}</a>'


def _inside_link(tokens: Sequence[Token], idx: int) -> bool:
    depth = 0
    for token in tokens[:idx]:
        depth += {"link_open": 1, "link_close": -1}.get(token.type, 0)
    return depth > 0


@lru_cache(maxsize=2)
def _cleaner(page_headings: bool = False) -> nh3.Cleaner:
    # Built once: nh3.clean(html, **options) builds the same sanitiser on every call, which cost four
    # times the cleaning itself on a chat message. A page's own Markdown (a guide) may have h2 sections.
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS) | ({"h2"} if page_headings else set()),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def sanitise(html: str) -> str:
    return _cleaner().clean(html)


def render_markdown(text: str) -> str:
    return sanitise(_markdown().render(text))


def render_page_markdown(text: str) -> str:
    """Markdown that is a page's own content (a guide): its ## headings are the page's sections (h2),
    under the page's h1, not shifted down as a post's are."""
    return _cleaner(page_headings=True).clean(_markdown(shift_headings=False).render(text))


def quote_markdown(author: str, body_md: str) -> str:
    """Markdown that quotes a post, for the reply box."""
    quoted = "\n".join(f"> {line}" if line else ">" for line in body_md.splitlines())
    return f"**{author}** wrote:\n\n{quoted}\n\n"
