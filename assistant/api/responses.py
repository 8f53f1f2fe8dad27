"""The statuses each route can return, declared once for the OpenAPI spec."""

from __future__ import annotations

from typing import Any

from .models import ErrorOut
from .openai_models import OpenAIError


def error(description: str, model: type = ErrorOut) -> dict[str, Any]:
    return {"model": model, "description": description}


RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
}

API_ERRORS: dict[int | str, dict[str, Any]] = {
    401: error(
        "An API key is required (when the server has keys): `Authorization: Bearer KEY` or `X-API-Key`"
    ),
    413: error("The request body is larger than the limit"),
    422: error("Invalid request: empty or too long question, bad fields, malformed JSON"),
    429: {**error("Rate limit reached; retry after `Retry-After` seconds"), "headers": RETRY_AFTER},
    503: error("The index is not loaded yet (or unusable), or the request ran past the time limit"),
}
# The same statuses on the OpenAI-compatible routes, in OpenAI's error shape.
OPENAI_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {**declared, "model": OpenAIError} for status, declared in API_ERRORS.items()
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: error("No such conversation (never existed, deleted or expired)")
}
PASSAGE_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: error("No such passage in the loaded index")}

NATIVE_EVENTS = ["meta", "abstained", "sentence", "references", "followups", "disclaimer", "done"]
# For an event stream, `schema` describes one event (OpenAPI 3.1); `data` is JSON text.
NATIVE_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": NATIVE_EVENTS},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}
CHAT_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "string",
            "description": "A `chat.completion.chunk` as JSON, or `[DONE]` at the end.",
        }
    },
}
NATIVE_SSE = {"text/event-stream": {"schema": NATIVE_EVENT}}
ASK_OK: dict[str, Any] = {
    "description": "The answer object",
    "links": {
        "FirstSource": {
            "operationId": "get_source",
            "parameters": {"passage_id": "$response.body#/references/0/passage_id"},
            "description": "The passage behind reference 1.",
        },
        "Conversation": {
            "operationId": "get_conversation",
            "parameters": {"conversation_id": "$response.body#/conversation_id"},
        },
        "DeleteConversation": {
            "operationId": "delete_conversation",
            "parameters": {"conversation_id": "$response.body#/conversation_id"},
        },
    },
}
ASK_STREAM_OK: dict[str, Any] = {
    "description": "Server-Sent Events: `meta`; one `sentence` per sentence (or one `abstained`); `references`; "
    "`followups`; `disclaimer`; `done`. Each event's data is JSON.",
    "content": NATIVE_SSE,
}
CHAT_OK: dict[str, Any] = {
    "description": "The completion; with `stream: true`, `chat.completion.chunk` events ending in `data: [DONE]`",
    "content": {"text/event-stream": {"schema": CHAT_EVENT}},
}
