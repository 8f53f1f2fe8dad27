"""Conversations and their turns, stored in SQLite (one file; survives restarts; old ones expire).

Each conversation belongs to the principal (a hash of the API key) that created it: any other principal is
told it does not exist. Deleted and expired rows are really gone: `secure_delete` zeroes their pages and a
WAL checkpoint removes them from the write-ahead log. The file and its folder are readable by the owner only.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from .errors import ConfigError, ConversationNotFound
from .followup import TurnContext

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL, owner TEXT);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL, question TEXT NOT NULL, resolved_query TEXT NOT NULL,
    topic TEXT NOT NULL, answer TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (conversation_id, position));
"""


def _private_file(path: Path) -> None:
    """Create `path` (and its folder) readable by the owner only; tighten an existing file to 0600."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


class ConversationStore:
    """Conversations and their turns in one SQLite file; safe to share between threads.

    `owner` is the principal of a request (None when the server has no API keys): a conversation created by
    one owner is `ConversationNotFound` to every other.
    """

    def __init__(self, path: Path, expire_days: float) -> None:
        self.path = path
        self.expire_seconds = expire_days * 86400
        self._lock = threading.Lock()
        try:
            _private_file(path)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.executescript(SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(conversations)")}
            if "owner" not in columns:  # a database from before conversations had owners
                self._db.execute("ALTER TABLE conversations ADD COLUMN owner TEXT")
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"{path}: the conversation database cannot be opened ({exc}); move the file aside to start "
                "with an empty one, or set ASSISTANT_DATA_DIR"
            ) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _purge(self) -> None:
        """Move deleted pages out of the write-ahead log (secure_delete has zeroed them in the database)."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def expire(self, now: float | None = None) -> int:
        """Delete the conversations untouched for longer than the retention period; returns how many."""
        cutoff = (now or time.time()) - self.expire_seconds
        with self._lock:
            gone = self._db.execute("DELETE FROM conversations WHERE updated < ?", (cutoff,)).rowcount
            if gone:
                self._purge()
        return int(gone)

    def create(self, owner: str | None = None) -> str:
        cid = uuid.uuid4().hex
        now = time.time()
        with self._lock:
            self._db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?)", (cid, now, now, owner))
        return cid

    def exists(self, cid: str, owner: str | None = None) -> bool:
        """Whether `cid` exists, has not expired and belongs to `owner` (any owner when None)."""
        with self._lock:
            row = self._db.execute(
                "SELECT owner FROM conversations WHERE id = ? AND updated >= ?",
                (cid, time.time() - self.expire_seconds),
            ).fetchone()
        return row is not None and (owner is None or row[0] == owner)

    def history(self, cid: str, owner: str | None = None) -> list[TurnContext]:
        if not self.exists(cid, owner):
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

    def get(self, cid: str, owner: str | None = None) -> dict[str, Any]:
        if not self.exists(cid, owner):
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

    def delete(self, cid: str, owner: str | None = None) -> None:
        """Delete a conversation and its turns, from the database file and its write-ahead log."""
        deleted = 0
        if self.exists(cid, owner):
            with self._lock:
                deleted = self._db.execute("DELETE FROM conversations WHERE id = ?", (cid,)).rowcount
                self._purge()
        if not deleted:
            raise ConversationNotFound(f"no conversation {cid!r}; nothing was deleted")
