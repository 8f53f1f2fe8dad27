"""Plain typed data passed between the stages: documents, passages, hits and answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

SourceType = Literal["guideline", "research", "review", "patient-information", "other"]
SOURCE_TYPES: tuple[str, ...] = ("guideline", "research", "review", "patient-information", "other")
REVIEW_STATUSES: tuple[str, ...] = ("submitted", "under_review", "approved", "retired")


@dataclass(frozen=True)
class Document:
    """One source document and its citation metadata."""

    doc_id: str
    title: str
    source_type: str
    publisher: str
    year: int | None
    url: str | None = None
    pmid: str | None = None
    doi: str | None = None
    topic: str | None = None
    specialty: str | None = None
    # governance: from the file, its sidecar or `assistant library review`
    review_status: str | None = None  # one of REVIEW_STATUSES
    reviewed_by: str | None = None
    last_reviewed: str | None = None  # ISO date (YYYY-MM-DD, YYYY-MM or YYYY)
    last_updated: str | None = None  # ISO date the source itself was last updated
    keywords: tuple[str, ...] = ()  # MeSH terms or the file's own keywords
    source_file: str | None = None  # the file it was read from, relative to its library folder

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        """The document of its stored JSON form (lists back to tuples)."""
        return cls(**{**data, "keywords": tuple(data.get("keywords") or ())})

    @property
    def link(self) -> str | None:
        """The best link to the source: its URL, else its DOI or PubMed page."""
        if self.url:
            return self.url
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        return None


@dataclass(frozen=True)
class Passage:
    """A few sentences of one document section; `sentences` are (start, end) offsets into `text`."""

    passage_id: str
    doc_id: str
    section: str
    text: str
    sentences: tuple[tuple[int, int], ...]
    position: int = 0
    page: int | None = None  # first page of a paged source (PDF), from 1

    def sentence_texts(self) -> list[str]:
        return [self.text[a:b] for a, b in self.sentences]


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its score (higher is better) and the scores it was fused from."""

    passage: Passage
    document: Document
    score: float
    components: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Filters:
    """Metadata filters applied to retrieval."""

    source_types: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    topics: tuple[str, ...] = ()
    specialties: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.source_types or self.topics or self.specialties) and (
            self.year_min is None and self.year_max is None
        )

    def accepts(self, doc: Document) -> bool:
        if self.source_types and doc.source_type not in self.source_types:
            return False
        if self.year_min is not None and (doc.year is None or doc.year < self.year_min):
            return False
        if self.year_max is not None and (doc.year is None or doc.year > self.year_max):
            return False
        if self.topics and (doc.topic or "").lower() not in {t.lower() for t in self.topics}:
            return False
        return not (
            self.specialties and (doc.specialty or "").lower() not in {s.lower() for s in self.specialties}
        )


class AnswerSentence(BaseModel):
    text: str = Field(description="A sentence copied verbatim from every passage it cites.")
    citations: list[int] = Field(
        description="Reference numbers `n` of the passages the sentence is quoted from."
    )
    section: str | None = Field(None, description="The heading the sentence is grouped under, if any.")


class Reference(BaseModel):
    """One cited source document. `passage_text` holds every cited passage of it (blank-line separated)."""

    n: int
    passage_id: str = Field(description="The first cited passage of the document.")
    passage_ids: list[str] = Field(
        default_factory=list, description="Every cited passage, in document order."
    )
    doc_id: str
    title: str
    source_type: str
    publisher: str
    year: int | None
    url: str | None
    passage_text: str
    section: str | None = None
    pmid: str | None = None
    doi: str | None = None
    page: int | None = Field(None, description="Page of the first cited passage, for paged sources (PDF).")
    last_updated: str | None = Field(None, description="When the source was last updated (ISO date).")
    review_status: str | None = Field(
        None, description="The library's review of the source: submitted, under_review, approved or retired."
    )
    reviewed_by: str | None = None
    last_reviewed: str | None = None
    outdated: bool = Field(
        False, description="Last updated (or, lacking that, published) longer ago than the configured age."
    )


class Answer(BaseModel):
    """The answer object returned by `ask`, by `POST /v1/ask` and by `assistant ask --json`."""

    conversation_id: str | None = None
    question: str
    resolved_query: str
    abstained: bool
    answer_markdown: str
    answer_text: str = ""
    sentences: list[AnswerSentence]
    references: list[Reference]
    suggested_followups: list[str] = Field(default_factory=list)
    understood: list[str] = Field(
        default_factory=list,
        description="How the question was read: typos corrected and abbreviations expanded "
        '(\'"hypertention" read as "hypertension"\', "AF = atrial fibrillation").',
    )
    read_as: str | None = Field(
        None,
        description="The question as it was read, in words: shorthand expanded, typos corrected and, for a "
        'follow-up, the conversation\'s topic added ("hypertension in black patients").',
    )
    audience: Literal["clinician", "patient"] = Field(
        "clinician", description="Who the answer was chosen for (see the request's `audience`)."
    )
    disclaimer: str
    last_updated: str | None = Field(
        None, description="The newest last-updated date (or year) of the cited sources."
    )
    outdated_sources: list[int] = Field(
        default_factory=list, description="Reference numbers of cited sources older than the configured age."
    )
    timings_ms: dict[str, float] = Field(default_factory=dict)
