"""OpenAI-compatible chat: `POST /v1/chat/completions` (plain or streamed) and `GET /v1/models`.

The whole `messages` history drives follow-up resolution: earlier user messages are resolved in turn into the
conversation context, so a follow-up three messages later still knows its topic. Nothing is stored.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ..errors import AssistantError, InvalidQuestion
from ..followup import TurnContext
from ..service import Assistant, require_unicode, validate_question
from ..types import Answer, Filters
from .openai_models import (
    ChatAnswerMessage,
    ChatCompletion,
    ChatRequest,
    Choice,
    ModelList,
    ModelOut,
    OpenAIError,
    Usage,
)
from .responses import CHAT_OK, OPENAI_ERRORS
from .runtime import current_assistant, run_domain
from .stream import answer_meta, chat_chunks, linked_markdown, url_citations
from .tasks import answer_task, task_kind

MODEL_ID = "clinical-followup-assistant"
MAX_HISTORY = 12  # earlier user messages taken into account
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

router = APIRouter(tags=["openai-compatible"])


def chat_history(
    assistant: Assistant, questions: Sequence[str], filters: Filters | None
) -> list[TurnContext]:
    """The conversation context of earlier questions, each resolved against those before it."""
    history: list[TurnContext] = []
    for raw in questions[-MAX_HISTORY:]:
        try:
            question = validate_question(raw, assistant.settings.max_question_chars)
        except InvalidQuestion:
            continue
        resolution = assistant.resolve(question, history)
        topic = resolution.topic or assistant.topic_of(resolution, assistant.retrieve(resolution, 3, filters))
        history.append(TurnContext(question, resolution.query, topic))
    return history


def answer_chat(assistant: Assistant, body: ChatRequest) -> Answer:
    """Answer the last user message, with the earlier ones as its conversation."""
    *earlier, question = body.questions()
    filters = body.filters.to_domain() if body.filters else None
    kind = task_kind(question)
    if kind is not None:  # Open WebUI naming, tagging or suggesting for the chat: not a clinical question
        return answer_task(
            assistant, kind, question, lambda qs: chat_history(assistant, qs, filters), filters
        )
    history = chat_history(assistant, earlier, filters)
    return assistant.ask(
        question, history=history, top_k=body.top_k, filters=filters, remember=False, audience=body.audience
    )


@router.post(
    "/v1/chat/completions",
    operation_id="chat_completions",
    response_model=ChatCompletion,
    responses={**OPENAI_ERRORS, 200: CHAT_OK},
    summary="Chat completion (OpenAI-compatible), plain or streamed",
)
async def chat_completions(body: ChatRequest, request: Request) -> ChatCompletion | StreamingResponse:
    answer = await run_domain(request, answer_chat, current_assistant(request), body)
    completion_id = "chatcmpl-" + uuid.uuid4().hex
    created = int(time.time())
    base_url = str(request.base_url)
    answer.answer_markdown = linked_markdown(answer, base_url)
    count = current_assistant(request).count_tokens
    prompt = sum(count(m.text()) for m in body.messages)
    used = count(answer.answer_markdown)
    usage = Usage(prompt_tokens=prompt, completion_tokens=used, total_tokens=prompt + used)
    if body.stream:
        wants_usage = body.stream_options is not None and body.stream_options.include_usage
        chunks = chat_chunks(
            answer, completion_id=completion_id, created=created, model=MODEL_ID, base_url=base_url,
            usage=usage.model_dump() if wants_usage else None,
        )  # fmt: skip
        return StreamingResponse(chunks, media_type="text/event-stream", headers=SSE_HEADERS)
    message = ChatAnswerMessage(
        content=answer.answer_markdown,
        annotations=url_citations(answer.answer_markdown, answer.references, base_url),
        references=answer.references,
    )
    return ChatCompletion(
        id=completion_id, created=created, model=MODEL_ID, choices=[Choice(message=message)], usage=usage,
        x_answer=answer_meta(answer),
    )  # fmt: skip


@router.get(
    "/v1/models",
    operation_id="list_models",
    response_model=ModelList,
    responses=OPENAI_ERRORS,
    summary="Models (OpenAI-compatible)",
)
async def models(request: Request) -> ModelList:
    return ModelList(data=[_model(request)])


class ModelNotFound(AssistantError):
    """No model with that id (there is one: `MODEL_ID`)."""

    status_code = 404


def _model(request: Request) -> ModelOut:
    return ModelOut(
        id=MODEL_ID, created=int(request.app.state.started), owned_by="clinical-followup-assistant"
    )


@router.get(
    "/v1/models/{model_id}",
    operation_id="get_model",
    response_model=ModelOut,
    responses={**OPENAI_ERRORS, 404: {"model": OpenAIError, "description": "No such model"}},
    summary="One model (OpenAI-compatible)",
)
async def model(model_id: str, request: Request) -> ModelOut:
    require_unicode(model_id, "the model id")
    if model_id != MODEL_ID:
        raise ModelNotFound(f"the model {model_id!r} does not exist; the one model here is {MODEL_ID!r}")
    return _model(request)
