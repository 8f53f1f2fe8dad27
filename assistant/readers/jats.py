"""PMC JATS XML (.nxml): front matter, then the abstract and body paragraphs as blocks.

A paragraph's section is the title of its innermost titled `<sec>` (abstract paragraphs outside a titled sec:
"Abstract"). Left out: tables, figures and their captions, formulas, footnotes, supplementary material, the
whole `<back>` (references, acknowledgements), and body sections that are statements rather than content
(competing interests, author contributions, funding, supplementary material). Numeric citation markers
("[12]", "[4]–[7]") are dropped with the brackets and separators around them; author-year citations stay.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from ..errors import IngestError
from ..settings import IngestSettings
from .base import Block, Parsed, normalise, read_bytes_bounded, squash
from .pubmed import clean, inner_text, parse_xml, section_name, unique, year_of

_FLOATS = {"table-wrap", "table-wrap-group", "table", "fig", "fig-group", "caption", "graphic", "media"}
_FORMULAS = {"disp-formula", "disp-formula-group", "inline-formula", "math", "tex-math", "chem-struct-wrap"}
_APPARATUS = {"fn", "fn-group", "supplementary-material", "inline-graphic", "label", "ref-list", "back"}
_LEFT_OUT = frozenset(_FLOATS | _FORMULAS | _APPARATUS | {"floats-group"})
# children of a paragraph that are blocks of their own (their paragraphs are read separately)
_NESTED_BLOCKS = frozenset(
    {"p", "list", "def-list", "disp-quote", "boxed-text", "statement", "speech", "verse-group"}
)
_STATEMENT_TITLE = re.compile(
    r"(?:competing interests?|conflicts? of interests?|declaration of (?:competing )?interests?|disclosures?"
    r"|authors?['’]? contributions?|funding|acknowledge?ments?|pre-publication history"
    r"|supplementary materials?|supporting information|additional files?)(?: statements?)?",
    re.IGNORECASE,
)
_STATEMENT_TYPES = {"supplementary-material", "COI-statement", "author-contributions", "funding-information"}
_SKIPPED_ABSTRACTS = {"graphical", "teaser", "toc", "web-summary"}
_SOURCE_TYPES = {"review-article": "review", "practice-guideline": "guideline", "guideline": "guideline"}
_PUB_DATE_ORDER = ("epub", "ppub", "collection")

_CITE = "\ue000"  # stands in for a dropped citation marker until the markers around it are tidied
_GONE = "\ue001"  # where citation markers were dropped, until a doubled full stop there is tidied
# a reference number or range: "12", "[4]", "3-5"; not a year ("2005" in "Smith et al. 2003, 2005")
_NUMERIC = re.compile(r"^[\s\[(]*(?:\d{1,3}(?:[\s,;–—-]+\d{1,3})*)?[\])\s]*$")
_SEP = r"\s*(?:[,;–—-]|and)\s*"
_BRACKETED = re.compile(rf"\s*[\[(]\s*{_CITE}(?:{_SEP}{_CITE})*\s*[\])]")
_BARE = re.compile(rf"\s*{_CITE}(?:{_SEP}{_CITE})*")
_EMPTY_BRACKETS = re.compile(r"\s*(?:\[[\s,;–—-]*\]|\([\s,;–—-]*\))")
_OPENING_COMMA = re.compile(rf"([\[(])\s*{_GONE}+\s*[,;]\s*")  # "[[12], pp. 57]" -> "[pp. 57]"


def _replace(child: Element) -> str | None:
    """A paragraph child's text when it is not its own: a space for left-out or nested blocks (a formula
    between two words), a marker for a numeric citation, nothing for a footnote mark."""
    if child.tag in _LEFT_OUT or child.tag in _NESTED_BLOCKS:
        return " "
    if child.tag == "xref":
        kind = child.get("ref-type")
        if kind in ("fn", "table-fn"):
            return ""
        if kind == "bibr" and _NUMERIC.match(inner_text(child)):
            return _CITE
    return None


def paragraph_text(p: Element) -> str:
    text = normalise(inner_text(p, _replace))
    text = _BARE.sub(_GONE, _BRACKETED.sub(_GONE, text)).replace(_CITE, "")
    text = _OPENING_COMMA.sub(r"\1", _EMPTY_BRACKETS.sub(_GONE, text))
    return squash(text.replace(f".{_GONE}.", ".").replace(_GONE, ""))


def _statement(sec: Element) -> bool:
    title = clean(sec.find("title"))
    return bool(_STATEMENT_TITLE.fullmatch(title)) or sec.get("sec-type") in _STATEMENT_TYPES


def _blocks(elem: Element, section: str) -> Iterator[Block]:
    for child in elem:
        if child.tag in _LEFT_OUT or child.tag == "title":
            continue
        if child.tag == "sec":
            if not _statement(child):
                yield from _blocks(child, section_name(clean(child.find("title")), section))
            continue
        if child.tag == "p" and (text := paragraph_text(child)):
            yield Block(section, text)
        yield from _blocks(child, section)  # lists, quotes and boxes, also inside a paragraph


def _year(meta: Element) -> int | None:
    dated: dict[str, int] = {}
    for date in meta.findall("pub-date"):
        year = year_of(clean(date.find("year")))
        kind = date.get("pub-type") or date.get("date-type") or ""
        if kind == "pub":  # JATS 1.1+: date-type="pub" publication-format="electronic"/"print"
            kind = {"electronic": "epub", "print": "ppub"}.get(date.get("publication-format") or "", "pub")
        if year:
            dated.setdefault(kind, year)
    return next((dated[k] for k in _PUB_DATE_ORDER if k in dated), next(iter(dated.values()), None))


def _no_marks(child: Element) -> str | None:
    """Footnote and citation marks in a title are left out."""
    return "" if child.tag == "xref" else None


def _front(root: Element, meta: Element) -> dict[str, Any]:
    """The front-matter keys the article has; a key it lacks is left out."""
    names = [
        root.find(f"front/journal-meta/{p}") for p in ("journal-title-group/journal-title", "journal-title")
    ]
    ids = {e.get("pub-id-type"): clean(e) for e in reversed(meta.findall("article-id"))}
    pmc = (ids.get("pmc") or ids.get("pmcid") or "").removeprefix("PMC")
    title = meta.find("title-group/article-title")
    kind = root.get("article-type")
    values: dict[str, Any] = {
        "title": squash(normalise(inner_text(title, _no_marks))) if title is not None else "",
        "publisher": next((clean(e) for e in names if clean(e)), ""),
        "year": _year(meta),
        "pmid": ids.get("pmid", ""),
        "doi": ids.get("doi", ""),
        "pmcid": pmc,
        "url": f"https://pmc.ncbi.nlm.nih.gov/articles/PMC{pmc}/" if pmc.isdigit() else "",
        "keywords": unique(clean(e) for e in meta.findall("kwd-group/kwd")),
        "source_type": _SOURCE_TYPES.get(kind, "research") if kind else None,
    }
    return {k: v for k, v in values.items() if v}


def _doc_id(meta: dict[str, Any], path: Path) -> str:
    if str(meta.get("pmcid", "")).isdigit():
        return f"pmc-{meta['pmcid']}"
    if str(meta.get("pmid", "")).isdigit():
        return f"pmid-{meta['pmid']}"
    if meta.get("doi"):
        return "doi-" + re.sub(r"[^a-z0-9]+", "-", str(meta["doi"]).lower()).strip("-")
    return path.stem


class JatsReader:
    name = "jats"
    suffixes = (".nxml",)

    def read(self, path: Path, settings: IngestSettings) -> Iterator[Parsed]:
        root = parse_xml(read_bytes_bounded(path, settings), path)
        article_meta = root.find("front/article-meta")
        if root.tag != "article" or article_meta is None:
            raise IngestError(
                f"{path}: not a JATS article (expected <article> with <front><article-meta>, found "
                f"<{root.tag}>); .nxml files are read as PMC JATS XML, save PubMed XML as .xml"
            )
        try:
            meta = _front(root, article_meta)
            blocks = [
                block
                for abstract in article_meta.findall("abstract")
                if abstract.get("abstract-type") not in _SKIPPED_ABSTRACTS
                for block in _blocks(abstract, section_name(clean(abstract.find("title")), "Abstract"))
            ]
            body = root.find("body")
            blocks += _blocks(body, "") if body is not None else []
        except RecursionError:
            raise IngestError(f"{path}: the XML is nested too deeply; export the file again") from None
        doc_id = _doc_id(meta, path)
        meta.pop("pmcid", None)  # in the url and the id; not a document field
        yield Parsed(where=str(path), blocks=blocks, meta=meta, doc_id=doc_id)
