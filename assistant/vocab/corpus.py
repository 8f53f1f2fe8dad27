"""What an index knows of its words: word counts, the abbreviations it defines, and which documents use a stem.

Built once at ingest from the documents and passages, stored as `vocabulary.json` in the index generation, so a
user's own library teaches its own shorthand and spelling; an older generation without the file builds it on load.
Which documents use a stem is a compressed sparse table (`StemDocs`: int32 document numbers per stem) kept beside
it in `vocabulary.stemdocs.npy` and memory-mapped, so a library of millions of documents does not turn it into
Python lists.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..lexical import spelling_terms
from ..types import Document, Passage
from .abbreviations import Expansion, candidates, known_short_forms, mine

VERSION = 5  # 3: stem -> documents in vocabulary.stemdocs.npy, a document count instead of the ids; 4: the
# phrases of the project abbreviations added on 2026-12-07 (phrase_docs holds every known expansion); 5: ACR, UACR,
# LMN and UMN (2026-12-08)
MAX_PHRASE = 6
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'\-]*[A-Za-z0-9]|[A-Za-z]")


class StemDocs(Mapping[str, np.ndarray[Any, np.dtype[np.int32]]]):
    """stem -> the numbers of the documents that use it (ascending int32), as one compressed sparse table: the
    stems in order, where each stem's numbers start, and all the numbers in one array."""

    def __init__(self, stems: list[str], starts: np.ndarray[Any, Any], numbers: np.ndarray[Any, Any]) -> None:
        self._index = {s: i for i, s in enumerate(stems)}
        self._starts = starts
        self._numbers = numbers

    @classmethod
    def of(cls, table: Mapping[str, Iterable[int]]) -> StemDocs:
        stems = sorted(table)
        lists = [np.asarray(sorted(table[s]), dtype=np.int32) for s in stems]
        starts = np.zeros(len(stems) + 1, dtype=np.int64)
        starts[1:] = np.cumsum([len(x) for x in lists])
        numbers = np.concatenate(lists) if lists else np.zeros(0, dtype=np.int32)
        return cls(stems, starts, numbers)

    def __getitem__(self, stem: str) -> np.ndarray[Any, np.dtype[np.int32]]:
        i = self._index[stem]
        return self._numbers[self._starts[i] : self._starts[i + 1]]

    def __contains__(self, stem: object) -> bool:
        return stem in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def stems(self) -> list[str]:
        return list(self._index)

    def save(self, path: Path) -> None:
        """The starts and the numbers, as one int64 array: [number of stems, starts..., numbers...]."""
        header = np.asarray([len(self._index)], dtype=np.int64)
        np.save(path, np.concatenate([header, self._starts, self._numbers.astype(np.int64)]))

    @classmethod
    def load(cls, stems: list[str], path: Path) -> StemDocs:
        raw = np.load(path, mmap_mode="r")
        n = int(raw[0])
        if n != len(stems):
            raise ValueError(f"{path}: {n} stems, the vocabulary has {len(stems)}")
        return cls(stems, raw[1 : n + 2], raw[n + 2 :])


def stemdocs_path(path: Path) -> Path:
    return path.with_name(path.stem + ".stemdocs.npy")


