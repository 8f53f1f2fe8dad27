"""A separate build process for the crash, race and hot-swap tests:

    python -m tests.buildproc INDEX_DIR CORPUS [KEEP] [TIMES]

builds the fixture corpus (or CORPUS) into INDEX_DIR with the fake embedder, TIMES times (default 1), keeping
KEEP generations, and prints the published folder's name after each build. Fault and pause points come from
the environment (`assistant.generations.FAULT_ENV`, `PAUSE_ENV`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from assistant.ingest import load_corpus, source_fingerprint
from assistant.settings import IndexSettings, Settings
from assistant.store import build_index

from .fakes import FakeEmbedder


def main(argv: list[str]) -> int:
    index_dir, corpus = Path(argv[0]), Path(argv[1])
    keep = int(argv[2]) if len(argv) > 2 else 2
    times = int(argv[3]) if len(argv) > 3 else 1
    settings = Settings(
        model=FakeEmbedder.name,
        corpus=[corpus],
        index_dir=index_dir,
        data_dir=index_dir.parent / "data",
        cache_dir=index_dir.parent / "cache",
        index=IndexSettings(keep_generations=keep, build_lock_timeout_s=60),
    )
    for _ in range(times):
        corpus_read = load_corpus([corpus], settings.ingest)
        fingerprint = source_fingerprint([corpus], settings.ingest)
        built = build_index(
            corpus_read,
            FakeEmbedder(),
            settings,
            index_dir,
            source_fingerprint=fingerprint,
            sources=[corpus],
            progress=False,
        )
        print(Path(built).name, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
