"""Word lists matched on whole tokens (`assistant.vocab.words`) and typo correction against the library's own
words (`assistant.vocab.spelling`): a cue starts a word, never sits inside one; a typo is corrected only to a
library word and a real English word is never corrected."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.vocab.spelling import Speller
from assistant.vocab.words import aspects_of, has_cue, tokens

# -- words.aspects_of / has_cue


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("how is it diagnosed", "diagnosis"),  # cue "diagnos" starts "diagnosed"
        ("what tests confirm gout", "diagnosis"),  # whole-word cue "tests"
        ("what is the first-line drug", "treatment"),  # cue "first-line", one hyphenated token
        ("what is the first line drug", "treatment"),  # cue "first line", two tokens in a row
        ("what causes gout", "causes and risk factors"),  # whole-word cue "causes"
        ("how common is gout", "epidemiology"),  # two-word cue "how common"
        ("what about kids", "special populations"),  # whole-word cue "kids"
        ("how often to follow-up", "monitoring"),
    ],
)
def test_a_cue_at_the_start_of_a_token_asks_its_aspect(question: str, aspect: str) -> None:
    assert aspect in aspects_of(question)


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("what is the latest evidence", "diagnosis"),  # "test" sits inside "latest", not at its start
        ("what is the latest evidence", "causes and risk factors"),
        ("is it worse because of the heat", "causes and risk factors"),  # "cause" inside "because"
        ("what about kidney disease", "special populations"),  # "kid" is whole-word, "kidney" is not "kid"
        ("does testosterone help", "diagnosis"),  # "test" is whole-word: not the start of "testosterone"
        ("is the result significant", "presentation"),  # "sign" is whole-word: not "significant"
        ("line first", "treatment"),  # the words of "first line" out of order
    ],
)
def test_a_cue_inside_a_word_or_out_of_order_asks_nothing(question: str, aspect: str) -> None:
    assert aspect not in aspects_of(question)


def test_a_question_naming_no_aspect_has_none() -> None:
    assert aspects_of("what is the latest evidence") == frozenset()
    assert aspects_of("") == frozenset()


def test_has_cue_matches_tokens_not_substrings() -> None:
    assert tokens("First-Line DOACs, kidney!") == ["first-line", "doacs", "kidney"]
    assert not has_cue(tokens("kidney"), "kid")
    assert has_cue(tokens("my kid"), "kid")
    assert has_cue(tokens("prevented"), "prevent")  # word-beginning cue
    assert not has_cue(tokens("unprevented"), "prevent")  # the cue must start the word
    # a spaced cue matches text that hyphenates it into one token
    assert has_cue(tokens("first-line therapy"), "first line")
    assert not has_cue([], "treat")


def test_a_hyphenated_cue_matches_spaced_text() -> None:
    assert has_cue(tokens("how do you work up syncope"), "work-up")
    assert "diagnosis" in aspects_of("how do you work up syncope")


def test_signs_ask_for_the_presentation() -> None:
    assert "presentation" in aspects_of("what are the signs of sepsis")


# -- spelling.Speller

# A tiny library word list (word -> occurrences); "north" is here to show a real English word ("worth") is
# never pulled to a library word one edit away.
LIBRARY_WORDS = {"hypertension": 12, "first": 30, "north": 5, "anticoagulation": 7, "stroke": 9, "gout": 4,
                 "statin": 6, "apixaban": 3, "alzheimer's": 2}  # fmt: skip


@pytest.fixture(scope="module")
def speller() -> Speller:
    return Speller(LIBRARY_WORDS)


@pytest.mark.parametrize(
    ("typo", "fixed"),
    [
        ("hypertention", "hypertension"),  # one substitution (t for s), 12 letters: two edits allowed
        ("frist", "first"),  # one transposition (ri -> ir), 5 letters: one edit allowed
        ("Frist", "first"),  # case is ignored; the correction is the library's (lower-case) word
        ("anticoagulaton", "anticoagulation"),  # one deletion
        ("hipertenshon", "hypertension"),  # two substitutions (y->i, i->h), 12 letters
        ("alzheimrs", "alzheimers"),  # the possessive known without its apostrophe, one deletion away
        ("apxibans", "apixaban"),  # three edits, but two once the plural "s" is dropped
    ],
)
def test_a_typo_of_a_library_word_is_corrected(speller: Speller, typo: str, fixed: str) -> None:
    assert speller.correct(typo) == fixed


@pytest.mark.parametrize(
    "word",
    [
        "worth",  # an English word, one edit from the library's "north" (English too): never corrected
        "stain",  # English ("Gram stain"), one edit from the library's "statin": never corrected
        "hypertension",  # a library word itself
        "gut",  # three letters: shorter than the default minimum of four
        "frs",  # three letters, one edit from nothing useful anyway
        "str0ke",  # a digit: not a word to correct
        "hyper-tension",  # a hyphen: not alphabetic
        "frsit",  # 5 letters, two edits from "first": only one edit allowed at this length
        "zzzzzzzz",  # nothing in the library within two edits
    ],
)
def test_words_that_are_not_typos_of_the_library_are_left_alone(speller: Speller, word: str) -> None:
    assert speller.correct(word) is None


def test_a_longer_minimum_length_leaves_short_typos_alone() -> None:
    # "frist" (5 letters) is corrected with the default minimum of 4, not with a minimum of 6
    assert Speller(LIBRARY_WORDS, min_length=6).correct("frist") is None


def test_a_typo_of_shorthand_is_corrected_to_the_shorthand() -> None:
    speller = Speller(LIBRARY_WORDS, shorthand=["pressor", "mgmt"])
    assert speller.correct("presosr") == "pressor"  # one transposition
    assert speller.correct("mgnt") is None  # shorthand under five letters is not a correction
    assert Speller(LIBRARY_WORDS).correct("presosr") is None


def test_corrections_come_only_from_the_library() -> None:
    # "hypertention" is two edits from nothing in a library that lacks "hypertension": no general English fix
    assert Speller({"gout": 3}).correct("hypertention") is None


@settings(max_examples=200, deadline=None)
@given(word=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0-", min_size=0, max_size=14))
def test_a_correction_is_always_a_word_of_the_dictionary(speller: Speller, word: str) -> None:
    fixed = speller.correct(word)
    assert fixed is None or fixed in LIBRARY_WORDS
    if fixed is not None:
        assert fixed != word.lower()  # a correction changes the word
