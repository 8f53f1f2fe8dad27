"""Distributed embedding on Ray (`assistant index build --engine ray [--address ADDR]`, the [ray] extra).

The texts an index build has no cached vector for are cut into the embedding cache's shards; Ray Data maps
them over actors (`map_batches` with a class, so each actor loads the model once) across the cluster, and the
build process writes each shard into the embedding cache as it comes back, exactly as a local build does. So the
generation that follows is built from the same shards, a killed build resumes from the shards written, and a
rebuild embeds only new text. Without `--address` a local cluster is started with the machine's cores.

Every actor makes its embedder from the build's settings (`ASSISTANT_MODEL`, `ASSISTANT_EMBEDDING_BACKEND`):
the model must load on every node (the bundled package installed there, or a path every node can read).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .embed import Vectors
from .errors import ConfigError
from .settings import Settings


class ShardEmbedder:
    """A Ray actor's work: embed one shard of texts per call (the model loaded once, in `__init__`)."""

    def __init__(self, settings_json: str, batch_size: int) -> None:
        from .embed import make_embedder, set_threads

        set_threads(1)  # one actor per CPU: each on one thread
        self.embedder = make_embedder(Settings.model_validate_json(settings_json))
        self.batch_size = batch_size
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, list[Any]] = {"shard": [], "vectors": [], "rows": [], "worker": [], "seconds": []}
        for shard, texts in zip(batch["shard"], batch["texts"], strict=True):
            started = time.perf_counter()
            vectors = self.embedder.embed_documents(list(texts), batch_size=self.batch_size)
            out["shard"].append(int(shard))
            out["vectors"].append(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
            out["rows"].append(len(texts))
            out["worker"].append(self.worker)
            out["seconds"].append(time.perf_counter() - started)
        return out


class RayShards:
    """The shard engine of an index build (see `EmbeddingCache.embed`): shards in, (shard, vectors) out as
    they finish, in any order. `workers` says how many texts and seconds each actor took."""

    def __init__(self, settings: Settings, *, address: str | None = None, dimension: int) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ConfigError(
                "--engine ray needs Ray: `pip install -e '.[ray]'`, or build with --engine local"
            ) from exc
        if not settings.index.embedding_cache:
            raise ConfigError(
                "--engine ray writes the embedding cache: set ASSISTANT_INDEX__EMBEDDING_CACHE=true"
            )
        self.settings, self.address, self.dimension = settings, address, dimension
        self.workers: dict[str, dict[str, float]] = {}
        self._ray: Any = ray

    def _start(self) -> int:
        ray = self._ray
        if not ray.is_initialized():
            try:
                ray.init(
                    address=self.address,
                    include_dashboard=False,
                    logging_level="ERROR",
                    log_to_driver=False,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.address or "a local cluster"
                raise ConfigError(f"cannot start or reach Ray at {where} ({exc}); check --address") from None
            ray.data.DataContext.get_current().enable_progress_bars = False
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def __call__(self, shards: Sequence[Sequence[str]]) -> Iterator[tuple[int, Vectors]]:
        if not shards:
            return
        cpus = self._start()
        items = [{"shard": i, "texts": list(texts)} for i, texts in enumerate(shards)]
        dataset = self._ray.data.from_items(items, override_num_blocks=len(items))
        mapped = dataset.map_batches(
            ShardEmbedder,
            fn_constructor_kwargs={
                "settings_json": self.settings.model_dump_json(),
                "batch_size": self.settings.index.batch_size,
            },
            batch_size=1,
            concurrency=min(cpus, len(items)),
            num_cpus=1,
        )
        for row in mapped.iter_rows():
            stats = self.workers.setdefault(row["worker"], {"texts": 0, "seconds": 0.0})
            stats["texts"] += int(row["rows"])
            stats["seconds"] += float(row["seconds"])
            vectors = np.frombuffer(row["vectors"], dtype=np.float32).reshape(-1, self.dimension)
            yield int(row["shard"]), vectors

    def report(self) -> list[dict[str, Any]]:
        """Texts, seconds and texts per second of each actor, busiest first."""
        return [
            {
                "worker": worker,
                "texts": int(s["texts"]),
                "seconds": round(s["seconds"], 2),
                "texts_per_second": round(s["texts"] / s["seconds"], 1) if s["seconds"] > 0 else None,
            }
            for worker, s in sorted(self.workers.items(), key=lambda kv: -kv[1]["texts"])
        ]
