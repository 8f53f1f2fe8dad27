"""Load an index generation and verify every byte of it; fall back to the newest generation that verifies.

`assistant.store` writes generations (see its docstring for a generation's files), `assistant.generations`
keeps the index folder around them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .embed import Vectors
from .errors import IndexMismatch, IndexNotFound
from .generations import MANIFEST, candidates
from .lexical import load_bm25
from .manifest import Manifest
from .passagestore import FILE as STORE_FILE
from .passagestore import DocumentStore, PassageStore, open_store
from .vectorindex import VectorIndex, load_vector_index
from .vocab.corpus import CorpusVocabulary

MANIFEST_SUM = "manifest.sha256"
VOCABULARY = "vocabulary.json"  # the library's words and abbreviations (assistant.vocab.corpus)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): _sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and str(p.relative_to(folder)) not in (MANIFEST, MANIFEST_SUM)
    }


@dataclass
class LoadedIndex:
    """A verified, loaded index generation."""

    path: Path
    manifest: Manifest
    documents: DocumentStore
    passages: PassageStore
    dense: VectorIndex
    bm25: Any
    sentence_vectors: np.ndarray[Any, np.dtype[np.float16]] | None  # memory-mapped, float16
    vocabulary: CorpusVocabulary
    fallback_from: str | None = None  # why the generation CURRENT names was not loaded, when it was not

    @property
    def generation(self) -> str:
        """The generation's folder name (what `/readyz` and the `X-Index-Generation` header report)."""
        return self.path.name

    def sentence_vectors_of(self, row: int) -> Vectors | None:
        """The sentence vectors of the passage in `row` (float32), when the generation has them."""
        if self.sentence_vectors is None:
            return None
        start = self.passages.sentence_start(row)
        return np.asarray(
            self.sentence_vectors[start : start + len(self.passages[row].sentences)], np.float32
        )


def read_generation_manifest(folder: Path) -> Manifest:
    """A generation's manifest, checked against its own checksum; `IndexMismatch` in one line otherwise."""
    rebuild = f"rebuild it with `assistant index build --index {folder.parent}`"
    try:
        raw = (folder / MANIFEST).read_bytes()
        recorded = (folder / MANIFEST_SUM).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexMismatch(f"{folder}: no readable manifest ({exc.__class__.__name__}); {rebuild}") from None
    if hashlib.sha256(raw).hexdigest() != recorded:
        raise IndexMismatch(f"{folder}: manifest.json does not match its checksum; {rebuild}")
    return Manifest.parse(raw, str(folder), rebuild)


def current_generation(index_dir: Path) -> Path:
    """The generation the loader would use first: CURRENT's if its manifest verifies, else the newest that
    does (`IndexNotFound` saying how to build one when there is none)."""
    return _first_manifest(index_dir)[0]


def read_manifest(index_dir: Path) -> Manifest:
    return _first_manifest(index_dir)[1]


def _first_manifest(index_dir: Path) -> tuple[Path, Manifest]:
    for folder in candidates(index_dir):
        try:
            return folder, read_generation_manifest(folder)
        except IndexMismatch:
            continue
    raise IndexNotFound(
        f"no usable index generation in {index_dir}; rebuild with `assistant index build --index {index_dir}`"
    )


def load_index(
    index_dir: Path,
    *,
    expected_model: str | None,
    expected_dimension: int | None = None,
    expected_vectors: str | None = None,
    log: Callable[[str], None] = lambda _m: None,
) -> LoadedIndex:
    """Load and verify the generation CURRENT names or, when it fails, the newest one that verifies (and
    say so through `log`); raises the first generation's error when none does."""
    failures: list[str] = []
    for folder in candidates(index_dir):
        try:
            loaded = load_generation(
                folder,
                expected_model=expected_model,
                expected_dimension=expected_dimension,
                expected_vectors=expected_vectors,
            )
        except IndexMismatch as exc:
            failures.append(str(exc))
            continue
        if failures:
            log(f"{failures[0]}; serving the newest generation that verifies instead: {folder.name}")
            loaded.fallback_from = failures[0]
        return loaded
    raise IndexMismatch(failures[0] if failures else f"no index generation in {index_dir}")


def load_generation(
    folder: Path,
    *,
    expected_model: str | None,
    expected_dimension: int | None = None,
    expected_vectors: str | None = None,
) -> LoadedIndex:
    """Load one generation folder, verifying every file; `IndexMismatch` (one line) on any problem."""
    manifest = read_generation_manifest(folder)
    rebuild = f"rebuild it with `assistant index build --index {folder.parent}`"
    if expected_model is not None and manifest.model != expected_model:
        raise IndexMismatch(
            f"{folder} was built with model {manifest.model!r} but {expected_model!r} is configured; "
            f"{rebuild}, or set ASSISTANT_MODEL={manifest.model}"
        )
    if expected_vectors is not None and manifest.vectors != expected_vectors:
        backend = "onnx-quint8" if manifest.vectors == "onnx-quint8" else "torch (or onnx)"
        raise IndexMismatch(
            f"{folder} holds {manifest.vectors} vectors but the embedder makes {expected_vectors} ones; "
            f"{rebuild}, or set ASSISTANT_EMBEDDING_BACKEND={backend}"
        )
    if expected_dimension is not None and manifest.dimension != expected_dimension:
        raise IndexMismatch(
            f"{folder}: vectors of dimension {manifest.dimension}, model gives {expected_dimension}; {rebuild}"
        )
    actual = file_hashes(folder)
    if actual != manifest.files:
        changed = sorted(set(actual.items()) ^ set(manifest.files.items()))
        raise IndexMismatch(f"{folder}: files differ from the manifest ({changed[0][0]}, ...); {rebuild}")
    try:
        return _read_generation(folder, manifest, rebuild)
    except IndexMismatch:
        raise
    except Exception as exc:  # verified bytes that still do not parse: a bug or a hand-made manifest
        raise IndexMismatch(f"{folder}: cannot be read ({exc.__class__.__name__}); {rebuild}") from None


def _read_generation(folder: Path, manifest: Manifest, rebuild: str) -> LoadedIndex:
    documents, passages = open_store(folder / STORE_FILE)
    dense = load_vector_index(folder, backend=manifest.vector_backend, kind=manifest.vector_index)
    if len(dense) != len(passages) or manifest.passage_count != len(passages):
        raise IndexMismatch(f"{folder}: {len(dense)} vectors for {len(passages)} passages; {rebuild}")
    sentence_vectors = None
    if (folder / "sentences.npy").is_file():
        sentence_vectors = np.load(folder / "sentences.npy", mmap_mode="r")
        if len(sentence_vectors) != manifest.sentence_count:
            raise IndexMismatch(f"{folder}: sentence vectors do not match the passages; {rebuild}")
    return LoadedIndex(
        path=folder,
        manifest=manifest,
        documents=documents,
        passages=passages,
        dense=dense,
        bm25=load_bm25(folder / "bm25"),
        sentence_vectors=sentence_vectors,
        vocabulary=CorpusVocabulary.load_or_build(folder / VOCABULARY, documents.values(), passages),
    )
