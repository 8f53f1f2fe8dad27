"""The ONNX Runtime embedder (`ASSISTANT_EMBEDDING_BACKEND=onnx` or `onnx-quint8`), an opt-in extra:
`pip install -e '.[onnx]'`.

The model is exported once per model into `<cache_dir>/onnx/<model key>/` by a child process
(`assistant.onnx_export`), so this process loads only onnxruntime and tokenizers, never torch: that is what
makes it the lighter serving process. `onnx` runs the model's fp32 weights and gives the vectors torch gives
(within 1e-5; MACHINE-NOTES measured 2e-7), so it serves an index torch built and the other way round.
`onnx-quint8` runs dynamically quantised 8-bit weights: queries go faster still (builds did not, on the AVX-512
machines measured: README "Scaling"), and its vectors differ (cosine to fp32 about 0.96-0.98), so they form a
family of their own that never shares an index or an embedding cache with fp32
vectors.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import embed
from .embed import CachedQueries, Vectors, resolve_model
from .errors import IndexMismatch
from .onnx_export import FP32_FILE, META_FILE, QUINT8_FILE

QUINT8 = "onnx-quint8"
EXPORT_VERSION = 1  # bump when the exported graph or export.json changes: old exports are then made again


def export_folder(cache_dir: Path, model: str) -> Path:
    """Where the export of `model` lives under `cache_dir`."""
    path = resolve_model(model)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model.rsplit("/", 1)[-1])[:40].strip("-") or "model"
    digest = hashlib.sha256(f"{model}\0{path}\0{EXPORT_VERSION}".encode()).hexdigest()[:12]
    return cache_dir / "onnx" / f"{slug}-{digest}"


def ensure_export(cache_dir: Path, model: str) -> Path:
    """The export folder of `model`, exported first (in a child process, about half a minute) if missing."""
    folder = export_folder(cache_dir, model)
    if (folder / META_FILE).is_file():
        return folder
    run = subprocess.run(
        [sys.executable, "-m", "assistant.onnx_export", resolve_model(model), str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if not (folder / META_FILE).is_file():  # a concurrent export may have won the rename: that is fine
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        why = lines[-1] if lines else f"exit status {run.returncode}"
        raise IndexMismatch(
            f"cannot export {model!r} to ONNX: {why}; install the extra (`pip install -e '.[onnx]'`) "
            "or set ASSISTANT_EMBEDDING_BACKEND=torch"
        )
    return folder


class OnnxEmbedder(CachedQueries):
    """A sentence-transformers model exported to ONNX, run by onnxruntime; query vectors are cached."""

    def __init__(
        self, model: str, *, quantized: bool = False, cache_dir: Path, cache_size: int = 1024
    ) -> None:
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise IndexMismatch(
                "the ONNX embedder needs onnxruntime: `pip install -e '.[onnx]'`, "
                "or set ASSISTANT_EMBEDDING_BACKEND=torch"
            ) from exc
        super().__init__(cache_size)
        self.name = model
        self.vectors = QUINT8 if quantized else embed.FP32
        folder = ensure_export(cache_dir, model)
        meta = json.loads((folder / META_FILE).read_text())
        self.dimension = int(meta["dimension"])
        self.max_tokens = int(meta["max_seq_length"])
        self._pooling: str = meta["pooling"]
        self._inputs: list[str] = list(meta["inputs"])
        self._ort: Any = onnxruntime
        self._path = folder / (QUINT8_FILE if quantized else FP32_FILE)
        self._session: Any = None
        self._session_threads = 0
        self._tokenizer: Any = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._counter: Any = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        # the bundled tokenizer.json truncates at 128; sentence-transformers reads max_seq_length (256) instead
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        self._tokenizer.enable_padding(pad_id=self._pad_id(), pad_token=self._pad_token())

    def _pad_token(self) -> str:
        padding = self._tokenizer.padding
        return str(padding["pad_token"]) if padding else "[PAD]"

    def _pad_id(self) -> int:
        padding = self._tokenizer.padding
        return int(padding["pad_id"]) if padding else 0

    def _run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        wanted = embed.threads()
        if self._session is None or self._session_threads != wanted:  # threads are fixed per session
            options = self._ort.SessionOptions()
            options.intra_op_num_threads = wanted
            options.inter_op_num_threads = 1
            self._session = self._ort.InferenceSession(
                str(self._path), options, providers=["CPUExecutionProvider"]
            )
            self._session_threads = wanted
        out: np.ndarray = self._session.run(None, feeds)[0]
        return out

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._pooling == "cls":
            return hidden[:, 0]
        weights = mask[:, :, None].astype(np.float32)
        if self._pooling == "max":
            maxed: np.ndarray = np.where(weights > 0, hidden, -1e9).max(axis=1)
            return maxed
        pooled: np.ndarray = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled

    def _encode(self, texts: Sequence[str], batch_size: int, progress: bool) -> Vectors:
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths pad little
        out = np.zeros((len(texts), self.dimension), np.float32)
        starts = range(0, len(order), batch_size)
        if progress:
            tqdm: Any = importlib.import_module("tqdm").tqdm  # no type stubs for tqdm

            starts = tqdm(starts, desc="embedding", unit="batch", file=sys.stderr)
        for start in starts:
            rows = order[start : start + batch_size]
            encodings = self._tokenizer.encode_batch([texts[i] for i in rows])
            arrays = {
                "input_ids": np.array([e.ids for e in encodings], np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], np.int64),
            }
            hidden = self._run({name: arrays[name] for name in self._inputs})
            pooled = self._pool(hidden, arrays["attention_mask"])
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.clip(norms, 1e-12, None)
        return out

    def count_tokens(self, text: str) -> int:
        """How many tokens the model's tokenizer makes of `text` (no special tokens, no truncation)."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)
