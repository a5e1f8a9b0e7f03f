"""A deleted row's id is never given to a new row: AUTOINCREMENT on SQLite for tables whose ids leave the database.

SQLite hands the highest id of a table to the next row once that row is deleted, unless the table is declared
AUTOINCREMENT. Account deletion removes the account row, so the next person to register became the deleted
person's id, and whatever still named it (a sign-in cookie on another device, a socket, a rate limit, a
moderation record) named a stranger. SQLite cannot add AUTOINCREMENT to a table in place: each table is
rebuilt, the way SQLite's documentation says a table is changed
(https://www.sqlite.org/lang_altertable.html#otheralter): foreign keys off outside the transaction (dropping
the old table with them on would delete or empty every row that refers to it), views and triggers set aside
(renaming the new table checks them against tables that are mid-rebuild, and dropping a table drops its
triggers), a foreign key check before the commit, and foreign keys back on.

PostgreSQL: nothing to do. Its sequences never go back, whatever is deleted.

Revision ID: 43de4a2c48d7
Revises: b7e3c1a9d2f4
Create Date: 2026-11-27 10:00:00.000000

"""
from contextlib import contextmanager

from alembic import op


# revision identifiers, used by Alembic.
revision = '43de4a2c48d7'
down_revision = 'b7e3c1a9d2f4'
branch_labels = None
depends_on = None

# The tables whose ids are named outside their rows: in cookies, sockets, links, clients and records
# without a foreign key (see the models' __table_args__).
TABLES = ('users', 'threads', 'posts', 'chat_messages', 'review_items', 'notifications')

# Records that name a row by id without a foreign key, so they outlive it. An id one of them names was
# given out already, even if its row was deleted before this upgrade: the table's counter starts past it.
IDS_NAMED_ELSEWHERE = {
    'users': (
        "SELECT max(target_id) FROM audit_log WHERE target_type = 'user'",
        "SELECT max(target_id) FROM review_items WHERE target_type = 'user'",
    ),
    'posts': (
        "SELECT max(target_id) FROM audit_log WHERE target_type = 'post'",
        "SELECT max(target_id) FROM review_items WHERE target_type = 'post'",
        "SELECT max(target_id) FROM screenings WHERE target_type = 'post'",
        "SELECT max(target_id) FROM peer_reports WHERE target_type = 'post'",
    ),
    'chat_messages': (
        "SELECT max(target_id) FROM audit_log WHERE target_type = 'chat_message'",
        "SELECT max(target_id) FROM review_items WHERE target_type = 'chat_message'",
        "SELECT max(target_id) FROM screenings WHERE target_type = 'chat_message'",
        "SELECT max(last_read_id) FROM chat_read_marks",
    ),
}


def upgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    with _rebuilding(op.get_bind()) as driver:
        for table in TABLES:
            with op.batch_alter_table(table, recreate='always', table_kwargs={'sqlite_autoincrement': True}):
                pass
        for table, queries in IDS_NAMED_ELSEWHERE.items():
            named = [driver.execute(query).fetchone()[0] or 0 for query in queries]
            _count_from_at_least(driver, table, max(named))


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    with _rebuilding(op.get_bind()):
        for table in TABLES:
            # Reflection does not carry AUTOINCREMENT over: the rebuilt table is a plain rowid table again.
            with op.batch_alter_table(table, recreate='always'):
                pass


@contextmanager
def _rebuilding(bind):
    """Foreign keys off around one transaction that rebuilds tables, views and triggers kept, then checked.

    PRAGMA foreign_keys does nothing inside a transaction, so the one this migration runs in is ended first
    (it holds nothing yet: on SQLite each migration has its own) and an open one is handed back at the end,
    for the version row.
    """
    driver = bind.connection.dbapi_connection
    foreign_keys_were_on = driver.execute('PRAGMA foreign_keys').fetchone()[0] == 1
    handed_a_transaction = driver.in_transaction
    if handed_a_transaction:
        driver.execute('COMMIT')
    driver.execute('PRAGMA foreign_keys=OFF')
    driver.execute('BEGIN IMMEDIATE')
    try:
        kept = _set_aside_views_and_triggers(driver)
        yield driver
        for _type, _name, sql in kept:
            driver.execute(sql)
        broken = driver.execute('PRAGMA foreign_key_check').fetchall()
        if broken:
            raise RuntimeError(f'rows refer to rows that do not exist after the rebuild: {broken[:10]}')
        driver.execute('COMMIT')
    except BaseException:
        if driver.in_transaction:
            driver.execute('ROLLBACK')
        raise
    finally:
        if foreign_keys_were_on:
            driver.execute('PRAGMA foreign_keys=ON')
        if handed_a_transaction:
            driver.execute('BEGIN')


def _set_aside_views_and_triggers(driver):
    """Drop every view and trigger, returning how to create them again (views first, in their first order).

    Search keeps its index in step with posts and thread titles by triggers, over a view: dropping a table
    drops its triggers, and renaming the new table into place fails on a view or trigger naming a table
    that is mid-rebuild. The index itself (posts_fts) stays: the posts keep their ids, so it stays right.
    """
    rows = driver.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('view', 'trigger') AND sql IS NOT NULL "
        "ORDER BY type = 'trigger', rowid"
    ).fetchall()
    for type_, name, _sql in reversed(rows):
        driver.execute(f'DROP {type_.upper()} IF EXISTS "{name}"')
    return rows


def _count_from_at_least(driver, table, highest_named):
    """Make the table's AUTOINCREMENT counter at least `highest_named`, so no later row takes that id."""
    if highest_named <= 0:
        return
    row = driver.execute('SELECT seq FROM sqlite_sequence WHERE name = ?', (table,)).fetchone()
    if row is None:
        driver.execute('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)', (table, highest_named))
    elif row[0] < highest_named:
        driver.execute('UPDATE sqlite_sequence SET seq = ? WHERE name = ?', (highest_named, table))
