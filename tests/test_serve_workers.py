"""`assistant serve --workers 2` over PostgreSQL: both workers answer from one index, a follow-up finds the
conversation whichever worker takes it, and the rate limit is one limit for the whole server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import pytest

from .conftest import FIXTURE_CORPUS
from .test_serve_process import ASSISTANT, free_port

pytestmark = pytest.mark.real_model


def _call(port: int, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_two_workers_share_conversations_and_one_rate_limit(tmp_path: Path, pg_url: str) -> None:
    env = {
        **os.environ,
        "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_CACHE_DIR": str(tmp_path / "cache"),
        "ASSISTANT_CORPUS": json.dumps([str(FIXTURE_CORPUS)]),
        "ASSISTANT_CONVERSATION__DATABASE_URL": pg_url,
        "ASSISTANT_API__RATE_LIMIT_PER_MINUTE": "8",
    }
    port = free_port()
    # no index yet: it is built once, before the workers start
    server = subprocess.Popen(
        [str(ASSISTANT), "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        ready = 0
        while ready < 6:  # several readyz in a row, so that both workers have loaded
            try:
                ready = ready + 1 if _call(port, "/readyz")[0] == 200 else 0
            except OSError:
                ready = 0
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.3)
        status, first = _call(
            port, "/v1/ask", {"question": "What is the first-line drug for recurrent gout?"}
        )
        assert status == 200 and not first["abstained"]
        cid = first["conversation_id"]
        for _ in range(3):  # new connections each: any worker may take them
            status, follow = _call(
                port, "/v1/ask", {"question": "How is it diagnosed?", "conversation_id": cid}
            )
            assert status == 200 and follow["resolved_query"].endswith("Gout")
        statuses = [_call(port, "/v1/models")[0] for _ in range(8)]
        # 8 a minute for the whole server: 4 asks, then 4 more; two limits in memory would allow 16
        assert statuses[:4] == [200] * 4 and statuses[-2:] == [429, 429]
        with psycopg.connect(pg_url) as conn:  # every turn stored once, in order, whichever worker took it
            turns = conn.execute(
                "SELECT position, question FROM turns WHERE conversation_id = %s ORDER BY position", (cid,)
            ).fetchall()
        assert [p for p, _q in turns] == [0, 1, 2, 3] and turns[1][1] == "How is it diagnosed?"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    assert (tmp_path / "index" / "CURRENT").exists()
