"""BEIR-style JSONL: one `{"_id", "title", "text", "metadata"?}` object a line, each line a document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import IngestError
from ..jsonl import read_jsonl
from ..metadata import document_from_beir
from ..settings import IngestSettings
from .base import Block, Parsed, normalise, squash, too_big


class BeirReader:
    name = "beir-jsonl"
    suffixes = (".jsonl",)

    def read(self, path: Path, settings: IngestSettings) -> Iterator[Parsed]:
        for lineno, row in read_jsonl(path, IngestError):
            if "_id" not in row:
                raise IngestError(
                    f"{path}:{lineno}: not a BEIR corpus line (needs a JSON object with '_id' and 'text')"
                )
            where = f"{path}:{lineno}"
            doc_id = str(row["_id"])
            text = str(row.get("text") or "")
            size = len(text.encode("utf-8"))
            if size > settings.max_file_bytes:
                raise too_big(where, size, "the document text", settings)
            paragraphs = [Block("", p) for p in (squash(x) for x in normalise(text).split("\n\n")) if p]
            yield Parsed(
                where=where, blocks=paragraphs, doc_id=doc_id, document=document_from_beir(row, doc_id, where)
            )
