"""Server-Sent Events for a finished answer: the native event sequence and OpenAI chat completion chunks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from ..render import escape_markdown, reference_line
from ..types import Answer, Reference
from .openai_models import Annotation, AnswerMeta, UrlCitation

# A citation marker in the Markdown answer, "[1]" or "[1, 3]"; passage text has its brackets escaped ("\[").
_MARKER = re.compile(r"(?<!\\)\[(\d+(?:, \d+)*)\]")
_WEB_LINK = re.compile(r"^https?://[^\s<>\"'`]+$", re.IGNORECASE)


def sse(data: Any, event: str | None = None) -> str:
    """One Server-Sent Event; `data` is sent as JSON (or as is, when a string)."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n"


def abstention_text(answer: Answer) -> str:
    return answer.answer_text.split("\n\n")[0].strip()


def native_events(answer: Answer) -> Iterator[str]:
    """meta, then one `sentence` event per sentence (or one `abstained`), references, follow-ups, disclaimer, done."""
    yield sse(
        {
            "conversation_id": answer.conversation_id,
            "question": answer.question,
            "resolved_query": answer.resolved_query,
            "understood": answer.understood,
            "read_as": answer.read_as,
            "audience": answer.audience,
            "abstained": answer.abstained,
        },
        "meta",
    )
    if answer.abstained:
        yield sse({"text": abstention_text(answer)}, "abstained")
    for i, s in enumerate(answer.sentences):
        yield sse({"index": i, **s.model_dump()}, "sentence")
    refs = [r.model_dump() for r in answer.references]
    dated = {"last_updated": answer.last_updated, "outdated_sources": answer.outdated_sources}
    yield sse({"references": refs, **dated}, "references")
    yield sse({"suggested_followups": answer.suggested_followups}, "followups")
    yield sse({"disclaimer": answer.disclaimer}, "disclaimer")
    yield sse({"timings_ms": answer.timings_ms}, "done")


def citation_url(ref: Reference, base_url: str) -> str:
    """The source's own web link, else our passage endpoint."""
    if ref.url and _WEB_LINK.match(ref.url):
        return ref.url
    return f"{base_url.rstrip('/')}/v1/sources/{quote(ref.passage_id, safe='')}"


def linked_markdown(answer: Answer, base_url: str) -> str:
    """The Markdown answer with a link on every reference: a source without a web link of its own (a library
    file) links to its passage here, so clients that keep only the text (litellm, llm) keep every link."""
    markdown = answer.answer_markdown
    for ref in answer.references:
        if ref.url and _WEB_LINK.match(ref.url):
            continue
        line = f"{ref.n}. {escape_markdown(reference_line(ref))}"
        markdown = markdown.replace(f"{line}\n", f"{line} <{citation_url(ref, base_url)}>\n", 1)
    return markdown


def url_citations(content: str, references: list[Reference], base_url: str) -> list[Annotation]:
    """A `url_citation` for every reference number of every citation marker in `content`."""
    by_n = {r.n: r for r in references}
    out = []
    for m in _MARKER.finditer(content):
        for n in (int(x) for x in m.group(1).split(", ")):
            ref = by_n.get(n)
            if ref is not None:
                cite = UrlCitation(
                    url=citation_url(ref, base_url), title=ref.title, start_index=m.start(), end_index=m.end()
                )
                out.append(Annotation(url_citation=cite))
    return out


def content_pieces(content: str) -> list[str]:
    """The Markdown answer cut after each line, so a client shows it sentence by sentence."""
    return [line for line in content.splitlines(keepends=True) if line]


def chat_chunks(
    answer: Answer,
    *,
    completion_id: str,
    created: int,
    model: str,
    base_url: str,
    usage: dict[str, int] | None,
) -> Iterator[str]:
    """`chat.completion.chunk` events: the role, the content line by line, then citations, then [DONE]."""
    head = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return sse({**head, "choices": [choice], **extra})

    yield chunk({"role": "assistant", "content": ""})
    for piece in content_pieces(answer.answer_markdown):
        yield chunk({"content": piece})
    notes = [a.model_dump() for a in url_citations(answer.answer_markdown, answer.references, base_url)]
    refs = [r.model_dump() for r in answer.references]
    yield chunk({"annotations": notes, "references": refs}, "stop", x_answer=answer_meta(answer).model_dump())
    if usage is not None:
        yield sse({**head, "choices": [], "usage": usage})
    yield sse("[DONE]")


def answer_meta(answer: Answer) -> AnswerMeta:
    return AnswerMeta(
        resolved_query=answer.resolved_query,
        read_as=answer.read_as,
        audience=answer.audience,
        abstained=answer.abstained,
        suggested_followups=answer.suggested_followups,
        disclaimer=answer.disclaimer,
    )
