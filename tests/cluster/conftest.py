"""One cluster for the module: two processes, one PostgreSQL schema, one Redis database, flushed at start."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.cluster.support import Cluster, postgres_schema, redis_or_skip


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    store = redis_or_skip()
    store.flushdb()
    with postgres_schema(f"hearth_cluster_{os.getpid()}") as database_url:
        running = Cluster(database_url).start()
        try:
            yield running
        finally:
            running.stop()
    store.flushdb()


@pytest.fixture
def a_and_b(cluster: Cluster) -> tuple:
    """Both processes, restarted if an earlier test killed one."""
    cluster.ensure_running()
    return cluster.a, cluster.b
