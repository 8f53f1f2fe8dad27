"""The FastAPI application: lifespan (the index loads in the background), the edge, errors, health and page."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

from ..errors import AssistantError
from ..service import Assistant
from ..settings import Settings, get_settings
from . import chat, native
from .edge import ACCESS_LOG, Edge
from .models import Health, Ready
from .responses import error
from .runtime import current_assistant

STATIC = Path(__file__).resolve().parent.parent / "static"
log = logging.getLogger(ACCESS_LOG)


def error_response(
    status: int, kind: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": kind, "detail": detail}, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Every error body is `{"error", "detail"}`: domain errors, HTTP errors, validation errors, crashes."""

    @app.exception_handler(AssistantError)
    async def domain_error(_request: Request, exc: AssistantError) -> JSONResponse:
        retry = {"Retry-After": "5"} if exc.status_code == 503 else None
        return error_response(exc.status_code, type(exc).__name__, str(exc), retry)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = "PayloadTooLarge" if exc.status_code == 413 else HTTPStatus(exc.status_code).phrase.title()
        kind = kind.replace(" ", "").replace("-", "")
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.method} {request.url.path}; see /docs for the API"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            return error_response(422, "InvalidRequest", "the body could not be read: send UTF-8 JSON")
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
            headers = {"Allow": ", ".join(allowed_methods(request))}
        return error_response(exc.status_code, kind, detail, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors()[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()))
            problems.append(f"{where}: {e.get('msg', 'invalid')}")
        return error_response(422, "InvalidRequest", "; ".join(problems) or "invalid request")

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        rid = request.scope.get("state", {}).get("request_id", "?")
        log.error(
            "unhandled error",
            exc_info=exc,
            extra={"fields": {"request_id": rid, "error": type(exc).__name__}},
        )
        return error_response(
            500, "InternalError", f"unexpected server error (request id {rid}); it was logged"
        )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette's own 405 names only the first route's)."""
    methods: set[str] = set()
    # the included routers' own routes: FastAPI keeps included routers as single opaque entries
    for route in [*request.app.router.routes, *native.router.routes, *chat.router.routes]:
        route_methods = getattr(route, "methods", None)
        if route_methods and route.matches({**request.scope, "method": "GET"})[0] != Match.NONE:
            methods |= route_methods
    return sorted(methods)


def lifespan_for(settings: Settings, assistant: Assistant | None) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.assistant = assistant
        app.state.load_error = None
        app.state.limiter = anyio.CapacityLimiter(max(1, os.cpu_count() or 1))

        async def load() -> None:
            try:
                app.state.assistant = await anyio.to_thread.run_sync(Assistant.open, settings)
            except AssistantError as exc:
                app.state.load_error = str(exc)
                return
            except Exception as exc:
                app.state.load_error = (
                    f"the index could not be loaded ({type(exc).__name__}); see the server log"
                )
                log.exception("index load failed", extra={"fields": {"error": type(exc).__name__}})
                return
            try:  # ready now; then the work done once so that no request pays for it (a failure only slows)
                await anyio.to_thread.run_sync(app.state.assistant.warm, limiter=app.state.limiter)
            except Exception as exc:
                log.exception("warm-up failed", extra={"fields": {"error": type(exc).__name__}})

        async with anyio.create_task_group() as tasks:
            if assistant is None:
                tasks.start_soon(load)
            yield
        if app.state.assistant is not None:
            app.state.assistant.close()

    return lifespan


def add_health_and_page(app: FastAPI, settings: Settings) -> None:
    frame_ancestors = " ".join(["'self'", *settings.api.cors_origins])
    page_headers = {
        "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors {frame_ancestors}",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }

    @app.get(
        "/livez", operation_id="livez", response_model=Health, tags=["health"], summary="The process is up"
    )
    async def livez() -> Health:
        return Health(status="ok")

    @app.get(
        "/readyz",
        operation_id="readyz",
        response_model=Ready,
        tags=["health"],
        responses={503: error("The index is not loaded (yet), or could not be verified")},
        summary="The index is loaded and verified",
    )
    async def readyz(request: Request) -> Ready:
        current = current_assistant(request)
        return Ready(
            status="ready", passages=len(current.index.passages), model=current.index.manifest["model"]
        )

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=page_headers)

    @app.get("/widget.js", include_in_schema=False)
    async def widget() -> FileResponse:
        return FileResponse(STATIC / "widget.js", media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def finish_openapi(app: FastAPI, settings: Settings) -> None:
    """The spec states the configured question length limit and, when the server has keys, the keys."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schemas = spec.get("components", {}).get("schemas", {})
            schemas["AskRequest"]["properties"]["question"]["maxLength"] = settings.max_question_chars
            if settings.api.api_keys:
                spec.setdefault("components", {})["securitySchemes"] = {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                }
                for path, operations in spec["paths"].items():
                    for op in operations.values() if path.startswith("/v1/") else ():
                        op["security"] = [{"bearer": []}, {"apiKey": []}]
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class JsonCors(CORSMiddleware):
    """CORS whose refused preflight requests get a JSON error body like every other error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        keep = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
        detail = bytes(response.body).decode() + ": add the origin to ASSISTANT_API__CORS_ORIGINS"
        return error_response(response.status_code, "CorsRejected", detail, keep)


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """The HTTP API and chat page; loads the index in the background unless `assistant` is given."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Clinical follow-up question assistant",
        version="0.1.0",
        description="Extractive, citation-linked answers from guideline and research digests. "
        "Native API under /v1/ask, OpenAI-compatible chat under /v1/chat/completions.",
        lifespan=lifespan_for(settings, assistant),
    )
    app.state.settings = settings
    app.state.started = time.time()
    install_error_handlers(app)
    add_health_and_page(app, settings)
    app.include_router(native.router)
    app.include_router(chat.router)
    finish_openapi(app, settings)
    api = settings.api
    app.add_middleware(
        Edge,
        api_keys=api.api_keys,
        rate_limit_per_minute=api.rate_limit_per_minute,
        max_body_bytes=api.max_body_bytes,
    )
    if api.cors_origins:
        app.add_middleware(
            JsonCors,
            allow_origins=api.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    return app
