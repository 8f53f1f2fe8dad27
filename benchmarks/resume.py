"""kill -9 a real build at random moments and resume it (not a test: run on demand; about 15 minutes).

    .venv/bin/python benchmarks/resume.py [--units 4000] [--kills 10] [--shard 128] [--seed 7]

The corpus is the first `--units` units of `benchmarks/scale_corpus.py` (run that first; only its text is used).
First an uninterrupted `assistant index build` with an empty embedding cache gives the reference and its time T.
Then the same build, on a second empty cache, is killed with SIGKILL `--kills` times, each at a moment drawn
uniformly from the time a tenth of the texts (1/`--kills`) would take (counted from when it starts embedding, at
the reference's rate), so that every kill falls while it still has texts to embed, and restarted; a last run finishes it. Printed per kill: the moment, what the run had to embed and whether
that was exactly what the cache lacked (every committed shard kept: a kill costs at most the shard being
computed), the texts committed before and after; then whether the resumed generation equals the reference: the
same passage ids in the same rows, and the largest difference between their vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

CACHE = Path(".cache/bench-scale")


def committed(cache: Path) -> int:
    """Texts in committed shards (a shard counts once its keys file exists)."""
    return sum(int(np.load(k, mmap_mode="r").shape[0]) for k in cache.rglob("shard-*.keys.npy"))


def build(corpus: Path, index_dir: Path, cache: Path, shard: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "ASSISTANT_CACHE_DIR": str(cache),
        "ASSISTANT_INDEX__EMBEDDING_SHARD_SIZE": str(shard),
        "ASSISTANT_INDEX__SENTENCE_EMBEDDINGS": "false",
    }
    command = [".venv/bin/assistant", "index", "build", "--source", str(corpus), "--index", str(index_dir)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _embedding_starts(run: subprocess.Popen[str]) -> int | None:
    """Read the run's log until it says how many texts it will embed; that number (None if it ends first)."""
    assert run.stdout is not None
    for line in run.stdout:
        found = re.search(r"embedding (\d+) of (\d+) texts", line)
        if found:
            return int(found.group(1))
    return None


def generation(index_dir: Path) -> tuple[list[str], np.ndarray]:  # type: ignore[type-arg]
    from assistant.loader import load_index

    index = load_index(index_dir, expected_model=None)
    return [p.passage_id for p in index.passages], index.dense.vectors()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=4000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--shard", type=int, default=128)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="resume-"))
    corpus = work / "corpus.jsonl"
    with (args.cache / "units.jsonl").open(encoding="utf-8") as f, corpus.open("w", encoding="utf-8") as out:
        for _, line in zip(range(args.units), f, strict=False):
            unit = json.loads(line)
            out.write(json.dumps({"_id": unit["id"], "text": unit["text"]}) + "\n")

    started = time.perf_counter()
    reference = build(corpus, work / "reference", work / "cache-reference", args.shard)
    reference.communicate()
    whole = time.perf_counter() - started
    print(f"uninterrupted build: {whole:.1f} s, {committed(work / 'cache-reference')} texts embedded")

    rate = committed(work / "cache-reference") / whole  # texts a second, start-up included (an underestimate)
    rng = random.Random(args.seed)
    cache = work / "cache-resumed"
    total = committed(work / "cache-reference")
    kills = 0
    while kills < args.kills:
        before = committed(cache) if cache.exists() else 0
        if before == total:
            print(f"the build finished after {kills} kills: use more --units for more kills")
            break
        run = build(corpus, work / "resumed", cache, args.shard)
        todo = _embedding_starts(run)  # once the run has loaded the model and read the corpus
        if todo is None:
            print("a run ended before it embedded anything")
            continue
        at = rng.uniform(
            0.0, min(todo, total / args.kills) / rate
        )  # while it has texts to embed, so all kills fit
        try:
            run.wait(timeout=at)
            print(f"a run finished before {at:.1f} s: no kill")
            continue
        except subprocess.TimeoutExpired:
            run.send_signal(signal.SIGKILL)
            run.communicate()
        kills += 1
        after = committed(cache)
        print(f"kill {kills} at {at:5.1f} s into embedding: had {todo} to embed (= {total} - {before} committed: "
              f"{todo == total - before}); committed {before} -> {after}")  # fmt: skip
    final = build(corpus, work / "resumed", cache, args.shard)
    output = final.communicate()[0]
    left = re.search(r"embedding (\d+) of (\d+) texts", output)
    print(f"last run: {left.group(0) if left else 'nothing left to embed'}; exit {final.returncode}")

    ids_ref, vectors_ref = generation(work / "reference")
    ids, vectors = generation(work / "resumed")
    same_ids = ids == ids_ref
    diff = float(np.abs(vectors - vectors_ref).max()) if same_ids else float("nan")
    print(f"resumed == reference: same ids in the same rows: {same_ids} ({len(ids)} passages); "
          f"largest vector difference {diff:.2e}")  # fmt: skip
    print(f"(work folder: {work})")


if __name__ == "__main__":
    main()
