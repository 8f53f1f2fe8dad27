"""Several workers on PostgreSQL under load (issue 16; not a test: run on demand).

    .venv/bin/python benchmarks/workers_load.py [--workers 3] [--duration 60] [--concurrency 6]

Starts a PostgreSQL server (pgserver, in a temporary folder), `assistant serve --workers N` on the configured
index with conversations and rate limits in that database (rate limit off), then `scripts/loadtest.py
--conversations` against it on loopback: clients in pairs add turns to shared conversations, and every
conversation is read back at the end to count lost or duplicated turns. Prints the load test's JSON and the
database's own count of turns; stops everything it started. Exit status: the load test's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=6)
    args = parser.parse_args()
    import pgserver
    import psycopg

    with tempfile.TemporaryDirectory(prefix="assistant-load-") as folder:
        server = pgserver.get_server(Path(folder) / "pg", cleanup_mode="stop")
        server.psql("CREATE DATABASE load;")
        url = server.get_uri("load")
        port = free_port()
        env = {
            **os.environ,
            "ASSISTANT_CONVERSATION__DATABASE_URL": url,
            "ASSISTANT_API__RATE_LIMIT_PER_MINUTE": "0",
            "ASSISTANT_DATA_DIR": str(Path(folder) / "data"),
        }
        assistant = Path(sys.executable).with_name("assistant")
        serve = subprocess.Popen(
            [str(assistant), "serve", "--workers", str(args.workers), "--port", str(port)],
            env=env,
            start_new_session=True,
        )
        try:
            load = subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "loadtest.py"), "--url", f"http://127.0.0.1:{port}",
                 "--concurrency", str(args.concurrency), "--duration", str(args.duration), "--conversations",
                 "--fresh", "--ready-timeout", "300"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
        finally:
            os.killpg(serve.pid, signal.SIGTERM)
            serve.wait(timeout=60)
        print(load.stdout or load.stderr)
        with psycopg.connect(url) as conn:
            (turns,) = conn.execute("SELECT COUNT(*) FROM turns").fetchone()
            (dupes,) = conn.execute(
                "SELECT COUNT(*) FROM (SELECT conversation_id, position FROM turns "
                "GROUP BY 1, 2 HAVING COUNT(*) > 1) d"
            ).fetchone()
            (gaps,) = conn.execute(
                "SELECT COUNT(*) FROM (SELECT conversation_id FROM turns GROUP BY 1 "
                "HAVING MAX(position) + 1 <> COUNT(*)) g"
            ).fetchone()
        print(json.dumps({"workers": args.workers, "database_turns": turns, "duplicate_positions": dupes,
                          "conversations_with_gaps": gaps}))  # fmt: skip
        server.cleanup()
        return load.returncode


if __name__ == "__main__":
    sys.exit(main())
