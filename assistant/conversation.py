"""Conversations: their SQLite store, and the resolution of follow-up questions into standalone queries.

Resolution works offline, without a language model: a turn that leans on the conversation (a pronoun,
"what about ...", or no topic words of its own) gets the topic of the turn it depends on; a turn that names
a topic of its own starts afresh, so an old topic is never dragged into a new question.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .compose import GENERIC
from .errors import ConversationNotFound
from .lexical import stop_words, terms


@dataclass(frozen=True)
class TurnContext:
    """What a later turn may lean on: the question, what was searched, and the topic it was about."""

    question: str
    resolved_query: str
    topic: str


@dataclass(frozen=True)
class Resolution:
    query: str
    depends: bool
    topic: str


_ANAPHORA = re.compile(
    r"\b(it|its|it's|itself|this|that|these|those|they|them|their|theirs|the (?:disease|condition|disorder|"
    r"illness|syndrome|drug|medication|treatment|infection|patient|same))\b",
    re.IGNORECASE,
)
_ELLIPSIS = re.compile(
    r"^\s*(?:and|also|what about|how about|and what about|what of|same for|plus)\b", re.IGNORECASE
)
# Words that narrow a question (who, which aspect) without naming a topic of their own.
MODIFIERS = frozenset(
    terms(
        "child children kids paediatric pediatric infant infants neonate neonates adolescent adolescents teenager "
        "pregnancy pregnant breastfeeding lactation elderly older old age aged women woman men man male female "
        "side adverse complication complications duration survival life expectancy mortality death die dying "
        "cure curable curative inherited inheritance genetic genetics hereditary heredity contagious spread "
        "transmitted incidence prevalence frequent frequency often rare likely severity severe mild moderate "
        "early late onset stage stages progression progress worse better improve recover recovery long-term "
        "acute chronic home lifestyle diet exercise surgery surgical medicine medicines alternatives alternative "
        "renal kidney impairment liver hepatic elderly frail dose doses daily weekly monthly year years month months"
    )
)
_QUESTION_WORDS = frozenset(
    [
        "what",
        "which",
        "when",
        "where",
        "who",
        "whom",
        "whose",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "does",
        "do",
        "did",
        "can",
        "could",
        "should",
        "would",
        "will",
        "may",
        "might",
        "shall",
    ]
)


def topic_words(question: str) -> list[str]:
    """The surface words of `question` that name its topic (not question words, aspects or modifiers)."""
    out = []
    for word in re.findall(r"[A-Za-z0-9][A-Za-z0-9'\-]*", question):
        low = word.lower()
        if low in stop_words() or low in _QUESTION_WORDS:
            continue
        stem = terms(low)
        if not stem or stem[0] in GENERIC or stem[0] in MODIFIERS:
            continue
        out.append(word)
    return out


def resolve(question: str, history: Sequence[TurnContext], strategy: str = "entity-carry") -> Resolution:
    """Turn `question` into a standalone retrieval query, given the earlier turns (oldest first)."""
    own_topic = " ".join(topic_words(question))
    if not history or strategy == "none":
        return Resolution(question, False, own_topic)
    last = history[-1]
    if strategy == "prepend":
        return Resolution(f"{history[0].question} {question}", True, last.topic or own_topic)
    leans = bool(_ANAPHORA.search(question) or _ELLIPSIS.search(question) or not own_topic)
    if not leans or not last.topic:
        return Resolution(question, False, own_topic)
    topic = last.topic
    if topic.lower() in question.lower():
        return Resolution(question, True, topic)
    return Resolution(f"{question} {topic}", True, topic)


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
