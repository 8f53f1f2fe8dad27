"""A column table of document attributes (source type, year, topic, specialty), one entry per document number,
and each row's document: filters become numpy masks over rows, so restricting a search costs microseconds per
thousand rows instead of a Python call per document."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .passagestore import document_fields
from .types import Document, Filters

COLUMNS = ("doc_id", "source_type", "year", "topic", "specialty")

Codes = np.ndarray[Any, np.dtype[np.int32]]
NO_YEAR = np.iinfo(np.int32).min


def _codes(values: list[str]) -> tuple[Codes, dict[str, int]]:
    names: dict[str, int] = {}
    codes = np.fromiter((names.setdefault(v, len(names)) for v in values), dtype=np.int32, count=len(values))
    return codes, names


@dataclass(frozen=True)
class DocumentTable:
    ids: dict[str, int]  # document id -> number
    source_type: Codes
    source_types: dict[str, int]
    year: Codes
    topic: Codes  # lower-cased
    topics: dict[str, int]
    specialty: Codes  # lower-cased
    specialties: dict[str, int]
    doc_of_row: Codes

    @classmethod
    def build(
        cls, documents: Iterable[Document] | Mapping[str, Document], doc_of_row: Codes
    ) -> DocumentTable:
        """From the documents in number order (a generation's store is read column by column) and each row's
        document number."""
        if isinstance(documents, Mapping):
            rows = document_fields(documents, COLUMNS)
        else:
            rows = ((d.doc_id, d.source_type, d.year, d.topic, d.specialty) for d in documents)
        ids: dict[str, int] = {}
        types, years, topics, specialties = [], [], [], []
        for doc_id, source_type, year, topic, specialty in rows:
            ids[doc_id] = len(ids)
            types.append(source_type)
            years.append(NO_YEAR if year is None else int(year))
            topics.append((topic or "").lower())
            specialties.append((specialty or "").lower())
        source_type, source_types = _codes(types)
        topic, topic_names = _codes(topics)
        specialty, specialty_names = _codes(specialties)
        return cls(
            ids=ids,
            source_type=source_type,
            source_types=source_types,
            year=np.asarray(years, dtype=np.int32),
            topic=topic,
            topics=topic_names,
            specialty=specialty,
            specialties=specialty_names,
            doc_of_row=doc_of_row,
        )

    def document_mask(self, filters: Filters | None, withheld: Collection[str] = ()) -> np.ndarray[Any, Any]:
        """True for each document `filters` accept (`Filters.accepts`) that is not withheld."""
        keep = np.ones(len(self.ids), dtype=bool)
        if filters is not None:
            if filters.source_types:
                keep &= _among(self.source_type, self.source_types, filters.source_types)
            if filters.year_min is not None:
                keep &= (self.year != NO_YEAR) & (self.year >= filters.year_min)
            if filters.year_max is not None:
                keep &= (self.year != NO_YEAR) & (self.year <= filters.year_max)
            if filters.topics:
                keep &= _among(self.topic, self.topics, [t.lower() for t in filters.topics])
            if filters.specialties:
                keep &= _among(self.specialty, self.specialties, [s.lower() for s in filters.specialties])
        for doc_id in withheld:
            number = self.ids.get(doc_id)
            if number is not None:
                keep[number] = False
        return keep

    def rows(
        self, filters: Filters | None, withheld: Collection[str] = ()
    ) -> np.ndarray[Any, np.dtype[np.int64]]:
        """The rows (ascending) whose document is kept by `document_mask`."""
        return np.flatnonzero(self.document_mask(filters, withheld)[self.doc_of_row]).astype(np.int64)


def _among(codes: Codes, names: dict[str, int], wanted: Iterable[str]) -> np.ndarray[Any, Any]:
    chosen = [names[w] for w in wanted if w in names]
    return np.isin(codes, np.asarray(chosen, dtype=np.int32))
