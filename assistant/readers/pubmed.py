"""PubMed XML (an efetch `PubmedArticleSet`): one document per `PubmedArticle` that has an abstract.

Also the XML helpers the JATS reader shares: `parse_xml` (defusedxml: no entity expansion, no external
references), `inner_text` and `section_name`; and `source_type_of`, shared with the MEDLINE reader.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from ..errors import IngestError
from ..settings import IngestSettings
from .base import Block, Parsed, normalise, read_bytes_bounded, squash

log = logging.getLogger("assistant.ingest")

_GUIDELINE = {"practice guideline", "guideline"}
_REVIEW = {"review", "systematic review", "meta-analysis"}
_SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "vs", "with"}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_BEFORE_SUB = re.compile(r"\n\s*$")  # a line break (pretty-printing) right before <sub>/<sup>


def article_title(title: str) -> str:
    """A PubMed title without the full stop PubMed ends every title with (a "..." stays)."""
    return title[:-1] if title.endswith(".") and not title.endswith("..") else title


def parse_xml(data: bytes, path: Path) -> Element:
    """The root element, namespaces stripped from tags; `IngestError` for malformed or unsafe XML."""
    try:
        root: Element = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.EntitiesForbidden as exc:
        raise IngestError(
            f"{path}: the XML declares an entity ({exc.name!r}); entities are refused so that they cannot "
            "expand (an entity bomb); export the file again from PubMed or PMC, without a DTD subset"
        ) from None
    except defusedxml.DefusedXmlException as exc:
        raise IngestError(
            f"{path}: the XML uses a feature refused for safety ({exc.__class__.__name__}); "
            "export the file again from PubMed or PMC"
        ) from None
    except ParseError as exc:
        raise IngestError(
            f"{path}: not well-formed XML ({exc}); fix the file there or export it again"
        ) from None
    for elem in root.iter():
        if "}" in elem.tag:
            elem.tag = elem.tag.rsplit("}", 1)[1]
    return root


def inner_text(elem: Element, replace: Callable[[Element], str | None] | None = None) -> str:
    """All the text inside `elem`; `replace(child)` gives a child's text instead of its own (None: its own).

    A line break just before a `<sub>`/`<sup>` is dropped, so a pretty-printed "β\\n  <sub>2</sub>" reads β2.
    """
    parts = [elem.text or ""]
    for child in elem:
        own = replace(child) if replace else None
        if own is None:
            if child.tag in ("sub", "sup") and _BEFORE_SUB.search(parts[-1]):
                parts[-1] = parts[-1].rstrip()
            own = inner_text(child, replace)
        parts += [own, child.tail or ""]
    return "".join(parts)


def clean(elem: Element | None) -> str:
    """An element's text, normalised, on one line; "" for a missing element."""
    return squash(normalise(inner_text(elem))) if elem is not None else ""


def section_name(label: str, default: str) -> str:
    """A heading as it reads best: "BACKGROUND" -> "Background", "METHODS AND RESULTS" -> "Methods and Results",
    "introduction" -> "Introduction"; a mixed-case heading is kept as given."""
    text = squash(normalise(label))
    if not text:
        return default
    if text.isupper():
        words = text.lower().split(" ")
        return " ".join(w if i and w in _SMALL_WORDS else w[:1].upper() + w[1:] for i, w in enumerate(words))
    return text[:1].upper() + text[1:] if text.islower() else text


def source_type_of(publication_types: Iterable[str]) -> str | None:
    """guideline / review / research from PubMed publication types; None when there are none."""
    types = {squash(t).casefold() for t in publication_types if t.strip()}
    if not types:
        return None
    if types & _GUIDELINE:
        return "guideline"
    return "review" if types & _REVIEW else "research"


