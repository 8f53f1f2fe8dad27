"""Train the lead scorer on DEV data only, choosing its L2 weight by repeated 5-fold cross-validation within dev;
write the weights (default: assistant/data/lead_scorer.json).

    .venv/bin/python scripts/train_lead_scorer.py [--set SET ...] [--pubmedqa DIR] [--out FILE]
        [--repeats 5]

Two kinds of dev questions teach it, each kind weighing as much as the other in the loss:
- every dev turn of the clinician sets (`evals/clinician.jsonl`, `evals/clinician-extra.jsonl`) with `lead_facts`,
  asked as `eval answers` asks it (with its conversation's history): the composer's usable sentences that state
  every lead fact are the targets (the test half is never read);
- the PubMedQA dev questions (`../shared/datasets/pubmedqa`, when present): the usable sentences within 0.02 of
  the best ROUGE-L against the question's `long_answer` are the targets (when that best is at least 0.2).
Questions whose usable sentences hold no target teach nothing and are left out.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
Group = tuple[str, np.ndarray[Any, Any], np.ndarray[Any, Any], bool]  # (name, feature rows, targets, applies)


def pool_rows(
    assistant: Any, question: str, history: list[Any]
) -> tuple[list[Any], np.ndarray[Any, Any], Any]:
    """(the usable sentences allowed to lead, their feature rows, (the resolution, the hits, whether the scorer
    applies to the question)) for one question."""
    from assistant.evidence import Abstention
    from assistant.scorer import applies, features, may_lead

    reading, resolution = assistant.understand(question, history)
    hits = assistant.retrieve(resolution, assistant.settings.retrieval.top_k)
    pool = assistant.pool(reading, resolution.query, hits, resolution.topic if resolution.depends else None)
    if isinstance(pool, Abstention):
        return [], np.zeros((0, 0)), (resolution, hits, False)
    pool = [pool[i] for i in may_lead(reading, pool)]
    top = max(c.score for c in pool)
    guideline = [hits[c.hit_rank].document.source_type == "guideline" for c in pool]
    rows = np.stack([features(reading, c, top, g) for c, g in zip(pool, guideline, strict=True)])
    return pool, rows, (resolution, hits, applies(reading))


def clinician_groups(set_paths: list[Path]) -> list[Group]:
    from assistant.evals.data import load_eval_set
    from assistant.evals.keyfacts import present
    from assistant.followup import TurnContext
    from assistant.service import Assistant
    from assistant.settings import get_settings

    assistant = Assistant.open(get_settings(), with_conversations=False)
    groups = []
    items = [item for path in set_paths for item in load_eval_set(path)]
    for item in items:
        if item.split != "dev":
            continue
        history: list[TurnContext] = []
        for t, turn in enumerate(item.turns, 1):
            pool, rows, (resolution, hits, scored) = pool_rows(assistant, turn.question, history)
            history.append(TurnContext(turn.question, resolution.query, assistant.topic_of(resolution, hits)))
            if not pool or not turn.lead_facts:
                continue
            targets = np.array([all(present(f, c.text) for f in turn.lead_facts) for c in pool])
            if targets.any():
                groups.append((f"{item.item_id}#{t}", rows, targets, scored))
    return groups


def pubmedqa_groups(folder: Path) -> list[Group]:
    from assistant.embed import SentenceTransformerEmbedder
    from assistant.evals.indexcache import open_answering_assistant
    from assistant.evals.metrics import rouge_l_f1
    from assistant.settings import get_settings

    settings = get_settings()
    assistant = open_answering_assistant(
        [folder / "corpus.jsonl"], settings, SentenceTransformerEmbedder(settings.model)
    )
    groups = []
    for line in (folder / "queries.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        reference = row.get("metadata", {}).get("long_answer")
        if not reference:
            continue
        pool, rows, (_, _, scored) = pool_rows(assistant, row["text"], [])
        if not pool:
            continue
        rouge = np.array([rouge_l_f1(c.text, reference) for c in pool])
        if rouge.max() >= 0.2:
            groups.append((f"pubmedqa:{row['_id']}", rows, rouge >= rouge.max() - 0.02, scored))
    return groups


def accuracy(scorer: Any, groups: list[Group], only: bool | None = None) -> float:
    """Share of `groups` whose top-scored row is a target (`only`: of the groups the scorer applies to, or not)."""
    found = [bool(y[int(np.argmax(scorer.scores(x)))]) for _, x, y, a in groups if only is None or a == only]
    return sum(found) / len(found) if found else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--set",
        type=Path,
        nargs="+",
        default=[ROOT / "evals" / "clinician.jsonl", ROOT / "evals" / "clinician-extra.jsonl"],
        help="answer sets whose dev items teach it (default: evals/clinician.jsonl and clinician-extra.jsonl)",
    )
    parser.add_argument("--pubmedqa", type=Path, default=ROOT.parent / "shared" / "datasets" / "pubmedqa")
    parser.add_argument("--out", type=Path, default=ROOT / "assistant" / "data" / "lead_scorer.json")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--repeats", type=int, default=5, help="cross-validation repeats, each its own folds")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ["ASSISTANT_COMPOSER__LEAD_MODEL"] = "none"  # candidates as the hand-set composer sees them

    from assistant.scorer import train

    sets = {"clinician": clinician_groups(args.set)}
    if (args.pubmedqa / "queries.jsonl").is_file():
        sets["pubmedqa"] = pubmedqa_groups(args.pubmedqa)
    # repeated 5-fold cross-validation (fold shuffles seeded seed, seed + 1, ...): with about a hundred clinician
    # turns one split's accuracy moves by a turn or two, so the L2 weight is chosen on the mean of several
    repeats: list[dict[str, list[list[int]]]] = []
    for r in range(args.repeats):
        rng = random.Random(args.seed + r)
        folds: dict[str, list[list[int]]] = {}
        for name, groups in sets.items():
            order = list(range(len(groups)))
            rng.shuffle(order)
            folds[name] = [order[i::5] for i in range(5)]
        repeats.append(folds)

    def fit(folds: dict[str, list[list[int]]] | None, held: int, l2: float) -> Any:
        train_groups, weights = [], []
        for name, groups in sets.items():
            out = set(folds[name][held]) if folds is not None else set()
            keep = [g for i, g in enumerate(groups) if i not in out]
            train_groups += [(x, y) for _, x, y, _ in keep]
            weights += [1.0 / len(keep)] * len(keep)  # each kind of question weighs the same
        return train(train_groups, l2, weights=weights)

    results: dict[float, dict[str, float]] = {}
    unapplied: dict[float, float] = {}  # out-of-fold accuracy on clinician turns the scorer is not used for
    for l2 in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0):
        per_set: dict[str, list[float]] = {name: [] for name in sets}
        held_unapplied: list[float] = []
        for folds in repeats:
            for k in range(5):
                model = fit(folds, k, l2)
                for name, groups in sets.items():
                    per_set[name].append(accuracy(model, [groups[i] for i in folds[name][k]]))
                clinician = [sets["clinician"][i] for i in folds["clinician"][k]]
                held_unapplied.append(accuracy(model, clinician, False))
        results[l2] = {name: round(float(np.mean(v)), 4) for name, v in per_set.items()}
        unapplied[l2] = round(float(np.mean(held_unapplied)), 4)
        print(f"l2={l2}: 5-fold dev lead accuracy {results[l2]}; on turns it is not used for {unapplied[l2]}")
    best = max(results, key=lambda k: (sum(results[k].values()), k))
    model = fit(None, 0, best)
    meta = {
        "trained_on": " + ".join(p.name for p in args.set) + " split=dev" + (" + pubmedqa dev" if "pubmedqa" in sets else ""),
        "turns": {name: len(g) for name, g in sets.items()}, "l2": best, "cv_repeats": args.repeats,
        "cv_lead_accuracy": results[best],
        "top_score_lead_accuracy": {name: round(sum(bool(y[0]) for _, _, y, _ in g) / len(g), 4) for name, g in sets.items()},
        "not_used_for": {"turns": sum(not a for *_, a in sets["clinician"]), "cv_lead_accuracy": unapplied[best],
                         "top_score_lead_accuracy": round(float(np.mean([bool(y[0]) for _, _, y, a in sets["clinician"] if not a])), 4)},
        "l2_search": {str(k): v for k, v in results.items()},
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(model.to_json(**meta) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {meta}")


if __name__ == "__main__":
    main()
