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
from typing import Any

import moderation
from markupsafe import Markup, escape
from sqlalchemy import DDL, bindparam, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.schema import Table

from forum import permissions
from forum.extensions import db
from forum.models import Board, Post, Thread, User

PER_PAGE = 20
QUERY_MAX = 200
TERMS_MAX = 12
SORTS = ("relevant", "newest")
# Ranking needs a score per match; for a term in most posts that is most of the table. Rank the
# newest matches this deep instead: what a person scrolling results would reach, at a bounded cost.
RANK_WINDOW = 2000

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
    "CREATE INDEX IF NOT EXISTS search_posts_vector_gin ON posts USING gin (search_vector)",
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
    for statement in _PG_CREATE:
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
_METHOD_SEEKING = re.compile(
    r"\b(?:lethal|fatal|deadly|overdose|od)\s+(?:dose|amount|dosage|quantity)"
    r"|\bhow\s+(?:many|much)\b.*\b(?:pills|tablets|meds|paracetamol|tylenol|ibuprofen|insulin|to\s+(?:die|od|overdose))"
    r"|\b(?:how|best|easiest|quickest|fastest|painless|quick|easy|surest)\b.*\b(?:to\s+die|kill\s+(?:my|your)self"
    r"|suicide|end\s+(?:my|your|it)\s*(?:life|all)?|hang\s+(?:my|your)self|overdose|slit|cut\s+(?:deep|deeper|vein))"
    r"|\bsuicide\s+(?:method|methods|techniques?|how|guide|instructions?)"
    r"|\b(?:painless|peaceful|quick)\s+(?:death|suicide|way\s+out)"
    r"|\b(?:tie|make)\s+a\s+noose|\bcut\s+(?:deeper|deep|vertical)",
    re.IGNORECASE,
)
_METHOD_LABELS = {"plan", "emoji_means", "self_harm"}


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
    post: Post
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
    if screening.level in ("concern", "crisis"):
        results.support = {"level": screening.level, "guides": _support_guides(screening)}
    parsed = parse_query(raw)
    if parsed.empty:
        return results
    ids = _matching_ids(viewer, parsed, board, author, sort, results.page, per_page)
    results.has_more = len(ids) > per_page
    posts = _load_posts(ids[:per_page])
    terms = parsed.all_words()
    results.hits = [Hit(post, highlight(p_title(post), terms), snippet(post.body_html, terms)) for post in posts]
    return results


def p_title(post: Post) -> str:
    return post.thread.title


def _support_guides(screening: Any) -> list[str]:
    guides = list(getattr(screening, "guides", []) or [])
    return (guides or ["safe-space"])[:3]


def _matching_ids(
    viewer: Any, parsed: ParsedQuery, board: Board | None, author: User | None, sort: str, page: int, per_page: int
) -> list[int]:
    where, params = _visibility_filter(viewer)
    if board is not None:
        where.append("t.board_id = :board_id")
        params["board_id"] = board.id
    if author is not None:
        # Anonymous posts never answer to their author's name, whoever searches.
        where.append("p.author_id = :author_id AND p.is_anonymous = false")
        params["author_id"] = author.id
    params["limit"] = per_page + 1
    params["offset"] = (page - 1) * per_page
    params["window"] = RANK_WINDOW
    dialect = db.session.get_bind().dialect.name
    build = _sqlite_sql if dialect == "sqlite" else _postgres_sql
    sql, match_params = build(parsed, " AND ".join(where) or "true", sort)
    statement = text(sql)
    if "hidden" in params:
        statement = statement.bindparams(bindparam("hidden", expanding=True))
    rows = db.session.execute(statement, {**params, **match_params})
    return [row[0] for row in rows]


def _visibility_filter(viewer: Any) -> tuple[list[str], dict[str, Any]]:
    where = ["p.deleted_at IS NULL", "t.deleted_at IS NULL"]
    params: dict[str, Any] = {}
    if not permissions.is_moderator(viewer):
        member = permissions.signed_in(viewer)
        params["me"] = member.id if member else -1
        where.append("(p.visibility = 'visible' OR (p.visibility = 'held' AND p.author_id = :me))")
        where.append("(t.visibility = 'visible' OR (t.visibility = 'held' AND t.author_id = :me))")
    hidden = permissions.hidden_author_ids(viewer)
    if hidden:
        # Anonymous posts stay: hiding them would tell the viewer who wrote them.
        where.append("(p.author_id IS NULL OR p.author_id NOT IN :hidden OR p.is_anonymous = true)")
        params["hidden"] = sorted(hidden)
    return where, params


