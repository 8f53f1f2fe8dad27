"""Shared fixtures: a small fixture corpus, a deterministic fake embedder and a built index on them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from assistant.embed import Vectors
from assistant.service import Assistant, build_from_settings
from assistant.settings import ComposerSettings, Settings

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_CORPUS = FIXTURES / "corpus"


class FakeEmbedder:
    """Deterministic bag-of-words hashing embedder: similar words, similar vectors; no model needed."""

    name = "fake-hash-64"
    dimension = 64

    def _one(self, text: str) -> np.ndarray:
        v = np.zeros(self.dimension, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            h = int(hashlib.md5(word[:6].encode()).hexdigest(), 16)
            v[h % self.dimension] += 1.0 if (h >> 8) % 2 else -1.0
        n = float(np.linalg.norm(v))
        return v / n if n > 0 else v

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def embed_documents(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False
    ) -> Vectors:
        return self.embed_queries(texts)


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
    monkeypatch.setattr("assistant.service.SentenceTransformerEmbedder", lambda _name: FakeEmbedder())

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run
