"""The IPT guide library, and the guide suggestions shown on boards, beside threads and after posting."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, abort, g, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from forum import queries
from forum.guides import Guide, all_guides, existing_guides, get_guide, guides_for_area, suggested_for_threads
from forum.models import Board, Thread

bp = Blueprint("guides", __name__, url_prefix="/guides")

AREA_NAMES = {
    "grief": "Grief and loss",
    "role_transitions": "Role transitions",
    "disputes": "Interpersonal disputes",
    "deficits": "Loneliness and connection",
}


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
    return existing_guides(slugs)


@bp.app_template_global()
def thread_guides(threads: Iterable[Thread]) -> dict[int, list[Guide]]:
    """thread id -> guides suggested by the screening of its opening post, in one query for the whole page."""
    ids = [thread.id for thread in threads]
    if not ids:
        return {}
    return suggested_for_threads(queries.read(queries.OPENING_SCREENINGS, {"thread_ids": ids}))
