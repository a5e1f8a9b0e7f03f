"""Full-text search over thread titles and posts, behind one function: search(viewer, query, ...).

SQLite: an FTS5 table over a view of the posts (external content, so the text is stored once), kept in
step by triggers. PostgreSQL: a tsvector column on posts, filled by a trigger, with a GIN index.
Either way the index changes inside the same transaction as the post, so a committed post is
findable and a deleted one is gone. Both are created by DDL attached to the posts table, so
`create_all` builds them; `install_search(connection)` does the same for a migration.

Only posts are indexed. Private writing (journals, chat, plans) lives in other tables and is never
searchable. A query that looks for ways to self-harm gets support and guides, never posts.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import ARRAY, DDL, Integer, Select, any_, bindparam, event, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.schema import Table

import moderation
from forum import permissions
from forum.extensions import db
from forum.models import Board, Post, Thread, User

PER_PAGE = 20
QUERY_MAX = 200
TERMS_MAX = 12
SORTS = ("relevant", "newest")
# Ranking needs a score per match; for a term in most posts that is most of the table. Rank the
# newest matches this deep instead: what a person scrolling results would reach, at a bounded cost.
RANK_WINDOW = 1000

# --- the index -------------------------------------------------------------------------------------

_SQLITE_CREATE = (
    # The FTS5 content source: a post's body, plus its thread's title for the opening post.
    """CREATE VIEW IF NOT EXISTS search_post_text AS
       SELECT p.id AS id, CASE WHEN p.number = 1 THEN t.title ELSE '' END AS title, p.body_md AS body
       FROM posts p JOIN threads t ON t.id = p.thread_id""",
    """CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5(
       title, body, content='search_post_text', content_rowid='id',
       tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER IF NOT EXISTS search_posts_ai AFTER INSERT ON posts BEGIN
       INSERT INTO posts_fts(rowid, title, body) VALUES (new.id,
         CASE WHEN new.number = 1 THEN (SELECT title FROM threads WHERE id = new.thread_id) ELSE '' END, new.body_md);
       END""",
    """CREATE TRIGGER IF NOT EXISTS search_posts_ad AFTER DELETE ON posts BEGIN
       INSERT INTO posts_fts(posts_fts, rowid, title, body) VALUES ('delete', old.id,
         CASE WHEN old.number = 1 THEN coalesce((SELECT title FROM threads WHERE id = old.thread_id), '') ELSE '' END,
         old.body_md);
       END""",
    """CREATE TRIGGER IF NOT EXISTS search_posts_au AFTER UPDATE OF body_md, number, thread_id ON posts BEGIN
       INSERT INTO posts_fts(posts_fts, rowid, title, body) VALUES ('delete', old.id,
         CASE WHEN old.number = 1 THEN coalesce((SELECT title FROM threads WHERE id = old.thread_id), '') ELSE '' END,
         old.body_md);
       INSERT INTO posts_fts(rowid, title, body) VALUES (new.id,
         CASE WHEN new.number = 1 THEN (SELECT title FROM threads WHERE id = new.thread_id) ELSE '' END, new.body_md);
       END""",
    """CREATE TRIGGER IF NOT EXISTS search_threads_au AFTER UPDATE OF title ON threads BEGIN
       INSERT INTO posts_fts(posts_fts, rowid, title, body)
         SELECT 'delete', p.id, old.title, p.body_md FROM posts p WHERE p.thread_id = old.id AND p.number = 1;
       INSERT INTO posts_fts(rowid, title, body)
         SELECT p.id, new.title, p.body_md FROM posts p WHERE p.thread_id = new.id AND p.number = 1;
       END""",
)
_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS search_threads_au",
    "DROP TRIGGER IF EXISTS search_posts_ai",
    "DROP TRIGGER IF EXISTS search_posts_ad",
    "DROP TRIGGER IF EXISTS search_posts_au",
    "DROP TABLE IF EXISTS posts_fts",
    "DROP VIEW IF EXISTS search_post_text",
)

_PG_CREATE = (
    "ALTER TABLE posts ADD COLUMN IF NOT EXISTS search_vector tsvector",
    """CREATE OR REPLACE FUNCTION search_posts_vector() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         NEW.search_vector :=
           setweight(to_tsvector('english', CASE WHEN NEW.number = 1
             THEN coalesce((SELECT title FROM threads WHERE id = NEW.thread_id), '') ELSE '' END), 'A')
           || setweight(to_tsvector('english', NEW.body_md), 'B');
         RETURN NEW;
       END $$""",
    "DROP TRIGGER IF EXISTS search_posts_vector ON posts",
    """CREATE TRIGGER search_posts_vector BEFORE INSERT OR UPDATE OF body_md, number, thread_id ON posts
       FOR EACH ROW EXECUTE FUNCTION search_posts_vector()""",
    # A new title re-runs the opening post's trigger by touching the row.
    """CREATE OR REPLACE FUNCTION search_thread_title() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE posts SET body_md = body_md WHERE thread_id = NEW.id AND number = 1;
         RETURN NEW;
       END $$""",
    "DROP TRIGGER IF EXISTS search_thread_title ON threads",
    """CREATE TRIGGER search_thread_title AFTER UPDATE OF title ON threads
       FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title) EXECUTE FUNCTION search_thread_title()""",
)
# Created after the column is filled: one bulk build instead of an index update per existing post.
_PG_INDEXES = (
    # fastupdate off: each post updates the index as it is written, so no pending list makes reads slower
    # until the next vacuum; a forum writes little and reads a lot.
    "CREATE INDEX IF NOT EXISTS search_posts_vector_gin ON posts USING gin (search_vector) WITH (fastupdate = off)",
    # The few threads search must leave out (deleted, held, hidden), found without reading every thread.
    """CREATE INDEX IF NOT EXISTS search_threads_unlisted ON threads (id)
       WHERE deleted_at IS NOT NULL OR visibility <> 'visible'""",
)
_PG_DROP = (
    "DROP TRIGGER IF EXISTS search_thread_title ON threads",
    "DROP FUNCTION IF EXISTS search_thread_title() CASCADE",
    "DROP FUNCTION IF EXISTS search_posts_vector() CASCADE",
)


def install_search(connection: Connection) -> None:
    """Create the index, its triggers and fill it from existing posts. Safe to run again."""
    if connection.dialect.name == "sqlite":
        for statement in _SQLITE_CREATE:
            connection.exec_driver_sql(statement)
        connection.exec_driver_sql("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')")
    elif connection.dialect.name == "postgresql":
        for statement in _PG_CREATE:
            connection.exec_driver_sql(statement)
        connection.exec_driver_sql("UPDATE posts SET body_md = body_md WHERE search_vector IS NULL")
        for statement in _PG_INDEXES:
            connection.exec_driver_sql(statement)


def uninstall_search(connection: Connection) -> None:
    statements = _SQLITE_DROP if connection.dialect.name == "sqlite" else _PG_DROP
    if connection.dialect.name == "postgresql":
        statements = (*statements, "ALTER TABLE posts DROP COLUMN IF EXISTS search_vector")
    for statement in statements:
        connection.exec_driver_sql(statement)


def _attach_ddl(table: Table) -> None:
    for statement in _SQLITE_CREATE:
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    for statement in _SQLITE_DROP:
        event.listen(table, "before_drop", DDL(statement).execute_if(dialect="sqlite"))
    for statement in (*_PG_CREATE, *_PG_INDEXES):
        event.listen(table, "after_create", DDL(statement.replace("%", "%%")).execute_if(dialect="postgresql"))
    for statement in _PG_DROP:
        event.listen(table, "before_drop", DDL(statement).execute_if(dialect="postgresql"))


_attach_ddl(Post.__table__)


def purge_deleted_text(connection: Connection) -> None:
    """Merge the FTS5 index so words of deleted posts leave its older segments, not only the live view.

    FTS5 records a deletion as a marker and keeps the old entry until segments merge; after an
    account deletion the person's words must really go. Costs a rewrite of the index.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("INSERT INTO posts_fts(posts_fts) VALUES ('optimize')")


