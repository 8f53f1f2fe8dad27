"""Extractive answers on PubMedQA against a simple baseline, scored against each question's `long_answer`.

    .venv/bin/python benchmarks/pubmedqa_answers.py [--beir ../shared/datasets/pubmedqa] [--limit N]

Each question is asked over the whole 1,000-abstract corpus through `Assistant.ask` (hybrid retrieval, the
extractive composer). The baseline, measured in the same run, is the first three sentences of the top retrieved
passage. Both are scored with ROUGE-L F1 and token F1 against the abstract's conclusion (`long_answer`, which is not
in the corpus text). Abstentions score 0 (the composer must answer to score). Two more figures bound the
extractive approach: the answer's lead sentence alone, and the best single sentence (by ROUGE-L, chosen with the
reference in hand: an oracle) among the passages handed to the composer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--beir", type=Path, default=Path("../shared/datasets/pubmedqa"))
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions (0 = all)")
    parser.add_argument("--out", type=Path, help="write the scores as JSON here")
    args = parser.parse_args()

    from assistant.embed import SentenceTransformerEmbedder
    from assistant.evals.indexcache import open_answering_assistant
    from assistant.evals.metrics import rouge_l_f1, token_f1
    from assistant.settings import get_settings

    settings = get_settings()
    embedder = SentenceTransformerEmbedder(settings.model)
    assistant = open_answering_assistant([args.beir / "corpus.jsonl"], settings, embedder)
    retriever = assistant.retriever

    rows = [json.loads(line) for line in (args.beir / "queries.jsonl").open(encoding="utf-8")]
    rows = [r for r in rows if r.get("metadata", {}).get("long_answer")][: args.limit or None]
    keys = ("rouge_l", "token_f1", "lead_rouge_l", "oracle_sentence_rouge_l", "base_rouge_l", "base_token_f1")
    scores: dict[str, list[float]] = {k: [] for k in keys}
    abstained, times = 0, []
    for row in rows:
        reference = row["metadata"]["long_answer"]
        t0 = time.perf_counter()
        answer = assistant.ask(row["text"], remember=False)
        times.append((time.perf_counter() - t0) * 1000)
        prediction = " ".join(s.text for s in answer.sentences)
        abstained += answer.abstained
        top = retriever.retrieve(row["text"], 1)
        baseline = " ".join(top[0].passage.sentence_texts()[:3]) if top else ""
        handed = retriever.retrieve(row["text"], settings.retrieval.top_k)
        sentences = [s for h in handed for s in h.passage.sentence_texts()]
        scores["oracle_sentence_rouge_l"].append(
            max((rouge_l_f1(s, reference) for s in sentences), default=0.0)
        )
        lead = answer.sentences[0].text if answer.sentences else ""
        scores["lead_rouge_l"].append(rouge_l_f1(lead, reference))
        scores["rouge_l"].append(rouge_l_f1(prediction, reference))
        scores["token_f1"].append(token_f1(prediction, reference))
        scores["base_rouge_l"].append(rouge_l_f1(baseline, reference))
        scores["base_token_f1"].append(token_f1(baseline, reference))
    means = {k: round(statistics.fmean(v), 4) for k, v in scores.items()}
    means["rouge_l_ratio"] = (
        round(means["rouge_l"] / means["base_rouge_l"], 3) if means["base_rouge_l"] else 0.0
    )
    means |= {"questions": len(rows), "abstained": abstained, "p50_ms": round(statistics.median(times), 1)}
    print(json.dumps(means, indent=2))
    if args.out:
        args.out.write_text(
            json.dumps({"metrics": means, "config": settings.composer.model_dump()}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
