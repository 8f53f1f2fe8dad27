"""JSON Lines files, read one object a line, with errors that name the file and the line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import AssistantError


def read_jsonl(path: Path, error: type[AssistantError]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line of `path`; `error` when the file cannot be opened or a
    line is not a JSON object."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot open the file ({exc.strerror}); check the path") from exc
    with handle:
        try:
            for lineno, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise error(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc
                except RecursionError:
                    raise error(
                        f"{path}:{lineno}: the JSON is nested too deeply to read; flatten it"
                    ) from None
                if not isinstance(row, dict):
                    raise error(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
                yield lineno, row
        except UnicodeDecodeError as exc:
            raise error(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") from exc
