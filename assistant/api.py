"""HTTP API (FastAPI). Routes are a few lines each: parse, call the domain, respond."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from .errors import AssistantError
from .service import Assistant
from .settings import Settings, get_settings
from .types import SOURCE_TYPES, Answer, Filters


class FiltersIn(BaseModel):
    source_types: list[str] = Field(default_factory=list, description=f"Any of {', '.join(SOURCE_TYPES)}.")
    year_min: int | None = Field(None, ge=1800, le=2200)
    year_max: int | None = Field(None, ge=1800, le=2200)
    topics: list[str] = Field(default_factory=list)
    specialties: list[str] = Field(default_factory=list)

    def to_domain(self) -> Filters | None:
        f = Filters(
            tuple(self.source_types),
            self.year_min,
            self.year_max,
            tuple(self.topics),
            tuple(self.specialties),
        )
        return None if f.is_empty() else f


class AskRequest(BaseModel):
    question: str = Field(
        min_length=1, description="The clinical question, or a follow-up to the conversation."
    )
    conversation_id: str | None = Field(None, max_length=64, description="Continue this conversation.")
    top_k: int | None = Field(None, ge=1, le=50, description="Passages handed to the composer.")
    filters: FiltersIn | None = None


class ErrorOut(BaseModel):
    error: str
    detail: str


def _error(status: int, kind: str, detail: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": kind, "detail": detail})


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "Conversation or passage not found"},
    422: {"model": ErrorOut, "description": "Invalid request (empty or too long question, bad fields)"},
    503: {"model": ErrorOut, "description": "Index not loaded yet, or not usable"},
}


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.assistant = assistant
        app.state.load_error = None
        task = None
        if assistant is None:

            async def load() -> None:
                try:
                    app.state.assistant = await run_in_threadpool(Assistant.open, settings)
                except AssistantError as exc:
                    app.state.load_error = str(exc)

            task = asyncio.create_task(load())
        yield
        if task is not None:
            await task
        if app.state.assistant is not None:
            app.state.assistant.close()

    app = FastAPI(
        title="Clinical follow-up question assistant",
        version="0.1.0",
        description="Extractive, citation-linked answers from guideline and research digests.",
        lifespan=lifespan,
    )

    @app.exception_handler(AssistantError)
    async def _domain_error(_request: Request, exc: AssistantError) -> JSONResponse:
        return _error(exc.status_code, type(exc).__name__, str(exc))

    def ready(request: Request) -> Assistant:
        current: Assistant | None = request.app.state.assistant
        if current is None:
            from .errors import IndexNotFound

            raise IndexNotFound(request.app.state.load_error or "the index is still loading; retry shortly")
        return current

    @app.get("/livez", tags=["health"])
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: ERRORS[503]})
    async def readyz(request: Request) -> dict[str, Any]:
        current = ready(request)
        return {
            "status": "ready",
            "passages": len(current.index.passages),
            "model": current.index.manifest["model"],
        }

    @app.post("/v1/ask", response_model=Answer, tags=["ask"], responses=ERRORS)
    async def ask(body: AskRequest, request: Request) -> Answer:
        current = ready(request)
        filters = body.filters.to_domain() if body.filters else None
        return await run_in_threadpool(
            current.ask,
            body.question,
            conversation_id=body.conversation_id,
            top_k=body.top_k,
            filters=filters,
        )

    @app.get("/v1/conversations/{conversation_id}", tags=["conversations"], responses=ERRORS)
    async def get_conversation(conversation_id: str, request: Request) -> dict[str, Any]:
        current = ready(request)
        assert current.conversations is not None
        return current.conversations.get(conversation_id)

    @app.delete(
        "/v1/conversations/{conversation_id}", status_code=204, tags=["conversations"], responses=ERRORS
    )
    async def delete_conversation(conversation_id: str, request: Request) -> None:
        current = ready(request)
        assert current.conversations is not None
        current.conversations.delete(conversation_id)

    @app.get("/v1/sources/{passage_id}", tags=["sources"], responses=ERRORS)
    async def source(passage_id: str, request: Request) -> dict[str, Any]:
        return ready(request).source(passage_id)

    return app
