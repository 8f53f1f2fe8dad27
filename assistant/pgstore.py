"""Conversations in PostgreSQL (psycopg 3, a connection pool per process), for several workers and replicas.

The same behaviour as the SQLite store (`assistant.conversation`): owners, expiry, a turn for a conversation
deleted meanwhile is `ConversationNotFound`. A turn's position is taken under a row lock on its conversation
(`SELECT ... FOR UPDATE`), so concurrent writers in any number of processes never lose or duplicate a turn;
the primary key (conversation, position) would refuse a duplicate anyway. Deleted rows are gone from every
query at once; PostgreSQL reclaims their space at its next VACUUM (autovacuum does it), which is when their
bytes leave the data files.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from .errors import ConfigError, ConversationNotFound
from .followup import TurnContext
from .pgmigrations import migrate


def redacted(url: str) -> str:
    """`url` without its password, for messages and logs."""
    return re.sub(r"(?<=://)([^:/@]+):[^/]*@", r"\1:***@", url)


def connect_pool(url: str, size: int) -> Any:
    """An open psycopg pool on `url`, or `ConfigError` in one line (never with the password)."""
    try:
        import psycopg
        from psycopg_pool import ConnectionPool
    except ImportError as exc:
        raise ConfigError(
            "a PostgreSQL database needs psycopg: `pip install -e '.[postgres]'`, or unset "
            "ASSISTANT_CONVERSATION__DATABASE_URL to keep conversations in SQLite"
        ) from exc
    try:  # one plain connection first: its error says why, where a pool's would only time out
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            migrate(conn)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"cannot use the PostgreSQL database {redacted(url)} ({redacted(first)}); check "
            "ASSISTANT_CONVERSATION__DATABASE_URL and that the server is up"
        ) from None
    # connections are checked when taken, so a restarted server costs a reconnect, not a failed request
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=size,
        kwargs={"autocommit": True},
        check=ConnectionPool.check_connection,
        open=True,
    )
    return pool


class PostgresConversationStore:
    """Conversations and their turns in PostgreSQL; safe to share between threads and processes."""

    def __init__(self, url: str, expire_days: float, *, pool_size: int = 8) -> None:
        self.url = redacted(url)
        self.expire_seconds = expire_days * 86400
        self._pool = connect_pool(url, pool_size)

    def close(self) -> None:
        self._pool.close()

    def expire(self, now: float | None = None) -> int:
        """Delete the conversations untouched for longer than the retention period; returns how many."""
        cutoff = (now or time.time()) - self.expire_seconds
        with self._pool.connection() as conn:
            return int(conn.execute("DELETE FROM conversations WHERE updated < %s", (cutoff,)).rowcount)

    def create(self, owner: str | None = None) -> str:
        cid = uuid.uuid4().hex
        now = time.time()
        with self._pool.connection() as conn:
            conn.execute("INSERT INTO conversations VALUES (%s, %s, %s, %s)", (cid, now, now, owner))
        return cid

    def exists(self, cid: str, owner: str | None = None) -> bool:
        """Whether `cid` exists, has not expired and belongs to `owner` (any owner when None)."""
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT owner FROM conversations WHERE id = %s AND updated >= %s",
                (cid, time.time() - self.expire_seconds),
            ).fetchone()
        return row is not None and (owner is None or row[0] == owner)

    def _missing(self, cid: str) -> ConversationNotFound:
        return ConversationNotFound(f"no conversation {cid!r} (it may have expired); start a new one")

    def history(self, cid: str, owner: str | None = None) -> list[TurnContext]:
        if not self.exists(cid, owner):
            raise self._missing(cid)
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT question, resolved_query, topic FROM turns WHERE conversation_id = %s ORDER BY position",
                (cid,),
            ).fetchall()
        return [TurnContext(q, r, t) for q, r, t in rows]

    def add_turn(
        self, cid: str, question: str, resolved_query: str, topic: str, answer: dict[str, Any]
    ) -> None:
        from psycopg.types.json import Jsonb

        now = time.time()
        with self._pool.connection() as conn, conn.transaction():
            locked = conn.execute("SELECT 1 FROM conversations WHERE id = %s FOR UPDATE", (cid,)).fetchone()
            if locked is None:  # deleted (or expired) while the answer was being made
                raise ConversationNotFound(
                    f"conversation {cid!r} was deleted while this question was answered; start a new one"
                )
            conn.execute(
                "INSERT INTO turns SELECT %s, COUNT(*), %s, %s, %s, %s, %s FROM turns WHERE conversation_id = %s",
                (cid, question, resolved_query, topic, Jsonb(answer), now, cid),
            )
            conn.execute("UPDATE conversations SET updated = %s WHERE id = %s", (now, cid))

    def get(self, cid: str, owner: str | None = None) -> dict[str, Any]:
        if not self.exists(cid, owner):
            raise self._missing(cid)
        with self._pool.connection() as conn:
            head = conn.execute("SELECT created, updated FROM conversations WHERE id = %s", (cid,)).fetchone()
            rows = conn.execute(
                "SELECT question, resolved_query, answer, created FROM turns WHERE conversation_id = %s "
                "ORDER BY position",
                (cid,),
            ).fetchall()
        if head is None:  # deleted between the two reads
            raise self._missing(cid)
        turns = [{"question": q, "resolved_query": r, "answer": a, "created": c} for q, r, a, c in rows]
        return {"conversation_id": cid, "created": head[0], "updated": head[1], "turns": turns}

    def delete(self, cid: str, owner: str | None = None) -> None:
        deleted = 0
        if self.exists(cid, owner):
            with self._pool.connection() as conn:
                deleted = conn.execute("DELETE FROM conversations WHERE id = %s", (cid,)).rowcount
        if not deleted:
            raise ConversationNotFound(f"no conversation {cid!r}; nothing was deleted")
