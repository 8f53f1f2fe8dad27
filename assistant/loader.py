"""Load an index generation and verify every byte of it; fall back to the newest generation that verifies.

`assistant.store` writes generations (see its docstring for a generation's files), `assistant.generations`
keeps the index folder around them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .embed import Vectors
from .errors import IndexMismatch, IndexNotFound
from .generations import MANIFEST, candidates
from .lexical import load_bm25
from .types import Document, Passage
from .vectorindex import VectorIndex, load_vector_index
from .vocab.corpus import CorpusVocabulary

FORMAT_VERSION = 2  # 2: manifest.sha256
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
    manifest: dict[str, Any]
    documents: dict[str, Document]
    passages: list[Passage]
    dense: VectorIndex
    bm25: Any
    sentence_vectors: Vectors | None
    sentence_start: np.ndarray[Any, np.dtype[np.int64]]
    vocabulary: CorpusVocabulary
    by_id: dict[str, int] = field(default_factory=dict)
    fallback_from: str | None = None  # why the generation CURRENT names was not loaded, when it was not

    @property
    def generation(self) -> str:
        """The generation's folder name (what `/readyz` and the `X-Index-Generation` header report)."""
        return self.path.name

    def __post_init__(self) -> None:
        self.by_id = {p.passage_id: i for i, p in enumerate(self.passages)}

    def sentence_vectors_of(self, index: int) -> Vectors | None:
        if self.sentence_vectors is None:
            return None
        start = int(self.sentence_start[index])
        return self.sentence_vectors[start : start + len(self.passages[index].sentences)]


def read_generation_manifest(folder: Path) -> dict[str, Any]:
    """A generation's manifest, checked against its own checksum; `IndexMismatch` in one line otherwise."""
    rebuild = f"rebuild it with `assistant index build --index {folder.parent}`"
    try:
        raw = (folder / MANIFEST).read_bytes()
        recorded = (folder / MANIFEST_SUM).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexMismatch(f"{folder}: no readable manifest ({exc.__class__.__name__}); {rebuild}") from None
    if hashlib.sha256(raw).hexdigest() != recorded:
        raise IndexMismatch(f"{folder}: manifest.json does not match its checksum; {rebuild}")
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise IndexMismatch(f"{folder}: manifest.json is not valid JSON; {rebuild}") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        version = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise IndexMismatch(f"{folder}: index format {version} is not {FORMAT_VERSION}; {rebuild}")
    return manifest


def current_generation(index_dir: Path) -> Path:
    """The generation the loader would use first: CURRENT's if its manifest verifies, else the newest that
    does (`IndexNotFound` saying how to build one when there is none)."""
    return _first_manifest(index_dir)[0]


def read_manifest(index_dir: Path) -> dict[str, Any]:
    return _first_manifest(index_dir)[1]


def _first_manifest(index_dir: Path) -> tuple[Path, dict[str, Any]]:
    for folder in candidates(index_dir):
        try:
            return folder, read_generation_manifest(folder)
        except IndexMismatch:
            continue
    raise IndexNotFound(
        f"no usable index generation in {index_dir}; rebuild with `assistant index build --index {index_dir}`"
    )


def _read_passages(path: Path) -> list[Passage]:
    passages = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            spans = tuple((int(a), int(b)) for a, b in r["sentences"])
            passages.append(
                Passage(
                    r["id"], r["doc"], r["section"], r["text"], spans, r.get("position", 0), r.get("page")
                )
            )
    return passages


def load_index(
    index_dir: Path,
    *,
    expected_model: str | None,
    expected_dimension: int | None = None,
    log: Callable[[str], None] = lambda _m: None,
) -> LoadedIndex:
    """Load and verify the generation CURRENT names or, when it fails, the newest one that verifies (and
    say so through `log`); raises the first generation's error when none does."""
    failures: list[str] = []
    for folder in candidates(index_dir):
        try:
            loaded = load_generation(
                folder, expected_model=expected_model, expected_dimension=expected_dimension
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
    folder: Path, *, expected_model: str | None, expected_dimension: int | None = None
) -> LoadedIndex:
    """Load one generation folder, verifying every file; `IndexMismatch` (one line) on any problem."""
    manifest = read_generation_manifest(folder)
    rebuild = f"rebuild it with `assistant index build --index {folder.parent}`"
    if expected_model is not None and manifest.get("model") != expected_model:
        raise IndexMismatch(
            f"{folder} was built with model {manifest.get('model')!r} but {expected_model!r} is configured; "
            f"{rebuild}, or set ASSISTANT_MODEL={manifest.get('model')}"
        )
    if expected_dimension is not None and manifest.get("dimension") != expected_dimension:
        raise IndexMismatch(
            f"{folder}: vectors of dimension {manifest.get('dimension')}, model gives {expected_dimension}; {rebuild}"
        )
    actual = file_hashes(folder)
    if actual != manifest.get("files"):
        changed = sorted(set(actual.items()) ^ set(manifest.get("files", {}).items()))
        raise IndexMismatch(f"{folder}: files differ from the manifest ({changed[0][0]}, ...); {rebuild}")
    try:
        return _read_generation(folder, manifest, rebuild)
    except IndexMismatch:
        raise
    except Exception as exc:  # verified bytes that still do not parse: a bug or a hand-made manifest
        raise IndexMismatch(f"{folder}: cannot be read ({exc.__class__.__name__}); {rebuild}") from None


def _read_generation(folder: Path, manifest: dict[str, Any], rebuild: str) -> LoadedIndex:
    passages = _read_passages(folder / "passages.jsonl")
    documents = {
        k: Document.from_dict(v)
        for k, v in json.loads((folder / "documents.json").read_text("utf-8")).items()
    }
    dense = load_vector_index(folder, manifest)
    if len(dense) != len(passages) or manifest.get("passage_count") != len(passages):
        raise IndexMismatch(f"{folder}: {len(dense)} vectors for {len(passages)} passages; {rebuild}")
    sentence_vectors = None
    counts = np.array([len(p.sentences) for p in passages], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(passages) else counts
    if (folder / "sentences.npy").is_file():
        sentence_vectors = np.load(folder / "sentences.npy").astype(np.float32)
        if len(sentence_vectors) != int(counts.sum()):
            raise IndexMismatch(f"{folder}: sentence vectors do not match the passages; {rebuild}")
    return LoadedIndex(
        path=folder,
        manifest=manifest,
        documents=documents,
        passages=passages,
        dense=dense,
        bm25=load_bm25(folder / "bm25"),
        sentence_vectors=sentence_vectors,
        sentence_start=starts,
        vocabulary=CorpusVocabulary.load_or_build(folder / VOCABULARY, documents.values(), passages),
    )