# --- understanding the query -----------------------------------------------------------------------

# Looking for a way to hurt oneself, not for company: answered with support, never with posts.
_HARM = (
    r"(?:die|kill\s+(?:my|your)self|commit\s+suicide|end\s+(?:my|your)\s+life|end\s+it(?:\s+all)?"
    r"|hang\s+(?:my|your)self|overdose|od|slit\s+(?:my|your)\s+\w+|cut\s+(?:deep|deeper|my\s+wrists?)|self[\s-]?harm)"
)
_METHOD_SEEKING = re.compile(
    r"\b(?:lethal|fatal|deadly|overdose|od)\s+(?:dose|doses|amount|dosage|quantity)"
    r"|\b(?:is|are)\s+(?:lethal|fatal|deadly)\b"
    r"|\bhow\s+(?:many|much)\b[^.?!]*\b(?:to\s+(?:die|od|overdose|kill)|lethal|fatal|deadly)\b"
    r"|\b(?:how\s+(?:to|do\s+i|do\s+you|can\s+i|should\s+i|would\s+i)|(?:best|easiest|quickest|fastest|surest"
    rf"|painless|quick|easy|simplest)\s+(?:way|ways|method|methods)\s+to)\s+{_HARM}\b"
    r"|\bsuicide\s+(?:method|methods|techniques?|instructions?|guide)\b"
    r"|\b(?:painless|peaceful|quick|easy)\s+(?:death|suicide|way\s+out|way\s+to\s+go)\b"
    r"|\b(?:tie|make)\s+a\s+noose\b",
    re.IGNORECASE,
)
_METHOD_LABELS = {"plan", "emoji_means"}


