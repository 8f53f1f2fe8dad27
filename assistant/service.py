"""The assistant as one object: loads (or builds) the index, resolves follow-ups, retrieves, composes.

The CLI, the HTTP API and the evaluation harness all go through `Assistant.ask`, so they behave alike.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .audience import for_audience, preferred_source_types
from .building import build_from_settings, is_stale, open_index
from .compose import abstention, compose, no_match_text
from .convstore import Conversations, open_conversations
from .embed import Embedder, make_embedder, set_threads
from .errors import InvalidQuestion, PassageNotFound
from .evidence import Abstention, Candidate, lead_pool
from .followup import Resolution, TopicLexicon, TurnContext, read_as, resolve
from .ingest import normalise
from .lead import PROFILE_CACHE, profile
from .loader import LoadedIndex
from .render import date_answer
from .retrieve import CrossEncoderReranker, IndexRetriever, withheld_documents
from .rewriter import ChatRewriter, Rewriter
from .scorer import LeadScorer, load_lead_scorer
from .settings import Settings
from .suggest import Suggester
from .types import Answer, Filters, Hit
from .vocab.reading import Reader, Reading

__all__ = ["Assistant", "build_from_settings", "is_stale", "require_unicode", "validate_question"]


def require_unicode(text: str, what: str) -> None:
    """`InvalidQuestion` (422) for text that cannot be stored or sent as UTF-8: lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidQuestion(
            f"{what} holds an unpaired surrogate (U+{ord(text[exc.start]):04X} at {exc.start}), which is not "
            "valid Unicode; send UTF-8 text"
        ) from None


def validate_question(question: object, max_chars: int) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InvalidQuestion("the question is empty; ask a clinical question in words")
    require_unicode(question, "the question")
    question = " ".join(normalise(question).split())  # no control or zero-width characters
    if not any(ch.isalnum() for ch in question):
        raise InvalidQuestion("the question has no words in it; ask a clinical question in words")
    if len(question) > max_chars:
        raise InvalidQuestion(
            f"the question is {len(question)} characters long; the limit is {max_chars}: shorten it"
        )
    return question


