"""What only the PostgreSQL store has to get right: schema migrations run once, turn positions under
concurrent writers in several processes, and errors that say what to do (never with the password)."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import psycopg
import pytest

from assistant.conversation import ConversationStore
from assistant.convstore import open_conversations
from assistant.errors import ConfigError
from assistant.pgmigrations import MIGRATIONS, migrate
from assistant.pgstore import PostgresConversationStore, redacted
from assistant.settings import ConversationSettings, Settings


def _versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [v for (v,) in conn.execute("SELECT version FROM assistant_migrations ORDER BY version")]


def test_a_new_database_gets_every_step_once_even_from_workers_starting_together(pg_url: str) -> None:
    applied: list[list[int]] = []

    def start() -> None:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            applied.append(migrate(conn))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [v for v, _name, _sql in MIGRATIONS]
    assert sorted(v for run in applied for v in run) == every  # each step applied by exactly one worker
    assert _versions(pg_url) == every
    PostgresConversationStore(pg_url, expire_days=1).close()  # opening again applies nothing
    assert _versions(pg_url) == every


def test_a_database_from_a_newer_assistant_is_refused_untouched(pg_url: str) -> None:
    PostgresConversationStore(pg_url, expire_days=1).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO assistant_migrations VALUES (99, 'from the future', 0)")
    with pytest.raises(ConfigError, match="schema version 99, newer than"):
        PostgresConversationStore(pg_url, expire_days=1)
    assert _versions(pg_url)[-1] == 99


def _writer(url: str, cid: str, n: int) -> None:
    store = PostgresConversationStore(url, expire_days=1, pool_size=4)
    threads = [
        threading.Thread(target=store.add_turn, args=(cid, f"q{i}", f"q{i}", "topic", {"i": i}))
        for i in range(n)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()


def test_concurrent_writers_in_several_processes_lose_and_duplicate_no_turn(pg_url: str) -> None:
    store = PostgresConversationStore(pg_url, expire_days=1)
    cid = store.create()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(pg_url, cid, 10)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    turns = store.get(cid)["turns"]
    assert len(turns) == 30
    with psycopg.connect(pg_url) as conn:
        positions = [p for (p,) in conn.execute("SELECT position FROM turns ORDER BY position")]
    assert positions == list(range(30))  # dense, no gaps, no duplicates
    store.close()


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://clinic:s3cret-pw@/assistant?host={tmp_path}&connect_timeout=2"
    with pytest.raises(ConfigError) as caught:
        PostgresConversationStore(url, expire_days=1)
    message = str(caught.value)
    assert "s3cret-pw" not in message and "clinic:***@" in message
    assert "\n" not in message and "ASSISTANT_CONVERSATION__DATABASE_URL" in message


def test_redaction_keeps_everything_but_the_password() -> None:
    assert redacted("postgresql://u:p@w:rd@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert redacted("postgresql://u@db/x") == "postgresql://u@db/x"
    assert redacted("postgresql:///x?host=/tmp") == "postgresql:///x?host=/tmp"


def test_the_settings_choose_the_store(pg_url: str, tmp_path: Path) -> None:
    default = open_conversations(Settings(data_dir=tmp_path))
    assert isinstance(default, ConversationStore)
    default.close()
    chosen = open_conversations(
        Settings(data_dir=tmp_path, conversation=ConversationSettings(database_url=pg_url, database_pool=2))
    )
    assert isinstance(chosen, PostgresConversationStore)
    chosen.close()