def unique(values: Iterable[str]) -> list[str]:
    """The non-empty values, first occurrence kept, compared without case."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        if value and value.casefold() not in seen:
            seen.add(value.casefold())
            out.append(value)
    return out


def year_of(text: str) -> int | None:
    match = re.search(r"\b(\d{4})", text)
    return int(match.group(1)) if match else None


def iso_date(year: str, month: str, day: str) -> str | None:
    """YYYY-MM-DD (month as a number or a name such as "Apr"); None unless all three make a date."""
    m = int(month) if month.isdigit() else _MONTHS.get(month[:3].lower(), 0)
    if not (year.isdigit() and len(year) == 4 and day.isdigit() and 1 <= m <= 12 and 1 <= int(day) <= 31):
        return None
    return f"{year}-{m:02d}-{int(day):02d}"


def _year(article: Element) -> int | None:
    """The journal issue's year, else its MedlineDate's ("1998 Dec-1999 Jan"), else the ArticleDate's."""
    for where in (
        "Journal/JournalIssue/PubDate/Year",
        "Journal/JournalIssue/PubDate/MedlineDate",
        "ArticleDate/Year",
    ):
        year = year_of(clean(article.find(where)))
        if year:
            return year
    return None


def _doi(record: Element, article: Element) -> str:
    for elem in [*record.findall("PubmedData/ArticleIdList/ArticleId"), *article.findall("ELocationID")]:
        if "doi" in (elem.get("IdType"), elem.get("EIdType")) and clean(elem):
            return clean(elem)
    return ""


def _meta(record: Element, citation: Element, article: Element, pmid: str) -> dict[str, Any]:
    """The front-matter keys the record has; a key it lacks is left out."""
    journal = article.find("Journal")
    names = [journal.find("Title"), journal.find("ISOAbbreviation")] if journal is not None else []
    revised = citation.find("DateRevised")
    keywords = citation.findall("MeshHeadingList/MeshHeading/DescriptorName")
    keywords += citation.findall("KeywordList/Keyword")
    meta: dict[str, Any] = {
        "title": article_title(clean(article.find("ArticleTitle"))),
        "publisher": next((clean(e) for e in names if clean(e)), ""),
        "year": _year(article),
        "pmid": pmid,
        "doi": _doi(record, article),
        "url": f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        "keywords": unique(clean(e) for e in keywords),
        "source_type": source_type_of(
            clean(e) for e in article.findall("PublicationTypeList/PublicationType")
        ),
        "last_updated": iso_date(*(clean(revised.find(k)) for k in ("Year", "Month", "Day")))
        if revised is not None
        else None,
    }
    return {k: v for k, v in meta.items() if v}


def _record(record: Element, path: Path) -> Parsed | None:
    citation = record.find("MedlineCitation")
    article = citation.find("Article") if citation is not None else None
    pmid = clean(citation.find("PMID")) if citation is not None else ""
    if citation is None or article is None or not pmid.isdigit():
        log.warning("%s: a PubmedArticle without a MedlineCitation, Article or numeric PMID; skipped", path)
        return None
    blocks = [
        Block(section_name(e.get("Label") or "", "Abstract"), clean(e))
        for e in article.findall("Abstract/AbstractText")
    ]
    blocks = [b for b in blocks if b.text]
    if not blocks:
        log.warning("%s: PMID %s has no abstract text; skipped", path, pmid)
        return None
    return Parsed(
        where=f"{path} (PMID {pmid})",
        blocks=blocks,
        meta=_meta(record, citation, article, pmid),
        doc_id=f"pmid-{pmid}",
    )


class PubmedReader:
    name = "pubmed-xml"
    suffixes = (".xml",)

    def read(self, path: Path, settings: IngestSettings) -> Iterator[Parsed]:
        root = parse_xml(read_bytes_bounded(path, settings), path)
        if root.tag != "PubmedArticleSet":
            raise IngestError(
                f"{path}: not a PubMed XML file (expected a PubmedArticleSet); the root element is "
                f"<{root.tag}>. .xml files are read as PubMed efetch exports; save a PMC JATS article as .nxml"
            )
        for record in root.findall("PubmedArticle"):
            try:
                parsed = _record(record, path)
            except RecursionError:
                raise IngestError(f"{path}: the XML is nested too deeply; export the file again") from None
            if parsed is not None:
                yield parsed
