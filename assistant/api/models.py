"""Request and response models of the HTTP API, kept apart from the domain types they convert to and from."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..types import SOURCE_TYPES, Answer, Filters


def first_surrogate(value: Any, where: str = "") -> str | None:
    """Where in a JSON value (keys included) the first unpaired surrogate is, or None when there is none."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where or "body"
        return None
    items: Any = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, item in items:
        found = first_surrogate(str(key), where) or first_surrogate(
            item, f"{where}.{key}" if where else str(key)
        )
        if found:
            return found
    return None


def valid_unicode(cls: type, value: Any) -> Any:
    """Text that is not valid Unicode (lone surrogates, which JSON's \\uD800 escapes can carry) is a 422."""
    found = first_surrogate(value)
    if found:
        raise ValueError(f"{found} holds an unpaired surrogate, which is not valid Unicode; send UTF-8 text")
    return value


def json_number(cls: type, value: Any) -> Any:
    """Only JSON numbers are integers here: no "5" strings, no booleans (pydantic's lax mode takes both)."""
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON number")
    return value


AUDIENCE_DOC = (
    "Who reads the answer: `clinician` (the default) or `patient` (a patient or carer: patient-information "
    "sources and the more readable of equally relevant sentences first, a plain-language disclaimer). "
    "Sentences are quoted as written for both."
)


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_types: list[Literal["guideline", "research", "review", "patient-information", "other"]] = Field(
        default_factory=list, max_length=len(SOURCE_TYPES), description="Only these source types."
    )
    year_min: int | None = Field(
        None, ge=1800, le=2200, description="Only sources published this year or later."
    )
    year_max: int | None = Field(
        None, ge=1800, le=2200, description="Only sources published this year or earlier."
    )
    topics: list[str] = Field(default_factory=list, max_length=50, description="Only these topics.")
    specialties: list[str] = Field(default_factory=list, max_length=50, description="Only these specialties.")

    _numbers = field_validator("year_min", "year_max", mode="before")(json_number)

    def to_domain(self) -> Filters | None:
        f = Filters(
            tuple(self.source_types),
            self.year_min,
            self.year_max,
            tuple(self.topics),
            tuple(self.specialties),
        )
        return None if f.is_empty() else f


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        min_length=1,
        pattern=r"[^\W_]",  # at least one letter or digit
        description="The clinical question, or a follow-up to the conversation (at most `max_question_chars`).",
    )
    conversation_id: str | None = Field(
        None, min_length=1, max_length=64, description="Continue this conversation (from an earlier answer)."
    )
    top_k: int | None = Field(None, ge=1, le=50, description="Passages handed to the composer.")
    filters: FiltersIn | None = None
    audience: Literal["clinician", "patient"] = Field("clinician", description=AUDIENCE_DOC)

    _numbers = field_validator("top_k", mode="before")(json_number)
    _unicode = model_validator(mode="before")(valid_unicode)


class ErrorOut(BaseModel):
    error: str = Field(description="The kind of error, e.g. `InvalidQuestion`, `Unauthorized`, `NotFound`.")
    detail: str = Field(description="What went wrong and what to do next.")


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    passages: int
    model: str
    generation: str = Field(description="The index generation served (also in every `X-Index-Generation`).")
    stale: bool = Field(
        description="The configured corpus changed since this generation was built, and no newer one has "
        "been published yet (a rebuild runs in the background, or failed: see the server log)."
    )
    fallback: bool = Field(
        description="The generation CURRENT names failed verification; the newest one that verifies is served."
    )


class TopicOut(BaseModel):
    topic: str
    specialty: str | None
    documents: int
    source_types: list[str]
    newest: int | None = Field(description="The newest publication year among the topic's documents.")


class YearsOut(BaseModel):
    min: int
    max: int


class CoverageOut(BaseModel):
    documents: int = Field(description="Documents answers may quote (retired ones, and unapproved ones under "
                           "ASSISTANT_LIBRARY__SERVE=approved, left out).")  # fmt: skip
    passages: int
    source_types: dict[str, int]
    years: YearsOut | None
    last_updated: str | None
    topics: list[TopicOut]


class DocumentOut(BaseModel):
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
    link: str | None = Field(None, description="The best link: URL, else DOI or PubMed page.")


class NeighbourOut(BaseModel):
    passage_id: str
    section: str
    text: str
    position: int


class SourceOut(BaseModel):
    """A passage, its document's metadata and the passages before and after it in the same document."""

    passage_id: str
    section: str
    text: str
    position: int
    document: DocumentOut
    neighbours: list[NeighbourOut]


class TurnOut(BaseModel):
    question: str
    resolved_query: str
    answer: dict[str, Any] = Field(description="The answer object (as `POST /v1/ask` returned it).")
    created: float


class ConversationOut(BaseModel):
    conversation_id: str
    created: float
    updated: float
    turns: list[TurnOut]


__all__ = ["Answer", "AskRequest", "ErrorOut", "FiltersIn"]
