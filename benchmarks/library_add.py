"""Adding one document to the shipped corpus against a full build (not a test: run on demand).

    .venv/bin/python benchmarks/library_add.py [--document PATH] [--repeat 3]

Copies the shipped corpus into a fresh temporary library with empty caches, times a full build (embedding
every passage and sentence), then adds one document at a time (default: three real articles of
../shared/library-samples: a PubMed record and two PMC full texts) with `library.ops.add` and times the
rebuild after each; the model is loaded once, before all of them, as in a running server. Prints the build
times (the manifest's build_seconds: reading, embedding, BM25, vector index, vocabulary, writing and
publishing), what each add embedded, and the median add over the full build.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from assistant.embed import SentenceTransformerEmbedder
from assistant.library import ops
from assistant.service import build_from_settings
from assistant.settings import PROJECT_ROOT, Settings

SAMPLES = PROJECT_ROOT.parent / "shared" / "library-samples"
DOCUMENTS = [SAMPLES / n for n in ("pubmed-29768149.xml", "pone.0000217.nxml", "1471-2180-11-174.nxml")]


def built(settings: Settings, embedder: SentenceTransformerEmbedder) -> dict[str, object]:
    folder = build_from_settings(settings, embedder, progress=False)
    manifest: dict[str, object] = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--document", type=Path, action="append", help="a file to add (repeatable)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(PROJECT_ROOT / "corpus", root / "lib")
        settings = Settings(
            corpus=[root / "lib"], index_dir=root / "index", data_dir=root / "data", cache_dir=root / "cache"
        )
        embedder = SentenceTransformerEmbedder(settings.model)
        t0 = time.perf_counter()
        full = built(settings, embedder)
        full_wall = time.perf_counter() - t0
        print(f"full build: {full['build_seconds']} s ({full['passage_count']} passages, "
              f"{full['sentence_count']} sentences; {full_wall:.1f} s wall)")  # fmt: skip
        adds = []
        for document in args.document or DOCUMENTS:
            t0 = time.perf_counter()
            ops.add(settings, [document], by="benchmark")
            after = built(settings, embedder)
            wall = time.perf_counter() - t0
            adds.append(float(after["build_seconds"]))  # type: ignore[arg-type]
            print(f"add {document.name}: rebuild {after['build_seconds']} s, embedded now {after['embedded_now']}, "
                  f"{wall:.1f} s wall with the check and copy")  # fmt: skip
        median = statistics.median(adds)
        ratio = median / float(full["build_seconds"])  # type: ignore[arg-type]
        print(f"median add-one rebuild {median:.2f} s = {100 * ratio:.1f}% of a full build (target < 5%)")


if __name__ == "__main__":
    main()
