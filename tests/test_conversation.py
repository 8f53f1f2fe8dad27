"""The SQLite conversation store: turns in order, survives a reopen, expires, and never fails with a 500."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant.conversation import ConversationStore
from assistant.errors import ConversationNotFound


def test_turns_survive_a_reopen_in_order(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3", expire_days=1)
    cid = store.create()
    store.add_turn(cid, "What is ALS?", "What is ALS?", "ALS", {"n": 1})
    store.add_turn(cid, "How is it treated?", "ALS treated", "ALS", {"n": 2})
    store.close()
    again = ConversationStore(tmp_path / "c.sqlite3", expire_days=1)
    assert [t.question for t in again.history(cid)] == ["What is ALS?", "How is it treated?"]
    assert [t["answer"]["n"] for t in again.get(cid)["turns"]] == [1, 2]


def test_expired_and_deleted_conversations_are_not_found(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3", expire_days=1)
    old = store.create()
    store.create()
    assert store.expire(now=time.time() + 2 * 86400) == 2
    with pytest.raises(ConversationNotFound):
        store.history(old)
    kept = store.create()
    store.delete(kept)
    with pytest.raises(ConversationNotFound):
        store.delete(kept)


def test_a_turn_for_a_conversation_deleted_meanwhile_is_not_found_and_stores_nothing(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3", expire_days=1)
    cid = store.create()
    store.history(cid)  # the answer is being made ...
    store.delete(cid)  # ... when another request deletes the conversation
    with pytest.raises(ConversationNotFound, match="start a new one"):
        store.add_turn(cid, "And the prognosis?", "ALS prognosis", "ALS", {})
    other = store.create()  # the store still works
    store.add_turn(other, "What is ALS?", "What is ALS?", "ALS", {})
    assert len(store.history(other)) == 1
