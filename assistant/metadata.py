"""Document metadata: the YAML front matter of a Markdown document and the `metadata` of a BEIR line, made safe.

- Front matter is bounded in size and safe-loaded with YAML aliases refused, so an alias bomb ("billion
  laughs") fails at its first alias instead of expanding.
- Metadata is plain text: control, zero-width and bidirectional-override characters are removed and whitespace
  is collapsed; markup such as `<script>` is kept as literal text (renderers escape it).
- Links are kept only when they are web links: a `url` must be http(s), a `doi` a DOI (`10.NNNN/...`, also
  written `doi:10...` or as a doi.org link), a `pmid` digits. Anything else (`javascript:`, `data:`, `file:` ...)
  is dropped with a warning on the `assistant.ingest` logger; the build goes on.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypedDict
from urllib.parse import urlsplit

import yaml

from .errors import IngestError
from .types import REVIEW_STATUSES, SOURCE_TYPES, Document

log = logging.getLogger("assistant.ingest")

REQUIRED_KEYS = ("title", "source_type", "publisher", "year")
ID_KEYS = ("pmid", "doi", "url")

# zero-width characters, soft hyphen and the bidirectional marks, embeddings, overrides and isolates
_INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_INVISIBLE = dict.fromkeys(map(ord, _INVISIBLE_CHARS), None)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # tab, line ends and form feeds become spaces below
# no whitespace, quotes, angle brackets, backticks or backslashes: such a link is safe in Markdown, HTML and JSON
_WEB_URL = re.compile(r"^https?://[^\s<>\"'`\\]+$", re.IGNORECASE)
_DOI = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/[^\s<>\"'`\\]+)$", re.IGNORECASE)
_PMID = re.compile(r"^(?:pmid:\s*)?(\d{1,9})$", re.IGNORECASE)


def clean_text(value: object) -> str:
    """Metadata as one line of plain text: NFC, no control or invisible characters, whitespace collapsed."""
    text = unicodedata.normalize("NFC", str(value)).translate(_INVISIBLE)
    return re.sub(r"\s+", " ", _CONTROL.sub("", text)).strip()


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _drop(where: str, key: str, value: object, why: str) -> None:
    log.warning("%s: dropped %s %s: %s", where, key, _shown(value), why)


def _text(value: object) -> str | None:
    """A scalar as cleaned text; None for a missing, empty or non-scalar value (a list, a mapping)."""
    if value is None or isinstance(value, dict | list):
        return None
    return clean_text(value) or None


def _given(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def safe_url(value: object, where: str) -> str | None:
    """The URL when it is an http(s) link with a host; otherwise None, with a warning."""
    if not _given(value):
        return None
    text = _text(value)
    if text is None:
        _drop(where, "url", value, "not a single text value")
        return None
    try:
        host = urlsplit(text).netloc if _WEB_URL.match(text) else ""
    except ValueError:  # a malformed host, such as an unclosed IPv6 bracket
        host = ""
    if not host:
        _drop(
            where,
            "url",
            value,
            "only http(s) links with a host and no spaces, quotes or angle brackets are kept",
        )
        return None
    return text


def _matching(value: object, where: str, key: str, pattern: re.Pattern[str], why: str) -> str | None:
    """The pattern's first group when the value matches it; otherwise None, with a warning (when given)."""
    text = _text(value)
    match = pattern.match(text) if text else None
    if match is None:
        if _given(value):
            _drop(where, key, value, why)
        return None
    return match.group(1)


def safe_doi(value: object, where: str) -> str | None:
    """The bare DOI (`10.NNNN/...`); None, with a warning, for anything that is not one."""
    return _matching(value, where, "doi", _DOI, "not a DOI of the form 10.NNNN/...")


def safe_pmid(value: object, where: str) -> str | None:
    """The PubMed id as digits; None, with a warning, for anything else."""
    return _matching(value, where, "pmid", _PMID, "a PubMed id is digits only")


# ---------------------------------------------------------------- YAML front matter


class _AliasRefused(yaml.YAMLError):
    def __init__(self, mark: yaml.Mark | None) -> None:
        super().__init__("alias")
        self.line = mark.line if mark is not None else None  # 0-based, within the YAML text


