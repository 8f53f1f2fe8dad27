"""Follow-up resolution: carry the conversation's topic, never drag it into a new one."""

from __future__ import annotations

import pytest

from assistant.followup import (
    Resolution,
    TopicLexicon,
    TurnContext,
    leans_on_context,
    names_a_condition,
    read_as,
    resolve,
)
from assistant.ingest import make_passages
from assistant.retrieve import IndexRetriever
from assistant.service import Assistant
from assistant.settings import IngestSettings, RetrievalSettings
from assistant.types import Document


def lexicon() -> TopicLexicon:
    docs = [
        Document(
            "als", "ALS review", "review", "J", 2017, doi="10.1/a", topic="Amyotrophic lateral sclerosis"
        ),
        Document(
            "htn", "Hypertension guideline", "guideline", "Org", 2019, url="https://x", topic="Hypertension"
        ),
        Document("b1", "Glaucoma", "other", "", None),  # a BEIR-style document: its title is its topic
    ]
    text = (
        "Amyotrophic lateral sclerosis (ALS) affects upper and lower motor neurons. Bulbar onset is common."
    )
    passages = make_passages("als", [("Overview", text)], IngestSettings(min_passage_words=0))
    return TopicLexicon.build(docs, passages)


ALS = [
    TurnContext(
        "What are the signs of amyotrophic lateral sclerosis?", "...", "Amyotrophic lateral sclerosis"
    )
]


def test_lexicon_finds_labels_titles_and_defined_abbreviations() -> None:
    lex = lexicon()
    assert lex.abbreviations == {"ALS": "Amyotrophic lateral sclerosis"}
    assert lex.mentions("Is ALS hereditary?") == ["Amyotrophic lateral sclerosis"]
    assert lex.mentions("What is (are) Glaucoma ?") == ["Glaucoma"]
    assert lex.mentions("first-line treatment for hypertension in pregnancy") == ["Hypertension"]
    assert lex.mentions("How is it treated?") == []


def test_first_turn_stands_alone() -> None:
    r = resolve("What is ALS?", [], lexicon=lexicon())
    assert (r.query, r.depends, r.topic) == ("What is ALS?", False, "Amyotrophic lateral sclerosis")


def test_follow_up_carries_the_topic() -> None:
    for question in (
        "How is it treated?",
        "What about bulbar onset?",
        "And the prognosis?",
        "Which tests confirm?",
    ):
        r = resolve(question, ALS, lexicon=lexicon())
        assert r.depends and r.query == f"{question} Amyotrophic lateral sclerosis", question


def test_naming_the_same_topic_needs_no_carry() -> None:
    r = resolve("How is ALS treated?", ALS, lexicon=lexicon())
    assert (r.query, r.depends, r.topic) == ("How is ALS treated?", False, "Amyotrophic lateral sclerosis")


def test_topic_switches_are_not_dragged_along() -> None:
    lex = lexicon()
    switch = resolve("Separately, what is the first line treatment for hypertension?", ALS, lexicon=lex)
    assert (switch.depends, switch.topic) == (False, "Hypertension")
    marker = resolve("Separately, how is status epilepticus treated?", ALS, lexicon=lex)
    assert not marker.depends
    unknown = resolve("How is Kawasaki disease treated?", ALS, lexicon=lex)
    assert (unknown.depends, unknown.query) == (False, "How is Kawasaki disease treated?")
    # an unknown name tied to the conversation by a pronoun still leans on it
    assert resolve("Is it like Kawasaki disease?", ALS, lexicon=lex).depends


def test_a_question_whose_own_retrieval_agrees_on_another_topic_switches() -> None:
    r = resolve(
        "Which inhaled corticosteroid controls wheeze?",
        ALS,
        lexicon=lexicon(),
        topic_alone=lambda q: "Asthma",
    )
    assert (r.depends, r.topic) == (False, "Asthma")
    same = resolve("Which corticosteroid?", ALS, lexicon=lexicon(), topic_alone=lambda q: "Asthma")
    assert same.depends  # one topic word of its own is not enough to leave the conversation


def test_strategies() -> None:
    assert resolve("How is it treated?", ALS, "none").query == "How is it treated?"
    assert resolve("How is it treated?", ALS, "prepend").query == f"{ALS[0].question} How is it treated?"


def test_leans_on_context() -> None:
    assert leans_on_context("What about in children?") and leans_on_context("Is it inherited?")
    assert not leans_on_context("What is the dose of riluzole?")