@dataclass
class CorpusVocabulary:
    words: dict[str, int]  # lower-cased words -> occurrences
    cased: set[str]  # words the library writes with two or more capitals (AF, CKD, DOAC, SGLT2)
    lower: set[str]  # words the library writes in lower case
    abbreviations: dict[str, list[Expansion]]  # defined by the library itself
    stem_docs: StemDocs  # stem -> numbers (positions in the build's document order) of the documents using it
    doc_count: int
    phrase_docs: dict[str, list[int]] = field(default_factory=dict)  # known expansions the library writes

    @classmethod
    def build(cls, documents: Iterable[Document], passages: Iterable[Passage]) -> CorpusVocabulary:
        docs = list(documents)
        doc_index = {d.doc_id: i for i, d in enumerate(docs)}
        words: Counter[str] = Counter()
        cased: set[str] = set()
        lower: set[str] = set()
        stem_docs: dict[str, set[int]] = {}
        texts: list[tuple[str, str]] = []
        sequences: list[tuple[int, list[str]]] = []

        def add(text: str, doc: int) -> None:
            sequences.append((doc, spelling_terms(text)))
            for w in _WORD.findall(text):
                words[w.lower()] += 1
                (cased if sum(ch.isupper() for ch in w) >= 2 else lower if w.islower() else set()).add(
                    w.lower()
                )
            for stem in sequences[-1][1]:
                stem_docs.setdefault(stem, set()).add(doc)

        for d in docs:
            add(f"{d.title} {d.topic or ''}", doc_index[d.doc_id])
        for p in passages:
            i = doc_index.get(p.doc_id, 0)
            add(f"{p.section} {p.text}", i)
            texts.append((p.doc_id, p.text))
        mined = mine(texts)
        return cls(
            words=dict(words),
            cased=cased,
            lower=lower,
            abbreviations=mined,
            stem_docs=StemDocs.of(stem_docs),
            doc_count=len(docs),
            phrase_docs=_phrase_docs(mined, sequences),
        )

    # -- storage
    def save(self, path: Path) -> None:
        data = {
            "version": VERSION,
            "words": self.words,
            "cased": sorted(self.cased),
            "lower": sorted(self.lower),
            "abbreviations": {k: [[e.long, e.source] for e in v] for k, v in self.abbreviations.items()},
            "stems": self.stem_docs.stems(),
            "doc_count": self.doc_count,
            "phrase_docs": self.phrase_docs,
        }
        path.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        self.stem_docs.save(stemdocs_path(path))

    @classmethod
    def load_or_build(
        cls, path: Path, documents: Iterable[Document], passages: Iterable[Passage]
    ) -> CorpusVocabulary:
        """The stored vocabulary, or one built now for a generation written before it was stored."""
        if not path.is_file() or not stemdocs_path(path).is_file():
            return cls.build(documents, passages)
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            return cls.build(documents, passages)
        return cls(
            words={str(k): int(v) for k, v in data["words"].items()},
            cased=set(data["cased"]),
            lower=set(data["lower"]),
            abbreviations={k: [Expansion(a, b) for a, b in v] for k, v in data["abbreviations"].items()},
            stem_docs=StemDocs.load(list(data["stems"]), stemdocs_path(path)),
            doc_count=int(data["doc_count"]),
            phrase_docs={k: list(v) for k, v in data["phrase_docs"].items()},
        )

    def phrase_documents(self, phrase: str) -> set[int]:
        """Documents that write `phrase` (a known expansion), its words in a row, either spelling."""
        return set(self.phrase_docs.get(phrase.lower(), ()))

    # -- questions about words
    def knows_stem(self, stem: str) -> bool:
        return stem in self.stem_docs

    def knows_phrase(self, phrase: str) -> bool:
        """Whether every content word of `phrase` (either spelling) occurs in the library."""
        stems = spelling_terms(phrase)
        return bool(stems) and all(s in self.stem_docs for s in stems)


def _phrase_docs(
    mined: dict[str, list[Expansion]], sequences: list[tuple[int, list[str]]]
) -> dict[str, list[int]]:
    """For every expansion of every known short form: the documents whose text has its words in a row (content
    words, stemmed), so that an abbreviation expands only to a meaning the library actually writes."""
    wanted: dict[tuple[str, ...], set[str]] = {}
    for short in known_short_forms(mined):
        for e in candidates(short, mined):
            key = tuple(spelling_terms(e.long))
            if 0 < len(key) <= MAX_PHRASE:
                wanted.setdefault(key, set()).add(e.long.lower())
    found: dict[str, set[int]] = {}
    for doc, stems in sequences:
        for i in range(len(stems)):
            for n in range(1, min(MAX_PHRASE, len(stems) - i) + 1):
                for long in wanted.get(tuple(stems[i : i + n]), ()):
                    found.setdefault(long, set()).add(doc)
    return {k: sorted(v) for k, v in found.items()}
