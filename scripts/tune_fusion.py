"""Choose the adaptive-fusion coefficients on DEV queries and report them on held-out TEST queries.

    .venv/bin/python scripts/tune_fusion.py [--medquad-sample 4000] [--seed 20261202]

The judged queries of each retrieval set (SciFact train, PubMedQA dev, the generated MedQuAD set) are split once,
at random with a fixed seed, into dev and test halves. For each query the dense and BM25 rankings are computed
once; nDCG@10 (documents, graded) is then read off for dense weights 0, 0.05, ..., 1, so that every candidate
rule for choosing the weight per query is scored without searching again. The coefficients [a, b, c, d] of
`ASSISTANT_RETRIEVAL__ADAPTIVE` that maximise the mean dev nDCG@10 over the sets (each set weighing the same) are
printed with the dev and test figures of: the fixed weight 0.45 (today's default), the best fixed weight on dev,
and the adaptive rule.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"
WEIGHTS = [round(0.05 * i, 2) for i in range(21)]


def per_query_table(folder: Path, split: str, sample: int, seed: int) -> dict[str, Any]:
    """For each judged query of a BEIR folder: its split, signals, and nDCG@10 at every dense weight."""
    from assistant.embed import SentenceTransformerEmbedder, all_cores, set_threads
    from assistant.evals.data import load_beir
    from assistant.evals.indexcache import open_cached_index
    from assistant.evals.metrics import ndcg_at
    from assistant.evals.runner import DenseCache
    from assistant.lexical import query_terms
    from assistant.retrieve import IndexRetriever, query_signals, zscore
    from assistant.settings import get_settings

    settings = get_settings()
    embedder = SentenceTransformerEmbedder(settings.model)
    beir = load_beir(folder, split)
    index = open_cached_index([beir.corpus], settings, embedder)
    set_threads(all_cores())
    qids = sorted(beir.queries)
    rng = random.Random(seed)
    if sample and len(qids) > sample:
        qids = sorted(rng.sample(qids, sample))
    order = list(qids)
    rng.shuffle(order)
    half = {q: ("dev" if i < len(order) // 2 else "test") for i, q in enumerate(order)}
    cache = DenseCache(index, embedder)
    cache.prepare([beir.queries[q] for q in qids], 100)
    retriever = IndexRetriever(index, embedder, settings.retrieval)
    rows = []
    for q in qids:
        text = beir.queries[q]
        dense = cache.get(text, 100) or []
        lexical = retriever.bm25_ranking(text, 100)
        tokens, known = query_terms(index.bm25, text)
        signals = query_signals(len(tokens), len(tokens) - len(known), lexical)
        scores = []
        for w in WEIGHTS:
            docs: list[str] = []
            for i, _s in zscore(dense, lexical, w):
                d = index.passages[i].doc_id
                if d not in docs:
                    docs.append(d)
                if len(docs) == 10:
                    break
            scores.append(ndcg_at(docs, beir.qrels[q], 10))
        rows.append((half[q], signals, np.asarray(scores)))
    return {"name": folder.name, "rows": rows}


def mean_ndcg(table: dict[str, Any], half: str, weight_of: Any) -> float:
    values = [
        s[WEIGHTS.index(min(WEIGHTS, key=lambda w: abs(w - weight_of(sig))))]
        for h, sig, s in table["rows"]
        if h == half
    ]
    return float(np.mean(values))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--medquad", type=Path, default=ROOT / ".cache" / "datasets" / "medquad")
    parser.add_argument("--medquad-sample", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from assistant.retrieve import adaptive_weight

    tables = [
        per_query_table(SHARED / "scifact", "train", 0, args.seed),
        per_query_table(SHARED / "pubmedqa", "dev", 0, args.seed),
    ]
    if (args.medquad / "qrels" / "test.tsv").is_file():
        tables.append(per_query_table(args.medquad, "test", args.medquad_sample, args.seed))

    def overall(half: str, weight_of: Any) -> float:
        return float(np.mean([mean_ndcg(t, half, weight_of) for t in tables]))

    fixed_best = max(WEIGHTS, key=lambda w: (overall("dev", lambda _s: w), -abs(w - 0.45)))
    grid = itertools.product([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0], [-1.0, -0.5, 0.0, 0.5, 1.0],
                             [-2.0, 0.0, 2.0, 4.0], [-0.5, -0.25, 0.0, 0.25])  # fmt: skip
    best = max(grid, key=lambda c: overall("dev", lambda s: adaptive_weight(s, c)))
    rules = {"fixed 0.45": lambda _s: 0.45, f"fixed {fixed_best} (best on dev)": lambda _s: fixed_best,
             f"adaptive {list(best)}": lambda s: adaptive_weight(s, best)}  # fmt: skip
    for name, rule in rules.items():
        cells = "  ".join(
            f"{t['name']} dev {mean_ndcg(t, 'dev', rule):.4f} test {mean_ndcg(t, 'test', rule):.4f}"
            for t in tables
        )
        print(f"{name:<40} {cells}  | mean dev {overall('dev', rule):.4f} test {overall('test', rule):.4f}")
    print(f"ASSISTANT_RETRIEVAL__FUSION=adaptive ASSISTANT_RETRIEVAL__ADAPTIVE='{list(best)}'")


if __name__ == "__main__":
    main()
