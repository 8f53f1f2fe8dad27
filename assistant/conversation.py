"""Conversations and their turns, stored in SQLite (one file; survives restarts; old ones expire)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from .errors import ConversationNotFound
from .followup import TurnContext


class ConversationStore:
    """Conversations and their turns in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path, expire_days: float) -> None:
        self.path = path
        self.expire_seconds = expire_days * 86400
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS conversations (
                id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS turns (
                conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                position INTEGER NOT NULL, question TEXT NOT NULL, resolved_query TEXT NOT NULL,
                topic TEXT NOT NULL, answer TEXT NOT NULL, created REAL NOT NULL,
                PRIMARY KEY (conversation_id, position));
            """
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def expire(self, now: float | None = None) -> int:
        cutoff = (now or time.time()) - self.expire_seconds
        with self._lock:
            return self._db.execute("DELETE FROM conversations WHERE updated < ?", (cutoff,)).rowcount

    def create(self) -> str:
        cid = uuid.uuid4().hex
        now = time.time()
        with self._lock:
            self._db.execute("INSERT INTO conversations VALUES (?, ?, ?)", (cid, now, now))
        return cid

    def exists(self, cid: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM conversations WHERE id = ? AND updated >= ?",
                (cid, time.time() - self.expire_seconds),
            ).fetchone()
        return row is not None

    def history(self, cid: str) -> list[TurnContext]:
        if not self.exists(cid):
            raise ConversationNotFound(f"no conversation {cid!r} (it may have expired); start a new one")
        with self._lock:
            rows = self._db.execute(
                "SELECT question, resolved_query, topic FROM turns WHERE conversation_id = ? ORDER BY position",
                (cid,),
            ).fetchall()
        return [TurnContext(q, r, t) for q, r, t in rows]

    def add_turn(
        self, cid: str, question: str, resolved_query: str, topic: str, answer: dict[str, Any]
    ) -> None:
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (position,) = self._db.execute(
                    "SELECT COUNT(*) FROM turns WHERE conversation_id = ?", (cid,)
                ).fetchone()
                self._db.execute(
                    "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (cid, position, question, resolved_query, topic, json.dumps(answer), now),
                )
                self._db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, cid))
                self._db.execute("COMMIT")
            except sqlite3.IntegrityError as exc:  # deleted (or expired) while the answer was being made
                self._db.execute("ROLLBACK")
                raise ConversationNotFound(
                    f"conversation {cid!r} was deleted while this question was answered; start a new one"
                ) from exc
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def get(self, cid: str) -> dict[str, Any]:
        if not self.exists(cid):
            raise ConversationNotFound(f"no conversation {cid!r} (it may have expired); start a new one")
        with self._lock:
            created, updated = self._db.execute(
                "SELECT created, updated FROM conversations WHERE id = ?", (cid,)
            ).fetchone()
            rows = self._db.execute(
                "SELECT question, resolved_query, answer, created FROM turns WHERE conversation_id = ? "
                "ORDER BY position",
                (cid,),
            ).fetchall()
        turns = [
            {"question": q, "resolved_query": r, "answer": json.loads(a), "created": c} for q, r, a, c in rows
        ]
        return {"conversation_id": cid, "created": created, "updated": updated, "turns": turns}

    def delete(self, cid: str) -> None:
        with self._lock:
            deleted = self._db.execute("DELETE FROM conversations WHERE id = ?", (cid,)).rowcount
        if not deleted:
            raise ConversationNotFound(f"no conversation {cid!r}; nothing was deleted")