def seeks_self_harm_method(query: str, screening: Any | None = None) -> bool:
    if _METHOD_SEEKING.search(query):
        return True
    screening = screening if screening is not None else moderation.screen(query)
    if screening.level != "crisis":
        return False
    return any(getattr(signal, "label", None) in _METHOD_LABELS for signal in screening.signals)


_PHRASE = re.compile(r'"([^"]+)"')
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class ParsedQuery:
    words: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]

    @property
    def empty(self) -> bool:
        return not self.words and not self.phrases

    def all_words(self) -> list[str]:
        return [*self.words, *(word for phrase in self.phrases for word in phrase)]

    def fts5(self) -> str:
        # Every term is quoted: people's words never become FTS5 operators or column filters.
        parts = [f'"{word}"' for word in self.words]
        parts += ['"' + " ".join(phrase) + '"' for phrase in self.phrases]
        return " ".join(parts)


def parse_query(raw: str) -> ParsedQuery:
    phrases = tuple(tuple(_WORD.findall(match)) for match in _PHRASE.findall(raw))
    words = tuple(_WORD.findall(_PHRASE.sub(" ", raw)))
    phrases = tuple(phrase for phrase in phrases if phrase)
    return ParsedQuery(words=words[:TERMS_MAX], phrases=phrases[:TERMS_MAX])


# --- results ---------------------------------------------------------------------------------------


@dataclass
class Hit:
    post: FoundPost
    title_html: Markup
    snippet_html: Markup


@dataclass
class SearchResults:
    query: str
    hits: list[Hit] = field(default_factory=list)
    page: int = 1
    has_more: bool = False
    # Set when the query itself sounds like someone struggling: the page shows the support panel.
    support: dict[str, Any] | None = None
    # True when the query looked for ways to self-harm: no posts at all, only support and guides.
    withheld: bool = False
    # True when the query had no word to look for (only emoji, symbols or punctuation): the index keeps
    # words only, so saying "nothing found" would suggest no post has that emoji.
    no_words: bool = False


