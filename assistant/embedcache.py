"""Embeddings kept between builds, so a build embeds only text it has not embedded before.

Vectors are stored per model in `<cache_dir>/embeddings/<model key>/` as shards:
`shard-<writer>-NNNNNN.vectors.npy` (float32, one row per text) and `shard-<writer>-NNNNNN.keys.npy` (the
sha256 of each text, a row of 32 bytes), where `<writer>` is a token of the build that wrote it, so builds
sharing the cache never overwrite each other's shards. A shard is written as soon as its texts are embedded
(vectors first, then keys, each by rename), so a killed build keeps every shard it finished and loses at most
the one it was computing; the keys file is the shard's commit mark, and a shard without one is ignored.
Vectors from different models never mix: the folder is keyed by the model name, its vector family (fp32 or the
ONNX 8-bit weights') and its dimension. Shards are
read memory-mapped.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from .embed import Embedder, Vectors, vector_key
from .generations import checkpoint

KEY_BYTES = 32
ShardEngine = Callable[[Sequence[Sequence[str]]], Iterator[tuple[int, Vectors]]]  # shards -> (index, vectors)


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def model_folder(root: Path, embedder: Embedder) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", embedder.name.rsplit("/", 1)[-1])[:40].strip("-") or "model"
    digest = hashlib.sha256(f"{vector_key(embedder)}\0{embedder.dimension}".encode()).hexdigest()[:12]
    return root / f"{slug}-{digest}"


def _write_atomic(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        np.save(handle, array)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class EmbeddingCache:
    """The shards of one model's cache folder, and the embedding of whatever they lack."""

    def __init__(self, folder: Path, dimension: int) -> None:
        self.folder = folder
        self.dimension = dimension
        self._rows: dict[bytes, tuple[int, int]] = {}
        self._vectors: list[np.ndarray] = []
        folder.mkdir(parents=True, exist_ok=True)
        for keys_path in sorted(folder.glob("shard-*.keys.npy")):
            vectors_path = keys_path.with_name(keys_path.name.replace(".keys.", ".vectors."))
            try:
                keys = np.load(keys_path)
                vectors = np.load(vectors_path, mmap_mode="r")
            except (OSError, ValueError):
                continue  # a damaged shard is embedded again
            if (
                keys.dtype != np.uint8
                or keys.shape != (len(vectors), KEY_BYTES)
                or vectors.shape[1:] != (dimension,)
            ):
                continue
            self._add(keys, vectors)
        # shard names carry a token of this writer, so two builds sharing the cache never overwrite each
        # other's shards (which would pair one build's keys with the other's vectors)
        self._token = uuid.uuid4().hex[:12]
        self._next = 0

    def _commit(self, chunk: Sequence[str], vectors: Vectors) -> None:
        """Write one shard (vectors, then keys: the keys file is its commit mark) and index it."""
        if vectors.shape != (len(chunk), self.dimension):
            raise ValueError(f"a shard of {len(chunk)} texts came back as vectors of shape {vectors.shape}")
        # raw digest bytes as uint8 rows: a fixed-width bytes dtype would drop a digest's trailing NULs
        keys = np.frombuffer(b"".join(text_key(t) for t in chunk), dtype=np.uint8).reshape(-1, KEY_BYTES)
        name = f"shard-{self._token}-{self._next:06d}"
        _write_atomic(self.folder / f"{name}.vectors.npy", vectors)
        _write_atomic(self.folder / f"{name}.keys.npy", keys)
        self._next += 1
        self._add(keys, vectors)
        checkpoint("shard")

    def _add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        shard = len(self._vectors)
        self._vectors.append(vectors)
        for row, key in enumerate(keys):
            self._rows.setdefault(key.tobytes(), (shard, row))

    def __len__(self) -> int:
        return len(self._rows)

    def missing(self, texts: Sequence[str]) -> list[str]:
        """The distinct texts the cache has no vector for, in first-seen order."""
        return [t for t in dict.fromkeys(texts) if text_key(t) not in self._rows]

    def embed(
        self,
        texts: Sequence[str],
        embedder: Embedder,
        *,
        batch_size: int,
        shard_size: int,
        progress: bool = False,
        log: Callable[[str], None] = lambda _m: None,
        engine: ShardEngine | None = None,
    ) -> tuple[Vectors, int]:
        """(a vector per text, in order; how many texts had to be embedded now). The texts not cached are
        embedded in shards of `shard_size`, by `embedder` here or by `engine` (Ray: `assistant.rayembed`),
        each written to the cache as soon as it is done."""
        todo = self.missing(texts)
        if todo:
            log(f"embedding {len(todo)} of {len(texts)} texts ({len(texts) - len(todo)} cached)")
        shards = [todo[start : start + shard_size] for start in range(0, len(todo), shard_size)]
        done: Iterable[tuple[int, Vectors]] = (
            engine(shards)
            if engine is not None
            else (
                (i, embedder.embed_documents(chunk, batch_size=batch_size, progress=progress))
                for i, chunk in enumerate(shards)
            )
        )
        for i, vectors in done:
            self._commit(shards[i], np.asarray(vectors, dtype=np.float32))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            shard, row = self._rows[text_key(text)]
            out[i] = self._vectors[shard][row]
        return out, len(todo)