class _NoAliasLoader(yaml.SafeLoader):
    """The safe loader, refusing every alias (`*name`, also in a `<<: *name` merge) before it is resolved."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise _AliasRefused(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        return super().compose_node(parent, index)


def load_yaml_mapping(text: str, where: str, what: str, *, first_line: int = 1) -> dict[str, Any]:
    """A YAML mapping, safe-loaded with aliases refused; `IngestError` naming `where` and `what` (a front
    matter block, a sidecar file) for anything else."""
    try:
        meta = yaml.load(text, Loader=_NoAliasLoader)
    except _AliasRefused as exc:
        at = f" (line {exc.line + first_line})" if exc.line is not None else ""
        raise IngestError(
            f"{where}: {what} uses a YAML alias{at}; aliases are not allowed, write the value out"
        ) from None
    except yaml.YAMLError as exc:
        raise IngestError(f"{where}: {what} is not valid YAML ({exc.__class__.__name__}); fix it") from exc
    except ValueError as exc:  # a value YAML parses but cannot build, such as the date 2019-13-02
        raise IngestError(f"{where}: {what} holds a value that cannot be read ({exc}); fix it") from None
    except RecursionError:
        raise IngestError(f"{where}: {what} is nested too deeply; use flat key: value lines") from None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise IngestError(f"{where}: {what} must be a mapping of keys to values")
    return meta


def split_front_matter(raw: str, where: str, max_bytes: int) -> tuple[dict[str, Any], str]:
    """(front-matter mapping, body) of a normalised Markdown document; `IngestError` naming `where`."""
    if not raw.startswith("---\n"):
        raise IngestError(
            f"{where}: no YAML front matter; start the file with a '---' block (see corpus/README.md)"
        )
    end = raw.find("\n---", 4)
    if end < 0:
        raise IngestError(f"{where}: the front-matter block is not closed by a '---' line")
    block = raw[4:end]
    size = len(block.encode("utf-8"))
    if size > max_bytes:
        raise IngestError(
            f"{where}: the front matter is {size:,} bytes, over the limit of {max_bytes:,} "
            "(ASSISTANT_INGEST__MAX_FRONT_MATTER_BYTES); shorten it or raise the limit"
        )
    meta = load_yaml_mapping(block, where, "the front matter", first_line=2)
    body = raw[end + 4 :]
    return meta, body.split("\n", 1)[1] if "\n" in body else ""


_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def safe_date(value: object, where: str, key: str) -> str | None:
    """An ISO date (YYYY-MM-DD, YYYY-MM or YYYY) from a YAML date, a datetime or text starting with one;
    None, with a warning, for anything else."""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    text = _text(value)
    match = _ISO_DATE.match(text) if text else None
    if match is None:
        if _given(value):
            _drop(where, key, value, "not a date of the form YYYY-MM-DD")
        return None
    year, month, day = match.groups()
    if (month and not 1 <= int(month) <= 12) or (day and not 1 <= int(day) <= 31):
        _drop(where, key, value, "not a real date")
        return None
    return "-".join(x for x in (year, month, day) if x)


def _keywords(value: object) -> tuple[str, ...]:
    """Keywords from a list, or one text separated by ';' or ','; cleaned, without duplicates, at most 50."""
    items = value if isinstance(value, list) else re.split(r"[;,]", str(value)) if _given(value) else []
    words = (clean_text(x) for x in items if not isinstance(x, dict | list))
    return tuple(dict.fromkeys(w for w in words if w))[:50]


def _review_status(value: object, where: str) -> str | None:
    text = (_text(value) or "").lower().replace(" ", "_").replace("-", "_")
    if text and text not in REVIEW_STATUSES:
        _drop(where, "review_status", value, f"not one of {', '.join(REVIEW_STATUSES)}")
        return None
    return text or None


class ReviewFields(TypedDict):
    review_status: str | None
    reviewed_by: str | None
    last_reviewed: str | None


def review_fields(meta: Mapping[str, Any], where: str) -> ReviewFields:
    """A document's review fields (status, reviewer, date) from a metadata mapping or a review record, made safe."""
    return ReviewFields(
        review_status=_review_status(meta.get("review_status"), where),
        reviewed_by=_text(meta.get("reviewed_by")),
        last_reviewed=safe_date(meta.get("last_reviewed"), where, "last_reviewed"),
    )


def document_from_meta(
    meta: dict[str, Any],
    doc_id: str,
    where: str,
    *,
    requires_link: bool = True,
    hint: str = "add it to the front matter",
    source_file: str | None = None,
) -> Document:
    """The document of a metadata mapping (front matter, a reader's findings, sidecar and defaults merged);
    `IngestError` naming `where` and the missing field, and `hint` saying where to add it."""
    missing = [k for k in REQUIRED_KEYS if meta.get(k) in (None, "")]
    if requires_link and not any(meta.get(k) for k in ID_KEYS):
        missing.append("one of pmid/doi/url")
    if missing:
        raise IngestError(f"{where}: missing metadata {', '.join(missing)}; {hint}")
    for key in REQUIRED_KEYS:
        if isinstance(meta[key], dict | list):
            raise IngestError(f"{where}: metadata {key} must be a single value, not a list or mapping")
    source_type = clean_text(meta["source_type"]).lower()
    if source_type not in SOURCE_TYPES:
        raise IngestError(f"{where}: source_type {source_type!r} is not one of {', '.join(SOURCE_TYPES)}")
    try:
        year = int(meta["year"])
    except (TypeError, ValueError) as exc:
        raise IngestError(f"{where}: year {_shown(meta['year'])} is not a number") from exc
    return Document(
        doc_id=doc_id,
        title=clean_text(meta["title"]),
        source_type=source_type,
        publisher=clean_text(meta["publisher"]),
        year=year,
        url=safe_url(meta.get("url"), where),
        pmid=safe_pmid(meta.get("pmid"), where),
        doi=safe_doi(meta.get("doi"), where),
        topic=_text(meta.get("topic")),
        specialty=_text(meta.get("specialty")),
        **review_fields(meta, where),
        last_updated=safe_date(meta.get("last_updated"), where, "last_updated"),
        keywords=_keywords(meta.get("keywords")),
        source_file=source_file,
    )


def document_from_beir(row: dict[str, Any], doc_id: str, where: str) -> Document:
    """The document of a BEIR corpus line: lenient (every field optional), links checked like front matter."""
    raw_meta = row.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    title = _text(row.get("title")) or _text(meta.get("title")) or clean_text(doc_id)
    year = str(meta.get("year"))
    source_type = (_text(meta.get("source_type")) or "other").lower()
    if source_type not in SOURCE_TYPES:
        _drop(where, "source_type", meta.get("source_type"), f"not one of {', '.join(SOURCE_TYPES)}")
        source_type = "other"
    return Document(
        doc_id=doc_id,
        title=title,
        source_type=source_type,
        publisher=_text(meta.get("publisher")) or _text(meta.get("journal")) or "",
        year=int(year) if year.isdigit() and len(year) <= 4 else None,
        url=safe_url(meta.get("url"), where),
        pmid=safe_pmid(meta.get("pmid"), where),
        doi=safe_doi(meta.get("doi"), where),
        topic=_text(meta.get("topic")),
        specialty=_text(meta.get("specialty")),
    )
