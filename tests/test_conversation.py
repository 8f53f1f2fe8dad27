"""The conversation stores (SQLite, PostgreSQL): turns in order, survive a reopen, expire, and never fail with a
500; and what only SQLite's file has to get right (deleted bytes gone, private file, corrupt file)."""

from __future__ import annotations

import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.conversation import ConversationStore
from assistant.convstore import Conversations
from assistant.errors import ConfigError, ConversationNotFound

from .conftest import bytes_on_disk

Opener = Callable[[], Conversations]


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the store under test (again and again: the same database each time); closes what it opened."""
    opened: list[Conversations] = []
    if request.param == "postgres":
        from assistant.pgstore import PostgresConversationStore

        url = request.getfixturevalue("pg_url")

        def make() -> Conversations:
            opened.append(PostgresConversationStore(url, expire_days=1, pool_size=2))
            return opened[-1]
    else:

        def make() -> Conversations:
            opened.append(ConversationStore(tmp_path / "c.sqlite3", expire_days=1))
            return opened[-1]

    yield make
    for store in opened:
        store.close()


def test_turns_survive_a_reopen_in_order(open_store: Opener) -> None:
    store = open_store()
    cid = store.create()
    store.add_turn(cid, "What is ALS?", "What is ALS?", "ALS", {"n": 1})
    store.add_turn(cid, "How is it treated?", "ALS treated", "ALS", {"n": 2})
    again = open_store()
    assert [t.question for t in again.history(cid)] == ["What is ALS?", "How is it treated?"]
    assert [t["answer"]["n"] for t in again.get(cid)["turns"]] == [1, 2]


def test_expired_and_deleted_conversations_are_not_found(open_store: Opener) -> None:
    store = open_store()
    old = store.create()
    store.create()
    assert store.expire(now=time.time() + 2 * 86400) == 2
    with pytest.raises(ConversationNotFound):
        store.history(old)
    kept = store.create()
    store.delete(kept)
    with pytest.raises(ConversationNotFound):
        store.delete(kept)


def test_a_turn_for_a_conversation_deleted_meanwhile_is_not_found_and_stores_nothing(
    open_store: Opener,
) -> None:
    store = open_store()
    cid = store.create()
    store.history(cid)  # the answer is being made ...
    store.delete(cid)  # ... when another request deletes the conversation
    with pytest.raises(ConversationNotFound, match="start a new one"):
        store.add_turn(cid, "And the prognosis?", "ALS prognosis", "ALS", {})
    other = store.create()  # the store still works
    store.add_turn(other, "What is ALS?", "What is ALS?", "ALS", {})
    assert len(store.history(other)) == 1


def test_a_conversation_is_found_only_by_its_owner(open_store: Opener) -> None:
    store = open_store()
    cid = store.create(owner="alice")
    store.add_turn(cid, "What is ALS?", "What is ALS?", "ALS", {})
    for call in (store.history, store.get, store.delete):
        with pytest.raises(ConversationNotFound):
            call(cid, "bob")
    assert not store.exists(cid, "bob") and store.exists(cid, "alice")
    assert len(store.history(cid, "alice")) == 1 and len(store.history(cid)) == 1  # None: no keys, no check
    store.delete(cid, "alice")
    assert not store.exists(cid)


def test_an_old_database_without_owners_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE conversations (id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL);"
        f"INSERT INTO conversations VALUES ('kept', {time.time()}, {time.time()});"
    )
    old.commit()
    old.close()
    store = ConversationStore(path, expire_days=1)
    assert store.exists("kept") and store.get("kept")["turns"] == []


@pytest.mark.parametrize("how", ["delete", "expire"])
def test_deleted_and_expired_text_is_gone_from_the_files(tmp_path: Path, how: str) -> None:
    path = tmp_path / "c.sqlite3"
    store = ConversationStore(path, expire_days=1)
    cid = store.create()
    secret = "Patient Zanzibar-4471 has bulbar onset"
    store.add_turn(cid, secret, secret, "ALS", {"answer": secret})
    keep = store.create()
    store.add_turn(keep, "What is gout?", "What is gout?", "gout", {})
    assert secret.encode() in bytes_on_disk(path)
    if how == "delete":
        store.delete(cid)
    else:
        with store._lock:  # backdate one conversation, as if it had not been touched for two days
            store._db.execute(
                "UPDATE conversations SET updated = ? WHERE id = ?", (time.time() - 2 * 86400, cid)
            )
        assert store.expire() == 1
    assert secret.encode() not in bytes_on_disk(path)
    assert store.exists(keep) and not store.exists(cid)
    store.close()


def test_the_database_and_its_folder_are_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "c.sqlite3"
    store = ConversationStore(path, expire_days=1)
    store.add_turn(store.create(), "What is ALS?", "What is ALS?", "ALS", {})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    store.close()
    path.chmod(0o644)  # a file from before: tightened when opened
    ConversationStore(path, expire_days=1).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_corrupt_database_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError) as caught:
        ConversationStore(path, expire_days=1)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and "move the file aside" in message
    assert path.read_bytes() == b"this is not a database" * 100  # nothing stored is touched