def _sqlite_sql(parsed: ParsedQuery, where: str, sort: str) -> tuple[str, dict[str, Any]]:
    base = f"""FROM posts_fts f JOIN posts p ON p.id = f.rowid JOIN threads t ON t.id = p.thread_id
               WHERE posts_fts MATCH :match AND {where}"""
    params = {"match": parsed.fts5()}
    if sort == "newest":
        return f"SELECT p.id {base} ORDER BY f.rowid DESC LIMIT :limit OFFSET :offset", params
    # bm25 with the title worth three times the body; computed only over the newest RANK_WINDOW matches.
    sql = f"""SELECT id FROM (
                SELECT p.id AS id, bm25(posts_fts, 3.0, 1.0) AS score {base}
                ORDER BY f.rowid DESC LIMIT :window)
              ORDER BY score, id DESC LIMIT :limit OFFSET :offset"""
    return sql, params


def _postgres_sql(parsed: ParsedQuery, where: str, sort: str) -> tuple[str, dict[str, Any]]:
    parts = []
    params: dict[str, Any] = {}
    if parsed.words:
        parts.append("plainto_tsquery('english', :words)")
        params["words"] = " ".join(parsed.words)
    for index, phrase in enumerate(parsed.phrases):
        parts.append(f"phraseto_tsquery('english', :phrase{index})")
        params[f"phrase{index}"] = " ".join(phrase)
    tsquery = " && ".join(parts)
    base = f"""FROM posts p JOIN threads t ON t.id = p.thread_id
               WHERE p.search_vector @@ ({tsquery}) AND {where}"""
    if sort == "newest":
        return f"SELECT p.id {base} ORDER BY p.id DESC LIMIT :limit OFFSET :offset", params
    sql = f"""SELECT id FROM (
                SELECT p.id AS id, ts_rank(p.search_vector, ({tsquery})) AS score {base}
                ORDER BY p.id DESC LIMIT :window) AS recent
              ORDER BY score DESC, id DESC LIMIT :limit OFFSET :offset"""
    return sql, params


def _load_posts(ids: list[int]) -> list[Post]:
    if not ids:
        return []
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    rows = db.session.scalars(
        select(Post).where(Post.id.in_(ids)).options(joinedload(Post.thread).joinedload(Thread.board))
    )
    by_id = {post.id: post for post in rows}
    return [by_id[i] for i in ids if i in by_id]


# --- snippets --------------------------------------------------------------------------------------

SNIPPET_WORDS = 36


def _plain_text(body_html: str) -> str:
    import nh3

    return html.unescape(nh3.clean(body_html, tags=set())).replace("\n", " ")


def _matches(token: str, terms: list[str]) -> bool:
    folded = token.casefold()
    for term in terms:
        stem = term.casefold()
        # A rough stem, so "grieving" lights up for "grief"-like searches the index itself matched.
        stem = stem[: max(4, len(stem) - 3)] if len(stem) > 4 else stem
        if folded.startswith(stem):
            return True
    return False


def highlight(value: str, terms: list[str]) -> Markup:
    """Escape everything, then wrap matching words in <mark>: the only markup a snippet can carry."""
    out: list[str] = []
    last = 0
    for match in _WORD.finditer(value):
        out.append(str(escape(value[last : match.start()])))
        word = str(escape(match.group()))
        out.append(f"<mark>{word}</mark>" if _matches(match.group(), terms) else word)
        last = match.end()
    out.append(str(escape(value[last:])))
    return Markup("".join(out))  # noqa: S704  (every piece above was escaped)


def snippet(body_html: str, terms: list[str]) -> Markup:
    plain = _plain_text(body_html)
    words = plain.split()
    first = next((i for i, word in enumerate(words) if _matches(word.strip(".,;:!?\"'()*_"), terms)), 0)
    start = max(0, first - SNIPPET_WORDS // 3)
    window = words[start : start + SNIPPET_WORDS]
    text_ = " ".join(window)
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + SNIPPET_WORDS < len(words) else ""
    return Markup(f"{escape(prefix)}{highlight(text_, terms)}{escape(suffix)}")  # noqa: S704
