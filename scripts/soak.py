#!/usr/bin/env python3
"""Soak test: a mixed load against a loopback `assistant serve` for a bounded time, watching its memory.

    .venv/bin/python scripts/soak.py --minutes 10 --clients 2

Starts the server on 127.0.0.1 (a free port unless `--port`) with an API key, no rate limit of requests and its
own data folder in a temporary directory, on the default index (`index/`; when none is built, the server builds
the shipped corpus first). Waits for /readyz, then `--clients` threads repeat until time is up a cycle of: a
question and its follow-ups in one conversation (`POST /v1/ask`), that conversation read and deleted, cited
passages (`GET /v1/sources/...`), the streamed ask, OpenAI-compatible chat completions (plain and streamed),
`GET /v1/models`, and bad input (empty or overlong questions, wrong or missing keys, oversized and invalid JSON
bodies, unknown ids), which must be answered 4xx. Half the cycles ask a first question never sent before, so
the server's query cache does not hide growth.

The server's resident memory (RSS) is sampled every `--sample-every` seconds; warm-up is the first 2 minutes
(at most 20% of the run). Prints a JSON summary and exits 1 on any 5xx, connection error or unexpected status,
or when the RSS drift, (final - end of warm-up) / end of warm-up, is 10% or more. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
ASSISTANT = Path(sys.executable).with_name("assistant")
RUN = secrets.token_hex(3)  # makes the fresh question texts differ from any earlier run's
MAX_DRIFT = 0.10
KEPT_FAILURES = 20  # failures listed in full in the summary (all are counted)

# A first question, then follow-ups in the same conversation, as clinicians type them.
CONVERSATIONS: list[tuple[str, ...]] = [
    (
        "What is the first-line treatment of anaphylaxis?",
        "what dose in children",
        "how long to observe after",
    ),
    ("What is the first-line drug for type 2 diabetes?", "what if egfr is low", "and the hba1c target?"),
    ("Who needs anticoagulation in atrial fibrillation?", "which drug", "is aspirin ok instead"),
    ("How is community-acquired pneumonia treated in adults?", "how long for", "if penicillin allergic?"),
    ("How is an acute migraine attack treated?", "what about in pregnancy", "which drugs prevent attacks"),
    ("What bp target for adults with hypertension?", "over 80?", "first-line drug for a black adult"),
    ("How is latent tuberculosis treated?", "how long", "what side effects to watch for"),
    ("How are COPD exacerbations treated?", "are antibiotics needed", "what steroid dose"),
    ("How is alcohol withdrawal treated?", "which benzodiazepine", "and for relapse prevention?"),
    ("How long should anticoagulation continue after a dvt?", "if unprovoked", "which doac"),
]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_bytes(pid: int) -> int:
    """The resident set size of a process, from /proc (psutil is not a dependency)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class Tally:
    """Every request's route label, status and latency, shared by the client threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    latencies: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[dict[str, Any]] = field(default_factory=list)
    failure_count: int = 0
    generations: set[str] = field(default_factory=set)

    def record(self, label: str, status: str, ms: float, failure: str | None = None) -> None:
        with self.lock:
            self.statuses[label][status] += 1
            self.latencies[label].append(ms)
            if failure is not None:
                self.failure_count += 1
                if len(self.failures) < KEPT_FAILURES:
                    self.failures.append({"route": label, "status": status, "problem": failure})

    def failure_summary(self) -> dict[str, Any]:
        """How many requests failed, how many of them were 5xx or connection errors, and the first few."""
        all_statuses = sum(self.statuses.values(), Counter[str]())
        return {
            "count": self.failure_count,
            "5xx": sum(n for status, n in all_statuses.items() if status.startswith("5")),
            "connection_errors": all_statuses["connection error"],
            "first": self.failures,
        }

    def routes(self) -> dict[str, Any]:
        return {
            label: {
                "count": len(self.latencies[label]),
                "statuses": dict(sorted(self.statuses[label].items())),
                "p50_ms": round(percentile(self.latencies[label], 50), 1),
                "p95_ms": round(percentile(self.latencies[label], 95), 1),
            }
            for label in sorted(self.latencies)
        }


class Client:
    """One client thread's connection; `send` checks and records every request."""

    def __init__(self, base_url: str, key: str, tally: Tally) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        self.tally = tally

    def send(
        self,
        label: str,
        expect: set[int],
        method: str,
        url: str,
        check: Callable[[httpx.Response], None] | None = None,
        **kwargs: Any,
    ) -> httpx.Response | None:
        """The response when its status is expected and it passes `check`, else None (and a failure noted)."""
        started = time.perf_counter()
        try:
            with self.http.stream(method, url, **kwargs) as r:
                r.read()
        except httpx.TransportError as exc:
            ms = (time.perf_counter() - started) * 1000
            self.tally.record(label, "connection error", ms, f"{type(exc).__name__}: {exc}")
            return None
        ms = (time.perf_counter() - started) * 1000
        problem = None if r.status_code in expect else f"HTTP {r.status_code}, expected {sorted(expect)}"
        if problem is None and check is not None:
            try:
                check(r)
            except (ValueError, KeyError, TypeError) as exc:
                problem = f"bad body: {type(exc).__name__}: {exc}"
        if problem is not None:
            problem += f" (request id {r.headers.get('x-request-id')}): {r.text[:200]}"
        self.tally.record(label, str(r.status_code), ms, problem)
        if generation := r.headers.get("x-index-generation"):
            with self.tally.lock:
                self.tally.generations.add(generation)
        return None if problem else r

    def close(self) -> None:
        self.http.close()


