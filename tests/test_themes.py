"""An answer's headings are clinical themes, whatever the source called its sections."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.themes import EVIDENCE, LIMITATIONS, THEMES, theme, theme_key


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("Treatment", "Treatment"),
        ("treatment", "Treatment"),
        ("Study design", EVIDENCE),
        ("RESULTS", EVIDENCE),
        ("Key findings", EVIDENCE),
        ("METHODS", EVIDENCE),
        ("CONCLUSIONS", EVIDENCE),
        ("Limitations", LIMITATIONS),
        ("Strengths and weaknesses of this study", LIMITATIONS),
        ("BACKGROUND", "Overview"),
        ("What is gout?", "Overview"),
        ("How is asthma diagnosed?", "Diagnosis"),
        ("Symptoms of a heart attack", "Presentation"),
        ("Management of acute flares", "Treatment"),
        ("Treatment of gout in pregnancy", "Special populations"),
        ("Follow-up", "Monitoring"),
        ("When to refer", "Referral"),
        ("ACKNOWLEDGEMENTS", "Acknowledgements"),
        ("Funding", "Funding"),
        ("", ""),
    ],
)
def test_theme(section: str, expected: str) -> None:
    assert theme(section) == expected


def test_themes_come_in_the_order_clinicians_ask() -> None:
    names = ["Evidence", "Funding", "Treatment", "Overview", "Diagnosis", LIMITATIONS]
    assert sorted(names, key=theme_key) == [
        "Overview",
        "Diagnosis",
        "Treatment",
        "Evidence",
        LIMITATIONS,
        "Funding",
    ]


@given(st.text(max_size=60))
def test_theme_is_idempotent(section: str) -> None:
    once = theme(section)
    assert theme(once) == once
    assert (once in THEMES) or once == "" or once.lower() == " ".join(section.split()).lower()
