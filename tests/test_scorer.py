"""The learned lead scorer: it learns what it is shown, survives a save and load, refuses weights of other
features, keeps its hard rules (no dangling or contradicting lead), and the composer leads with its choice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.compose import compose
from assistant.errors import ConfigError
from assistant.evidence import Candidate
from assistant.ingest import make_passages
from assistant.lexical import terms
from assistant.scorer import BUNDLED, FEATURES, LeadScorer, features, load_lead_scorer, may_lead, train
from assistant.settings import ComposerSettings, IngestSettings
from assistant.types import Document, Hit
from assistant.vocab.qualifiers import age_band, negated_of
from assistant.vocab.reading import Reading


def _groups(rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Questions of 6 candidates with random features; the target is the candidate with the largest feature 3
    (so a scorer that learnt to weigh feature 3 finds every target)."""
    out = []
    for _ in range(n):
        x = rng.normal(size=(6, len(FEATURES)))
        y = np.zeros(6, dtype=bool)
        y[int(np.argmax(x[:, 3]))] = True
        out.append((x, y))
    return out


def test_training_learns_the_feature_that_decides() -> None:
    rng = np.random.default_rng(7)
    model = train(_groups(rng, 300), l2=0.003)
    held_out = _groups(rng, 60)
    found = [bool(y[int(np.argmax(model.scores(x)))]) for x, y in held_out]
    assert sum(found) / len(found) >= 0.9  # chance would be 1/6
    assert int(np.argmax(np.abs(model.weights))) == 3


def test_weights_survive_save_and_load(tmp_path: Path) -> None:
    model = train(_groups(np.random.default_rng(1), 20), l2=0.01)
    path = tmp_path / "w.json"
    path.write_text(model.to_json(trained_on="synthetic"), encoding="utf-8")
    x = np.random.default_rng(2).normal(size=(5, len(FEATURES)))
    assert np.allclose(
        LeadScorer.load(path).scores(x), model.scores(x), atol=1e-4
    )  # weights kept to 6 places


def test_weights_of_other_features_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text('{"features": ["score"], "weights": [1], "mean": [0], "scale": [1]}', encoding="utf-8")
    with pytest.raises(ValueError, match="retrain"):
        LeadScorer.load(path)
    with pytest.raises(ConfigError, match="LEAD_MODEL"):
        load_lead_scorer(str(path))
    with pytest.raises(ConfigError, match="cannot read"):
        load_lead_scorer(str(tmp_path / "missing.json"))
    assert load_lead_scorer("none") is None


def test_the_bundled_weights_load_and_say_where_they_were_trained() -> None:
    assert BUNDLED.is_file()
    assert load_lead_scorer("bundled") is not None
    assert '"trained_on": "clinician.jsonl + clinician-extra.jsonl split=dev' in BUNDLED.read_text(
        encoding="utf-8"
    )


class _C:
    def __init__(self, text: str, score: float = 0.5) -> None:
        self.text, self.score, self.relevance, self.hit_rank, self.sentence_index = text, score, score, 0, 0
        self.section = "Treatment"


def _reading(question: str) -> Reading:
    return Reading(question=question, text=question, plain=question, age=age_band(question))


def test_may_lead_keeps_the_hard_rules() -> None:
    pool = [
        _C("These patients had lower mortality."),  # leans on patients the reader does not see
        _C("For people aged 80 and over, aim for below 150/90 mmHg."),  # other patients than asked about
        _C("For adults under 80, aim for below 140/90 mmHg."),
    ]
    assert may_lead(_reading("bp target under 80"), pool) == [2]
    # when every sentence breaks a rule, the least bad are kept rather than none
    assert may_lead(_reading("bp target under 80"), pool[:1]) == [0]


def test_may_lead_prefers_a_statement_to_a_design_and_respects_what_patients_lack() -> None:
    design = _C(
        "The PLATO trial (PLATelet inhibition and patient Outcomes) compared ticagrelor with clopidogrel."
    )
    finding = _C("Ticagrelor reduced vascular death more than clopidogrel.")
    assert may_lead(_reading("ticagrelor or clopidogrel"), [design, finding]) == [1]
    assert may_lead(_reading("ticagrelor or clopidogrel"), [design]) == [
        0
    ]  # nothing better: the design leads
    with_them = _C("For outpatients with comorbidities such as diabetes, use a beta-lactam plus a macrolide.")
    healthy = _C("For healthy outpatients, use amoxicillin.")
    lacking = _C("For outpatients without comorbidities, amoxicillin suffices.")
    question = "outpatient abx, no comorbidities"
    reading = Reading(question=question, text=question, plain=question, negated=negated_of(question))
    assert may_lead(reading, [with_them, healthy, lacking]) == [1, 2]
    assert may_lead(reading, [with_them]) == [0]


