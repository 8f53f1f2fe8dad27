"""Test doubles that load fast (no torch): the fake embedder, shared by the fixtures and the build process
of `tests.buildproc`."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from assistant.embed import Vectors


class FakeEmbedder:
    """Deterministic bag-of-words hashing embedder: similar words, similar vectors; no model needed."""

    name = "fake-hash-64"
    dimension = 64
    vectors = "fp32"

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
