"""The IPT guide library, and the guide suggestions shown on boards, beside threads and after posting."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, abort, g, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import bindparam, select
from sqlalchemy.orm import aliased

from forum import queries
from forum.guides import Guide, all_guides, get_guide, guides_for_area
from forum.models import Board, Post, ScreeningRecord, Thread

bp = Blueprint("guides", __name__, url_prefix="/guides")

AREA_NAMES = {
    "grief": "Grief and loss",
    "role_transitions": "Role transitions",
    "disputes": "Interpersonal disputes",
    "deficits": "Loneliness and connection",
}
GUIDES_PER_THREAD = 2


@bp.get("/")
def index() -> ResponseReturnValue:
    area = request.args.get("area")
    guides = list(all_guides().values())
    if area in AREA_NAMES:
        guides = [g for g in guides if area in g.areas]
    else:
        area = None
    return render_template("guides/index.html", guides=guides, areas=AREA_NAMES, area=area)


@bp.get("/<slug>")
def guide(slug: str) -> ResponseReturnValue:
    found = get_guide(slug)
    if found is None:
        abort(404, "There is no guide with that name.")
    return render_template("guides/guide.html", guide=found, areas=AREA_NAMES)


# --- suggestions for other pages ----------------------------------------------------------------


@bp.app_template_global()
def guides_for_board(board: Board) -> list[Guide]:
    return guides_for_area(board.area)


@bp.app_template_global()
def guide_url(slug: str) -> str:
    """A board page links the same few guides from many rows: build each link once per request."""
    urls: dict[str, str] = g.setdefault("guide_urls", {})
    if slug not in urls:
        urls[slug] = url_for("guides.guide", slug=slug)
    return urls[slug]


@bp.app_template_global()
def take_suggested_guides() -> list[Guide]:
    """Guides remembered after a calm post (helpers.remember_support); shown once."""
    slugs = session.pop("suggested_guides", None) or []
    return _existing(slugs)


# Built once: board and thread pages run it on every view. The opening posts' ids go to the screenings
# as a list (target_id IN ...), so the (target_type, target_id) index finds them with both columns;
# written as a plain join, SQLite without table statistics walked every post screening there is (5 ms
# a page at 30,000 posts, growing with every reply).
_OPENING = aliased(Post)
_OPENING_SCREENINGS = (
    select(Post.thread_id, ScreeningRecord.guides, ScreeningRecord.area)
    .join(ScreeningRecord, (ScreeningRecord.target_type == "post") & (ScreeningRecord.target_id == Post.id))
    .where(
        ScreeningRecord.target_id.in_(
            select(_OPENING.id).where(
                _OPENING.thread_id.in_(bindparam("thread_ids", expanding=True)), _OPENING.number == 1
            )
        )
    )
    .order_by(ScreeningRecord.id)
)


@bp.app_template_global()
def thread_guides(threads: Iterable[Thread]) -> dict[int, list[Guide]]:
    """thread id -> guides suggested by the screening of its opening post, in one query for the whole page."""
    ids = [thread.id for thread in threads]
    if not ids:
        return {}
    rows = queries.read(_OPENING_SCREENINGS, {"thread_ids": ids})
    found: dict[int, list[Guide]] = {}
    for thread_id, slugs, area in rows:  # later screenings (after an edit) replace earlier ones
        guides = _existing(list(slugs or [])) or guides_for_area(area)
        found[thread_id] = guides[:GUIDES_PER_THREAD]
    return found


def _existing(slugs: list[Any]) -> list[Guide]:
    guides = [get_guide(str(slug)) for slug in slugs]
    return [g for g in guides if g is not None]
