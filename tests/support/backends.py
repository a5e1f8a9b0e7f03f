"""The two database backends every test runs on, and how to reach PostgreSQL."""

from __future__ import annotations

import os
import re
from urllib.parse import quote

import psycopg
import pytest

NAMES = ("sqlite", "postgresql")
_REASON: list[str] = []


def postgres_base_url() -> str | None:
    return os.environ.get("FORUM_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"


def _reachable(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as exc:  # any failure means "not here"
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def postgres_url_or_skip(in_ci: bool) -> str:
    url = postgres_base_url()
    assert url is not None
    problem = _reachable(url)
    if problem is None:
        return url
    message = f"PostgreSQL at {url} is unreachable ({problem})"
    if in_ci:
        pytest.fail(message + ": CI requires it", pytrace=False)
    pytest.skip(message + ": the PostgreSQL half of the suite is skipped on this machine")


def worker_schema(config: pytest.Config) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    # Unique per run as well as per worker: two suites on one machine must not share tables.
    safe_worker = re.sub(r"\W", "_", worker)
    return f"hearth_test_{safe_worker}_{os.getpid()}"


def reset_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


def describe() -> str:
    url = postgres_base_url()
    status = _reachable(url) if url else "not configured"
    pg = "reachable" if status is None else f"unavailable ({status})"
    return f"database backends: sqlite, postgresql at {url}: {pg}"
