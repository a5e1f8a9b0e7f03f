"""Every XSS payload through every field a person writes: the pages that show them carry nothing executable.

The corpus is ../shared/corpora/xss (see its SOURCES.md); payloads go through the real routes in batches
(up to 100 per post, packed to each field's length limit), and every page that shows them is parsed.
The browser half (test_injection_browser.py) opens the same pages in Chromium.
"""

from __future__ import annotations

import pytest
from flask import Flask

from tests.security import fields
from tests.security.corpus import CANARIES, audit_html, load_corpus


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return load_corpus()


def test_the_registry_has_a_row_for_every_field_people_write() -> None:
    assert set(fields.REQUIRED_FIELDS) <= {row.name for row in fields.FIELDS}


def test_the_audit_catches_what_it_must(corpus: list[str]) -> None:
    # The checker itself: raw payloads dropped into a page must be flagged, or the tests prove nothing.
    # About 40% of the corpus only bites in a JavaScript string or is an unterminated fragment, so the bar
    # is "most of it, in one of the usual HTML contexts", plus every canary.
    contexts = ("<p>{}</p>", '<a href="{}">x</a>', '<input value="{}">', "<div title={}>x</div>")
    flagged = [p for p in corpus if any(audit_html(c.replace("{}", p)) for c in contexts)]
    assert len(flagged) > len(corpus) * 0.5
    for canary in (
        "<a href=' JaVa\tScRiPt:x'>",
        "<img src=x onerror=y>",
        "<p style='x'>",
        "<svg>",
        "<script>x</script>",
        *(c for c in CANARIES if not c.startswith(("[", "!["))),  # the Markdown ones become HTML only when rendered
    ):
        assert audit_html(f"<p>{canary}</p>"), canary


@pytest.mark.parametrize("row", fields.FIELDS, ids=lambda row: row.name)
def test_payloads_render_without_anything_executable(app: Flask, corpus: list[str], row: fields.Field) -> None:
    if fields.missing_endpoint(app, row):
        pytest.fail(f"field {row.name}: its route {row.needs_endpoint} is missing; update the row in fields.py")
    app.config.update(POSTS_PER_PAGE=1000, THREADS_PER_PAGE=1000, CHAT_HISTORY=500)
    writer = fields.prepare_writer(app)
    if row.costly and not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        corpus = corpus[::4]  # see Field.costly: the whole corpus for this field runs on SQLite
    submitted = row.submit(writer, corpus)
    assert submitted.accepted >= submitted.attempted * 0.9, f"{row.name}: too few payloads were stored"

    viewers = {"anonymous": app.test_client(), "author": writer.author, "moderator": writer.moderator}
    for page in submitted.pages:
        response = viewers[page.viewer].get(page.path)
        assert response.status_code == 200, (page.path, response.status_code)
        problems = audit_html(response.get_data(as_text=True))
        assert problems == [], f"{row.name} at {page.path}: {problems[:5]}"
    for fragment in submitted.fragments:
        problems = audit_html(fragment)
        assert problems == [], f"{row.name} (HTML sent to scripts): {problems[:5]}"
