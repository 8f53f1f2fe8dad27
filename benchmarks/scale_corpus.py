"""A real-embedding corpus of 300,000+ passages for the scaling benchmark (not a test: run on demand).

    .venv/bin/python benchmarks/scale_corpus.py [--datasets ../shared/datasets] [--limit 300000] [--threads 1]

The units are the sentences and two-sentence windows of every record of the public dev sets in
`../shared/datasets/` (SciFact abstracts, PubMedQA contexts, MedQuAD answers), split at sentence punctuation,
sentences of fewer than 20 characters dropped, duplicates kept once, then shuffled with a fixed seed, so that every
prefix (10k, 100k, 300k) is a sample of the whole. They are embedded with the configured model through the
project's embedding cache (`assistant.embedcache`, shards written as they are computed), so an interrupted run
resumes where it stopped. The text and vectors land in `<cache>/units.jsonl` and the cache's shards (ignored by
git: they are derived from the shared sets and are never committed). On the 2-core machine, one thread embeds
about 80 of these units a second: 300,000 take about an hour.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path

SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(])")
SEED = 20261207


def records(datasets: Path) -> Iterator[str]:
    for name in ("scifact", "pubmedqa"):
        with (datasets / name / "corpus.jsonl").open(encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)["text"]
    with (datasets / "medquad" / "qa.jsonl").open(encoding="utf-8") as f:
        for line in f:
            yield json.loads(line).get("answer") or ""


def units(datasets: Path) -> list[str]:
    """Sentences and two-sentence windows of every record, each once, shuffled with a fixed seed."""
    seen: dict[str, None] = {}
    for text in records(datasets):
        sentences = [s for s in SPLIT.split(" ".join(text.split())) if len(s) >= 20]
        for s in sentences:
            seen.setdefault(s)
        for a, b in itertools.pairwise(sentences):
            seen.setdefault(f"{a} {b}")
    out = list(seen)
    random.Random(SEED).shuffle(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--cache", type=Path, default=Path(".cache/bench-scale"))
    parser.add_argument("--limit", type=int, default=300_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--shard", type=int, default=4096)
    args = parser.parse_args()

    from assistant.embed import SentenceTransformerEmbedder, set_threads
    from assistant.embedcache import EmbeddingCache, model_folder
    from assistant.settings import get_settings

    texts = units(args.datasets)[: args.limit]
    args.cache.mkdir(parents=True, exist_ok=True)
    with (args.cache / "units.jsonl").open("w", encoding="utf-8") as f:
        for i, text in enumerate(texts):
            f.write(json.dumps({"id": f"u{i}", "text": text}) + "\n")
    set_threads(args.threads)
    embedder = SentenceTransformerEmbedder(get_settings().model)
    cache = EmbeddingCache(model_folder(args.cache / "embeddings", embedder), embedder.dimension)
    todo = len(cache.missing(texts))
    print(f"{len(texts)} units ({todo} to embed, {len(texts) - todo} cached), {args.threads} thread(s)")
    started = time.perf_counter()
    for start in range(0, len(texts), args.shard * 8):  # in steps, so progress shows and a kill loses little
        chunk = texts[start : start + args.shard * 8]
        _, embedded = cache.embed(chunk, embedder, batch_size=32, shard_size=args.shard)
        elapsed = time.perf_counter() - started
        print(f"{start + len(chunk)} units; embedded {embedded} now; {elapsed:.0f} s", flush=True)


if __name__ == "__main__":
    main()
