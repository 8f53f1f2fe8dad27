"""Open WebUI's background task requests, answered from the conversation instead of refused.

Open WebUI sends its own prompts through the chat route to name a chat, tag it, suggest follow-ups and
write search queries: a user message that starts with `### Task:` and quotes the chat between
`<chat_history>` tags, asking for JSON back. These are not clinical questions (and are longer than one), so
they are recognised and answered with the JSON asked for, built from what the assistant knows of the
conversation's last question: its topic (title, tags), its suggested follow-ups, its resolved query. Nothing
is generated; an unknown task gets `{}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from ..errors import InvalidQuestion
from ..followup import TurnContext
from ..render import DISCLAIMER
from ..service import Assistant, validate_question
from ..types import Answer, Filters

_TASK = re.compile(r"^\s*#{2,3}\s*Task:\s*(?P<task>.*?)(?:\n|$)", re.IGNORECASE)
_HISTORY = re.compile(r"<chat_history>(?P<body>.*?)</chat_history>", re.IGNORECASE | re.DOTALL)
_TURN = re.compile(r"^(USER|ASSISTANT):\s?", re.MULTILINE)


def task_kind(message: str) -> str | None:
    """`title`, `tags`, `follow_ups`, `queries` or `other` for an Open WebUI task prompt; None otherwise."""
    match = _TASK.match(message)
    if match is None:
        return None
    task = match.group("task").lower()
    for kind, cues in (("title", ("title",)), ("tags", ("tag",)), ("follow_ups", ("follow-up", "follow up")),
                       ("queries", ("search quer", "queries"))):  # fmt: skip
        if any(cue in task for cue in cues):
            return kind
    return "other"


def user_questions(message: str) -> list[str]:
    """The user turns quoted in the task's chat history, in order."""
    match = _HISTORY.search(message)
    if match is None:
        return []
    parts = _TURN.split(match.group("body"))
    return [
        " ".join(text.split()) for role, text in zip(parts[1::2], parts[2::2], strict=False) if role == "USER"
    ]


def answer_task(
    assistant: Assistant,
    kind: str,
    message: str,
    history_of: Callable[[Sequence[str]], list[TurnContext]],
    filters: Filters | None,
) -> Answer:
    """The JSON the task asks for, as the answer's text (no sentences, no references)."""
    questions = []
    for raw in user_questions(message):
        try:
            questions.append(validate_question(raw, assistant.settings.max_question_chars))
        except InvalidQuestion:
            continue
    reply: dict[str, object] = {}
    resolved = ""
    if questions and kind != "other":
        *earlier, last = questions
        answer = assistant.ask(last, history=history_of(earlier), filters=filters, remember=False)
        resolved = answer.resolved_query
        docs = [assistant.index.documents[r.doc_id] for r in answer.references]
        topics = list(dict.fromkeys(d.topic for d in docs if d.topic))
        if kind == "title":
            reply = {"title": topics[0] if topics else " ".join(questions[0].split()[:5])}
        elif kind == "tags":
            specialties = (d.specialty.capitalize() for d in docs if d.specialty)
            reply = {"tags": list(dict.fromkeys([*topics[:2], *specialties]))[:3]}
        elif kind == "follow_ups":
            reply = {"follow_ups": answer.suggested_followups}
        else:
            reply = {"queries": [answer.resolved_query]}
    text = json.dumps(reply, ensure_ascii=False)
    return Answer(question=message[:200], resolved_query=resolved, abstained=False, answer_markdown=text,
                  answer_text=text, sentences=[], references=[], disclaimer=DISCLAIMER)  # fmt: skip
