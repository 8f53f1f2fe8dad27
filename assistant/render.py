"""Rendering an answer: Markdown (inert: passage text can hold no markup or links) and plain text, with numbered
citations and one reference per cited document."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from .types import Answer, AnswerSentence, Hit, Reference

DISCLAIMER = (
    "Decision support for healthcare professionals, quoted from the cited sources; "
    "not a substitute for clinical judgement. Verify against the original sources before acting."
)

_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`]+$")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")  # only an ampersand that would start an HTML entity
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#|~])")


def escape_markdown(text: str) -> str:
    """Passage text made inert in Markdown and HTML: no markup, no links, no look-alike `[n]` citations."""
    text = _ENTITY.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def reference(n: int, doc_hits: Sequence[Hit]) -> Reference:
    """One reference per document; its passage text holds every cited passage of it, in document order."""
    ordered = sorted(doc_hits, key=lambda h: h.passage.position)
    doc = ordered[0].document
    return Reference(
        n=n,
        passage_id=ordered[0].passage.passage_id,
        passage_ids=[h.passage.passage_id for h in ordered],
        doc_id=doc.doc_id,
        title=doc.title,
        source_type=doc.source_type,
        publisher=doc.publisher,
        year=doc.year,
        url=doc.link,
        passage_text="\n\n".join(h.passage.text for h in ordered),
        section=ordered[0].passage.section or None,
        pmid=doc.pmid,
        doi=doc.doi,
        page=ordered[0].passage.page,
        last_updated=doc.last_updated,
        review_status=doc.review_status,
        reviewed_by=doc.reviewed_by,
        last_reviewed=doc.last_reviewed,
    )


def _as_of(r: Reference) -> str | None:
    return r.last_updated or (str(r.year) if r.year else None)


def date_answer(answer: Answer, outdated_after_years: int, today: date) -> Answer:
    """The answer with its newest cited source's date and every cited source older than the age flagged."""
    dates = [d for d in map(_as_of, answer.references) if d]
    answer.last_updated = max(dates) if dates else None
    limit = f"{today.year - outdated_after_years:04d}{today.strftime('-%m-%d')}"
    for r in answer.references:
        when = _as_of(r)
        # a year (or month) alone counts as its last day: 2015 is outdated once 2015-12-31 is past the limit
        end = when + "-12-31"[len(when) - 4 :] if when else None
        r.outdated = end is not None and end < limit
    answer.outdated_sources = [r.n for r in answer.references if r.outdated]
    return answer


def _cite(citations: Sequence[int]) -> str:
    return "[" + ", ".join(str(n) for n in citations) + "]"


def reference_line(r: Reference) -> str:
    kind = r.source_type.replace("-", " ").capitalize()
    review = r.review_status.replace("_", " ").capitalize() if r.review_status else ""
    if review and r.last_reviewed:
        review += f" {r.last_reviewed}"
    parts = [
        f"{r.title}.",
        f"{r.publisher}," if r.publisher else "",
        f"{r.year}." if r.year else "",
        f"{kind}.",
        f"p. {r.page}." if r.page else "",
        f"Last updated {r.last_updated}." if r.last_updated else "",
        f"Review: {review}." if review else "",
    ]
    return " ".join(p for p in parts if p)


def render_markdown(
    sentences: Sequence[AnswerSentence], references: Sequence[Reference], leads: int = 1
) -> str:
    """The answer in Markdown: its `leads` first sentences in bold (one per part of the question asked)."""
    lines: list[str] = []
    current: str | None = None
    for i, s in enumerate(sentences):
        body = f"{escape_markdown(s.text)} {_cite(s.citations)}"
        if i < leads:
            lines += [f"**{body}**", ""]
            continue
        if s.section and s.section != current:
            current = s.section
            if lines[-1]:
                lines.append("")
            lines += [f"### {escape_markdown(s.section)}", ""]
        lines.append(f"- {body}")
    lines += ["", "### References", ""]
    for r in references:
        link = f" <{r.url}>" if r.url and _SAFE_URL.match(r.url) else ""
        lines.append(f"{r.n}. {escape_markdown(reference_line(r))}{link}")
    lines += ["", "---", f"*{DISCLAIMER}*", ""]
    return "\n".join(lines)


def render_text(sentences: Sequence[AnswerSentence], references: Sequence[Reference]) -> str:
    lines: list[str] = []
    current: str | None = None
    for s in sentences:
        if s.section and s.section != current:
            current = s.section
            lines += ["", s.section.upper()]
        lines.append(f"{s.text} {_cite(s.citations)}")
    lines += ["", "REFERENCES"]
    lines += [f"{r.n}. {reference_line(r)}" + (f" {r.url}" if r.url else "") for r in references]
    lines += ["", DISCLAIMER, ""]
    return "\n".join(lines)