def search(
    viewer: Any,
    query: str,
    *,
    board: Board | None = None,
    author: User | None = None,
    sort: str = "relevant",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> SearchResults:
    raw = (query or "").strip()[:QUERY_MAX]
    results = SearchResults(query=raw, page=max(page, 1))
    if not raw:
        return results
    screening = moderation.screen(raw)
    if seeks_self_harm_method(raw, screening):
        results.withheld = True
        results.support = {"level": "crisis", "guides": _support_guides(screening)}
        return results
    if _query_needs_support(screening):
        results.support = {"level": screening.level, "guides": _support_guides(screening)}
    parsed = parse_query(raw)
    if parsed.empty:
        results.no_words = True
        return results
    ids = _matching_ids(viewer, parsed, board, author, sort, results.page, per_page)
    results.has_more = len(ids) > per_page
    posts = _load_posts(ids[:per_page])
    pattern = _term_pattern(parsed.all_words())
    results.hits = [Hit(post, highlight(p_title(post), pattern), snippet(post.body_html, pattern)) for post in posts]
    return results


def p_title(post: FoundPost) -> str:
    return post.thread.title


def _query_needs_support(screening: Any) -> bool:
    """A search is a few words, not someone writing about themself: the model alone calls one-word queries
    such as "depression" or "March" concern, which on a forum about depression would show the panel to
    nearly everyone. Concern counts here only when the safety net's own rules matched ("suicide")."""
    if screening.level == "crisis":
        return True
    return screening.level == "concern" and any(signal.kind == "lexicon" for signal in screening.signals)


def _support_guides(screening: Any) -> list[str]:
    guides = list(getattr(screening, "guides", []) or [])
    return (guides or ["safe-space"])[:3]


@dataclass
class _Filters:
    """SQL conditions on the post row, and the condition that rules out a post's thread."""

    posts: list[str] = field(default_factory=list)
    thread_excluded: str = "t.deleted_at IS NOT NULL"
    params: dict[str, Any] = field(default_factory=dict)

    def post_sql(self) -> str:
        return " AND ".join(self.posts) or "true"


def _matching_ids(
    viewer: Any, parsed: ParsedQuery, board: Board | None, author: User | None, sort: str, page: int, per_page: int
) -> list[int]:
    filters = _visibility_filter(viewer)
    if board is not None:
        filters.posts.append("p.thread_id IN (SELECT id FROM threads WHERE board_id = :board_id)")
        filters.params["board_id"] = board.id
    if author is not None:
        # Anonymous posts never answer to their author's name, whoever searches.
        filters.posts.append("p.author_id = :author_id AND p.is_anonymous = false")
        filters.params["author_id"] = author.id
    offset = (page - 1) * per_page
    window = max(RANK_WINDOW, offset + per_page + 1)
    params = {**filters.params, "limit": per_page + 1, "offset": offset, "window": window}
    dialect = db.session.get_bind().dialect.name
    build = _sqlite_sql if dialect == "sqlite" else _postgres_sql
    sql, match_params = build(parsed, filters, sort)
    statement = text(sql)
    if "hidden" in params:
        statement = statement.bindparams(bindparam("hidden", expanding=True))
    rows = db.session.execute(statement, {**params, **match_params})
    return [row[0] for row in rows]


def _visibility_filter(viewer: Any) -> _Filters:
    filters = _Filters(posts=["p.deleted_at IS NULL"])
    if not permissions.is_moderator(viewer):
        member = permissions.signed_in(viewer)
        filters.params["me"] = member.id if member else -1
        filters.posts.append("(p.visibility = 'visible' OR (p.visibility = 'held' AND p.author_id = :me))")
        filters.thread_excluded = (
            "t.deleted_at IS NOT NULL"
            " OR (t.visibility <> 'visible' AND NOT (t.visibility = 'held' AND t.author_id = :me))"
        )
    hidden = permissions.hidden_author_ids(viewer)
    if hidden:
        # Anonymous posts stay: hiding them would tell the viewer who wrote them.
        filters.posts.append("(p.author_id IS NULL OR p.author_id NOT IN :hidden OR p.is_anonymous = true)")
        filters.params["hidden"] = sorted(hidden)
    return filters


def _sqlite_sql(parsed: ParsedQuery, filters: _Filters, sort: str) -> tuple[str, dict[str, Any]]:
    # FTS5 drives: each match is one rowid lookup in posts and one in threads.
    base = f"""FROM posts_fts f JOIN posts p ON p.id = f.rowid JOIN threads t ON t.id = p.thread_id
               WHERE posts_fts MATCH :match AND {filters.post_sql()} AND NOT ({filters.thread_excluded})"""
    params = {"match": parsed.fts5()}
    if sort == "newest":
        return f"SELECT p.id {base} ORDER BY f.rowid DESC LIMIT :limit OFFSET :offset", params
    # bm25 with the title worth three times the body; computed only over the newest RANK_WINDOW matches.
    sql = f"""SELECT id FROM (
                SELECT p.id AS id, bm25(posts_fts, 3.0, 1.0) AS score {base}
                ORDER BY f.rowid DESC LIMIT :window)
              ORDER BY score, id DESC LIMIT :limit OFFSET :offset"""  # noqa: S608  (fixed fragments; values are bound)
    return sql, params


def _postgres_sql(parsed: ParsedQuery, filters: _Filters, sort: str) -> tuple[str, dict[str, Any]]:
    parts = []
    params: dict[str, Any] = {}
    if parsed.words:
        parts.append("plainto_tsquery('english', :words)")
        params["words"] = " ".join(parsed.words)
    for index, phrase in enumerate(parsed.phrases):
        parts.append(f"phraseto_tsquery('english', :phrase{index})")
        params[f"phrase{index}"] = " ".join(phrase)
    tsquery = " && ".join(parts)
    # Everything is decided on the posts table: the GIN index finds rare words, the primary key read
    # backwards finds the newest posts with a common one. Threads enter only as the short list of
    # unlisted ones (a partial index), so no plan has to join every thread.
    where = f"""p.search_vector @@ ({tsquery}) AND {filters.post_sql()}
                AND p.thread_id NOT IN (SELECT t.id FROM threads t
                    WHERE (t.deleted_at IS NOT NULL OR t.visibility <> 'visible') AND ({filters.thread_excluded}))"""  # noqa: S608
    if sort == "newest":
        return f"SELECT p.id FROM posts p WHERE {where} ORDER BY p.id DESC LIMIT :limit OFFSET :offset", params  # noqa: S608
    sql = f"""SELECT id FROM (
                SELECT p.id AS id, p.search_vector FROM posts p WHERE {where}
                ORDER BY p.id DESC LIMIT :window) AS recent
              ORDER BY ts_rank(search_vector, ({tsquery})) DESC, id DESC LIMIT :limit OFFSET :offset"""  # noqa: S608
    return sql, params


@dataclass(frozen=True)
class FoundBoard:
    slug: str
    title: str


@dataclass(frozen=True)
class FoundThread:
    id: int
    title: str
    board: FoundBoard


@dataclass(frozen=True)
class FoundAuthor:
    id: int
    username: str


@dataclass(frozen=True)
class FoundPost:
    """What a result shows of a post, read in one plain query (no ORM objects for a list of snippets).

    Carries the attributes forum.templating.author_name and the permission helpers read, so an
    anonymous post still shows as "a member" and a former member's as "a former member".
    """

    id: int
    thread_id: int
    number: int
    author_id: int | None
    author: FoundAuthor | None
    is_anonymous: bool
    content_note: str | None
    body_html: str
    created_at: datetime
    thread: FoundThread


_POSTS, _THREADS, _BOARDS, _USERS = (model.__table__ for model in (Post, Thread, Board, User))
# In the order _found_post takes them.
_FOUND_COLUMNS = (
    _POSTS.c.id, _POSTS.c.thread_id, _POSTS.c.number, _POSTS.c.author_id, _POSTS.c.is_anonymous,
    _POSTS.c.content_note, _POSTS.c.body_html, _POSTS.c.created_at, _THREADS.c.title, _BOARDS.c.slug,
    _BOARDS.c.title, _USERS.c.username,
)  # fmt: skip


def _found_posts_statement(dialect: str) -> Select[Any]:
    """What a result shows of its posts, by id. Table columns, not ORM attributes: SQLAlchemy's Core path."""
    if dialect == "postgresql":
        # One array parameter gives one SQL text for any number of ids, so psycopg keeps it prepared
        # and the server reuses its plan instead of planning a four-table join for every page.
        wanted = _POSTS.c.id == any_(bindparam("ids", type_=ARRAY(Integer)))
    else:
        wanted = _POSTS.c.id.in_(bindparam("ids", expanding=True))
    return (
        select(*_FOUND_COLUMNS)
        .join(_THREADS, _THREADS.c.id == _POSTS.c.thread_id)
        .join(_BOARDS, _BOARDS.c.id == _THREADS.c.board_id)
        .outerjoin(_USERS, _USERS.c.id == _POSTS.c.author_id)
        .where(wanted)
    )


# Built once: building it per page, with the ids as literal values, cost more than running it on SQLite.
_FOUND_POSTS = {dialect: _found_posts_statement(dialect) for dialect in ("sqlite", "postgresql")}


def _load_posts(ids: list[int]) -> list[FoundPost]:
    if not ids:
        return []
    statement = _FOUND_POSTS[db.session.get_bind().dialect.name]
    by_id = {row[0]: _found_post(*row) for row in db.session.execute(statement, {"ids": ids})}
    return [by_id[i] for i in ids if i in by_id]


def _found_post(
    post_id: int, thread_id: int, number: int, author_id: int | None, anonymous: bool, note: str | None,
    body: str, created: datetime, title: str, slug: str, board_title: str, name: str | None,
) -> FoundPost:  # fmt: skip
    author = FoundAuthor(author_id, name) if author_id is not None and name is not None else None
    return FoundPost(
        id=post_id,
        thread_id=thread_id,
        number=number,
        author_id=author_id,
        author=author,
        is_anonymous=anonymous,
        content_note=note,
        body_html=body,
        created_at=created,
        thread=FoundThread(thread_id, title, FoundBoard(slug, board_title)),
    )


# --- snippets --------------------------------------------------------------------------------------

SNIPPET_WORDS = 36


_TAG = re.compile(r"<[^>]*>")


def _plain_text(body_html: str) -> str:
    # body_html is our own sanitised output: text never holds a raw "<", so dropping tags is exact.
    return html.unescape(_TAG.sub(" ", body_html))


def _stem(term: str) -> str:
    # A rough stem, so the words the index matched through stemming ("walking" for "walk") light up too.
    folded = term.casefold()
    return folded[: max(4, len(folded) - 3)] if len(folded) > 4 else folded


def _term_pattern(terms: list[str]) -> re.Pattern[str] | None:
    stems = sorted({_stem(term) for term in terms if term}, key=len, reverse=True)
    if not stems:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(stem) for stem in stems) + r")\w*", re.IGNORECASE)


