"""Browser tests: headless Chromium (Debian's) driven by Playwright, against uvicorn servers in threads.

Chromium comes from the system (`apt-get install chromium`; scripts/test.sh installs it). Without it these tests
skip with the reason, except under CI=true, where they fail. The accessibility checks use axe-core, pinned
(AXE_VERSION), installed once with npm into a cache folder (AXE_DIR, default ~/.cache/assistant-e2e/axe-core-V);
without npm (scripts/test.sh installs it) or the registry they skip the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from assistant.service import Assistant, build_from_settings
from assistant.settings import ApiSettings, ComposerSettings, Settings
from tests.conftest import FIXTURES, FakeEmbedder

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
AXE_VERSION = "4.10.3"
AXE_DIR = Path(
    os.environ.get("AXE_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "assistant-e2e"
    / f"axe-core-{AXE_VERSION}"
)


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        unavailable(f"no Chromium at {CHROMIUM}: apt-get install -y chromium chromium-driver")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe.min.js of axe-core AXE_VERSION, installed with npm into AXE_DIR on first use."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm is not installed (apt-get install -y npm) for axe-core")
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        command = [
            npm,
            "install",
            "--prefix",
            str(AXE_DIR),
            "--no-audit",
            "--no-fund",
            f"axe-core@{AXE_VERSION}",
        ]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            unavailable(f"could not install axe-core@{AXE_VERSION} with npm: {(exc.stderr or '')[-500:]}")
    version = json.loads((script.parent / "package.json").read_text(encoding="utf-8"))["version"]
    assert version == AXE_VERSION, f"{AXE_DIR} holds axe-core {version}, not {AXE_VERSION}"
    return script


@dataclass
class Served:
    url: str
    server: Any
    thread: threading.Thread


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="session")
def xss_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The XSS fixture corpus (the test corpus plus a digest with <script> and <img onerror> in it), built once."""
    root = tmp_path_factory.mktemp("e2e")
    settings = Settings(
        model=FakeEmbedder.name,
        corpus=[FIXTURES / "corpus_xss"],
        index_dir=root / "index",
        data_dir=root / "data",
        cache_dir=root / "cache",
        composer=ComposerSettings(  # long answers, so all three source types show on one page
            abstain_below=0.2, min_sentence_score=0.1, relative_margin=1.0, max_sentences=8
        ),
    )
    build_from_settings(settings, FakeEmbedder(), progress=False)
    return settings


@pytest.fixture(scope="session")
def serve_api(xss_index: Settings) -> Iterator[Callable[..., str]]:
    """Start the API (uvicorn, in a thread, on a free port) with the given API settings; returns its base URL."""
    import uvicorn

    from assistant.api import create_app

    started: list[Served] = []

    def start(**api: Any) -> str:
        settings = xss_index.model_copy(update={"api": ApiSettings(rate_limit_per_minute=0, **api)})
        assistant = Assistant.open(settings, embedder=FakeEmbedder(), build_if_missing=False)
        sock = bound_socket()
        config = uvicorn.Config(create_app(settings, assistant), log_level="warning", access_log=False)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            threading.Event().wait(0.02)
        started.append(Served(f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread))
        return started[-1].url

    yield start
    for s in started:
        s.server.should_exit = True
        s.thread.join(10)


@pytest.fixture(scope="session")
def other_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], int]]:
    """A plain static web server on another port (another origin), serving pages written into its folder."""
    root = tmp_path_factory.mktemp("site")

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def page(html: str) -> int:
        (root / "index.html").write_text(html, encoding="utf-8")
        return int(httpd.server_address[1])

    yield page
    httpd.shutdown()


@pytest.fixture(scope="module")
def api(serve_api: Callable[..., str], other_origin: Callable[[str], int]) -> str:
    """The API on the XSS fixture corpus, without keys; the other origin may call it (CORS)."""
    port = other_origin("")  # the other origin's port is known before the API starts: allow it
    return serve_api(cors_origins=[f"http://127.0.0.1:{port}"])


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A desktop page; dialogs (alert and the like) are recorded in page.dialogs and dismissed."""
    context = browser.new_context(viewport=DESKTOP, reduced_motion="reduce")
    p = context.new_page()
    p.dialogs: list[str] = []  # type: ignore[misc]
    p.on("dialog", lambda d: (p.dialogs.append(d.message), d.dismiss()))
    yield p
    context.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A page on a phone (390x844, touch)."""
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2, reduced_motion="reduce"
    )
    yield context.new_page()
    context.close()
