"""The IPT guides: Markdown files with front matter, loaded and rendered once per process."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

import frontmatter

from forum.rendering import render_page_markdown

GUIDES_DIR = Path(__file__).parent / "content" / "guides"


@dataclass(frozen=True)
class Guide:
    slug: str
    title: str
    summary: str
    areas: tuple[str, ...]
    practice: str
    prompts: tuple[str, ...]
    body_html: str


@lru_cache(maxsize=1)
def all_guides() -> dict[str, Guide]:
    guides = {}
    for path in sorted(GUIDES_DIR.glob("*.md")):
        post = frontmatter.load(str(path))
        slug = str(post.get("slug", path.stem))
        guides[slug] = Guide(
            slug=slug,
            title=str(post["title"]),
            summary=str(post.get("summary", "")),
            areas=tuple(str(area) for area in _as_list(post.get("areas"))),
            practice=str(post.get("practice", "")),
            prompts=tuple(str(prompt) for prompt in _as_list(post.get("prompts"))),
            body_html=render_page_markdown(post.content),
        )
    return guides


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def get_guide(slug: str) -> Guide | None:
    return all_guides().get(slug)


GUIDES_PER_THREAD = 2


def suggested_for_threads(screenings: Iterable[tuple[int, int, str | None, str | None]]) -> dict[int, list[Guide]]:
    """thread id -> the guides its opening post's latest screening suggests (queries.OPENING_SCREENINGS rows,
    in any order), or those of the area it found when it named none."""
    found: dict[int, list[Guide]] = {}
    for thread_id, _, area, slugs in sorted(screenings, key=itemgetter(1)):  # the latest screening wins
        guides = existing_guides(json.loads(slugs or "[]"))
        found[thread_id] = (guides or guides_for_area(area))[:GUIDES_PER_THREAD]
    return found


def existing_guides(slugs: Iterable[object]) -> list[Guide]:
    """The guides these slugs name, skipping any no longer published (a screening or session may be older)."""
    return [guide for guide in (get_guide(str(slug)) for slug in slugs) if guide is not None]


def guides_for_area(area: str | None) -> list[Guide]:
    if area is None:
        return []
    return [guide for guide in all_guides().values() if area in guide.areas]
