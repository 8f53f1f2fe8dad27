"""Readers, one module per file format, chosen by file suffix (`reader_for`).

| reader | suffixes | module |
|---|---|---|
| Markdown with YAML front matter (the shipped digests) | .md .markdown | markdown |
| BEIR JSONL, one document a line | .jsonl | beir |
| PubMed XML (efetch `PubmedArticleSet`) | .xml | pubmed |
| MEDLINE text (PubMed's "MEDLINE" export) | .medline .nbib | medline |
| PMC JATS XML | .nxml | jats |
| HTML (main text by trafilatura, `citation_*` / Dublin Core metadata) | .html .htm | html |
| PDF (pypdf: text per page, outline headings) | .pdf | pdf |
| Word (python-docx) | .docx | docx |
| plain text | .txt | text |

Each reader is imported on first use, so a library of Markdown never loads the PDF or HTML parsers.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import IngestError
from .base import Block, Parsed, Reader, normalise, squash

__all__ = ["READERS", "SUFFIXES", "Block", "Parsed", "Reader", "normalise", "reader_for", "squash"]

# suffix -> (module, class); lower case
READERS: dict[str, tuple[str, str]] = {
    ".md": ("markdown", "MarkdownReader"),
    ".markdown": ("markdown", "MarkdownReader"),
    ".jsonl": ("beir", "BeirReader"),
    ".xml": ("pubmed", "PubmedReader"),
    ".medline": ("medline", "MedlineReader"),
    ".nbib": ("medline", "MedlineReader"),
    ".nxml": ("jats", "JatsReader"),
    ".html": ("html", "HtmlReader"),
    ".htm": ("html", "HtmlReader"),
    ".pdf": ("pdf", "PdfReader"),
    ".docx": ("docx", "DocxReader"),
    ".txt": ("text", "TextReader"),
}
SUFFIXES: tuple[str, ...] = tuple(READERS)

_loaded: dict[tuple[str, str], Reader] = {}


def reader_for(path: Path) -> Reader:
    """The reader of a file, by its suffix; `IngestError` naming the formats that are read."""
    key = READERS.get(path.suffix.lower())
    if key is None:
        raise IngestError(
            f"{path}: no reader for {path.suffix or 'files without a suffix'}; readable: {' '.join(SUFFIXES)}"
        )
    if key not in _loaded:
        module = importlib.import_module(f"{__name__}.{key[0]}")
        _loaded[key] = getattr(module, key[1])()
    return _loaded[key]
