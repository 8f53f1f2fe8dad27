"""The native API: ask (plain or streamed), conversations and sources."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from ..errors import ConversationNotFound, InvalidQuestion
from ..library.coverage import coverage
from ..service import require_unicode
from ..types import Answer
from .models import AskRequest, ConversationOut, CoverageOut, SourceOut
from .responses import API_ERRORS, ASK_OK, ASK_STREAM_OK, NOT_FOUND, PASSAGE_NOT_FOUND
from .runtime import Ticket, current_assistant, principal, run_domain
from .stream import native_events

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
router = APIRouter()


async def answer(body: AskRequest, request: Request) -> Answer:
    assistant = current_assistant(request)
    limit = assistant.settings.max_question_chars
    if len(body.question) > limit:  # as sent, so that the spec's maxLength holds exactly
        raise InvalidQuestion(
            f"the question is {len(body.question)} characters long; the limit is {limit}: shorten it"
        )
    ticket = Ticket()
    return await run_domain(
        request,
        assistant.ask,
        body.question,
        conversation_id=body.conversation_id,
        top_k=body.top_k,
        filters=body.filters.to_domain() if body.filters else None,
        owner=principal(request),
        commit=ticket.claim,
        audience=body.audience,
        ticket=ticket,
    )


@router.post(
    "/v1/ask",
    operation_id="ask",
    response_model=Answer,
    tags=["ask"],
    responses={**API_ERRORS, **NOT_FOUND, 200: ASK_OK},
    summary="Answer a question or a follow-up",
)
async def ask(body: AskRequest, request: Request) -> Answer:
    return await answer(body, request)


@router.post(
    "/v1/ask/stream",
    operation_id="ask_stream",
    response_class=StreamingResponse,
    tags=["ask"],
    responses={**API_ERRORS, **NOT_FOUND, 200: ASK_STREAM_OK},
    summary="Answer as Server-Sent Events, sentence by sentence",
)
async def ask_stream(body: AskRequest, request: Request) -> StreamingResponse:
    result = await answer(body, request)
    return StreamingResponse(native_events(result), media_type="text/event-stream", headers=SSE_HEADERS)


@router.get(
    "/v1/conversations/{conversation_id}",
    operation_id="get_conversation",
    response_model=ConversationOut,
    tags=["conversations"],
    responses={**API_ERRORS, **NOT_FOUND},
    summary="A conversation and its turns",
)
async def get_conversation(conversation_id: str, request: Request) -> ConversationOut:
    require_unicode(conversation_id, "the conversation id")
    store = current_assistant(request).conversations
    if store is None:
        raise ConversationNotFound("this server keeps no conversations")
    found = await run_domain(request, store.get, conversation_id, principal(request))
    return ConversationOut.model_validate(found)


@router.delete(
    "/v1/conversations/{conversation_id}",
    operation_id="delete_conversation",
    status_code=204,
    response_class=Response,
    tags=["conversations"],
    responses={**API_ERRORS, **NOT_FOUND},
    summary="Delete a conversation and its turns",
)
async def delete_conversation(conversation_id: str, request: Request) -> Response:
    require_unicode(conversation_id, "the conversation id")
    store = current_assistant(request).conversations
    if store is None:
        raise ConversationNotFound("this server keeps no conversations")
    await run_domain(request, store.delete, conversation_id, principal(request))
    return Response(status_code=204)


@router.get(
    "/v1/library/coverage",
    operation_id="library_coverage",
    response_model=CoverageOut,
    tags=["sources"],
    responses=API_ERRORS,
    summary="What the sources cover: topics, source types, counts and dates",
)
async def library_coverage(request: Request) -> CoverageOut:
    assistant = current_assistant(request)
    docs = assistant.index.documents.values()
    return CoverageOut.model_validate(
        coverage(docs, len(assistant.index.passages), assistant.retriever.withheld)
    )


@router.get(
    "/v1/sources/{passage_id}",
    operation_id="get_source",
    response_model=SourceOut,
    tags=["sources"],
    responses={**API_ERRORS, **PASSAGE_NOT_FOUND},
    summary="A passage, its document's metadata and its neighbouring passages",
)
async def source(passage_id: str, request: Request) -> SourceOut:
    require_unicode(passage_id, "the passage id")
    return SourceOut.model_validate(current_assistant(request).source(passage_id))
