"""Drug names and classes (`assistant.vocab.drugs`): the lexicon knows generic and brand names and their other
names, leaves out words that are also English, and a drug's INN stem names its class."""

from __future__ import annotations

import pytest

from assistant.evidence import class_terms
from assistant.vocab.drugs import drug_class, drug_classes, is_drug_name, other_names


@pytest.mark.parametrize(
    "name", ["apixaban", "Eliquis", "salbutamol", "albuterol", "diltiazem", "lasix", "zoledronic"]
)  # "zoledronic" of "zoledronic acid"
def test_drug_names_and_brands_are_known(name: str) -> None:
    assert is_drug_name(name)


@pytest.mark.parametrize("word", ["treatment", "stroke", "emend", "armour", "guideline", "aspirin"])
def test_english_words_are_not_drug_names(word: str) -> None:
    # "emend" and "armour" are brands in the lexicon but English words; so is "aspirin" (the DRUG pattern
    # knows it instead)
    assert not is_drug_name(word)


def test_other_names_lead_from_a_brand_or_a_synonym_to_the_generic_and_back() -> None:
    assert "apixaban" in other_names("eliquis")
    assert "albuterol" in other_names("salbutamol")
    assert "salbutamol" in other_names("albuterol")
    assert other_names("treatment") == ()


@pytest.mark.parametrize(
    ("word", "klass"),
    [
        ("atorvastatin", "statin"),
        ("Ramipril", "ACE inhibitor"),
        ("empagliflozin", "SGLT2 inhibitor"),
        ("apixaban", "DOAC anticoagulant"),
        ("amlodipine", "calcium-channel blocker CCB"),
        ("april", None),  # the stem must follow three letters at least
        ("statin", None),  # the class itself
        ("control", None),
    ],
)
def test_a_drug_class_comes_from_the_inn_stem(word: str, klass: str | None) -> None:
    assert drug_class(word) == klass


def test_class_terms_are_what_a_question_naming_the_class_searches_for() -> None:
    assert class_terms("Offer atorvastatin 20 mg.") == {"statin"}
    assert class_terms("Apixaban or ramipril.") == {"doac", "anticoagul", "ace", "inhibitor"}
    assert class_terms("Offer a statin.") == frozenset()  # the class word is found as itself


def test_both_halves_of_a_combination_name_their_classes() -> None:
    assert drug_classes("Give amoxicillin-clavulanate or doxycycline.") == {
        "penicillin antibiotic",
        "tetracycline antibiotic",
    }
