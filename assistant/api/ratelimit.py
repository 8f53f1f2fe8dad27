"""Rate limits as token buckets: in this process's memory (one worker), or in a database every worker and
replica shares (PostgreSQL when `ASSISTANT_CONVERSATION__DATABASE_URL` is set, else a SQLite file in the data
folder when `assistant serve --workers N` runs several workers on one machine).

A bucket holds up to `per_minute` tokens and refills at `per_minute` a minute; a request takes one. Shared
buckets are keyed by a hash of the client (an API key is never written down), read and written in one
transaction that locks the bucket's row, and a bucket left alone for a minute (so full again) is deleted now
and then.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..settings import Settings

PRUNE_EVERY = 500  # about one acquire in this many also deletes full buckets


class Limiter(Protocol):
    per_minute: int
    shared: bool  # whether it reaches a database (so is called off the event loop)

    def acquire(self, client: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds to wait before retrying."""
        ...


def take(tokens: float, last: float, now: float, per_minute: int) -> tuple[float, float]:
    """(tokens left, seconds to wait) after a request at `now` on a bucket holding `tokens` at `last`; a wait
    of 0 means the request took a token."""
    rate = per_minute / 60.0
    tokens = min(float(per_minute), tokens + max(0.0, now - last) * rate)
    if tokens < 1.0:
        return tokens, (1.0 - tokens) / rate
    return tokens - 1.0, 0.0


@dataclass
class RateLimiter:
    """Buckets in memory: `per_minute` requests a minute per client, in bursts of up to `per_minute`."""

    per_minute: int
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # client -> (tokens, last refill)
    shared: bool = False

    def acquire(self, client: str, now: float | None = None) -> float:
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens, last = self.buckets.get(client, (float(self.per_minute), now))
        tokens, wait = take(tokens, last, now, self.per_minute)
        self.buckets[client] = (tokens, now)
        if len(self.buckets) > 10_000:
            self._prune(now)
        return wait

    def _prune(self, now: float) -> None:
        rate = self.per_minute / 60.0
        full = [c for c, (t, last) in self.buckets.items() if t + (now - last) * rate >= self.per_minute]
        for c in full:
            del self.buckets[c]


def bucket_key(kind: str, client: str) -> str:
    return kind + ":" + hashlib.sha256(client.encode()).hexdigest()[:32]


class SqliteRateLimiter:
    """Buckets in a SQLite file that the workers of one machine share."""

    shared = True

    def __init__(self, path: Path, kind: str, per_minute: int) -> None:
        self.per_minute, self.kind = per_minute, kind
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS rate_buckets (bucket TEXT PRIMARY KEY, tokens REAL NOT NULL, "
            "refilled REAL NOT NULL)"
        )

    def acquire(self, client: str, now: float | None = None) -> float:
        if self.per_minute <= 0:
            return 0.0
        now = time.time() if now is None else now
        key = bucket_key(self.kind, client)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # the write lock: no other worker reads the bucket meanwhile
            try:
                row = self._db.execute(
                    "SELECT tokens, refilled FROM rate_buckets WHERE bucket = ?", (key,)
                ).fetchone()
                held, last = row or (float(self.per_minute), now)
                tokens, wait = take(held, last, now, self.per_minute)
                self._db.execute("INSERT OR REPLACE INTO rate_buckets VALUES (?, ?, ?)", (key, tokens, now))
                if random.randrange(PRUNE_EVERY) == 0:
                    self._db.execute("DELETE FROM rate_buckets WHERE refilled < ?", (now - 60.0,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return wait


class PostgresRateLimiter:
    """Buckets in PostgreSQL (the `rate_buckets` table of the store's migrations), shared by every replica."""

    shared = True

    def __init__(self, pool: Any, kind: str, per_minute: int) -> None:
        self.per_minute, self.kind = per_minute, kind
        self._pool = pool

    def acquire(self, client: str, now: float | None = None) -> float:
        if self.per_minute <= 0:
            return 0.0
        now = time.time() if now is None else now
        key = bucket_key(self.kind, client)
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO rate_buckets VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (key, float(self.per_minute), now),
            )
            row = conn.execute(
                "SELECT tokens, refilled FROM rate_buckets WHERE bucket = %s FOR UPDATE", (key,)
            ).fetchone()
            tokens, wait = take(row[0], row[1], now, self.per_minute)
            conn.execute(
                "UPDATE rate_buckets SET tokens = %s, refilled = %s WHERE bucket = %s", (tokens, now, key)
            )
            if random.randrange(PRUNE_EVERY) == 0:
                conn.execute("DELETE FROM rate_buckets WHERE refilled < %s", (now - 60.0,))
        return wait


def shared_limiters(settings: Settings) -> tuple[Limiter, Limiter] | None:
    """(requests, auth failures) limiters shared across workers, or None when one worker's memory will do."""
    api = settings.api
    url = settings.conversation.database_url
    if url:
        from ..pgstore import connect_pool

        pool = connect_pool(url, 4)
        return (
            PostgresRateLimiter(pool, "requests", api.rate_limit_per_minute),
            PostgresRateLimiter(pool, "auth", api.auth_failures_per_minute),
        )
    if api.workers > 1:
        path = settings.data_dir / "ratelimits.sqlite3"
        return (
            SqliteRateLimiter(path, "requests", api.rate_limit_per_minute),
            SqliteRateLimiter(path, "auth", api.auth_failures_per_minute),
        )
    return None
