"""The manifest of an index generation, typed: what was built, from what, with which settings, and the sha256 of
every file (`manifest.json`, itself checked by `manifest.sha256`). Written once by `assistant.store`, read by
`assistant.loader` and whoever reports on a generation."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import IndexMismatch

FORMAT_VERSION = 3  # 2: manifest.sha256; 3: passages and documents in passages.sqlite, vectors memory-mapped


class DenseRecall(BaseModel):
    """Recall@k of the dense index against exact search, measured at build time."""

    model_config = ConfigDict(frozen=True)

    recall: float = 1.0
    k: int = 10
    queries: int = 0


class EmbeddedNow(BaseModel):
    """How many texts the build had to embed (the rest came from the embedding cache)."""

    model_config = ConfigDict(frozen=True)

    passages: int = 0
    sentences: int = 0


class LeftOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    why: str


class Manifest(BaseModel):
    """One generation's manifest. Unknown keys (from a newer build) are ignored; missing required ones are an
    `IndexMismatch` that says to rebuild."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    format_version: int
    model: str
    vectors: str = "fp32"  # the embedder's vector family: fp32 (torch or ONNX fp32) or onnx-quint8
    dimension: int
    normalized: bool = True
    metric: str = "inner_product"
    vector_backend: str = "faiss"
    vector_index: str = Field(description="the index type within the backend: flat-ip, hnsw32, ...")
    dense_recall: DenseRecall = DenseRecall()
    passage_count: int
    document_count: int
    sentence_count: int = 0
    sentence_embeddings: bool = True
    embed_context: bool = True
    corpus_fingerprint: str = ""
    source_fingerprint: str = ""
    sources: list[str] = []
    settings: dict[str, Any] = {}
    built_at: str = ""
    embed_seconds: float = 0.0
    passages_per_second: float | None = None
    build_seconds: float = 0.0
    embedded_now: EmbeddedNow = EmbeddedNow()
    embedding_workers: list[dict[str, Any]] = []  # a distributed build: texts and seconds of each worker
    left_out: list[LeftOut] = []
    duplicates: list[str] = []
    files: dict[str, str] = {}

    @classmethod
    def parse(cls, raw: bytes, where: str, rebuild: str) -> Manifest:
        """The manifest in `raw` (JSON), or `IndexMismatch` in one line."""
        try:
            data = cls.__pydantic_validator__.validate_json(raw, strict=False)
        except ValidationError as exc:
            version = _format_version(raw)
            if version is not None and version != FORMAT_VERSION:
                raise IndexMismatch(
                    f"{where}: index format {version} is not {FORMAT_VERSION}; {rebuild}"
                ) from None
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(the whole file)"
            raise IndexMismatch(f"{where}: manifest.json: {field}: {first['msg']}; {rebuild}") from None
        manifest: Manifest = data
        if manifest.format_version != FORMAT_VERSION:
            raise IndexMismatch(
                f"{where}: index format {manifest.format_version} is not {FORMAT_VERSION}; {rebuild}"
            )
        return manifest

    def to_json(self) -> bytes:
        return self.model_dump_json(indent=2).encode()


def _format_version(raw: bytes) -> int | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    version = data.get("format_version") if isinstance(data, dict) else None
    return version if isinstance(version, int) else None