def highlight(value: str, terms: list[str] | re.Pattern[str] | None) -> Markup:
    """Escape everything, then wrap matching words in <mark>: the only markup a snippet can carry."""
    pattern = _term_pattern(terms) if isinstance(terms, list) else terms
    if pattern is None:
        return escape(value)
    out: list[str] = []
    last = 0
    for match in pattern.finditer(value):
        out.append(str(escape(value[last : match.start()])))
        out.append(f"<mark>{escape(match.group())}</mark>")
        last = match.end()
    out.append(str(escape(value[last:])))
    return Markup("".join(out))  # noqa: S704  (every piece above was escaped)


def snippet(body_html: str, terms: list[str] | re.Pattern[str] | None) -> Markup:
    pattern = _term_pattern(terms) if isinstance(terms, list) else terms
    plain = _plain_text(body_html)
    first = pattern.search(plain) if pattern is not None else None
    words_before = plain[: first.start()].split() if first else []
    start = max(0, len(words_before) - SNIPPET_WORDS // 3)
    words = plain.split()
    window = " ".join(words[start : start + SNIPPET_WORDS])
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + SNIPPET_WORDS < len(words) else ""
    return Markup(f"{escape(prefix)}{highlight(window, pattern)}{escape(suffix)}")  # noqa: S704