def test_follow_up_prefers_the_conversation_topic(assistant: Assistant) -> None:
    r = IndexRetriever(assistant.index, assistant.embedder, RetrievalSettings(max_per_doc=1))
    plain = [h.document.topic for h in r.retrieve("first-line treatment", 4)]
    preferred = [h.document.topic for h in r.retrieve("first-line treatment", 4, prefer_topic="Asthma")]
    assert preferred[0] == "Asthma" and sorted(plain) == sorted(preferred)


def test_assistant_conversation_end_to_end(assistant: Assistant) -> None:
    first = assistant.ask("How is gout diagnosed?")
    second = assistant.ask("And how is it treated?", conversation_id=first.conversation_id)
    assert second.resolved_query == "And how is it treated? Gout"
    third = assistant.ask(
        "What is the cornerstone of asthma maintenance treatment?", conversation_id=first.conversation_id
    )
    assert third.resolved_query == third.question
    assert assistant.conversations is not None
    turns = assistant.conversations.get(str(first.conversation_id))["turns"]
    assert [t["resolved_query"] for t in turns][1] == "And how is it treated? Gout"


def test_without_a_corpus_the_question_words_name_the_topic() -> None:
    # TREC CAsT style: no corpus lexicon, so a question's own topic words stand for its topic
    history: list[TurnContext] = []
    queries = []
    for question in (
        "What is throat cancer?",
        "Is it treatable?",
        "Tell me about lung cancer.",
        "What are its symptoms?",
    ):
        r = resolve(question, history)
        queries.append(r.query)
        history.append(TurnContext(question, r.query, r.topic))
    assert queries == [
        "What is throat cancer?",
        "Is it treatable? throat cancer",
        "Tell me about lung cancer.",
        "What are its symptoms? lung cancer",
    ]


def test_a_title_that_is_only_the_document_id_names_no_topic() -> None:
    # a BEIR corpus without titles: the reader falls back to the id ("u12"), which no question names as a topic
    docs = [Document("u12", "u12", "other", "", None), Document("b1", "Glaucoma", "other", "", None)]
    lex = TopicLexicon.build(docs, [])
    assert lex.mentions("what is u12 glaucoma") == ["Glaucoma"]


def test_unknown_terms_accept_either_spelling() -> None:
    docs = [Document("d", "Stroke guideline", "guideline", "Org", 2023, url="https://x", topic="Stroke")]
    text = "Ischaemic stroke in paediatric patients is analysed at a specialist centre; the tumour was normalised."
    lex = TopicLexicon.build(
        docs, make_passages("d", [("Overview", text)], IngestSettings(min_passage_words=0))
    )
    american = "Is ischemic stroke in pediatric patients analyzed at a center? Was the tumor normalized?"
    assert lex.unknown_terms(american) == []
    assert lex.unknown_terms("Is pediatric stroke analysed in moyamoya?") == ["moyamoya"]
    assert lex.unknown_names("Does Moyamoya matter in the Centre?") == ["Moyamoya"]


@pytest.mark.parametrize(
    ("plain", "depends", "topic", "expected"),
    [
        ("and in black patients?", True, "Hypertension", "hypertension in black patients"),
        ("what about bulbar onset?", True, "Amyotrophic lateral sclerosis", "bulbar onset in amyotrophic lateral sclerosis"),
        ("how is it treated?", True, "Asthma", "how is asthma treated"),
        ("and if the patient has chronic kidney disease?", True, "Hypertension",
         "hypertension if the patient has chronic kidney disease"),
        ("hypertension in pregnancy?", True, "Hypertension", "hypertension in pregnancy"),
        ("first line treatment for  asthma?", False, "Asthma", "first line treatment for asthma"),
        ("and?", True, "COPD", "COPD"),
    ],
)  # fmt: skip
def test_read_as_puts_the_topic_where_the_follow_up_leans_on_it(
    plain: str, depends: bool, topic: str, expected: str
) -> None:
    assert read_as(plain, Resolution(plain, depends, topic)) == expected


def test_answers_say_how_a_follow_up_was_read(assistant: Assistant) -> None:
    first = assistant.ask("How is gout treated?")
    follow = assistant.ask("and in pregnancy?", conversation_id=first.conversation_id)
    assert first.read_as == "How is gout treated"
    assert follow.read_as == "gout in pregnancy"


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("what if the patient has CKD?", True),
        ("pt is 87, still worth it?", True),
        ("actually he has copd and diabetes", True),  # an opening word before the patient
        ("ok, she's pregnant", True),
        ("how is copd treated?", False),
    ],
)
def test_a_follow_up_naming_a_condition_of_the_patient(question: str, names: bool) -> None:
    assert names_a_condition(question) is names
