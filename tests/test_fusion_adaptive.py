"""Adaptive fusion: the per-query dense weight is the logistic rule of its signals, and the query's signals are
what they say (length, unknown share, BM25 peakedness)."""

from __future__ import annotations

import math

import pytest

from assistant.retrieve import adaptive_weight, query_signals


def test_signals_by_hand() -> None:
    # 4 terms, 1 unknown; BM25 scores 10 then nine of 1 and 3 alternating: the rest has mean 1.89, std 0.99
    lexical = [(0, 10.0), *((i, 1.0 if i % 2 else 3.0) for i in range(1, 10))]
    length, unknown, peak = query_signals(4, 1, lexical)
    rest = [1.0 if i % 2 else 3.0 for i in range(1, 10)]
    mean = sum(rest) / 9
    std = math.sqrt(sum((r - mean) ** 2 for r in rest) / 9)
    assert length == pytest.approx(math.log(5))
    assert unknown == 0.25
    assert peak == pytest.approx((10 - mean) / std, rel=1e-4)
    assert query_signals(0, 0, []) == (0.0, 1.0, 0.0)  # no term at all: everything unknown, no peak


def test_weight_is_the_logistic_rule() -> None:
    assert adaptive_weight((1.0, 0.5, 2.0), [0.0, 0.0, 0.0, 0.0]) == 0.5
    # z = -0.5 + 2 * 0.5 = 0.5: a query half unknown to BM25 leans on the dense side
    assert adaptive_weight((1.0, 0.5, 2.0), [-0.5, 0.0, 2.0, 0.0]) == pytest.approx(1 / (1 + math.exp(-0.5)))
    assert (
        adaptive_weight((1.0, 0.0, 2.0), [-0.5, 0.0, 2.0, 0.0])
        < 0.5
        < adaptive_weight((1.0, 1.0, 2.0), [-0.5, 0.0, 2.0, 0.0])
    )