@dataclass
class Assistant:
    settings: Settings
    embedder: Embedder
    index: LoadedIndex
    retriever: IndexRetriever
    conversations: Conversations | None
    lexicon: TopicLexicon
    reader: Reader
    rewriter: Rewriter | None = None
    lead_scorer: LeadScorer | None = None
    _suggester: Suggester | None = None

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        index_dir: Path | None = None,
        build_if_missing: bool = True,
        embedder: Embedder | None = None,
        with_conversations: bool = True,
        rebuild_stale: bool = True,
        log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    ) -> Assistant:
        """Load the index (building the default one first if there is none) and everything that answers.

        When the configured corpus changed since the index was built, it is rebuilt first (unless
        `rebuild_stale` is False: the server rebuilds in the background); a rebuild that fails leaves the
        generation built before, which is then served."""
        embedder = embedder or make_embedder(settings)
        settings, index = open_index(
            settings, embedder, index_dir or settings.index_dir, build_if_missing, rebuild_stale, log
        )
        store = None
        if with_conversations:
            store = open_conversations(settings)
            store.expire()
        return cls.from_index(settings, embedder, index, store)

    @classmethod
    def from_index(
        cls,
        settings: Settings,
        embedder: Embedder,
        index: LoadedIndex,
        conversations: Conversations | None = None,
    ) -> Assistant:
        """Everything that answers, over an index already loaded (`open` loads the configured one)."""
        set_threads(settings.query_threads)
        reranker = CrossEncoderReranker(settings.retrieval.reranker) if settings.retrieval.reranker else None
        withheld = withheld_documents(index.documents, settings.library.serve)
        retriever = IndexRetriever(index, embedder, settings.retrieval, reranker, withheld=withheld)
        lexicon = TopicLexicon.build(index.documents, index.passages, index.vocabulary)
        conv = settings.conversation
        rewriter = None
        if conv.rewriter_url and conv.rewriter_model:
            rewriter = ChatRewriter(
                conv.rewriter_url,
                conv.rewriter_model,
                api_key=conv.rewriter_api_key,
                timeout_s=conv.rewriter_timeout_s,
            )
        scorer = load_lead_scorer(settings.composer.lead_model)
        return cls(
            settings,
            embedder,
            index,
            retriever,
            conversations,
            lexicon,
            Reader(index.vocabulary),
            rewriter,
            scorer,
        )

    def close(self) -> None:
        if self.conversations is not None:
            self.conversations.close()

    # ------------------------------------------------------------------ asking
    def ask(
        self,
        question: str,
        *,
        conversation_id: str | None = None,
        history: Sequence[TurnContext] | None = None,
        top_k: int | None = None,
        filters: Filters | None = None,
        remember: bool = True,
        owner: str | None = None,
        commit: Callable[[], bool] | None = None,
        audience: str = "clinician",
    ) -> Answer:
        """Answer `question`, leaning on the stored conversation `conversation_id` or on `history`, for
        `audience` ("clinician" or "patient": see `assistant.audience`).

        `owner` scopes stored conversations (see `Conversations`); `commit`, when given, is asked just
        before the turn is stored and stores nothing when it says no (the request was abandoned)."""
        t0 = time.perf_counter()
        question = validate_question(question, self.settings.max_question_chars)
        store = self.conversations if remember else None
        if history is None:
            history = store.history(conversation_id, owner) if store and conversation_id else []
        reading, resolution = self.understand(question, history)
        t1 = time.perf_counter()
        hits = self.retrieve(resolution, top_k or self.settings.retrieval.top_k, filters, audience=audience)
        t2 = time.perf_counter()
        follow_up_topic = resolution.topic if resolution.depends else None
        if not hits and filters is not None and not filters.is_empty() and self.filtered_out(filters):
            text = no_match_text(filters.year_min, filters.year_max)
            answer = abstention(reading.question, resolution.query, conversation_id, text)
        else:
            answer = self.compose(reading, resolution.query, hits, conversation_id, follow_up_topic, audience)
        answer.read_as = read_as(reading.plain, resolution)
        for_audience(answer, audience)
        answer.suggested_followups = self.suggest_followups(
            hits, answer, [*(h.question for h in history), question]
        )
        t3 = time.perf_counter()
        if store is not None and (commit is None or commit()):
            conversation_id = conversation_id or store.create(owner)
            answer.conversation_id = conversation_id
            store.add_turn(
                conversation_id,
                question,
                resolution.query,
                self.topic_of(resolution, hits),
                answer.model_dump(),
            )
        answer.timings_ms = {
            "resolve": round((t1 - t0) * 1000, 2),
            "retrieve": round((t2 - t1) * 1000, 2),
            "compose": round((t3 - t2) * 1000, 2),
            "total": round((time.perf_counter() - t0) * 1000, 2),
        }
        return answer

    def retrieve(
        self,
        resolution: Resolution,
        k: int,
        filters: Filters | None = None,
        *,
        max_per_doc: int | None = None,
        audience: str = "clinician",
    ) -> list[Hit]:
        """Retrieve for a resolved turn: a follow-up prefers the passages of its conversation's topic, every
        turn the source types of its audience."""
        prefer = self.preferred_topic(resolution)
        return self.retriever.retrieve(
            resolution.query, k, filters, max_per_doc=max_per_doc, prefer_topic=prefer,
            prefer_source_types=preferred_source_types(audience),
        )  # fmt: skip

    def preferred_topic(self, resolution: Resolution) -> str | None:
        """The topic whose passages a turn's retrieval prefers: a follow-up's, under entity-carry."""
        conv = self.settings.conversation
        carry = resolution.depends and conv.prefer_topic and conv.strategy == "entity-carry"
        return resolution.topic if carry else None

    def understand(self, question: str, history: Sequence[TurnContext]) -> tuple[Reading, Resolution]:
        """The question read (typos, shorthand, abbreviations, kind of answer, qualifiers), then resolved
        against the conversation into what is searched."""
        reading = self.reader.read(question, context=history[-1].topic if history else "")
        return reading, self._resolve(reading.text, history)

    def resolve(self, question: str, history: Sequence[TurnContext]) -> Resolution:
        """What is searched for `question` after `history` (see `understand`)."""
        return self.understand(question, history)[1]

    def _resolve(self, question: str, history: Sequence[TurnContext]) -> Resolution:
        def topic_alone(q: str) -> str:
            """The topic `q` retrieves on its own, when its best three passages agree on one."""
            topics = {self.topic_of(Resolution(q, False, ""), [h]) for h in self.retriever.retrieve(q, 3)}
            return topics.pop() if len(topics) == 1 else ""

        resolution = resolve(
            question, history, self.settings.conversation.strategy, self.lexicon, topic_alone
        )
        if self.rewriter is not None and history:
            rewritten = self.rewriter.rewrite(question, history)
            if rewritten:
                return Resolution(rewritten, resolution.depends, resolution.topic)
        return resolution

    def compose(
        self,
        reading: Reading,
        query: str,
        hits: Sequence[Hit],
        conversation_id: str | None,
        follow_up_topic: str | None = None,
        audience: str = "clinician",
    ) -> Answer:
        cs = self.settings.composer
        patient = (cs.patient_boost, cs.readability_tie) if audience == "patient" else None
        answer = compose(
            reading.question, query, hits, self.settings.composer, conversation_id=conversation_id,
            lead_scorer=self.lead_scorer, patient=patient,
            **self._evidence(reading, query, hits, follow_up_topic),
        )  # fmt: skip
        answer.understood = reading.notes()
        return date_answer(answer, self.settings.library.outdated_after_years, date.today())

    def pool(
        self, reading: Reading, query: str, hits: Sequence[Hit], follow_up_topic: str | None = None
    ) -> list[Candidate] | Abstention:
        """The sentences the composer would choose from for this turn, or why it would abstain."""
        return lead_pool(
            reading.question, query, hits, self.settings.composer,
            **self._evidence(reading, query, hits, follow_up_topic),
        )  # fmt: skip

    def _evidence(
        self, reading: Reading, query: str, hits: Sequence[Hit], follow_up_topic: str | None
    ) -> dict[str, Any]:
        """What the composer weighs beside the hits: vectors, unknown words, the reading and the topics."""
        vectors = self._sentence_vectors(hits)
        return {
            "query_vector": self.embedder.embed_queries([query])[0] if vectors is not None else None,
            "sentence_vectors": vectors,
            "unknown_terms": self.lexicon.unknown_terms(reading.plain, [w for w, _ in reading.alternatives]),
            "follow_up_topic": follow_up_topic or None,
            "reading": reading,
            "topics": self.answer_topics(reading, hits, follow_up_topic),
        }

    def _sentence_vectors(self, hits: Sequence[Hit]) -> dict[str, Any] | None:
        """The stored sentence vectors of the hits' passages (None when the index has none)."""
        if self.index.sentence_vectors is None or not hits:
            return None
        found = {}
        for h in hits:
            row = self.index.passages.row_of(h.passage.passage_id)
            v = None if row is None else self.index.sentence_vectors_of(row)
            if v is not None:
                found[h.passage.passage_id] = v
        return found

    def answer_topics(self, reading: Reading, hits: Sequence[Hit], follow_up_topic: str | None) -> set[str]:
        """The topics an answer may quote: a follow-up's (its comorbidity is asked within that topic), else
        those the question names, else the best hit's."""
        if follow_up_topic:
            return {follow_up_topic}
        topics = set(self.lexicon.mentions(reading.text))
        if not topics and hits and hits[0].document.topic:
            topics.add(hits[0].document.topic)
        return topics

    @staticmethod
    def topic_of(resolution: Resolution, hits: Sequence[Hit]) -> str:
        """The topic a turn was about: the one it named or carried, else that of its best passage."""
        if resolution.topic or not hits:
            return resolution.topic
        return hits[0].document.topic or hits[0].document.title

    @property
    def suggester(self) -> Suggester:
        if self._suggester is None:
            self._suggester = Suggester(self.index.passages.topic_sections(), self.answers)
        return self._suggester

    def filtered_out(self, filters: Filters) -> bool:
        """Whether `filters` leave no passage of the index to search."""
        allowed = self.retriever.allowed_rows(filters)
        return allowed is not None and not len(allowed)

    def suggest_followups(self, hits: Sequence[Hit], answer: Answer, asked: Sequence[str]) -> list[str]:
        """Two to four questions about the answer's topic that nobody asked and the index answers."""
        return self.suggester.suggest(hits, answer, asked)

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` by the embedding model's tokenizer; words, for an embedder without one."""
        counter = getattr(self.embedder, "count_tokens", None)
        return int(counter(text)) if counter is not None else len(text.split())

    def warm(self) -> int:
        """Work done once so that no request pays for it: read what every sentence offers as an answer (while
        they fit the cache) and check every follow-up the index could suggest (`Suggester.warm`). Returns how
        many suggestions are answerable."""
        if self.index.manifest.sentence_count <= PROFILE_CACHE:
            for p in self.index.passages:
                for text in p.sentence_texts():
                    profile(text)
        return self.suggester.warm()

    def answers(self, question: str) -> bool:
        """Whether `question`, asked on its own, gets an answer rather than an abstention."""
        reading, resolution = self.understand(question, [])
        hits = self.retrieve(resolution, self.settings.retrieval.top_k)
        return bool(hits) and not isinstance(self.pool(reading, resolution.query, hits), Abstention)

    # ------------------------------------------------------------------ sources
    def source(self, passage_id: str) -> dict[str, Any]:
        """A passage, its document's metadata and its neighbouring passages."""
        idx = self.index.passages.row_of(passage_id)
        if idx is None:
            raise PassageNotFound(
                f"no passage {passage_id!r} in the loaded index; it may come from an older build"
            )
        passage = self.index.passages[idx]
        doc = self.index.documents[passage.doc_id]
        neighbours = [
            {"passage_id": p.passage_id, "section": p.section, "text": p.text, "position": p.position}
            for p in self.index.passages[max(0, idx - 1) : idx + 2]
            if p.doc_id == passage.doc_id and p.passage_id != passage_id
        ]
        return {
            "passage_id": passage.passage_id,
            "section": passage.section,
            "text": passage.text,
            "position": passage.position,
            "document": {**doc.__dict__, "link": doc.link},
            "neighbours": neighbours,
        }
