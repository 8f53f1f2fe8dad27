"""What a library covers: its topics, source types, counts and dates (for "About these sources", `GET
/v1/library/coverage` and `assistant corpus topics`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from ..types import Document


def coverage(
    documents: Iterable[Document], passages: int, withheld: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Counts over the documents answers may quote (`withheld` ones left out), by topic and source type."""
    docs = [d for d in documents if d.doc_id not in withheld]
    years = [d.year for d in docs if d.year]
    topics: dict[str, list[Document]] = {}
    for d in docs:
        topics.setdefault(d.topic or "Other", []).append(d)
    return {
        "documents": len(docs),
        "passages": passages,
        "source_types": dict(sorted(Counter(d.source_type for d in docs).items())),
        "years": {"min": min(years), "max": max(years)} if years else None,
        "last_updated": max(
            (d.last_updated or str(d.year) for d in docs if d.last_updated or d.year), default=None
        ),
        "topics": [
            {
                "topic": topic,
                "specialty": next((d.specialty for d in group if d.specialty), None),
                "documents": len(group),
                "source_types": sorted({d.source_type for d in group}),
                "newest": max((d.year for d in group if d.year), default=None),
            }
            for topic, group in sorted(topics.items(), key=lambda item: item[0].lower())
        ],
    }
