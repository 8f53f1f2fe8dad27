"""Evaluation metrics: pure functions on rankings of document ids and on answer texts.

Relevance is graded (`{doc id: grade}`, grade > 0 means relevant). nDCG uses gains 2^grade - 1 and discounts
log2(rank + 1), ranks counted from 1; the ideal ranking sorts the judged grades. Averages are taken over queries.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

Ranking = Sequence[str]
Grades = Mapping[str, int]

RETRIEVAL_KEYS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
CURVE_KS = (1, 2, 3, 5, 10, 20, 30, 50, 100)


def dcg(gains: Iterable[int]) -> float:
    return float(sum((2.0**g - 1) / math.log2(rank + 1) for rank, g in enumerate(gains, 1)))


def ndcg_at(ranking: Ranking, relevant: Grades, k: int) -> float:
    ideal = dcg(sorted(relevant.values(), reverse=True)[:k])
    if ideal <= 0:
        return 0.0
    return dcg(relevant.get(d, 0) for d in ranking[:k]) / ideal


def recall_at(ranking: Ranking, relevant: Grades, k: int) -> float:
    wanted = {d for d, g in relevant.items() if g > 0}
    return len(wanted.intersection(ranking[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranking: Ranking, relevant: Grades, k: int) -> float:
    for rank, d in enumerate(ranking[:k], 1):
        if relevant.get(d, 0) > 0:
            return 1.0 / rank
    return 0.0


def query_metrics(ranking: Ranking, relevant: Grades) -> dict[str, float]:
    """The four headline metrics of one query."""
    return {
        "ndcg@10": ndcg_at(ranking, relevant, 10),
        "recall@10": recall_at(ranking, relevant, 10),
        "recall@100": recall_at(ranking, relevant, 100),
        "mrr@10": mrr_at(ranking, relevant, 10),
    }


def mean_metrics(
    rows: Sequence[Mapping[str, float]], keys: Sequence[str] = RETRIEVAL_KEYS
) -> dict[str, float]:
    """Mean of each key over the rows (0.0 for an empty list), rounded to 4 places."""
    return {k: round(sum(r[k] for r in rows) / len(rows), 4) if rows else 0.0 for k in keys}


def recall_curve(rankings: Sequence[Ranking], relevants: Sequence[Grades]) -> dict[str, float]:
    """Mean recall@k for each k of `CURVE_KS` (keys are the k as strings, for JSON)."""
    n = len(rankings)
    return {
        str(k): round(sum(recall_at(r, g, k) for r, g in zip(rankings, relevants, strict=True)) / n, 4)
        if n
        else 0.0
        for k in CURVE_KS
    }


# ------------------------------------------------------------------ answer text

_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style F1 of the bag of lower-cased word tokens."""
    p, r = tokens(prediction), tokens(reference)
    common = sum((Counter(p) & Counter(r)).values())
    if not p or not r or common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(r)
    return 2 * precision * recall / (precision + recall)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (dynamic programming, one row at a time)."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        row = [0]
        for j, y in enumerate(b, 1):
            row.append(prev[j - 1] + 1 if x == y else max(prev[j], row[j - 1]))
        prev = row
    return prev[-1]


def rouge_l_f1(prediction: str, reference: str) -> float:
    """ROUGE-L F1 (beta = 1) over lower-cased word tokens."""
    p, r = tokens(prediction), tokens(reference)
    lcs = lcs_length(p, r)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(p), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def citation_scores(sentences: Sequence[tuple[str, Sequence[str]]]) -> tuple[float | None, float | None]:
    """(precision, recall) of citations for one answer, from (sentence, texts of the passages it cites) pairs.

    Precision: share of cited sentences found verbatim (whitespace-normalised) in every passage they cite.
    Recall: share of sentences that cite something. None where there is nothing to divide by.
    """
    cited = [(s, texts) for s, texts in sentences if texts]
    verbatim = sum(1 for s, texts in cited if all(squash(s) in squash(t) for t in texts))
    precision = verbatim / len(cited) if cited else None
    recall = len(cited) / len(sentences) if sentences else None
    return precision, recall


def abstention_scores(abstained: Sequence[bool], unanswerable: Sequence[bool]) -> dict[str, float | None]:
    """Precision and recall of abstaining, where the positive class is "unanswerable"."""
    hits = sum(1 for a, u in zip(abstained, unanswerable, strict=True) if a and u)
    n_abstained, n_unanswerable = sum(abstained), sum(unanswerable)
    return {
        "abstention_precision": hits / n_abstained if n_abstained else None,
        "abstention_recall": hits / n_unanswerable if n_unanswerable else None,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default method), q in [0, 100]."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
