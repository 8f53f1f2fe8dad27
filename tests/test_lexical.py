"""BM25 search: the best k among the passages that hold a query term, best first, ties by passage index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.lexical import bm25_search, build_bm25, load_bm25

WORDS = ["gout", "urate", "flare", "asthma", "inhaler", "sepsis"]


def _index(tmp: Path, texts: list[str]) -> object:
    folder = tmp / "bm25"
    build_bm25(texts, folder)
    return load_bm25(folder)


def test_only_passages_with_a_query_term_come_back_best_first(tmp_path: Path) -> None:
    texts = ["gout flare with urate", "asthma inhaler", "gout", "sepsis bundle"]
    ids, scores = bm25_search(_index(tmp_path, texts), "gout urate", 10)
    assert ids.tolist() == [0, 2]  # passage 0 holds both terms; 1 and 3 hold neither
    assert scores[0] > scores[1] > 0
    assert bm25_search(_index(tmp_path, texts), "warfarin", 10)[0].size == 0  # no known term: nothing


def test_a_weight_mask_keeps_out_what_it_zeroes(tmp_path: Path) -> None:
    texts = ["gout flare", "gout urate", "gout"]
    mask = np.array([1, 0, 1], dtype=np.float32)
    ids, _ = bm25_search(_index(tmp_path, texts), "gout", 10, weight_mask=mask)
    assert sorted(ids.tolist()) == [0, 2]


@settings(max_examples=30, deadline=None)
@given(
    docs=st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6), min_size=1, max_size=25),
    query=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
    k=st.integers(1, 30),
)
def test_top_k_is_a_prefix_of_the_full_ranking(
    tmp_path_factory: object, docs: list[list[str]], query: list[str], k: int
) -> None:
    tmp = tmp_path_factory.mktemp("bm25")  # type: ignore[attr-defined]
    retriever = _index(tmp, [" ".join(d) for d in docs])
    text = " ".join(query)
    all_ids, all_scores = bm25_search(retriever, text, len(docs))
    ids, scores = bm25_search(retriever, text, k)
    holding = {i for i, d in enumerate(docs) if set(d) & set(query)}
    assert set(all_ids.tolist()) == holding  # every passage with a query term, and no other
    assert ids.tolist() == all_ids[:k].tolist()  # the best k are the first k of the whole ranking
    assert np.array_equal(scores, all_scores[:k])
    assert np.all(np.diff(all_scores) <= 0)  # best first
    for a, b, sa, sb in zip(all_ids, all_ids[1:], all_scores, all_scores[1:], strict=False):
        assert sa > sb or a < b  # equal scores: lower passage index first
