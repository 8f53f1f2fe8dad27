"""What a sentence offers as an answer (`assistant.lead`): the kind of answer it gives (a dose, a drug, a
threshold, a time), whether it agrees with the question's qualifiers (age band, population, contrasts), and
whether it leans on unseen text or only states a document's scope; and how that moves its lead score."""

from __future__ import annotations

import pytest

from assistant.lead import (
    contradicts,
    drug_words,
    lead_adjustment,
    offers,
    profile,
    qualifier_fit,
    shared_phrases,
)
from assistant.settings import ComposerSettings
from assistant.vocab.qualifiers import age_band, contrasts_of, negated_of, populations_of
from assistant.vocab.reading import Reading


def reading(question: str, kinds: frozenset[str] = frozenset()) -> Reading:
    """A reading of `question` with its qualifiers and no typos or abbreviations."""
    return Reading(
        question=question,
        text=question,
        plain=question,
        kinds=kinds,
        age=age_band(question),
        populations=populations_of(question, from_age=True),
        contrasts=contrasts_of(question),
        negated=negated_of(question),
    )


# -- profile / offers


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("Give apixaban 5 mg twice daily.", "dose"),  # "5 mg"
        ("The usual dose is 20 mg once a day.", "dose"),  # "20 mg"
        ("Offer apixaban to people with atrial fibrillation.", "drug"),  # a -xaban drug, recommended
        ("Aim for a blood pressure below 140/90 mmHg.", "threshold"),  # "140/90", "mmHg"
        ("Continue treatment for 3 months.", "timing"),  # "3 months"
        ("Offer screening to people aged 50 to 74 years.", "who"),  # criteria: "aged 50"
    ],
)
def test_a_sentence_offers_the_kind_of_answer_it_states(sentence: str, kind: str) -> None:
    assert offers(kind, profile(sentence))


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("Apixaban is an anticoagulant.", "dose"),  # no amount
        ("Atrial fibrillation is common in older people.", "drug"),  # names no drug
        ("Apixaban is an anticoagulant.", "drug"),  # a drug, but neither recommended nor a finding
        ("Blood pressure rises with age.", "threshold"),  # no number
        ("Give apixaban 5 mg twice daily.", "an unknown kind"),
    ],
)
def test_a_sentence_does_not_offer_what_it_does_not_state(sentence: str, kind: str) -> None:
    assert not offers(kind, profile(sentence))


def test_drug_words_names_drugs_and_classes() -> None:
    assert drug_words("Offer apixaban or an SGLT2 inhibitor.") == {"apixaban", "inhibitor"}
    assert drug_words("Rest and fluids.") == {"fluids"}
    assert drug_words("Rest helps.") == set()


def test_statins_are_a_drug_class() -> None:
    assert drug_words("Offer a statin.") == {"statin"}
    assert offers("drug", profile("Offer statins for primary prevention."))


@pytest.mark.parametrize(
    "sentence",
    [
        "This question was tested directly.",  # starts with "This", not about its own source
        "These patients had fewer strokes.",
        "Other trials found the same.",
        "However, apixaban reduced bleeding.",
        "Apixaban was tested in the same trial.",  # "the same trial" anywhere
        "The trial also reduced strokes.",  # another result, not shown
        "ARISTOTLE also defined the dose-reduction criteria.",  # "also" + any past tense
        "KDIGO also recommends an SGLT2 inhibitor.",  # in addition to what? (the issue lists "also")
    ],
)
def test_a_sentence_leaning_on_unseen_text_is_dangling(sentence: str) -> None:
    assert profile(sentence).dangling


@pytest.mark.parametrize(
    "sentence",
    [
        "This trial enrolled 500 people with atrial fibrillation.",  # the cited source speaks of itself
        "These findings support early anticoagulation.",
        "This meta-analysis pooled nine trials.",
    ],
)
def test_a_source_speaking_of_itself_stands_alone(sentence: str) -> None:
    assert not profile(sentence).dangling


@pytest.mark.parametrize(
    "sentence",
    [
        "Apixaban reduces stroke in atrial fibrillation.",
        "Thistle is not a drug.",  # "This" must be a whole word
    ],
)
def test_a_self_contained_sentence_is_not_dangling(sentence: str) -> None:
    assert not profile(sentence).dangling


def test_a_scope_statement_is_scope() -> None:
    assert profile("NICE guideline NG136 covers diagnosing and managing hypertension.").scope
    assert profile("Patients were randomised to apixaban or warfarin.").scope
    assert not profile("Offer a diuretic to people with hypertension.").scope
    assert profile("The 2010 update does not cover pregnant women or children.").scope


