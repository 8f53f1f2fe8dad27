"""Passages and documents of a generation on disk (`passages.sqlite`), read by row or id, never held whole.

A generation's passages are a `PassageStore` (a read-only `Sequence[Passage]` by row, the rows of the vector
index and of BM25) and its documents a `DocumentStore` (a read-only `Mapping[str, Document]`). Both read SQLite
on demand and keep the most recently read rows in a small cache, so a library of millions of passages costs the
serving process a few megabytes, not gigabytes of Python objects. The file is opened read-only and immutable (a
published generation never changes: the loader has checked its sha256), from any thread.

Per row the store also keeps what filters and the composer need without reading the passage: the number of its
document (`doc_rows()`, one int32 per row) and where its sentences start among the sentence vectors.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence, ValuesView
from pathlib import Path
from typing import Any, overload
from urllib.parse import quote

import numpy as np

from .types import Document, Passage

FILE = "passages.sqlite"
_SCHEMA = """
CREATE TABLE documents (num INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE passages (row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc INTEGER NOT NULL, section TEXT NOT NULL,
  text TEXT NOT NULL, sentences TEXT NOT NULL, position INTEGER NOT NULL, page INTEGER, sentence_start INTEGER NOT NULL);
"""
_COLUMNS = "p.row, p.id, d.id, p.section, p.text, p.sentences, p.position, p.page"
_CHUNK = 2048


def write_store(path: Path, documents: Iterable[Document], passages: Iterable[Passage]) -> None:
    """Write `documents` and `passages` (in row order) into a new SQLite file at `path`."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")  # the build fsyncs the finished file before publishing it
        db.executescript(_SCHEMA)
        db.execute("BEGIN")
        numbers: dict[str, int] = {}
        for doc in documents:
            numbers[doc.doc_id] = len(numbers)
            db.execute(
                "INSERT INTO documents VALUES (?, ?, ?)",
                (numbers[doc.doc_id], doc.doc_id, json.dumps(doc.__dict__, ensure_ascii=False)),
            )
        start = 0
        rows = []
        for i, p in enumerate(passages):
            sentences = json.dumps([list(s) for s in p.sentences])
            rows.append(
                (i, p.passage_id, numbers[p.doc_id], p.section, p.text, sentences, p.position, p.page, start)
            )
            start += len(p.sentences)
            if len(rows) >= _CHUNK:
                db.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                rows = []
        db.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.execute("COMMIT")
    finally:
        db.close()


class _Db:
    """One read-only connection to an immutable store, shared by threads under a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        uri = f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"  # a folder may hold '?', '#' or '%'
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._lock = threading.Lock()

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Lru(OrderedDict[Any, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.lock = threading.Lock()

    def get_or(self, key: Any) -> Any:
        with self.lock:
            value = super().get(key)
            if value is not None:
                self.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self.lock:
            self[key] = value
            while len(self) > self.size:
                self.popitem(last=False)


def _passage(row: Sequence[Any]) -> Passage:
    spans = tuple((int(a), int(b)) for a, b in json.loads(row[5]))
    return Passage(row[1], row[2], row[3], row[4], spans, row[6], row[7])


class PassageStore(Sequence[Passage]):
    """The passages of a generation by row (the ids of the vector index and BM25)."""

    def __init__(self, db: _Db, cache_size: int = 8192) -> None:
        self._db = db
        self._count = int(db.one("SELECT count(*) FROM passages")[0])
        self._cache = _Lru(cache_size)
        self._ids = _Lru(cache_size)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Passage: ...

    @overload
    def __getitem__(self, index: slice) -> list[Passage]: ...

    def __getitem__(self, index: int | slice) -> Passage | list[Passage]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._count)
            return [self[i] for i in range(start, stop, step)]
        row = index + self._count if index < 0 else index
        if not 0 <= row < self._count:
            raise IndexError(f"passage row {index} out of range (0..{self._count - 1})")
        return self._read(row)[0]

    def _read(self, row: int) -> tuple[Passage, int]:
        """The passage in `row` and its first sentence's row, cached; its id's row is remembered too."""
        found: tuple[Passage, int] | None = self._cache.get_or(row)
        if found is None:
            sql = f"SELECT {_COLUMNS}, p.sentence_start FROM passages p JOIN documents d ON d.num = p.doc WHERE p.row = ?"
            raw = self._db.one(sql, (row,))
            found = (_passage(raw), int(raw[8]))
            self._cache.put(row, found)
            self._ids.put(found[0].passage_id, row)
        return found

    def __iter__(self) -> Iterator[Passage]:
        """Every passage in row order, read in chunks (nothing cached)."""
        sql = f"SELECT {_COLUMNS} FROM passages p JOIN documents d ON d.num = p.doc WHERE p.row >= ? AND p.row < ?"
        for start in range(0, self._count, _CHUNK):
            yield from (_passage(r) for r in self._db.all(sql + " ORDER BY p.row", (start, start + _CHUNK)))

    def row_of(self, passage_id: str) -> int | None:
        """The row of a passage id, or None when this generation has no such passage."""
        known: int | None = self._ids.get_or(passage_id)  # a hit's passage was read by row moments ago
        if known is not None:
            return known
        found = self._db.one("SELECT row FROM passages WHERE id = ?", (passage_id,))
        return None if found is None else int(found[0])

    def sentence_start(self, row: int) -> int:
        """Where the sentences of the passage in `row` start among the generation's sentence vectors."""
        return self._read(row)[1]

    def doc_rows(self) -> np.ndarray[Any, np.dtype[np.int32]]:
        """The number of each row's document (`DocumentStore.number`), one int32 per row."""
        out = np.empty(self._count, dtype=np.int32)
        for start in range(0, self._count, 1 << 16):
            found = self._db.all(
                "SELECT doc FROM passages WHERE row >= ? AND row < ? ORDER BY row", (start, start + (1 << 16))
            )
            out[start : start + len(found)] = [r[0] for r in found]
        return out

    def topic_sections(self) -> list[tuple[str, str]]:
        """Each distinct (document topic, passage section) pair, both non-empty."""
        found = self._db.all(
            "SELECT DISTINCT json_extract(d.data, '$.topic'), p.section FROM passages p "
            "JOIN documents d ON d.num = p.doc WHERE p.section != ''"
        )
        return [(t, s) for t, s in found if t]


