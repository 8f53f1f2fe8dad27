"""The server's life around its requests: 20 rebuild-and-swap cycles driven from a second process (no request fails,
every answer comes from exactly one generation), generations that fail to load, a corpus that cannot be rebuilt,
and the periodic deletion of expired conversations."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.api.edge import ACCESS_LOG
from assistant.passagestore import FILE as STORE_FILE
from assistant.passagestore import open_store
from assistant.service import Assistant, build_from_settings
from assistant.settings import ApiSettings, Settings

from .conftest import FIXTURE_CORPUS, bytes_on_disk
from .fakes import FakeEmbedder
from .test_generations import ROOT, wait_for

QUESTIONS = ["How is gout treated?", "What is the first-line treatment for asthma?", "hypertension target?"]


@pytest.fixture
def server_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.LogCaptureFixture]:
    """The server's log (it does not propagate to the root logger), for a server that opens its own index
    with the fake embedder."""
    monkeypatch.setattr("assistant.embed.SentenceTransformerEmbedder", lambda _name: FakeEmbedder())
    logger = logging.getLogger(ACCESS_LOG)
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def twin_corpus(folder: Path) -> Path:
    """The fixture corpus under other document ids: its passages' ids differ from the fixture's."""
    folder.mkdir()
    for page in FIXTURE_CORPUS.glob("*.md"):
        text = page.read_text(encoding="utf-8")
        (folder / page.name).write_text(text.replace("\nid: ", "\nid: twin-", 1), encoding="utf-8")
    assert all("id: twin-" in p.read_text() for p in folder.glob("*.md"))
    return folder


def build_in_another_process(index_dir: Path, corpus: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tests.buildproc", str(index_dir), str(corpus), "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def passage_ids(folder: Path) -> set[str]:
    _documents, passages = open_store(folder / STORE_FILE)
    return {p.passage_id for p in passages}


def test_twenty_rebuild_and_swap_cycles_lose_no_request_and_never_mix_generations(
    settings: Settings, tmp_path: Path, server_log: pytest.LogCaptureFixture
) -> None:
    twin = twin_corpus(tmp_path / "twin")
    served_settings = settings.model_copy(
        update={"api": ApiSettings(watch_interval_s=0.05, rate_limit_per_minute=100_000)}
    )
    first = build_in_another_process(settings.index_dir, FIXTURE_CORPUS)
    ids = {first: passage_ids(settings.index_dir / first)}
    answered, swaps = 0, 0
    with TestClient(create_app(served_settings)) as client:
        wait_for(lambda: client.get("/readyz").status_code == 200)
        for cycle in range(20):
            # builds alternate between the two corpora, so a mixed answer would cite passages of both
            corpus = twin if cycle % 2 == 0 else FIXTURE_CORPUS
            builder = subprocess.Popen(
                [sys.executable, "-m", "tests.buildproc", str(settings.index_dir), str(corpus), "2"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            published: str | None = None
            deadline = time.monotonic() + 60
            while True:
                question = QUESTIONS[answered % len(QUESTIONS)]
                r = client.post("/v1/ask", json={"question": question})
                assert r.status_code == 200, r.text
                answered += 1
                generation = r.headers["x-index-generation"]
                if published is None and (generation not in ids or builder.poll() is not None):
                    # the swap may come before the builder has pruned and exited: wait for its name
                    out, _err = builder.communicate(timeout=60)
                    assert builder.returncode == 0
                    published = out.strip()
                    ids[published] = passage_ids(settings.index_dir / published)  # before the next prunes it
                cited = {ref["passage_id"] for ref in r.json()["references"]}
                assert generation in ids and cited <= ids[generation], (generation, cited)
                if published is not None and generation == published:
                    swaps += 1
                    break
                assert time.monotonic() < deadline, f"generation {published} was never served"
            assert client.get("/readyz").json()["generation"] == published
    assert swaps == 20 and len(ids) == 21 and answered >= 40
    assert all(len({i.startswith("twin-") for i in ids[g]}) == 1 for g in ids)  # each from one corpus
    assert [r.getMessage() for r in server_log.records if r.levelname == "ERROR"] == []


def test_a_generation_that_fails_to_load_is_not_swapped_in(
    settings: Settings, tmp_path: Path, server_log: pytest.LogCaptureFixture
) -> None:
    served_settings = settings.model_copy(
        update={"api": ApiSettings(watch_interval_s=0.05, rate_limit_per_minute=100_000)}
    )
    first = build_in_another_process(settings.index_dir, FIXTURE_CORPUS)
    with TestClient(create_app(served_settings)) as client:
        wait_for(lambda: client.get("/readyz").status_code == 200)
        # a generation whose manifest verifies (so it is the one to try) but whose passages are damaged,
        # published by hand: built elsewhere, damaged, moved in, then CURRENT replaced
        elsewhere = tmp_path / "elsewhere"
        second = build_in_another_process(elsewhere, FIXTURE_CORPUS)
        (elsewhere / second / STORE_FILE).write_bytes(b"not a database")
        shutil.move(elsewhere / second, settings.index_dir / second)
        (settings.index_dir / "CURRENT.new").write_text(second + "\n")
        os.replace(settings.index_dir / "CURRENT.new", settings.index_dir / "CURRENT")
        time.sleep(0.5)  # ten watch intervals
        ready = client.get("/readyz").json()
        assert ready["generation"] == first and ready["status"] == "ready"
        assert client.post("/v1/ask", json={"question": "How is gout treated?"}).status_code == 200
    tried = [r for r in server_log.records if second in r.getMessage()]
    assert len(tried) == 1 and "serving the newest generation that verifies" in tried[0].getMessage()


def test_a_bad_file_in_the_corpus_never_stops_the_built_index_being_served(
    settings: Settings, tmp_path: Path, server_log: pytest.LogCaptureFixture
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    mine = settings.model_copy(update={"corpus": [corpus]})
    built = Path(build_from_settings(mine, FakeEmbedder(), progress=False)).name
    (corpus / "broken.md").write_bytes(
        b"---\ntitle: [unclosed\n---\n\n## A\n\nText.\n"
    )  # changed and unreadable
    with TestClient(create_app(mine)) as client:
        wait_for(lambda: any("background rebuild failed" in r.getMessage() for r in server_log.records))
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["generation"] == built and ready.json()["stale"]
        assert str(corpus) not in ready.text
        assert client.post("/v1/ask", json={"question": "How is gout treated?"}).status_code == 200
    # the command line too: the failed rebuild is reported and the old generation answers
    messages: list[str] = []
    opened = Assistant.open(mine, embedder=FakeEmbedder(), log=messages.append)
    assert opened.index.generation == built and any("the rebuild failed" in m for m in messages)
    opened.close()


def test_the_server_deletes_expired_conversations_from_the_file_while_it_runs(
    built_settings: Settings, assistant: Assistant
) -> None:
    from assistant.settings import ConversationSettings

    served = built_settings.model_copy(
        update={"conversation": ConversationSettings(expire_days=0.5 / 86400, expire_every_s=0.1)}
    )
    store = assistant.conversations
    assert store is not None
    store.expire_seconds = 0.5  # the store handed in keeps its own retention: the same half second
    with TestClient(create_app(served, assistant)) as client:
        secret = "Zanzibar-4471 gout treated?"
        cid = client.post("/v1/ask", json={"question": secret}).json()["conversation_id"]
        assert secret.encode() in bytes_on_disk(store.path)
        wait_for(
            lambda: secret.encode() not in bytes_on_disk(store.path), timeout=10
        )  # gone, not only refused
        assert client.get(f"/v1/conversations/{cid}").status_code == 404
