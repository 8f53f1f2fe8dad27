"""The audience: patient-information sources and readable sentences first for a patient, a plain-language
disclaimer; professional sources first for a clinician; sentences quoted as written for both."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from assistant.api import create_app
from assistant.audience import PATIENT_DISCLAIMER, grade, preferred_source_types, readable_first
from assistant.render import DISCLAIMER
from assistant.service import Assistant, build_from_settings
from assistant.settings import Settings
from tests.fakes import FakeEmbedder

FIXTURES = Path(__file__).parent / "fixtures" / "corpus"

LEAFLET = """---
id: gout-test-leaflet
title: "Test leaflet on gout for patients"
source_type: patient-information
publisher: Test Patient Charity
year: 2023
url: https://example.org/gout-leaflet
topic: Gout
specialty: rheumatology
---

## Treatment
Gout attacks are treated with medicines that ease the pain and swelling. You may be offered an NSAID, colchicine or a steroid for a gout attack.
"""


@dataclass
class S:
    text: str
    score: float


EASY = "You take a pill."
HARD = "Pharmacological thromboprophylaxis necessitates individualised anticoagulation."


def test_grade_orders_plain_words_before_jargon() -> None:
    assert grade(EASY) < grade(HARD)


def test_readable_first_reorders_ties_only() -> None:
    hard, easy, low = S(HARD, 0.80), S(EASY, 0.79), S(EASY, 0.50)
    assert readable_first([hard, easy, low], tie=0.02) == [easy, hard, low]
    # not a tie: relevance wins over readability
    assert readable_first([hard, easy, low], tie=0.001) == [hard, easy, low]


@given(st.lists(st.tuples(st.sampled_from([EASY, HARD, "Gout is painful."]), st.floats(0, 1)), max_size=12),
       st.floats(0, 0.5))  # fmt: skip
def test_readable_first_is_a_permutation_that_keeps_the_runs(
    items: list[tuple[str, float]], tie: float
) -> None:
    candidates = sorted((S(t, s) for t, s in items), key=lambda c: -c.score)
    out = readable_first(candidates, tie)
    assert sorted(map(id, out)) == sorted(map(id, candidates))
    # a less relevant sentence moves up only within a tie
    for before, after in itertools.pairwise(out):
        assert after.score <= before.score + tie


def test_preferred_source_types() -> None:
    assert preferred_source_types("patient") == ("patient-information",)
    assert "patient-information" not in preferred_source_types("clinician")
    assert "guideline" in preferred_source_types("clinician")


@pytest.fixture
def with_leaflet(settings: Settings, tmp_path: Path, fake_embedder: FakeEmbedder) -> Iterator[Assistant]:
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES, corpus)
    (corpus / "gout-test-leaflet.md").write_text(LEAFLET, encoding="utf-8")
    changed = settings.model_copy(update={"corpus": [corpus]})
    build_from_settings(changed, fake_embedder, progress=False)
    a = Assistant.open(changed, embedder=fake_embedder, build_if_missing=False)
    yield a
    a.close()


def test_patient_answer_leads_with_patient_information(with_leaflet: Assistant) -> None:
    answer = with_leaflet.ask("how is a gout attack treated?", audience="patient", remember=False)
    assert answer.audience == "patient"
    assert answer.references[0].source_type == "patient-information"
    assert answer.disclaimer == PATIENT_DISCLAIMER
    assert PATIENT_DISCLAIMER in answer.answer_markdown and DISCLAIMER not in answer.answer_markdown
    assert answer.sentences[0].text in LEAFLET  # quoted as written


def test_clinician_answer_leads_with_professional_sources(with_leaflet: Assistant) -> None:
    answer = with_leaflet.ask("how is a gout attack treated?", remember=False)
    assert answer.audience == "clinician"
    assert answer.references[0].source_type != "patient-information"
    assert answer.disclaimer == DISCLAIMER


def test_audience_over_http(with_leaflet: Assistant) -> None:
    with TestClient(create_app(with_leaflet.settings, with_leaflet)) as client:
        native = client.post(
            "/v1/ask", json={"question": "how is a gout attack treated?", "audience": "patient"}
        )
        assert native.status_code == 200, native.text
        assert native.json()["audience"] == "patient"
        assert native.json()["references"][0]["source_type"] == "patient-information"
        chat = client.post(
            "/v1/chat/completions",
            json={
                "model": "m",
                "audience": "patient",
                "messages": [{"role": "user", "content": "gout treatment?"}],
            },
        )
        assert chat.status_code == 200, chat.text
        assert PATIENT_DISCLAIMER in chat.json()["choices"][0]["message"]["content"]
        wrong = client.post("/v1/ask", json={"question": "gout?", "audience": "doctor"})
        assert wrong.status_code == 422
        assert "clinician" in wrong.text and "patient" in wrong.text
