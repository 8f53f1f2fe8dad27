#!/usr/bin/env python3
"""Load test for `POST /v1/ask`: distinct clinical questions from concurrent clients, for a bounded time.

Run the server in another process first, e.g.

    ASSISTANT_API__RATE_LIMIT_PER_MINUTE=0 .venv/bin/assistant serve --index /tmp/idx-load --port 8765 &
    .venv/bin/python scripts/loadtest.py --url http://127.0.0.1:8765 --concurrency 4 --duration 30

It waits for /readyz, sends one untimed warm-up pass over the questions, then keeps `--concurrency` requests in
flight for `--duration` seconds and prints requests/s, latency percentiles and errors (exit 1 on any error).
The server caches query embeddings, so repeated questions skip the model; `--fresh` makes every text unique.

`--conversations` asks inside conversations instead: clients in pairs share one conversation (so two requests
may add a turn to it at once), six turns each, then a new one. At the end every conversation is read back and
its stored turns compared with the questions that were answered 200 in it: a turn missing is "lost", one more
than sent is "duplicated" (exit 1 on either).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time

import httpx

RUN = format(time.time_ns() % 36**6, "x")  # makes --fresh texts differ from any earlier run's
QUESTIONS = [
    "What are the first signs of amyotrophic lateral sclerosis?",
    "How is ALS diagnosed?",
    "Which drugs slow the progression of ALS?",
    "What is the first-line treatment of anaphylaxis?",
    "What dose of intramuscular adrenaline is used in anaphylaxis in adults?",
    "How long should patients be observed after anaphylaxis?",
    "How is alcohol withdrawal treated?",
    "Which medications reduce relapse in alcohol use disorder?",
    "How is a pulmonary embolism diagnosed?",
    "How long should anticoagulation continue after a deep vein thrombosis?",
    "What antibiotics treat uncomplicated cystitis in women?",
    "When should asymptomatic bacteriuria be treated?",
    "What is the first-line drug for type 2 diabetes?",
    "What HbA1c target is recommended in type 2 diabetes?",
    "How is latent tuberculosis treated?",
    "What are the symptoms of pulmonary tuberculosis?",
    "How is Parkinson's disease treated in its early stages?",
    "Who should be screened for osteoporosis?",
    "How long should bisphosphonates be taken for osteoporosis?",
    "What drugs prevent migraine attacks?",
    "How is an acute migraine attack treated?",
    "What is the first-line treatment of major depressive disorder?",
    "Who should have lung cancer screening with low-dose CT?",
    "How is hypothyroidism treated with levothyroxine?",
    "What medications reduce mortality in heart failure with reduced ejection fraction?",
    "How is generalized anxiety disorder treated?",
    "How is diabetic ketoacidosis managed?",
    "At what age should colorectal cancer screening start?",
    "How is bronchiolitis in infants managed?",
    "Which drugs treat Alzheimer's disease dementia?",
    "When are antibiotics needed for acute otitis media in children?",
    "What is the time window for thrombolysis in acute ischaemic stroke?",
    "What is the initial management of sepsis?",
    "Which antipsychotics are used for schizophrenia?",
    "What blood pressure target is recommended for adults with hypertension?",
    "What is the first-line treatment for focal epilepsy?",
    "Who should take a statin for primary prevention?",
    "How is community-acquired pneumonia treated in adults?",
    "How are COPD exacerbations treated?",
    "How is chronic kidney disease staged?",
    "How often should women have breast cancer screening?",
    "What is the first-line maintenance treatment for bipolar disorder?",
    "Who needs anticoagulation in atrial fibrillation?",
    "What is the stepwise treatment of asthma in adults?",
    "What causes acute kidney injury in hospital?",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def wait_ready(client: httpx.AsyncClient, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.5)
    sys.exit(f"error: the server at {client.base_url} was not ready within {timeout:g} s")


TURNS_PER_CONVERSATION = 6


class Conversations:
    """The conversations of `--conversations`: pair k of clients shares one, TURNS_PER_CONVERSATION turns each."""

    def __init__(self) -> None:
        self.current: dict[int, tuple[str, int]] = {}  # pair -> (conversation id, turns asked in it)
        self.answered: dict[str, list[str]] = {}  # conversation id -> questions answered 200
        self.lock = asyncio.Lock()

    async def slot(self, client: httpx.AsyncClient, pair: int) -> str:
        async with self.lock:  # the pair's conversation, or a new one once it has its turns
            cid, asked = self.current.get(pair, ("", TURNS_PER_CONVERSATION))
            if asked >= TURNS_PER_CONVERSATION:
                r = await client.post("/v1/ask", json={"question": QUESTIONS[pair % len(QUESTIONS)]})
                r.raise_for_status()
                cid, asked = r.json()["conversation_id"], 1
                self.answered[cid] = [QUESTIONS[pair % len(QUESTIONS)]]
            self.current[pair] = (cid, asked + 1)
            return cid

    async def check(self, client: httpx.AsyncClient) -> dict[str, int]:
        lost = duplicated = stored_total = 0
        for cid, questions in self.answered.items():
            r = await client.get(f"/v1/conversations/{cid}")
            r.raise_for_status()
            stored = [t["question"] for t in r.json()["turns"]]
            stored_total += len(stored)
            lost += sum(max(0, questions.count(q) - stored.count(q)) for q in set(questions))
            duplicated += sum(max(0, stored.count(q) - questions.count(q)) for q in set(stored))
        return {
            "conversations": len(self.answered),
            "turns_answered": sum(len(q) for q in self.answered.values()),
            "turns_stored": stored_total,
            "turns_lost": lost,
            "turns_duplicated": duplicated,
        }


async def worker(
    client: httpx.AsyncClient,
    start: int,
    stride: int,
    until: float,
    fresh: bool,
    latencies: list[float],
    errors: list[str],
    conversations: Conversations | None = None,
) -> None:
    i = start
    while time.monotonic() < until:
        question = QUESTIONS[i % len(QUESTIONS)]
        if fresh:  # a question text never sent before: no cached query embedding helps
            question = f"{question} (case {RUN}-{i})"
        i += stride
        body: dict[str, str] = {"question": question}
        t0 = time.perf_counter()
        try:
            if conversations is not None:
                body["conversation_id"] = await conversations.slot(client, start // 2)
            r = await client.post("/v1/ask", json=body)
            ok = r.status_code == 200 and "answer_markdown" in r.json()
            detail = f"HTTP {r.status_code}"
        except (httpx.HTTPError, ValueError) as exc:
            ok, detail = False, type(exc).__name__
        latencies.append((time.perf_counter() - t0) * 1000)
        if not ok:
            errors.append(detail)
        elif conversations is not None:
            conversations.answered[body["conversation_id"]].append(question)


async def run(args: argparse.Namespace) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=args.url, headers=headers, limits=limits, timeout=30) as client:
        await wait_ready(client, args.ready_timeout)
        for q in QUESTIONS:  # warm-up, not measured
            (await client.post("/v1/ask", json={"question": q})).raise_for_status()
        latencies: list[float] = []
        errors: list[str] = []
        conversations = Conversations() if args.conversations else None
        started = time.monotonic()
        until = started + args.duration
        await asyncio.gather(
            *(
                worker(client, k, args.concurrency, until, args.fresh, latencies, errors, conversations)
                for k in range(args.concurrency)
            )
        )
        elapsed = time.monotonic() - started
        turns = await conversations.check(client) if conversations is not None else {}
    return {
        "url": args.url,
        "concurrency": args.concurrency,
        "duration_s": round(elapsed, 2),
        "distinct_questions": len(QUESTIONS),
        "fresh_texts": args.fresh,
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "latency_ms": {
            "p50": round(statistics.median(latencies), 1),
            "p95": round(percentile(latencies, 95), 1),
            "p99": round(percentile(latencies, 99), 1),
            "max": round(max(latencies), 1),
        },
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        **turns,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="Base URL of a running server.")
    parser.add_argument("--concurrency", type=int, default=4, help="Requests in flight at once.")
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds of measured load.")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="Make every question text unique (a case number appended), so no cached query embedding is reused.",
    )
    parser.add_argument(
        "--conversations",
        action="store_true",
        help="Ask inside conversations shared by pairs of clients, then check no turn was lost or duplicated.",
    )
    parser.add_argument("--key", default=None, help="API key, when the server needs one.")
    parser.add_argument("--ready-timeout", type=float, default=120.0, help="Seconds to wait for /readyz.")
    args = parser.parse_args()
    if args.concurrency < 1 or args.duration <= 0:
        parser.error("--concurrency must be >= 1 and --duration > 0")
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2))
    broken = result.get("turns_lost", 0) or result.get("turns_duplicated", 0)
    return 1 if result["errors"] or broken else 0


if __name__ == "__main__":
    sys.exit(main())
