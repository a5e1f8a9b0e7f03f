"""The Alembic migrations build exactly the schema the models declare, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from forum import ROOT, create_app
from forum.database import include_in_migrations
from forum.extensions import db
from forum.seeding import seed_boards


def _migrated_app(url: str):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "TESTING": True})


def _schema_differences(app) -> list:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_in_migrations})
        return compare_metadata(context, db.metadata)


def test_migrations_match_the_models(live_database_url: str) -> None:
    app = _migrated_app(live_database_url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    assert _schema_differences(app) == []


def test_a_migrated_database_accepts_the_seed_and_downgrades_cleanly(live_database_url: str) -> None:
    app = _migrated_app(live_database_url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        assert seed_boards() >= 4
        db.session.remove()
        downgrade(directory=str(ROOT / "migrations"), revision="base")
        upgrade(directory=str(ROOT / "migrations"))
        assert seed_boards() >= 4
