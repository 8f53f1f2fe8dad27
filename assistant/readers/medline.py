"""PubMed's MEDLINE text format (.medline, .nbib): `TAG - value` lines, records separated by blank lines.

Continuation lines are indented (six spaces in PubMed's export). The keys and source-type mapping are the
PubMed XML reader's; a structured abstract ("BACKGROUND: ... METHODS: ...") is split at its upper-case labels.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import IngestError
from ..settings import IngestSettings
from .base import Block, Parsed, normalise, read_text_bounded, squash
from .pubmed import article_title, iso_date, section_name, source_type_of, unique, year_of

log = logging.getLogger("assistant.ingest")

_FIELD = re.compile(r"^([A-Z][A-Z0-9]{1,3}) *- ?(.*)$")
# an upper-case label and a colon, at the start or after the end of a sentence: "... strategies. METHODS: We"
_LABEL = re.compile(r"(?:^|(?<=[.!?)\]] ))([A-Z][A-Z /&,-]{1,58}[A-Z]): ")
_TAGGED_ID = re.compile(r"^(\S+)\s*\[(\w+)\]$")

Record = dict[str, list[str]]


def _records(text: str, path: Path) -> Iterator[tuple[int, Record]]:
    """(first line number, {tag: [values]}) of each record; continuation lines joined with a space."""
    record: Record = {}
    start = last = 0
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            if record:
                yield start, record
            record = {}
            continue
        if line[:1].isspace() and record:  # a continuation of the last field
            tag = next(reversed(record))
            record[tag][-1] = f"{record[tag][-1]} {line.strip()}"
            continue
        field = _FIELD.match(line)
        if field is None:
            raise IngestError(
                f"{path}:{lineno}: not a MEDLINE line (expected 'TAG - value', such as 'PMID- 123'); "
                "export the records from PubMed with 'Save' as format 'PubMed', or save them as PubMed XML"
            )
        if not record:
            start = lineno
        record.setdefault(field.group(1), []).append(field.group(2).strip())
        last = lineno
    if record:
        yield start, record
    if not last:
        raise IngestError(f"{path}: no MEDLINE records in the file; export the records from PubMed again")


def abstract_blocks(abstract: str) -> list[Block]:
    """One block, or one per upper-case label when the abstract starts with one ("BACKGROUND: ...")."""
    text = squash(abstract)
    labels = list(_LABEL.finditer(text))
    if not labels or labels[0].start() != 0:
        return [Block("Abstract", text)] if text else []
    blocks: list[Block] = []
    for here, after in zip(labels, [*labels[1:], None], strict=True):
        body = text[here.end() : after.start() if after else len(text)].strip()
        if body:
            blocks.append(Block(section_name(here.group(1), "Abstract"), body))
    return blocks


def _tagged(values: list[str], kind: str) -> str:
    """The first id marked `[kind]`: "10.1056/NEJMoa1715274 [doi]" -> "10.1056/NEJMoa1715274"."""
    for value in values:
        match = _TAGGED_ID.match(value)
        if match and match.group(2).lower() == kind:
            return match.group(1)
    return ""


def _meta(record: Record, pmid: str) -> dict[str, Any]:
    """The front-matter keys the record has; a key it lacks is left out."""

    def first(tag: str) -> str:
        return squash(record.get(tag, [""])[0])

    updated = first("LR")
    # MeSH headings "Asthma/*drug therapy" or "*Budesonide": the descriptor, without qualifiers or stars
    mesh = [squash(v.split("/", 1)[0].replace("*", "")) for v in record.get("MH", [])]
    meta: dict[str, Any] = {
        "title": article_title(first("TI")),
        "publisher": first("JT") or first("TA"),
        "year": year_of(first("DP")) or year_of(first("DEP")),
        "pmid": pmid,
        "doi": _tagged(record.get("AID", []), "doi") or _tagged(record.get("LID", []), "doi"),
        "url": f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        "keywords": unique([*mesh, *(squash(v) for v in record.get("OT", []))]),
        "source_type": source_type_of(record.get("PT", [])),
        "last_updated": iso_date(updated[:4], updated[4:6], updated[6:8]) if len(updated) == 8 else None,
    }
    return {k: v for k, v in meta.items() if v}


class MedlineReader:
    name = "medline"
    suffixes = (".medline", ".nbib")

    def read(self, path: Path, settings: IngestSettings) -> Iterator[Parsed]:
        text = normalise(read_text_bounded(path, settings))
        for lineno, record in _records(text, path):
            pmid = squash(record.get("PMID", [""])[0])
            if not pmid.isdigit():
                log.warning("%s:%d: a MEDLINE record without a numeric PMID; skipped", path, lineno)
                continue
            blocks = abstract_blocks(" ".join(record.get("AB", [])))
            if not blocks:
                log.warning("%s:%d: PMID %s has no abstract text; skipped", path, lineno, pmid)
                continue
            yield Parsed(
                where=f"{path}:{lineno} (PMID {pmid})",
                blocks=blocks,
                meta=_meta(record, pmid),
                doc_id=f"pmid-{pmid}",
            )
