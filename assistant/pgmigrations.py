"""Versioned schema migrations of the PostgreSQL store, as numbered steps (after simonw/llm's
`embeddings_migrations.py`): each step runs once and is recorded in `assistant_migrations`. Every process runs
`migrate` on start, in one transaction holding an advisory lock, so workers starting together apply each step
exactly once, and a step that fails leaves the schema as it was (PostgreSQL's DDL is transactional). Add steps
at the end; never edit one that has shipped."""

from __future__ import annotations

import time
from typing import Any

from .errors import ConfigError

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "conversations and turns",
        [
            "CREATE TABLE conversations (id TEXT PRIMARY KEY, created DOUBLE PRECISION NOT NULL, "
            "updated DOUBLE PRECISION NOT NULL, owner TEXT)",
            "CREATE TABLE turns (conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, "
            "position INTEGER NOT NULL, question TEXT NOT NULL, resolved_query TEXT NOT NULL, "
            "topic TEXT NOT NULL, answer JSONB NOT NULL, created DOUBLE PRECISION NOT NULL, "
            "PRIMARY KEY (conversation_id, position))",
        ],
    ),
    (2, "expiry by last update", ["CREATE INDEX conversations_updated ON conversations (updated)"]),
    (
        3,
        "rate-limit buckets shared by workers",
        [
            "CREATE TABLE rate_buckets (bucket TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, "
            "refilled DOUBLE PRECISION NOT NULL)"
        ],
    ),
]
LOCK_KEY = 0x61737369  # pg_advisory_xact_lock key of the migrations ("assi")


def current_version(conn: Any) -> int:
    (version,) = conn.execute("SELECT COALESCE(MAX(version), 0) FROM assistant_migrations").fetchone()
    return int(version)


def migrate(conn: Any) -> list[int]:
    """Apply the steps the database lacks; returns their numbers. `conn` is a psycopg connection."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS assistant_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied DOUBLE PRECISION NOT NULL)"
        )
        have = current_version(conn)
        newest = MIGRATIONS[-1][0]
        if have > newest:
            raise ConfigError(
                f"the conversation database is at schema version {have}, newer than this assistant's "
                f"{newest}; upgrade the assistant (or point ASSISTANT_CONVERSATION__DATABASE_URL elsewhere)"
            )
        for version, name, statements in MIGRATIONS:
            if version <= have:
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO assistant_migrations VALUES (%s, %s, %s)", (version, name, time.time()))
            applied.append(version)
    return applied