class DocumentStore(Mapping[str, Document]):
    """The documents of a generation by id; `number(doc_id)` is its row in `PassageStore.doc_rows()`."""

    def __init__(self, db: _Db, cache_size: int = 8192) -> None:
        self._db = db
        self._count = int(db.one("SELECT count(*) FROM documents")[0])
        self._cache = _Lru(cache_size)

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, doc_id: str) -> Document:
        found: Document | None = self._cache.get_or(doc_id)
        if found is None:
            row = self._db.one("SELECT data FROM documents WHERE id = ?", (doc_id,))
            if row is None:
                raise KeyError(doc_id)
            found = Document.from_dict(json.loads(row[0]))
            self._cache.put(doc_id, found)
        return found

    def __contains__(self, doc_id: object) -> bool:
        if not isinstance(doc_id, str):
            return False
        return self._db.one("SELECT 1 FROM documents WHERE id = ?", (doc_id,)) is not None

    def __iter__(self) -> Iterator[str]:
        for start in range(0, self._count, 1 << 16):
            sql = "SELECT id FROM documents WHERE num >= ? AND num < ? ORDER BY num"
            yield from (r[0] for r in self._db.all(sql, (start, start + (1 << 16))))

    def values(self) -> ValuesView[Document]:
        """Every document, in number order, read in chunks each time it is iterated (nothing cached)."""
        return _Documents(self)

    def stream(self) -> Iterator[Document]:
        for start in range(0, self._count, _CHUNK):
            sql = "SELECT data FROM documents WHERE num >= ? AND num < ? ORDER BY num"
            yield from (
                Document.from_dict(json.loads(r[0])) for r in self._db.all(sql, (start, start + _CHUNK))
            )

    def fields(self, names: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """`names` (fields of `Document`) of every document, in number order, read by SQLite's own JSON
        functions: a scan at start-up costs no Python object per document (one pass over the 300k documents of
        `benchmarks/scale.py`'s index: 0.8 s, where building every `Document` took 2.4 s, and start-up made
        three such passes)."""
        known = set(Document.__dataclass_fields__)
        if not names or not set(names) <= known:
            raise ValueError(f"not fields of a document: {sorted(set(names) - known)}")
        columns = ", ".join(f"json_extract(data, '$.{n}')" for n in names)
        for start in range(0, self._count, 1 << 16):
            sql = f"SELECT {columns} FROM documents WHERE num >= ? AND num < ? ORDER BY num"
            yield from (tuple(r) for r in self._db.all(sql, (start, start + (1 << 16))))

    def close(self) -> None:
        """Close the file (for the passage store opened with it, too)."""
        self._db.close()

    def number(self, doc_id: str) -> int | None:
        found = self._db.one("SELECT num FROM documents WHERE id = ?", (doc_id,))
        return None if found is None else int(found[0])


class _Documents(ValuesView[Document]):
    _mapping: DocumentStore

    def __iter__(self) -> Iterator[Document]:
        return self._mapping.stream()


def open_store(path: Path) -> tuple[DocumentStore, PassageStore]:
    db = _Db(path)
    return DocumentStore(db), PassageStore(db)


def document_fields(documents: Mapping[str, Document], names: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """`names` of every document: from SQLite for a `DocumentStore`, else from the `Document` objects."""
    fields = getattr(documents, "fields", None)
    if fields is not None:
        found: Iterator[tuple[Any, ...]] = fields(names)
        return found
    return (tuple(getattr(d, n) for n in names) for d in documents.values())
