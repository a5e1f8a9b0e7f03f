"""The IPT guide library."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from forum.guides import all_guides, get_guide

bp = Blueprint("guides", __name__, url_prefix="/guides")


@bp.get("/")
def index() -> object:
    return render_template("guides/index.html", guides=list(all_guides().values()))


@bp.get("/<slug>")
def guide(slug: str) -> object:
    found = get_guide(slug)
    if found is None:
        abort(404, "There is no guide with that name.")
    return render_template("guides/guide.html", guide=found)
