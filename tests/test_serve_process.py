"""`assistant serve` as a process: it stops on SIGTERM while the index is still loading, and exits (instead of
hanging) when its port is taken. The index folder is empty, so the server is busy building it all along."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ASSISTANT = Path(sys.executable).with_name("assistant")


def serve(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
    }
    return subprocess.Popen(
        [str(ASSISTANT), "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sigterm_while_the_index_loads_stops_the_server(tmp_path: Path) -> None:
    port = free_port()
    server = serve(tmp_path, port)
    try:
        deadline = time.monotonic() + 60
        while True:  # up, answering /livez, with the load (a build of the shipped corpus) under way
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)  # a hang here is the bug: the load held up shutdown
    finally:
        server.kill()
    assert server.returncode in (0, -signal.SIGTERM)


def test_a_busy_port_ends_the_server_instead_of_hanging(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = serve(tmp_path, int(taken.getsockname()[1]))
        try:
            _out, err = server.communicate(timeout=60)
        finally:
            server.kill()
    assert server.returncode != 0 and "address already in use" in err