# -- qualifier_fit


# "For people aged 80 and over" states the band [80, ..). "adults under 80" asks [.., 80): they share no year,
# a conflict (0, 1); "over 80" asks [80, ..), the same people (1, 0).
@pytest.mark.parametrize(
    ("question", "fit"),
    [
        ("blood pressure target in adults under 80", (0, 1)),
        ("blood pressure target over 80", (1, 0)),
        ("blood pressure target in people aged 85", (1, 0)),  # [85, 86) lies inside [80, ..)
        ("blood pressure target in adults", (0, 0)),  # no age asked: no qualifier to agree with
    ],
)
def test_an_age_band_agrees_or_conflicts(question: str, fit: tuple[int, int]) -> None:
    sentence = profile("For people aged 80 and over, offer treatment after a discussion.")
    assert qualifier_fit(reading(question), sentence) == fit


def test_the_nice_over_80_target_conflicts_with_under_80() -> None:
    sentence = profile("For people aged 80 and over, aim for a clinic blood pressure below 150/90 mmHg.")
    assert qualifier_fit(reading("blood pressure target in adults under 80"), sentence) == (0, 1)


def test_a_population_not_asked_about_counts_against() -> None:
    about_pregnancy = profile("In pregnant women, labetalol is offered.")
    assert qualifier_fit(reading("first line drug for hypertension"), about_pregnancy) == (0, 1)
    assert qualifier_fit(reading("hypertension drug in pregnancy"), about_pregnancy) == (1, 0)


def test_a_contrast_agrees_or_conflicts() -> None:
    asked = reading("statins for primary prevention")
    assert qualifier_fit(asked, profile("Offer atorvastatin for primary prevention.")) == (1, 0)
    assert qualifier_fit(asked, profile("Offer atorvastatin for secondary prevention.")) == (0, 1)
    assert qualifier_fit(asked, profile("Offer atorvastatin.")) == (0, 0)  # states neither
    # "less severe" is not "severe": a question about moderate-severe depression conflicts with it
    severe = reading("first line for moderate-severe depression")
    assert qualifier_fit(severe, profile("For less severe depression, offer guided self-help.")) == (0, 1)


# -- lead_adjustment / shared_phrases


def test_lead_adjustment_penalises_dangling_and_scope_sentences() -> None:
    cfg = ComposerSettings()
    # no reading: only the penalties apply; "These patients were enrolled ..." is both dangling and scope
    assert lead_adjustment(None, "These patients were enrolled in 2019.", cfg) == pytest.approx(
        -(cfg.dangling_penalty + cfg.scope_penalty)
    )
    assert lead_adjustment(None, "Offer apixaban to people with atrial fibrillation.", cfg) == 0.0


def test_lead_adjustment_boosts_the_kind_of_answer_asked_for() -> None:
    cfg = ComposerSettings()
    asked = reading("what dose of apixaban", kinds=frozenset({"dose"}))
    with_dose = lead_adjustment(asked, "Apixaban 5 mg is given twice daily.", cfg)
    without = lead_adjustment(asked, "Apixaban is given twice daily.", cfg)
    assert with_dose - without == pytest.approx(cfg.kind_boost)  # the two differ only in "5 mg"


def test_shared_phrases_counts_two_word_phrases() -> None:
    # the question's bigrams of content words: (statin, primari), (primari, prevent)
    assert shared_phrases("statins in primary prevention", "Primary prevention with statins.") == 1
    assert shared_phrases("statins in primary prevention", "Prevention is primary.") == 0  # reversed


def _contradicts(question: str, text: str) -> bool:
    return contradicts(reading(question), profile(text), text)


def test_a_sentence_about_other_patients_contradicts_unless_it_names_the_asked_ones_as_often() -> None:
    valproate = "Offer valproate to boys and men, and to girls under 10 unlikely to have children."
    assert not _contradicts("first line aed in a 20 year old man", valproate)  # age conflicts, sex agrees
    assert _contradicts(
        "first line aed in a 20 year old man", "For women able to have children, offer lamotrigine."
    )
    assert _contradicts("target bp under 80", "For people aged 80 and over, aim below 150/90 mmHg.")


def test_what_the_patient_lacks_contradicts_whatever_else_agrees() -> None:
    comorbid = "For outpatients with CAP and comorbidities such as diabetes, give amoxicillin-clavulanate."
    assert _contradicts("outpatient cap, no comorbidities - antibiotics?", comorbid)  # agrees on outpatient
    assert not _contradicts("outpatient cap - antibiotics?", comorbid)
