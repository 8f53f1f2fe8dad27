"""Shared fixtures: a small fixture corpus, a deterministic fake embedder, a built index on them, and a client
whose access log is captured."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.api.edge import ACCESS_LOG, JsonLines
from assistant.service import Assistant, build_from_settings
from assistant.settings import ComposerSettings, Settings

from .fakes import FakeEmbedder

pytest_plugins = ["tests.pgserver_fixture"]

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_CORPUS = FIXTURES / "corpus"


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        model=FakeEmbedder.name,
        corpus=[FIXTURE_CORPUS],
        index_dir=tmp_path / "index",
        data_dir=tmp_path / "data",
        cache_dir=tmp_path / "cache",
        # the fake embedder's similarities run lower than a real model's: thresholds to match
        composer=ComposerSettings(abstain_below=0.2, min_sentence_score=0.1, relative_margin=1.0),
    )


@pytest.fixture
def built_settings(settings: Settings, fake_embedder: FakeEmbedder) -> Settings:
    build_from_settings(settings, fake_embedder, progress=False)
    return settings


@pytest.fixture
def assistant(built_settings: Settings, fake_embedder: FakeEmbedder) -> Iterator[Assistant]:
    a = Assistant.open(built_settings, embedder=fake_embedder, build_if_missing=False)
    yield a
    a.close()


@pytest.fixture
def cli_run(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """`assistant ARGV...` in-process on the test settings and the fake embedder: (exit code, stdout, stderr)."""
    from assistant import cli

    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr("assistant.embed.SentenceTransformerEmbedder", lambda _name: FakeEmbedder())

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def client_log(built_settings: Settings, assistant: Assistant) -> Iterator[tuple[TestClient, Lines]]:
    handler = Lines()
    handler.setFormatter(JsonLines())
    logger = logging.getLogger(ACCESS_LOG)
    with TestClient(create_app(built_settings, assistant)) as c:
        logger.addHandler(handler)
        yield c, handler
        logger.removeHandler(handler)


def bytes_on_disk(database: Path) -> bytes:
    """A SQLite database file and its write-ahead log, as a forensic reader would see them."""
    return b"".join(p.read_bytes() for p in (database, Path(f"{database}-wal")) if p.exists())
