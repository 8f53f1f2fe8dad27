"""How close `resolved_query` gets to TREC CAsT 2019's manual rewrites, per follow-up strategy.

    .venv/bin/python benchmarks/cast_rewrites.py [--cast ../shared/datasets/trec_cast_2019]

CAsT ships no passage corpus here, so resolution runs without a corpus lexicon (each question's own topic words
stand for its topic). Score: token recall of the rewrite's content words (stemmed, stop and question words
removed) in the resolved query, over follow-up turns (turn 2 onwards) and over all turns; and precision (share of
the resolved query's content words that the rewrite has), which penalises dragging old topics along.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.followup import TurnContext, resolve
from assistant.lexical import QUESTION_WORDS, terms


def content(text: str) -> set[str]:
    return set(terms(text)) - QUESTION_WORDS


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cast", type=Path, default=Path("../shared/datasets/trec_cast_2019"))
    args = parser.parse_args()
    topics = json.loads((args.cast / "evaluation_topics_v1.0.json").read_text())
    rewrites = dict(
        line.rstrip("\n").split("\t", 1)
        for line in (args.cast / "evaluation_topics_annotated_resolved_v1.0.tsv").open(encoding="utf-8")
        if "\t" in line
    )
    print(f"{'strategy':14s} {'follow-up recall':>17s} {'precision':>10s} {'all-turn recall':>16s}  turns")
    for strategy in ("none", "prepend", "entity-carry"):
        follow_r, follow_p, all_r = [], [], []
        for topic in topics:
            history: list[TurnContext] = []
            for turn in topic["turn"]:
                qid = f"{topic['number']}_{turn['number']}"
                question = turn["raw_utterance"].strip()
                r = resolve(question, history, strategy)
                history.append(TurnContext(question, r.query, r.topic))
                gold, got = content(rewrites.get(qid, question)), content(r.query)
                if not gold:
                    continue
                recall = len(gold & got) / len(gold)
                all_r.append(recall)
                if turn["number"] > 1:
                    follow_r.append(recall)
                    follow_p.append(len(gold & got) / len(got) if got else 0.0)
        mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
        print(
            f"{strategy:14s} {mean(follow_r):17.3f} {mean(follow_p):10.3f} {mean(all_r):16.3f}  {len(all_r)}"
        )


if __name__ == "__main__":
    main()
