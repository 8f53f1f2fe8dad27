"""Metadata kept beside a library file, overriding what the file itself says.

- `name.meta.yaml` beside `name.pdf` (also `name.pdf.meta.yaml`, when two files share a stem): a YAML mapping
  with the front-matter keys (title, source_type, publisher, year, pmid, doi, url, topic, specialty,
  review_status, reviewed_by, last_reviewed, last_updated, keywords).
- `metadata.csv` in a folder: one row per file of that folder, a `file` column naming it (the file name) and
  any of the same keys as columns; empty cells are ignored, keywords are separated by ';'.

Precedence, lowest first: the folder defaults (`--default KEY=VALUE`), the file's own metadata, the folder's
`metadata.csv` row, the file's `.meta.yaml`.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import IngestError
from .metadata import load_yaml_mapping

SIDECAR_SUFFIXES = (".meta.yaml", ".meta.yml")
FOLDER_CSV = "metadata.csv"
MAX_SIDECAR_BYTES = 1_000_000


def is_sidecar(path: Path) -> bool:
    """Whether the file holds metadata for other files rather than a document."""
    return path.name == FOLDER_CSV or path.name.endswith(SIDECAR_SUFFIXES)


def sidecar_path(path: Path) -> Path:
    """Where the YAML sidecar of a file is written: `name.meta.yaml`, or `name.pdf.meta.yaml` when it exists."""
    for candidate in sidecar_candidates(path):
        if candidate.is_file():
            return candidate
    return path.with_name(path.stem + SIDECAR_SUFFIXES[0])


def sidecar_candidates(path: Path) -> list[Path]:
    return [path.with_name(base + s) for base in (path.name, path.stem) for s in SIDECAR_SUFFIXES]


def _read_small(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read the metadata file ({exc.strerror})") from exc
    if len(data) > MAX_SIDECAR_BYTES:
        raise IngestError(f"{path}: the metadata file is over {MAX_SIDECAR_BYTES:,} bytes; shorten it")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IngestError(f"{path}: the metadata file is not UTF-8 text; save it as UTF-8") from None


def read_sidecar(path: Path) -> dict[str, Any]:
    """The YAML sidecar of a document file, or {} when it has none."""
    for candidate in sidecar_candidates(path):
        if candidate.is_file():
            return load_yaml_mapping(_read_small(candidate), str(candidate), "the metadata file")
    return {}


@lru_cache(maxsize=256)
def _folder_rows(csv_path: Path, mtime_ns: int) -> dict[str, dict[str, str]]:
    reader = csv.DictReader(io.StringIO(_read_small(csv_path)))
    if not reader.fieldnames or "file" not in reader.fieldnames:
        raise IngestError(
            f"{csv_path}: needs a header row with a 'file' column naming each file of the folder"
        )
    rows: dict[str, dict[str, str]] = {}
    for lineno, row in enumerate(reader, start=2):
        name = (row.get("file") or "").strip()
        if not name:
            raise IngestError(
                f"{csv_path}:{lineno}: the 'file' cell is empty; name the file this row is about"
            )
        if name in rows:
            raise IngestError(f"{csv_path}:{lineno}: {name!r} has two rows; keep one")
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k and k != "file"}
        rows[name] = {k: v for k, v in values.items() if v}
        if "keywords" in rows[name]:
            rows[name]["keywords"] = rows[name]["keywords"].replace(";", ",")
    return rows


def folder_row(path: Path) -> dict[str, Any]:
    """The `metadata.csv` row of a file, or {} when its folder has no such file or no row for it."""
    csv_path = path.parent / FOLDER_CSV
    try:
        mtime = csv_path.stat().st_mtime_ns
    except OSError:
        return {}
    return dict(_folder_rows(csv_path, mtime).get(path.name, {}))


def metadata_for(path: Path) -> dict[str, Any]:
    """The folder row and the YAML sidecar of a file, merged (the sidecar wins)."""
    return folder_row(path) | read_sidecar(path)


def parse_defaults(pairs: list[str]) -> dict[str, str]:
    """`KEY=VALUE` pairs (from `--default`) as a mapping; `IngestError` for one without '='."""
    defaults: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise IngestError(
                f"--default {pair!r}: write KEY=VALUE, for example --default source_type=guideline"
            )
        defaults[key.strip()] = value.strip()
    return defaults