def is_answer(r: httpx.Response) -> None:
    body = r.json()
    if not isinstance(body["answer_markdown"], str) or not isinstance(body["references"], list):
        raise ValueError("not an answer object")


def sse_data(r: httpx.Response) -> list[str]:
    return [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]


def ends_done(r: httpx.Response) -> None:
    """A native event stream ends with the `done` event."""
    if "event: done" not in r.text.splitlines()[-3:]:
        raise ValueError("the stream did not end with a done event")


def ends_done_chat(r: httpx.Response) -> None:
    """A chat completion stream ends with `data: [DONE]`, after chunks that parse as JSON."""
    data = sse_data(r)
    if not data or data[-1] != "[DONE]":
        raise ValueError("the stream did not end with [DONE]")
    for chunk in data[:-1]:
        json.loads(chunk)


def is_completion(r: httpx.Response) -> None:
    if not isinstance(r.json()["choices"][0]["message"]["content"], str):
        raise ValueError("no message content")


def converse(client: Client, turns: tuple[str, ...]) -> list[str]:
    """Ask the turns in one conversation, read it, delete it; the cited passage ids."""
    conversation: str | None = None
    cited: list[str] = []
    for question in turns:
        body: dict[str, Any] = {"question": question}
        if conversation:
            body["conversation_id"] = conversation
        r = client.send("POST /v1/ask", {200}, "POST", "/v1/ask", is_answer, json=body)
        if r is not None:
            answer = r.json()
            conversation = answer["conversation_id"] or conversation
            cited += [ref["passage_id"] for ref in answer["references"]]
    if conversation:
        url = f"/v1/conversations/{conversation}"
        client.send("GET /v1/conversations/{id}", {200}, "GET", url)
        client.send("DELETE /v1/conversations/{id}", {204}, "DELETE", url)
        client.send("bad: GET deleted conversation", {404}, "GET", url)
    return cited


def chat(client: Client, turns: tuple[str, ...]) -> None:
    """The ask stream and the OpenAI-compatible routes, with the conversation's turns as chat history."""
    ask = {"question": turns[0]}
    client.send("POST /v1/ask/stream", {200}, "POST", "/v1/ask/stream", ends_done, json=ask)
    messages = [{"role": "system", "content": "You are a clinical assistant."}]
    for question in turns[:-1]:
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": "(an answer)"}]
    messages.append({"role": "user", "content": turns[-1]})
    body: dict[str, Any] = {"model": "clinical-followup-assistant", "messages": messages}
    url = "/v1/chat/completions"
    client.send("POST /v1/chat/completions", {200}, "POST", url, is_completion, json=body)
    streamed = {**body, "stream": True, "stream_options": {"include_usage": True}}
    client.send("POST /v1/chat/completions (stream)", {200}, "POST", url, ends_done_chat, json=streamed)
    client.send("GET /v1/models", {200}, "GET", "/v1/models")


