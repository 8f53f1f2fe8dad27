"""Request and response models of the OpenAI-compatible routes (`/v1/chat/completions`, `/v1/models`),
errors included: OpenAI's `{"error": {"message", "type", "param", "code"}}`, which OpenAI clients show."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from ..types import Reference
from .models import AUDIENCE_DOC, FiltersIn, json_number, valid_unicode


class OpenAIErrorDetail(BaseModel):
    message: str = Field(description="What went wrong and what to do next.")
    type: str = Field(description="`invalid_request_error`, `authentication_error`, `rate_limit_error` ...")
    param: str | None = None
    code: str = Field(description="Our error kind, e.g. `InvalidQuestion`, `Unauthorized`, `RateLimited`.")


class OpenAIError(BaseModel):
    error: OpenAIErrorDetail


class TextPart(BaseModel):
    type: str = Field(description="Only `text` parts are read; others are ignored.")
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return " ".join(p.text for p in self.content or [] if p.type == "text" and p.text)


# JSON Schema for "at least one user message holds some text" (checked by `ChatRequest` too).
HAS_QUESTION: dict[str, Any] = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"const": "user"},
        "content": {
            "anyOf": [
                {"type": "string", "pattern": r"[^\W_]"},  # a letter or digit: a question in words
                {
                    "type": "array",
                    "contains": {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {
                            "type": {"const": "text"},
                            "text": {"type": "string", "pattern": r"[^\W_]"},
                        },
                    },
                },
            ]
        },
    },
}


class StreamOptions(BaseModel):
    include_usage: StrictBool = False


class ResponseFormat(BaseModel):
    type: Literal["text"]


class ChatRequest(BaseModel):
    """OpenAI's chat completion request. Sampling and length fields (temperature, top_p, max_tokens, stop,
    seed, penalties, user ...) are accepted and ignored: answers are extractive. Tools may be offered and are
    never called; forcing a tool call, several choices and JSON response formats are refused (422)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=200, description="Any name; see `GET /v1/models`.")
    messages: list[ChatMessage] = Field(
        min_length=1,
        max_length=200,
        description="The conversation; the last user message with text is the question, earlier ones its context.",
        json_schema_extra={"contains": HAS_QUESTION},
    )
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1, le=1, description="Only one choice is produced.")
    # Tools may be offered (Open WebUI offers its built-in ones with every chat) and are never called: answering
    # without a tool is what "auto" allows. What cannot work is refused rather than ignored: forcing a call.
    tools: list[Any] | None = Field(
        None, description="Accepted and never called: answers are quoted sentences."
    )
    functions: list[Any] | None = Field(
        None, description="Accepted and never called (the legacy form of tools)."
    )
    tool_choice: Literal["none", "auto"] | None = Field(
        None,
        description='"none" or "auto" (no tool is called); forcing a call ("required", a named tool) is a 422.',
    )
    function_call: Literal["none", "auto"] | None = Field(
        None, description='"none" or "auto"; forcing a call is a 422.'
    )
    response_format: ResponseFormat | None = Field(
        None, description='Only {"type": "text"}: answers are Markdown text, never JSON.'
    )
    top_k: int | None = Field(None, ge=1, le=50, description="Our own: passages handed to the composer.")
    filters: FiltersIn | None = Field(None, description="Our own: metadata filters.")
    audience: Literal["clinician", "patient"] = Field("clinician", description="Our own: " + AUDIENCE_DOC)

    _numbers = field_validator("n", "top_k", mode="before")(json_number)
    _unicode = model_validator(mode="before")(valid_unicode)

    @model_validator(mode="after")
    def _has_question(self) -> ChatRequest:
        if not self.questions():
            raise ValueError("no user message holds a question: send one with text")
        return self

    def questions(self) -> list[str]:
        """The texts of the user messages that have any, in order (the last one is the question)."""
        return [t for t in (m.text() for m in self.messages if m.role == "user") if t.strip()]


class UrlCitation(BaseModel):
    url: str
    title: str
    start_index: int
    end_index: int


class Annotation(BaseModel):
    type: Literal["url_citation"] = "url_citation"
    url_citation: UrlCitation


class ChatAnswerMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None
    annotations: list[Annotation]
    references: list[Reference] = Field(description="Our own: the structured reference list.")


class Choice(BaseModel):
    index: int = 0
    message: ChatAnswerMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class Usage(BaseModel):
    prompt_tokens: int = Field(
        description="Tokens of the messages' text, counted with the embedding model's tokenizer (no language "
        "model is involved; words, with an embedder that has no tokenizer)."
    )
    completion_tokens: int
    total_tokens: int


class AnswerMeta(BaseModel):
    """Our own: what the native answer object adds to a chat completion."""

    resolved_query: str
    read_as: str | None = None
    audience: str = "clinician"
    abstained: bool
    suggested_followups: list[str]
    disclaimer: str


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: str | None = None
    x_answer: AnswerMeta


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]
