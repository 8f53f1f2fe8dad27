"""Train the lead scorer on the DEV half of an eval set with lead facts, choosing its L2 weight by 5-fold
cross-validation within dev; write the weights (default: assistant/data/lead_scorer.json).

    .venv/bin/python scripts/train_lead_scorer.py [--set evals/clinician.jsonl] [--out FILE]

For every dev turn with `lead_facts`, the turn is asked as `eval answers` asks it (with its conversation's
history), the composer's usable sentences are collected, and those stating every lead fact are the targets.
Turns whose usable sentences hold no target teach nothing and are left out. The test half is never read.
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def collect(set_path: Path) -> list[tuple[str, np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    from assistant.evals.data import load_eval_set
    from assistant.evals.keyfacts import present
    from assistant.evidence import Abstention, lead_pool
    from assistant.followup import TurnContext
    from assistant.scorer import features, may_lead
    from assistant.service import Assistant
    from assistant.settings import get_settings

    settings = get_settings()
    assistant = Assistant.open(settings, with_conversations=False)
    groups = []
    for item in load_eval_set(set_path):
        if item.split != "dev":
            continue
        history: list[TurnContext] = []
        for t, turn in enumerate(item.turns, 1):
            reading, resolution = assistant.understand(turn.question, history)
            hits = assistant.retrieve(resolution, settings.retrieval.top_k)
            follow = resolution.topic if resolution.depends else None
            vectors = {
                h.passage.passage_id: assistant.index.sentence_vectors_of(
                    assistant.index.by_id[h.passage.passage_id]
                )
                for h in hits
            }
            pool = lead_pool(
                turn.question, resolution.query, hits, settings.composer,
                query_vector=assistant.embedder.embed_queries([resolution.query])[0] if hits else None,
                sentence_vectors={k: v for k, v in vectors.items() if v is not None},
                unknown_terms=assistant.lexicon.unknown_terms(reading.plain), follow_up_topic=follow,
                reading=reading, topics=assistant.answer_topics(reading, hits, follow),
            )  # fmt: skip
            history.append(TurnContext(turn.question, resolution.query, assistant.topic_of(resolution, hits)))
            if isinstance(pool, Abstention) or not turn.lead_facts:
                continue
            pool = [pool[i] for i in may_lead(reading, pool)]
            targets = np.array([all(present(f, c.text) for f in turn.lead_facts) for c in pool])
            if not targets.any():
                continue
            top = max(c.score for c in pool)
            rows = np.stack(
                [
                    features(reading, c, top, hits[c.hit_rank].document.source_type == "guideline")
                    for c in pool
                ]
            )
            groups.append((f"{item.item_id}#{t}", rows, targets))
    return groups


def accuracy(scorer: Any, groups: list[tuple[str, np.ndarray[Any, Any], np.ndarray[Any, Any]]]) -> float:
    hits = [bool(y[int(np.argmax(scorer.scores(x)))]) for _, x, y in groups]
    return sum(hits) / len(hits) if hits else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", type=Path, default=ROOT / "evals" / "clinician.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "assistant" / "data" / "lead_scorer.json")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ["ASSISTANT_COMPOSER__LEAD_MODEL"] = "none"  # candidates as the hand-set composer sees them

    from assistant.scorer import train

    groups = collect(args.set)
    order = list(range(len(groups)))
    random.Random(args.seed).shuffle(order)
    folds = [order[i::5] for i in range(5)]
    results = {}
    for l2 in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0):
        accs = []
        for fold in folds:
            held = set(fold)
            model = train([(x, y) for i, (_, x, y) in enumerate(groups) if i not in held], l2)
            accs.append(accuracy(model, [groups[i] for i in fold]))
        results[l2] = round(float(np.mean(accs)), 4)
        print(f"l2={l2}: 5-fold dev lead accuracy {results[l2]}")
    best = max(results, key=lambda k: (results[k], k))
    model = train([(x, y) for _, x, y in groups], best)
    baseline = sum(bool(y[0]) for _, _, y in groups) / len(groups)  # the best-scored sentence leading
    meta = {
        "trained_on": f"{args.set.name} split=dev", "turns": len(groups), "l2": best,
        "cv_lead_accuracy": results[best], "top_score_lead_accuracy": round(baseline, 4),
        "l2_search": {str(k): v for k, v in results.items()},
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(model.to_json(**meta) + "\n", encoding="utf-8")
    print(
        f"wrote {args.out}: {len(groups)} dev turns, l2 {best}, 5-fold accuracy {results[best]} "
        f"(top-scored sentence: {baseline:.4f})"
    )


if __name__ == "__main__":
    main()
