"""A real PostgreSQL server for the tests that need one: pgserver (PyPI) carries PostgreSQL's binaries, so the
test set-up installs it with the other dev dependencies, starts it on a Unix socket in a temporary folder once
per session and stops it at the end. Each test gets a database of its own."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    import pgserver

    with tempfile.TemporaryDirectory(prefix="assistant-pg-") as folder:
        server = pgserver.get_server(Path(folder), cleanup_mode="stop")
        try:
            yield server
        finally:
            server.cleanup()


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """The URL of a new, empty database on the session's server."""
    name = f"t{uuid.uuid4().hex[:12]}"
    pg_server.psql(f"CREATE DATABASE {name};")
    return str(pg_server.get_uri(name))
