"""Sentence segmentation on hand-checked medical text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.sentences import sentences, split_sentences

CASES = [
    (
        "Give 0.5 mg i.m. adrenaline, e.g. into the thigh. Repeat after 5 min.",
        ["Give 0.5 mg i.m. adrenaline, e.g. into the thigh.", "Repeat after 5 min."],
    ),
    (
        "Potassium 3.5-5.0 mmol/L is normal. Glucose was 126 mg/dL vs. 99 mg/dL.",
        ["Potassium 3.5-5.0 mmol/L is normal.", "Glucose was 126 mg/dL vs. 99 mg/dL."],
    ),
    (
        "Smith et al. reported it in Fig. 2. Dr. Jones disagreed.",
        ["Smith et al. reported it in Fig. 2.", "Dr. Jones disagreed."],
    ),
    (
        "Riluzole (an anti-glutamate drug, i.e. a sodium channel blocker) helps. Survival rose by 2-3 months [3].",
        [
            "Riluzole (an anti-glutamate drug, i.e. a sodium channel blocker) helps.",
            "Survival rose by 2-3 months [3].",
        ],
    ),
    ("Is it ALS? Check EMG! Then decide.", ["Is it ALS?", "Check EMG!", "Then decide."]),
    (
        "HbA1c of 48 mmol/mol (6.5%) or more confirms diabetes.",
        ["HbA1c of 48 mmol/mol (6.5%) or more confirms diabetes."],
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_hand_checked_cases(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_empty() -> None:
    assert split_sentences("   ") == []


words = st.sampled_from(
    ["ALS", "dose", "mg/dL", "3.5", "e.g.", "vs.", "the", "(n", "=", "12)", "Dr.", "risk", "is"]
)


@given(st.lists(st.lists(words, min_size=1, max_size=8), min_size=1, max_size=6))
def test_spans_are_ordered_trimmed_and_lose_no_words(parts: list[list[str]]) -> None:
    text = " ".join(" ".join(p) + "." for p in parts)
    spans = split_sentences(text)
    assert spans == sorted(spans)
    assert all(text[a:b] == text[a:b].strip() and b > a for a, b in spans)
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))
    assert " ".join(text[a:b] for a, b in spans).split() == text.split()
