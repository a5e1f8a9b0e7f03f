"""Search at 200,000 posts on SQLite (FTS5) and PostgreSQL (tsvector + GIN).

    .venv/bin/python -m bench.bench_search [--posts 200000] [--runs 5] [--backend sqlite|postgresql]

Builds a synthetic forum with a fixed seed (Zipf-distributed pseudo-words, so a few words are in most
posts and most words in a handful), inserting through the real triggers (on PostgreSQL the GIN index is
built in bulk after the inserts, by install_search as for a migrated database), then times:

- selective queries: rare words and pairs of mid-frequency words, ranked (the default order);
- a common term ranked by relevance (a word in roughly a third of all posts);
- the baseline, measured in the same run: rare words found with LIKE '% word %' (whole words), which is
  what finding them costs without an index.

Each query is timed twice: the whole search() call a page makes (permission filters, the safety check on
the query, loading the posts, building snippets) and the index query alone. Every figure is the median
over --runs runs of that run's percentile. PostgreSQL uses its own schema (bench_search), dropped after.

--keep keeps the built database (a SQLite file under the temporary directory, a PostgreSQL schema named
for the post count) and reuses it as it is on the next run with the same --posts: the build is most
of a run. Delete the file or drop the schema after changing the search objects. A kept run skips the
deletion scrub, which would merge the kept FTS index.
--no-record prints the results without rewriting bench/results/.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert, select, text

from bench.common import add_no_record, median, publish
from forum.search import RANK_WINDOW

SEED = 20261125
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA = "bench_search"
VOCABULARY = 30_000
POSTS_PER_THREAD = 10
USERS = 500
SELECTIVE_QUERIES = 200
COMMON_REPEATS = 100
BASELINE_QUERIES = 5
TARGETS = {"selective p50": 2.0, "selective p99": 20.0, "common ranked p99": 50.0}


# --- the synthetic forum ---------------------------------------------------------------------------


def make_vocabulary(rng: random.Random) -> list[str]:
    syllables = [a + b for a in "bdfgklmnprstvz" for b in ("a", "e", "i", "o", "u", "ai", "ou")]
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < VOCABULARY:
        word = "".join(rng.choice(syllables) for _ in range(rng.choice((2, 3, 3, 4))))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def zipf_weights(n: int) -> list[float]:
    cumulative, total = [], 0.0
    for rank in range(1, n + 1):
        total += 1.0 / rank
        cumulative.append(total)
    return cumulative


def build(app: Any, posts: int, rng: random.Random, words: list[str]) -> float:
    from forum.extensions import db
    from forum.models import Board, Post, Thread, User
    from forum.search import install_search

    weights = zipf_weights(len(words))
    started = time.perf_counter()
    with app.app_context():
        board_ids = list(db.session.scalars(select(Board.id)))
        now = datetime.now(UTC) - timedelta(days=400)
        db.session.execute(
            insert(User),
            [
                {"username": f"member{i}", "username_key": f"member{i}", "password_hash": "x", "created_at": now}
                for i in range(USERS)
            ],
        )
        user_ids = list(db.session.scalars(select(User.id)))
        threads = posts // POSTS_PER_THREAD
        thread_rows = [
            {
                "board_id": rng.choice(board_ids),
                "author_id": rng.choice(user_ids),
                "title": " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(3, 8))).capitalize(),
                "post_count": POSTS_PER_THREAD,
                "created_at": now,
                "last_activity_at": now,
            }
            for _ in range(threads)
        ]
        for start in range(0, threads, 5000):
            db.session.execute(insert(Thread), thread_rows[start : start + 5000])
        thread_ids = list(db.session.scalars(select(Thread.id).order_by(Thread.id)))
        postgres = db.engine.dialect.name == "postgresql"
        if postgres:
            # The trigger still fills each post's tsvector; the GIN index is built once at the end by
            # install_search, as for a migrated database, instead of updated post by post.
            db.session.execute(text("DROP INDEX search_posts_vector_gin"))
        db.session.commit()
        batch: list[dict[str, Any]] = []
        moment = now
        for index in range(posts):
            thread_id = thread_ids[index // POSTS_PER_THREAD]
            body = " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(20, 80)))
            moment += timedelta(seconds=60)
            batch.append(
                {
                    "thread_id": thread_id,
                    "author_id": rng.choice(user_ids),
                    "number": index % POSTS_PER_THREAD + 1,
                    "body_md": body,
                    "body_html": f"<p>{body}</p>\n",
                    "is_anonymous": rng.random() < 0.02,
                    "visibility": "held" if rng.random() < 0.005 else "visible",
                    "created_at": moment,
                }
            )
            if len(batch) == 5000:
                db.session.execute(insert(Post), batch)
                db.session.commit()
                batch = []
        if batch:
            db.session.execute(insert(Post), batch)
            db.session.commit()
        if postgres:
            with db.engine.begin() as connection:
                install_search(connection)
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return time.perf_counter() - started


# --- the queries -----------------------------------------------------------------------------------


def document_frequency(posts: int, words: list[str]) -> Callable[[int], float]:
    """Expected share of posts containing the word at this rank (about 50 words per post)."""
    harmonic = sum(1.0 / r for r in range(1, len(words) + 1))

    def share(rank: int) -> float:
        per_word = (1.0 / rank) / harmonic
        return 1.0 - (1.0 - per_word) ** 50

    return share


def selective_queries(rng: random.Random, words: list[str]) -> list[str]:
    queries = []
    for i in range(SELECTIVE_QUERIES):
        if i % 2 == 0:
            queries.append(words[rng.randint(3000, 20000)])  # a rare word: tens of posts
        else:
            queries.append(f"{words[rng.randint(200, 1500)]} {words[rng.randint(200, 1500)]}")  # two mid words
    return queries


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def measure(app: Any, words: list[str], runs: int) -> dict[str, Any]:
    from forum import search as search_module
    from forum.extensions import db
    from forum.models import Block, User

    rng = random.Random(SEED + 1)
    selective = selective_queries(rng, words)
    common = words[2]
    out: dict[str, list[float]] = {key: [] for key in (
        "selective p50", "selective p99", "common ranked p50", "common ranked p99",
        "index only selective p50", "index only selective p99", "index only common p99",
        "newest common p99", "baseline LIKE p50",
    )}  # fmt: skip
    hits_seen: list[int] = []
    with app.app_context():
        viewer = db.session.scalar(select(User).order_by(User.id).limit(1))
        assert viewer is not None, "the bench database has no people"
        muted = list(db.session.scalars(select(User.id).order_by(User.id.desc()).limit(2)))
        already = set(db.session.scalars(select(Block.blocked_id).where(Block.blocker_id == viewer.id)))
        for other in muted:
            if other not in already:  # a kept database has them from its first run
                db.session.add(Block(blocker_id=viewer.id, blocked_id=other, kind="mute"))
        db.session.commit()

        def full(query: str, sort: str = "relevant") -> Any:
            return search_module.search(viewer, query, sort=sort)

        def like_scan(word: str) -> Any:
            """The baseline: what a search without the index would do."""
            return db.session.execute(
                text("SELECT id FROM posts WHERE ' ' || body_md || ' ' LIKE :w ORDER BY id DESC LIMIT 21"),
                {"w": f"% {word} %"},
            ).all()

        def index_only(query: str) -> Any:
            parsed = search_module.parse_query(query)
            return search_module._matching_ids(viewer, parsed, None, None, "relevant", 1, search_module.PER_PAGE)

        for query in selective[:20]:  # warm caches
            full(query)
        for _ in range(runs):
            times = [timed(partial(full, q)) for q in selective]
            out["selective p50"].append(percentile(times, 50))
            out["selective p99"].append(percentile(times, 99))
            raw = [timed(partial(index_only, q)) for q in selective]
            out["index only selective p50"].append(percentile(raw, 50))
            out["index only selective p99"].append(percentile(raw, 99))
            ranked = [timed(partial(full, common)) for _ in range(COMMON_REPEATS)]
            out["common ranked p50"].append(percentile(ranked, 50))
            out["common ranked p99"].append(percentile(ranked, 99))
            out["index only common p99"].append(
                percentile([timed(partial(index_only, common)) for _ in range(COMMON_REPEATS)], 99)
            )
            out["newest common p99"].append(
                percentile([timed(partial(full, common, "newest")) for _ in range(COMMON_REPEATS)], 99)
            )
            words = [q.split()[0] for q in selective[: BASELINE_QUERIES * 2 : 2]]
            baseline = [timed(partial(like_scan, word)) for word in words]
            out["baseline LIKE p50"].append(percentile(baseline, 50))
        hits_seen = [len(full(q).hits) for q in selective]
        common_matches = db.session.execute(
            text("SELECT count(*) FROM posts WHERE ' ' || body_md || ' ' LIKE :w"), {"w": f"% {common} %"}
        ).scalar()
    summary: dict[str, Any] = {key: median(values) for key, values in out.items()}
    summary["selective queries with results"] = sum(1 for h in hits_seen if h) / len(hits_seen)
    summary["common term"] = common
    summary["posts containing the common term"] = common_matches
    return summary


def purge_time(app: Any) -> float:
    """What an account deletion adds on SQLite: merging the FTS index so deleted words leave the file."""
    from forum.extensions import db
    from forum.services.privacy import scrub_free_space

    with app.app_context():
        started = time.perf_counter()
        scrub_free_space()
        elapsed = time.perf_counter() - started
        db.session.remove()
    return elapsed


# --- backends --------------------------------------------------------------------------------------


KEEP_DIR = Path(tempfile.gettempdir()) / "hearth-bench-search"


def sqlite_app(path: Path) -> Any:
    from forum import create_app

    return create_app(_config(f"sqlite:///{path}"))


def postgres_app(schema: str, fresh: bool) -> Any:
    from forum import create_app

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    return create_app(_config(f"{POSTGRES}?options=-csearch_path%3D{schema}"))


def drop_postgres_schema(schema: str) -> None:
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _config(url: str) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench",
        "TESTING": True,
        "RATELIMIT_ENABLED": False,
        "SEED_ON_START": False,
    }


def prepare(app: Any) -> None:
    from forum.extensions import db
    from forum.seeding import seed_boards

    with app.app_context():
        db.drop_all()
        db.create_all()
        seed_boards()


def already_built(app: Any, posts: int) -> bool:
    """True when a kept database holds this many posts."""
    from sqlalchemy.exc import DBAPIError

    from forum.extensions import db

    with app.app_context():
        try:
            return db.session.execute(text("SELECT count(*) FROM posts")).scalar() == posts
        except DBAPIError:
            db.session.rollback()
            return False


def run_backend(name: str, posts: int, runs: int, keep: bool) -> dict[str, Any]:
    rng = random.Random(SEED)
    words = make_vocabulary(rng)
    with tempfile.TemporaryDirectory() as tmp:
        if keep:
            KEEP_DIR.mkdir(exist_ok=True)
        path = KEEP_DIR / f"sqlite-{posts}.db" if keep else Path(tmp) / "bench.db"
        schema = f"{SCHEMA}_{posts}" if keep else SCHEMA
        app = sqlite_app(path) if name == "sqlite" else postgres_app(schema, fresh=not keep)
        try:
            if keep and already_built(app, posts):
                print(f"[{name}] reusing the kept database of {posts:,} posts", flush=True)
                build_seconds = float("nan")
            else:
                prepare(app)
                print(f"[{name}] inserting {posts:,} posts through the index triggers...", flush=True)
                build_seconds = build(app, posts, rng, words)
                print(f"[{name}] built in {build_seconds:.1f}s", flush=True)
            print(f"[{name}] measuring {runs} runs...", flush=True)
            result = measure(app, words, runs)
            result["build seconds (insert + index)"] = build_seconds
            if name == "sqlite" and not keep:  # the scrub merges the index: a kept one would change
                result["deletion scrub seconds (FTS optimize + WAL truncate)"] = purge_time(app)
            return result
        finally:
            from forum.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            if name == "postgresql" and not keep:
                drop_postgres_schema(schema)


def report(results: dict[str, dict[str, Any]], posts: int, runs: int) -> str:
    lines = [
        f"{posts:,} synthetic posts ({POSTS_PER_THREAD} per thread, 20-80 Zipf-distributed pseudo-words each, "
        f"seed {SEED}); {SELECTIVE_QUERIES} selective queries (rare words and pairs of mid-frequency words), "
        f"the common term {COMMON_REPEATS} times; each figure is the median over {runs} runs of that run's "
        "percentile, in milliseconds. The viewer is a signed-in member who muted two people (so the block "
        "filter runs). `search()` is what a page calls: the method-seeking check on the query (moderation.screen), "
        "permission filters, the index query, loading 20 posts and building escaped snippets.",
        "",
        "| measure | " + " | ".join(results) + " | target |",
        "|---|" + "---|" * (len(results) + 1),
    ]
    keys = list(next(iter(results.values())).keys())
    for key in keys:
        cells = []
        for backend in results:
            value = results[backend].get(key, "")
            cells.append(f"{value:.2f}" if isinstance(value, float) else str(value))
        target = f"<= {TARGETS[key]:.0f} ms" if key in TARGETS else ""
        lines.append(f"| {key} | " + " | ".join(cells) + f" | {target} |")
    lines += ["", "## Against the targets", ""]
    for backend, result in results.items():
        for key, limit in TARGETS.items():
            verdict = "met" if result[key] <= limit else "NOT met"
            lines.append(f"- {backend}: {key} {result[key]:.2f} ms (target {limit:.0f} ms): {verdict}")
    lines += [
        "",
        f'Ranking ("relevant") scores the newest {RANK_WINDOW:,} matches (forum.search.RANK_WINDOW), not every',
        "match: for a term in most posts, scoring every match is most of the table on each query. Selective",
        "queries have fewer matches than the window, so they are ranked over all their matches.",
        "",
        "The machine is shared; the load average above is the context for every figure.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append")
    parser.add_argument("--keep", action="store_true", help="keep the built database and reuse a kept one")
    add_no_record(parser)
    args = parser.parse_args()
    backends = args.backend or ["sqlite", "postgresql"]
    results = {name: run_backend(name, args.posts, args.runs, args.keep) for name in backends}
    publish("search", "Search benchmark", report(results, args.posts, args.runs), record=not args.no_record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
