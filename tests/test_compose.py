"""The composer's guarantees: verbatim, cited, numbered, thresholded, deterministic, escaped."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.compose import DISCLAIMER, compose, escape_markdown
from assistant.ingest import make_passages
from assistant.settings import ComposerSettings, IngestSettings
from assistant.types import Document, Hit
from assistant.vocab.reading import Reading

DOC = Document("d1", "Doc one", "guideline", "Org", 2020, url="https://example.org/1", topic="Gout")
DOC2 = Document("d2", "Doc two", "research", "Journal", 2019, doi="10.1/x", topic="Gout")
PLAIN = Document("p1", "Plain one", "guideline", "Org", 2020, url="https://example.org/p1")  # no topic
PLAIN2 = Document("p2", "Plain two", "research", "Journal", 2019, doi="10.1/p2")


def hit(doc: Document, section: str, text: str, score: float = 1.0, dense: float | None = None) -> Hit:
    (passage,) = make_passages(doc.doc_id, [(section, text)], IngestSettings(min_passage_words=0))
    return Hit(passage, doc, score, {} if dense is None else {"dense": dense})


def norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def check_guarantees(answer, hits, cfg: ComposerSettings) -> None:  # type: ignore[no-untyped-def]
    refs = {r.n: r for r in answer.references}
    assert sorted(refs) == list(range(1, len(refs) + 1))
    used = [n for s in answer.sentences for n in s.citations]
    assert set(used) == set(refs)  # every [n] resolves, no reference unused
    first_use = list(dict.fromkeys(used))
    assert first_use == sorted(first_use)  # numbered in order of first use
    for s in answer.sentences:
        assert s.citations
        for n in s.citations:
            assert norm(s.text) in norm(refs[n].passage_text)
    assert answer.disclaimer == DISCLAIMER


def test_identical_statement_in_two_passages_cites_both() -> None:
    shared = "Allopurinol is the first-line urate-lowering therapy in gout."
    hits = [
        hit(DOC, "Treatment", shared + " Febuxostat is an alternative in gout."),
        hit(DOC2, "Key findings", "Colchicine treats gout flares. " + shared),
    ]
    answer = compose(
        "first-line urate-lowering therapy gout",
        "first-line urate-lowering therapy gout",
        hits,
        ComposerSettings(),
    )
    lead = answer.sentences[0]
    assert lead.text == shared and lead.citations == [1, 2]
    check_guarantees(answer, hits, ComposerSettings())


def test_abstains_when_key_terms_are_missing() -> None:
    hits = [hit(DOC, "Treatment", "Allopurinol lowers urate in gout. Colchicine treats gout flares.")]
    answer = compose(
        "How is Kawasaki disease treated?", "How is Kawasaki disease treated?", hits, ComposerSettings()
    )
    assert answer.abstained and answer.sentences == [] and answer.references == []
    assert "do not answer" in answer.answer_markdown and "Gout" in answer.answer_markdown
    assert DISCLAIMER in answer.answer_markdown


def test_markup_in_passages_is_escaped() -> None:
    text = "Gout <script>alert(1)</script> is treated with allopurinol [3]. Gout *flares* need colchicine."
    hits = [hit(DOC, "Treatment", text)]
    answer = compose(
        "gout treatment allopurinol colchicine",
        "gout treatment allopurinol colchicine",
        hits,
        ComposerSettings(),
    )
    assert "<script>" not in answer.answer_markdown
    assert "&lt;script&gt;" in answer.answer_markdown
    assert "\\[3\\]" in answer.answer_markdown  # the passage's own "[3]" cannot pass for a citation
    assert any("<script>" in s.text for s in answer.sentences)  # JSON keeps the verbatim text
    assert escape_markdown("a_b [1] <i> &amp; R&D") == "a\\_b \\[1\\] &lt;i&gt; &amp;amp; R&D"


def test_headings_group_by_section_in_clinical_order() -> None:
    hits = [
        hit(DOC, "Treatment", "Gout flares are treated with colchicine or an NSAID."),
        hit(DOC, "Diagnosis", "Gout is diagnosed by urate crystals in joint fluid."),
        hit(DOC2, "Prognosis", "Gout with tophi has a worse prognosis than gout without."),
    ]
    cfg = ComposerSettings(min_sentence_score=0.0, abstain_below=0.0)
    answer = compose("gout", "gout", hits, cfg)
    sections = [s.section for s in answer.sentences[1:]]
    assert sections == sorted(sections, key=["Diagnosis", "Treatment", "Prognosis"].index)
    assert answer.answer_markdown.index("### Diagnosis") < answer.answer_markdown.index("### Prognosis")


sentence_text = st.lists(
    st.sampled_from(
        ["gout", "urate", "allopurinol", "flare", "joint", "dose", "asthma", "renal", "the", "is"]
    ),
    min_size=4,
    max_size=9,
).map(lambda ws: " ".join(ws).capitalize() + ".")


@settings(max_examples=60, deadline=None)
@given(
    passages=st.lists(st.lists(sentence_text, min_size=1, max_size=4), min_size=1, max_size=5),
    question=st.lists(
        st.sampled_from(["gout", "urate", "allopurinol", "dose", "asthma", "renal"]), min_size=1, max_size=4
    ),
    threshold=st.floats(0.0, 0.9),
    follow_up=st.booleans(),
    dense=st.lists(st.one_of(st.none(), st.floats(-1.0, 1.0)), min_size=5, max_size=5),
)
def test_properties(
    passages: list[list[str]],
    question: list[str],
    threshold: float,
    follow_up: bool,
    dense: list[float | None],
) -> None:
    docs = [DOC, DOC2]
    sections = ["Treatment", "Prognosis"]
    hits = [
        hit(docs[i % 2], sections[i % 2], " ".join(p), 1.0 / (i + 1), dense[i])
        for i, p in enumerate(passages)
    ]
    cfg = ComposerSettings(
        min_sentence_score=threshold, abstain_below=threshold, focus_boost=0.5, passage_weight=1.0
    )
    q = " ".join(question)
    topic = "Gout" if follow_up else None  # boosts reorder sentences but never let a weak one in
    answer = compose(q, q, hits, cfg, follow_up_topic=topic)
    again = compose(q, q, hits, cfg, follow_up_topic=topic)
    assert answer == again  # same input, same output
    if answer.abstained:
        assert not answer.sentences and not answer.references
        return
    check_guarantees(answer, hits, cfg)
    # nothing below the threshold is cited: recompute each chosen sentence's lexical score (no vectors given,
    # so score = lexical overlap with the query terms)
    from assistant.lexical import terms

    qt = set(terms(q))
    context = set(terms("Gout"))  # both documents' topic; the headings share no word with the questions
    for s in answer.sentences:
        lexical = len(qt & (set(terms(s.text)) | context)) / len(qt) if qt else 0.0
        penalty = 0.2 if len(s.text.split()) < 4 else 0.0
        assert lexical - penalty >= threshold - 1e-9
    assert len(answer.sentences) <= cfg.max_sentences


def test_relative_margin_keeps_only_sentences_near_the_best() -> None:
    # No vectors, so a sentence's score is its share of the query's terms (gout, urate, allopurinol):
    # 3/3 = 1.0 for the first sentence, 1/3 for the two others. A margin of 0.5 keeps only the first.
    hits = [
        hit(
            PLAIN,
            "Treatment",
            "Gout urate allopurinol therapy works. Gout flares hurt badly. Urate crystals form slowly.",
        )
    ]
    narrow = ComposerSettings(
        min_sentence_score=0.0, abstain_below=0.0, lexical_weight=1.0, relative_margin=0.5
    )
    wide = narrow.model_copy(update={"relative_margin": 1.0})
    assert [
        s.text for s in compose("gout urate allopurinol", "gout urate allopurinol", hits, narrow).sentences
    ] == ["Gout urate allopurinol therapy works."]
    assert len(compose("gout urate allopurinol", "gout urate allopurinol", hits, wide).sentences) == 3


def test_a_sentence_from_a_passage_ranked_far_below_must_match_much_better() -> None:
    # No vectors, lexical weight 1: relevance = share of the query's terms (gout, urate, allopurinol).
    # The top passage's sentence has 2/3 (0.67), the lower passage's 3/3 (1.0). Its dense retrieval score is
    # 0.4 below the top passage's, so with passage_weight 1 it scores 1.0 - 0.4 = 0.6 and no longer leads.
    top = hit(PLAIN, "Treatment", "Allopurinol lowers urate levels over months.", dense=0.7)
    low = hit(PLAIN2, "Treatment", "Gout responds when urate falls on allopurinol.", dense=0.3)
    cfg = ComposerSettings(min_sentence_score=0.1, abstain_below=0.1, lexical_weight=1.0, relative_margin=1.0)
    q = "gout urate allopurinol"
    assert compose(q, q, [top, low], cfg).sentences[0].text == low.passage.text
    weighted = cfg.model_copy(update={"passage_weight": 1.0})
    reordered = [s.text for s in compose(q, q, [top, low], weighted).sentences]
    assert reordered == [top.passage.text, low.passage.text]  # reordered, not dropped
    # a margin of 0.05 drops it: its 0.6 falls short of 0.67 - 0.05
    narrow = weighted.model_copy(update={"relative_margin": 0.05})
    assert [s.text for s in compose(q, q, [top, low], narrow).sentences] == [top.passage.text]
    # a hit only the lexical ranking found (no dense score) counts as the lowest dense score seen
    lexical_only = hit(PLAIN2, "Treatment", low.passage.text)
    mid = hit(
        Document("d3", "Doc three", "review", "J", 2021, doi="10.1/y"),
        "Overview",
        "Unrelated words.",
        dense=0.3,
    )
    assert compose(q, q, [top, mid, lexical_only], weighted).sentences[0].text == top.passage.text
    # without any dense scores (BM25 mode) nothing changes
    plain = [hit(PLAIN, "Treatment", top.passage.text), hit(PLAIN2, "Treatment", low.passage.text)]
    assert compose(q, q, plain, weighted).sentences[0].text == low.passage.text


def test_a_sentence_is_read_under_its_heading_and_its_documents_topic() -> None:
    # No vectors, lexical weight 1. "Supportive care is central." shares no word with the query (treatment,
    # gout); under a Treatment heading in a document on gout it has both (2/2 = 1.0), so it clears a threshold
    # of 0.6 that it misses with only the topic (1/2) or only the heading (1/2).
    cfg = ComposerSettings(min_sentence_score=0.6, abstain_below=0.6, lexical_weight=1.0)
    q = "treatment gout"
    text = "Supportive care is central."
    answer = compose(q, q, [hit(DOC, "Treatment", text)], cfg)
    assert [s.text for s in answer.sentences] == [text]
    assert compose(q, q, [hit(PLAIN, "Treatment", text)], cfg).abstained  # no topic
    assert compose(q, q, [hit(DOC, "Overview", text)], cfg).abstained  # another heading


GOUT_OVERVIEW = "Gout is an inflammatory arthritis caused by urate crystals in joints."
GOUT_TOPHI = "Tophi shrink over years of treatment."


def test_a_follow_up_leads_with_its_own_words_from_the_conversation_topic() -> None:
    # No vectors: relevance = share of the query's terms (what, about, tophi, gout, arthritis, urate). The
    # overview has 3 of 6 (0.5), the tophi sentence 1 of 6 (0.17); the focus boost (0.6 x the share of the
    # user's own words, tophi, it has) lifts the tophi sentence to 0.77 when the question follows up on gout.
    cfg = ComposerSettings(min_sentence_score=0.1, abstain_below=0.1, relative_margin=1.0, focus_boost=0.6)
    hits = [hit(DOC, "Overview", GOUT_OVERVIEW), hit(DOC2, "Prognosis", GOUT_TOPHI)]
    question, query = "What about tophi?", "What about tophi? gout arthritis urate"
    assert compose(question, query, hits, cfg).sentences[0].text == GOUT_OVERVIEW
    follow_up = compose(question, query, hits, cfg, follow_up_topic="Gout")
    assert follow_up.sentences[0].text == GOUT_TOPHI
    # another topic's sentences get no boost
    other = Document("d3", "Doc three", "review", "J", 2021, doi="10.1/y", topic="Psoriasis")
    assert compose(question, query, [hit(DOC, "Overview", GOUT_OVERVIEW), hit(other, "Overview", GOUT_TOPHI)],
                   cfg, follow_up_topic="Gout").sentences[0].text == GOUT_OVERVIEW  # fmt: skip


def test_an_aspect_only_follow_up_leads_with_the_section_that_answers_it() -> None:
    cfg = ComposerSettings(
        min_sentence_score=0.1, abstain_below=0.1, relative_margin=1.0, aspect_boost=0.0, focus_boost=0.6
    )
    hits = [hit(DOC, "Overview", GOUT_OVERVIEW), hit(DOC2, "Prognosis", GOUT_TOPHI)]
    question, query = "And the prognosis?", "And the prognosis? gout arthritis urate tophi"
    assert compose(question, query, hits, cfg).sentences[0].text == GOUT_OVERVIEW
    assert compose(question, query, hits, cfg, follow_up_topic="Gout").sentences[0].text == GOUT_TOPHI


def test_a_number_asked_for_in_one_part_is_looked_for_in_that_part() -> None:
    hits = [
        hit(DOC, "Treatment", "Colchicine 500 micrograms twice daily treats gout flares in adults."),
        hit(DOC, "Monitoring", "Urate is measured to guide allopurinol therapy in gout."),
    ]
    cfg = ComposerSettings(min_sentence_score=0.0, abstain_below=0.0)
    whole = "what dose of colchicine for gout flares and how often to measure urate on allopurinol"
    as_one = compose(whole, whole, hits, cfg)  # no sentence gives a number and half of all these words
    parts = ("what dose of colchicine for gout flares", "how often to measure urate on allopurinol")
    reading = Reading(question=whole, text=whole, plain=whole, parts=parts)
    by_part = compose(whole, whole, hits, cfg, reading=reading)
    assert as_one.abstained
    assert not by_part.abstained
    assert any("500 micrograms" in s.text for s in by_part.sentences)
    # a part that asks for a number no sentence gives still abstains
    parts = ("what dose of febuxostat for tophi", "how often to measure urate on allopurinol")
    missing = Reading(question=whole, text=whole, plain=whole, parts=parts)
    assert compose(whole, whole, hits, cfg, reading=missing).abstained


def test_a_question_naming_a_drug_class_finds_its_members() -> None:
    # without vectors the sentence's relevance is its term overlap: "statin" is found in "atorvastatin"
    hits = [hit(DOC, "Treatment", "Offer atorvastatin 20 mg to people with a QRISK3 risk of 10% or more.")]
    answer = compose("statins", "statins", hits, ComposerSettings())
    assert not answer.abstained
    assert answer.sentences[0].text.startswith("Offer atorvastatin 20 mg")
    assert compose("fibrates", "fibrates", hits, ComposerSettings()).abstained  # no member of that class


def test_coverage_counts_names_but_not_the_values_a_question_gives() -> None:
    """The patient's values (58 kg, age 83, 1.5) are no topic the evidence must name."""
    from assistant.evidence import key_term_coverage

    hits = [
        hit(DOC, "Treatment", "Reduce the apixaban dose for body weight of 60 kg or less in type 2 diabetes.")
    ]
    # of apixaban, weighs and creatinine (dose is a question word; 83, 58kg and 1.5 are values) only apixaban
    assert key_term_coverage("apixaban dose, patient is 83 and weighs 58kg, creatinine 1.5", hits) == 1 / 3
    assert key_term_coverage("apixaban at 85", hits) == 1.0  # an age the evidence never states