def chunks(size: int) -> Iterator[bytes]:
    """A JSON body sent chunked (no Content-Length), `size` bytes long."""
    yield b'{"question": "'
    for _ in range(size // 1000):
        yield b"a" * 1000
    yield b'"}'


def bad_input(client: Client, max_body: int) -> None:
    """Requests that must be refused with a 4xx: the route answers, the server stays up."""
    ask, as_json = "/v1/ask", {"Content-Type": "application/json"}
    wrong = {"Authorization": "Bearer not-the-key"}
    client.send("bad: empty question", {422}, "POST", ask, json={"question": ""})
    client.send("bad: no letters", {422}, "POST", ask, json={"question": "?? !!"})
    client.send("bad: overlong question", {422}, "POST", ask, json={"question": "dose " * 1000})
    client.send("bad: top_k as text", {422}, "POST", ask, json={"question": "af dose", "top_k": "5"})
    client.send(
        "bad: unknown conversation", {404}, "POST", ask, json={"question": "and?", "conversation_id": "x1"}
    )
    client.send("bad: invalid JSON", {422}, "POST", ask, content=b'{"question": "af', headers=as_json)
    oversized = json.dumps({"question": "a" * (max_body + 1000)})
    client.send("bad: oversized body", {413}, "POST", ask, content=oversized, headers=as_json)
    chunked = chunks(max_body + 1000)
    client.send("bad: oversized chunked body", {413}, "POST", ask, content=chunked, headers=as_json)
    # Wrong keys from one address are refused with 429 beyond AUTH_FAILURES_PER_MINUTE.
    client.send("bad: wrong key", {401, 429}, "GET", "/v1/models", headers=wrong)
    client.send("bad: wrong key", {401, 429}, "POST", ask, json={"question": "af"}, headers=wrong)
    client.send("bad: missing key", {401, 429}, "GET", "/v1/models", headers={"Authorization": ""})
    client.send(
        "bad: chat without a question",
        {422},
        "POST",
        "/v1/chat/completions",
        json={"model": "m", "messages": []},
    )
    client.send("bad: unknown passage", {404}, "GET", "/v1/sources/no-such-passage")


def cycles(client: Client, start: int, stride: int, until: float, max_body: int) -> None:
    """One client thread's load: whole cycles until `until` (monotonic time)."""
    n = start
    while time.monotonic() < until:
        turns = CONVERSATIONS[n % len(CONVERSATIONS)]
        if (n // len(CONVERSATIONS)) % 2:  # a text never sent before: no cached query embedding helps
            turns = (f"{turns[0]} (case {RUN}-{n})", *turns[1:])
        cited = converse(client, turns)
        for passage_id in list(dict.fromkeys(cited))[:2]:
            client.send("GET /v1/sources/{id}", {200}, "GET", f"/v1/sources/{passage_id}")
        chat(client, turns)
        bad_input(client, max_body)
        n += stride


class Server:
    """`assistant serve` on loopback, with its own data folder and log, stopped with SIGTERM."""

    def __init__(self, workdir: Path, port: int, key: str, max_body: int) -> None:
        self.port = port
        self.log_path = workdir / "server.log"
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "ASSISTANT_DATA_DIR": str(workdir / "data"),
            "ASSISTANT_API__API_KEYS": json.dumps([key]),
            "ASSISTANT_API__RATE_LIMIT_PER_MINUTE": "0",
            "ASSISTANT_API__MAX_BODY_BYTES": str(max_body),
        }
        command = [str(ASSISTANT), "serve", "--host", "127.0.0.1", "--port", str(port)]
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        """/readyz's body once it answers 200; exits when the server dies or is not ready in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"error: the server exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                r = httpx.get(f"{self.url}/readyz", timeout=5)
                if r.status_code == 200:
                    ready: dict[str, Any] = r.json()
                    return ready
            except httpx.TransportError:
                pass
            time.sleep(1)
        sys.exit(f"error: the server was not ready within {timeout:g} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def error_lines(self) -> list[str]:
        """The log's error lines (crashes, failed background work), at most `KEPT_FAILURES`."""
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                entry = None
            if not isinstance(entry, dict):  # not a JSON log line: uvicorn's own, or a progress bar
                entry = {"level": "error" if "Traceback" in line or line.startswith("ERROR") else "info"}
            crashed = int(entry.get("status", 0)) >= 500 and str(entry.get("route")).startswith("/v1/")
            if crashed or entry.get("level") in ("error", "critical"):  # not /readyz's 503 while loading
                found.append(line[:2000])
        return found[:KEPT_FAILURES]

    def stop(self, timeout: float = 30) -> dict[str, Any]:
        """SIGTERM, then wait; kill when it does not stop in time. Its exit status (uvicorn re-raises the
        signal after a graceful shutdown: -15), and whether it had to be killed."""
        killed = False
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                killed = True
        return {"exit": self.process.returncode, "killed": killed}


def sample_rss(pid: int, started: float, until: float, every: float) -> list[tuple[float, int]]:
    """(seconds since `started`, RSS bytes) every `every` seconds until `until`, and once at `until`."""
    samples = []
    while True:
        now = time.monotonic()
        samples.append((now - started, rss_bytes(pid)))
        if now >= until:
            return samples
        time.sleep(min(every, until - now))


def rss_report(samples: list[tuple[float, int]], warm_up: float) -> dict[str, Any]:
    """RSS at the start, the end of warm-up, its maximum after warm-up and at the end, in MiB, and the drift."""
    after = [rss for t, rss in samples if t >= warm_up] or [samples[-1][1]]
    base, final = after[0], samples[-1][1]
    mib = 1024 * 1024
    return {
        "start_mib": round(samples[0][1] / mib, 1),
        "warm_up_mib": round(base / mib, 1),
        "max_mib": round(max(after) / mib, 1),
        "final_mib": round(final / mib, 1),
        "drift_pct": round((final - base) / base * 100, 2),
        "samples_mib": [round(rss / mib, 1) for _, rss in samples],  # the last one after the last request
    }


def soak(server: Server, args: argparse.Namespace, key: str) -> dict[str, Any]:
    """The load and the memory samples, after the server is ready; the summary without its verdict."""
    ready = server.wait_ready(args.ready_timeout)
    tally = Tally()
    seconds = args.minutes * 60
    started = time.monotonic()
    until = started + seconds
    clients = [Client(server.url, key, tally) for _ in range(args.clients)]
    threads = [
        threading.Thread(target=cycles, args=(c, k, args.clients, until, args.max_body), daemon=True)
        for k, c in enumerate(clients)
    ]
    for t in threads:
        t.start()
    samples = sample_rss(server.process.pid, started, until, args.sample_every)
    for t in threads:
        t.join()
    samples.append((time.monotonic() - started, rss_bytes(server.process.pid)))  # after the last request
    for c in clients:
        c.close()
    requests = sum(len(v) for v in tally.latencies.values())
    return {
        "minutes": args.minutes,
        "clients": args.clients,
        "index": {name: ready[name] for name in ("passages", "generation", "stale", "fallback")},
        "generations_served": sorted(tally.generations),
        "requests": requests,
        "requests_per_s": round(requests / seconds, 1),
        "rss": {"sample_every_s": args.sample_every, **rss_report(samples, min(120.0, 0.2 * seconds))},
        "routes": tally.routes(),
        "failures": tally.failure_summary(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--minutes", type=float, default=10.0, help="Minutes of load after the server is ready."
    )
    parser.add_argument("--clients", type=int, default=2, help="Client threads sending requests at once.")
    parser.add_argument("--port", type=int, default=0, help="Port on 127.0.0.1 (default: a free one).")
    parser.add_argument("--sample-every", type=float, default=10.0, help="Seconds between RSS samples.")
    parser.add_argument("--ready-timeout", type=float, default=600.0, help="Seconds to wait for /readyz.")
    parser.add_argument("--max-body", type=int, default=64_000, help="The server's MAX_BODY_BYTES.")
    args = parser.parse_args()
    if args.minutes <= 0 or args.clients < 1 or args.sample_every <= 0:
        parser.error("--minutes and --sample-every must be > 0 and --clients >= 1")
    key = "soak-" + secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="soak-") as workdir:
        server = Server(Path(workdir), args.port or free_port(), key, args.max_body)
        try:
            summary = soak(server, args, key)
        finally:
            stopped = server.stop()
        summary["server_stop"] = stopped
        summary["server_errors"] = server.error_lines()
    reasons = []
    if summary["failures"]["count"]:
        reasons.append(
            f"{summary['failures']['count']} requests failed (5xx, connection error or unexpected status)"
        )
    if summary["rss"]["drift_pct"] >= MAX_DRIFT * 100:
        reasons.append(f"RSS drift {summary['rss']['drift_pct']}% >= {MAX_DRIFT:.0%}")
    summary["passed"], summary["reasons"] = not reasons, reasons
    print(json.dumps(summary, indent=2))
    return 1 if reasons else 0


if __name__ == "__main__":
    sys.exit(main())
