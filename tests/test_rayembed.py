"""Distributed embedding on a local Ray cluster the test starts: the index it builds equals a single-process
build of the same held corpus (same ids, vectors within 1e-5), from the same embedding-cache shards, and the
manifest says what each worker did."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.embedcache import EmbeddingCache, model_folder
from assistant.ingest import load_corpus
from assistant.loader import load_index
from assistant.service import build_from_settings
from assistant.settings import BUNDLED_MODEL, PROJECT_ROOT, IndexSettings, Settings

pytestmark = pytest.mark.real_model
PASSAGES = 1100


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


def held_corpus(folder: Path) -> Path:
    """1,100 passages: the shipped corpus's sentences, one passage each (BEIR-style JSONL)."""
    corpus = load_corpus([PROJECT_ROOT / "corpus"], Settings().ingest)
    sentences = [s for p in corpus.passages for s in p.sentence_texts()]
    assert len(sentences) >= PASSAGES
    path = folder / "held.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i, text in enumerate(sentences[:PASSAGES]):
            out.write(json.dumps({"_id": f"s{i}", "title": "", "text": text}) + "\n")
    return path


def test_a_ray_build_equals_a_local_build(tmp_path: Path, ray_cluster: None) -> None:
    from assistant.embed import make_embedder
    from assistant.rayembed import RayShards

    source = held_corpus(tmp_path)
    built = {}
    for engine in ("local", "ray"):
        settings = Settings(
            model=BUNDLED_MODEL,
            corpus=[source],
            index_dir=tmp_path / f"index-{engine}",
            cache_dir=tmp_path / f"cache-{engine}",
            index=IndexSettings(sentence_embeddings=False, embedding_shard_size=128),
        )
        embedder = make_embedder(settings)
        shards = RayShards(settings, dimension=embedder.dimension) if engine == "ray" else None
        build_from_settings(settings, embedder, progress=False, engine=shards)
        index = load_index(settings.index_dir, expected_model=BUNDLED_MODEL)
        cache = EmbeddingCache(model_folder(settings.cache_dir / "embeddings", embedder), embedder.dimension)
        built[engine] = (index, cache, len(list(cache.folder.glob("shard-*.keys.npy"))))
    (local, local_cache, local_shards), (ray_index, ray_cache, ray_shards) = built["local"], built["ray"]
    assert len(local.passages) == len(ray_index.passages) == PASSAGES
    assert [p.passage_id for p in local.passages] == [p.passage_id for p in ray_index.passages]
    assert np.abs(local.dense.vectors() - ray_index.dense.vectors()).max() < 1e-5
    assert len(local_cache) == len(ray_cache) == PASSAGES and local_shards == ray_shards == 9  # 1,100 / 128
    workers = ray_index.manifest.embedding_workers
    assert len(workers) == 2 and sum(w["texts"] for w in workers) == PASSAGES  # both actors worked
    assert all(w["texts_per_second"] > 0 for w in workers)
    assert local.manifest.embedding_workers == []


def test_a_ray_build_without_the_embedding_cache_is_refused(tmp_path: Path) -> None:
    from assistant.errors import ConfigError
    from assistant.rayembed import RayShards

    no_cache = Settings(index=IndexSettings(embedding_cache=False), cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="EMBEDDING_CACHE=true"):
        RayShards(no_cache, dimension=384)
