"""Metric functions on hand-worked examples, and a cross-check against ir_measures."""

from __future__ import annotations

import math
import random

import pytest

from assistant.evals.metrics import (
    abstention_scores,
    citation_scores,
    mean_metrics,
    mrr_at,
    ndcg_at,
    percentile,
    query_metrics,
    recall_at,
    rouge_l_f1,
    token_f1,
)

RANKING = ["d3", "d1", "d2"]
GRADES = {"d1": 2, "d2": 1}


def test_ndcg_by_hand() -> None:
    # gains 2^rel - 1: d3 -> 0 at rank 1, d1 -> 3 at rank 2 (discount log2 3), d2 -> 1 at rank 3 (log2 4 = 2).
    # DCG = 3 / log2 3 + 1 / 2 = 2.3928; ideal order d1, d2: IDCG = 3 / log2 2 + 1 / log2 3 = 3.6309.
    expected = (3 / math.log2(3) + 0.5) / (3 + 1 / math.log2(3))
    assert ndcg_at(RANKING, GRADES, 10) == pytest.approx(expected)
    assert ndcg_at(RANKING, GRADES, 10) == pytest.approx(0.65900, abs=1e-5)
    # cut at 1: nothing relevant in the top 1 -> 0; the ideal is cut at 1 too.
    assert ndcg_at(RANKING, GRADES, 1) == 0.0
    assert ndcg_at(["d1", "d2"], GRADES, 10) == pytest.approx(1.0)
    assert ndcg_at(RANKING, {}, 10) == 0.0


def test_recall_and_mrr_by_hand() -> None:
    # two relevant documents: none in the top 1, d1 in the top 2, both in the top 3.
    assert [recall_at(RANKING, GRADES, k) for k in (1, 2, 3, 100)] == [0.0, 0.5, 1.0, 1.0]
    # the first relevant document is at rank 2 -> 1/2; not within the top 1 -> 0.
    assert mrr_at(RANKING, GRADES, 10) == 0.5
    assert mrr_at(RANKING, GRADES, 1) == 0.0
    assert recall_at([], GRADES, 10) == 0.0


def test_mean_metrics_averages_queries() -> None:
    rows = [query_metrics(RANKING, GRADES), query_metrics(["d1"], {"d1": 1})]
    # recall@10: (1.0 + 1.0) / 2; mrr@10: (0.5 + 1.0) / 2
    means = mean_metrics(rows)
    assert means["recall@10"] == 1.0 and means["mrr@10"] == 0.75
    assert mean_metrics([]) == {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}


def test_token_f1_and_rouge_l_by_hand() -> None:
    # tokens a b c vs a b d d: 2 in common; precision 2/3, recall 2/4, F1 = 2PR/(P+R) = 4/7
    assert token_f1("a b c", "A, b; d d.") == pytest.approx(4 / 7)
    # LCS of "the cat sat on the mat" and "the cat lay on the mat" is "the cat on the mat" (5 of 6 each)
    assert rouge_l_f1("the cat sat on the mat", "the cat lay on the mat") == pytest.approx(5 / 6)
    # order matters for ROUGE-L, not for token F1: LCS of "b a" and "a b" is 1 -> P = R = 1/2
    assert rouge_l_f1("b a", "a b") == pytest.approx(0.5)
    assert token_f1("b a", "a b") == pytest.approx(1.0)
    assert rouge_l_f1("", "a") == 0.0 and token_f1("x", "y") == 0.0


def test_citation_scores_by_hand() -> None:
    sentences = [
        (
            "Oral  iron is first.",
            ["Anaemia. Oral iron\nis first. Then more."],
        ),  # verbatim after squashing spaces
        ("Nothing cited here.", []),
        ("A made-up sentence.", ["Some other passage."]),  # cited, not verbatim
    ]
    precision, recall = citation_scores(sentences)
    assert precision == pytest.approx(1 / 2)  # 1 of the 2 cited sentences is verbatim
    assert recall == pytest.approx(2 / 3)  # 2 of 3 sentences carry a citation
    assert citation_scores([]) == (None, None)


def test_abstention_scores_by_hand() -> None:
    # abstained on items 1, 2; unanswerable are items 1, 3 -> 1 right of 2 abstentions, 1 of 2 unanswerable
    scores = abstention_scores([True, True, False, False], [True, False, True, False])
    assert scores == {"abstention_precision": 0.5, "abstention_recall": 0.5}
    assert abstention_scores([False], [False]) == {"abstention_precision": None, "abstention_recall": None}


def test_percentile_interpolates() -> None:
    # positions (n-1) q/100: p50 of 1..4 at 1.5 -> 2.5; p95 at 2.85 -> 3 + 0.85
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert percentile([], 50) == 0.0


def test_agrees_with_ir_measures() -> None:
    import ir_measures
    from ir_measures import RR, R, nDCG

    rng = random.Random(7)
    docs = [f"d{i}" for i in range(150)]
    qrels: dict[str, dict[str, int]] = {}
    runs: dict[str, list[str]] = {}
    for q in range(25):
        judged = rng.sample(docs, rng.randint(1, 12))
        qrels[f"q{q}"] = {d: rng.choice((1, 1, 2, 3)) for d in judged}
        runs[f"q{q}"] = rng.sample(docs, 120)
    run = {q: {d: 1000.0 - i for i, d in enumerate(r)} for q, r in runs.items()}
    # ir_measures' nDCG uses the grade as the gain: map grades to 2^rel - 1 to match ours
    measures = [nDCG(gains={1: 1, 2: 3, 3: 7}) @ 10, R @ 10, R @ 100, RR @ 10]
    theirs = ir_measures.calc_aggregate(measures, qrels, run)
    ours = mean_metrics([query_metrics(runs[q], qrels[q]) for q in qrels])
    for measure, key in zip(measures, ("ndcg@10", "recall@10", "recall@100", "mrr@10"), strict=True):
        assert ours[key] == pytest.approx(theirs[measure], abs=1e-4), key