def test_an_aside_section_does_not_lead_what_to_give_or_when_to_start() -> None:
    tests = _C("Measure creatine kinase before starting a statin in people with muscle pain.")
    tests.section = "Monitoring"
    offer = _C("Offer atorvastatin 20 mg to people with a QRISK3 score of 10% or more.", score=0.3)
    when = Reading(question="when to start statins", text="", plain="when to start statins",
                   kinds=frozenset({"indication"}))  # fmt: skip
    assert may_lead(when, [tests, offer]) == [1]
    assert may_lead(when, [tests]) == [0]  # nothing else: the aside leads
    asked = Reading(question="statin monitoring", text="", plain="statin monitoring when to start",
                    kinds=frozenset({"indication"}))  # fmt: skip
    assert may_lead(asked, [tests, offer]) == [0, 1]  # the question asks about monitoring
    how_often = Reading(question="", text="", plain="how often to check ck", kinds=frozenset({"timing"}))
    assert may_lead(how_often, [tests, offer]) == [0, 1]  # timing is what monitoring sections give


def test_compose_leads_with_the_scorers_choice() -> None:
    doc = Document("d", "Doc", "guideline", "Org", 2020, url="https://example.org/d", topic="Gout")
    texts = [
        "Gout is an inflammatory arthritis caused by urate crystals.",
        "Colchicine 500 micrograms is given.",
    ]
    hits = [
        Hit(p, doc, 1.0, {})
        for p in make_passages("d", [("Treatment", t) for t in texts], IngestSettings(min_passage_words=0))
    ]
    cfg = ComposerSettings(min_sentence_score=0.0, abstain_below=0.0, relative_margin=2.0)
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("dose")] = 1.0  # a scorer that only wants a dose
    scorer = LeadScorer(weights, np.zeros(len(FEATURES)), np.ones(len(FEATURES)))
    question = "gout colchicine"
    without = compose(question, question, hits, cfg)
    chosen = compose(question, question, hits, cfg, lead_scorer=scorer)
    assert chosen.sentences[0].text == texts[1]
    assert {s.text for s in chosen.sentences} == {s.text for s in without.sentences}  # only the order changes


def _feature(question: str, text: str, name: str, kinds: frozenset[str] = frozenset()) -> float:
    reading = Reading(question=question, text=question, plain=question, age=age_band(question), kinds=kinds)
    c = Candidate(0, 0, text, 0.5, "Treatment", term_set=frozenset(terms(text)), relevance=0.5)
    return float(features(reading, c, 0.5, True)[FEATURES.index(name)])


@pytest.mark.parametrize(
    ("question", "text", "name", "value"),
    [
        # numbers the question gives, found in the sentence: 120 (minutes) only, not the 12 (hours)
        ("stemi, no pci within 120 min", "If PCI cannot be done within 120 minutes, give fibrinolysis within 12 "
         "hours.", "shared_numbers", 1.0),
        ("stemi, no pci within 120 min", "Primary PCI is preferred.", "shared_numbers", 0.0),
        # an age band the question never named; with an age in the question, agreement is weighed elsewhere
        ("statin dose post mi", "For people aged 85 or over, consider atorvastatin 20 mg.", "unasked_age", 1.0),
        ("statin dose for a 90 year old", "For people aged 85 or over, consider atorvastatin 20 mg.", "unasked_age",
         0.0),
        # drug names (not classes): two here; for a "drug" question, a sentence that names one
        ("rate control drug", "Use a beta-blocker or diltiazem or verapamil.", "named_drugs", 2.0),
        ("rate control drug", "Rate control is first-line.", "asks_drug_named", 0.0),
        # every drug a comparison names
        ("ticagrelor or clopidogrel", "Ticagrelor reduced deaths more than clopidogrel.", "all_named_drugs", 1.0),
        ("ticagrelor or clopidogrel", "Ticagrelor reduced deaths.", "all_named_drugs", 0.0),
        # the share of the question's own words (not "what", "dose"): "gout" of "gout", "colchicine"
        ("what dose of colchicine in gout", "Gout flares are painful.", "coverage", 0.5),
        # a class the question names is named by a drug of that class (atorvastatin is a statin), in the
        # named-drug check and in the share of the question's words ("start" is a question word: 1 of 1)
        ("when to start a statin", "Offer atorvastatin 20 mg.", "named_drug", 1.0),
        ("when to start a statin", "Offer atorvastatin 20 mg.", "coverage", 1.0),
        ("when to start a statin", "Offer amlodipine 5 mg.", "coverage", 0.0),
        ("when to start a statin", "Offer amlodipine 5 mg.", "named_drug", 0.0),
    ],
)  # fmt: skip
def test_features_of_what_the_question_states(question: str, text: str, name: str, value: float) -> None:
    kinds = frozenset({"drug"}) if "drug" in question else frozenset()
    assert _feature(question, text, name, kinds) == value


def test_drug_names_count_only_where_the_question_asks_what_to_give() -> None:
    text = "Give amoxicillin or doxycycline for at least 5 days."
    assert _feature("cap antibiotic", text, "named_drugs", frozenset({"drug"})) == 2.0
    assert _feature("cap how long for", text, "named_drugs", frozenset({"timing"})) == 0.0
    assert _feature("cap", text, "named_drugs") == 2.0  # no kind asked: names still count
