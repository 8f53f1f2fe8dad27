"""Rate limits shared by workers: two limiters on one database are one bucket per client (in SQLite for the
workers of one machine, in PostgreSQL for replicas), and the database never holds an API key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from assistant.api.ratelimit import (
    Limiter,
    PostgresRateLimiter,
    RateLimiter,
    SqliteRateLimiter,
    shared_limiters,
)
from assistant.pgstore import connect_pool
from assistant.settings import ApiSettings, ConversationSettings, Settings

KEY = "key:sk-very-secret-api-key"


@pytest.fixture(params=["sqlite", "postgres"])
def two_workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Limiter, Limiter, str]]:
    """Two limiters of 60 a minute, as two workers would hold them, on one database; and where its rows are."""
    if request.param == "sqlite":
        path = tmp_path / "rl.sqlite3"
        yield (
            SqliteRateLimiter(path, "requests", 60),
            SqliteRateLimiter(path, "requests", 60),
            f"sqlite:{path}",
        )
        return
    url = request.getfixturevalue("pg_url")
    pools = [connect_pool(url, 2), connect_pool(url, 2)]
    yield PostgresRateLimiter(pools[0], "requests", 60), PostgresRateLimiter(pools[1], "requests", 60), url
    for pool in pools:
        pool.close()


def _rows(where: str) -> list[tuple[str, float]]:
    if where.startswith("sqlite:"):
        import sqlite3

        with sqlite3.connect(where[len("sqlite:") :]) as db:
            return list(db.execute("SELECT bucket, tokens FROM rate_buckets"))
    with psycopg.connect(where) as conn:
        return list(conn.execute("SELECT bucket, tokens FROM rate_buckets"))


def test_two_workers_share_one_bucket_per_client(two_workers: tuple[Limiter, Limiter, str]) -> None:
    a, b, where = two_workers
    # 60 a minute: one token a second, bursts of 60; the workers take turns
    assert all((a if i % 2 else b).acquire(KEY, now=1000.0) == 0.0 for i in range(60))
    assert a.acquire(KEY, now=1000.0) == pytest.approx(1.0)  # empty for both: the next token in 1 s
    assert b.acquire(KEY, now=1000.5) == pytest.approx(0.5)  # half a token back, seen by the other worker
    assert b.acquire(KEY, now=1001.0) == 0.0
    assert a.acquire("ip:10.0.0.9", now=1001.0) == 0.0  # another client, its own bucket
    rows = _rows(where)
    assert len(rows) == 2 and all("sk-very-secret" not in bucket for bucket, _ in rows)


def test_a_limit_of_zero_is_off(tmp_path: Path) -> None:
    assert SqliteRateLimiter(tmp_path / "rl.sqlite3", "requests", 0).acquire(KEY) == 0.0


def test_the_settings_choose_where_buckets_live(tmp_path: Path, pg_url: str) -> None:
    assert shared_limiters(Settings(data_dir=tmp_path)) is None  # one worker: memory
    several = shared_limiters(Settings(data_dir=tmp_path, api=ApiSettings(workers=3)))
    assert several is not None and all(isinstance(x, SqliteRateLimiter) for x in several)
    replicas = shared_limiters(
        Settings(data_dir=tmp_path, conversation=ConversationSettings(database_url=pg_url))
    )
    assert replicas is not None and all(isinstance(x, PostgresRateLimiter) for x in replicas)
    assert not RateLimiter(5).shared and several[0].shared
