"""The FastAPI application: lifespan (the index loads in the background), the edge, errors, health and page."""

from __future__ import annotations

import json
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

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
from . import chat, library, native, tokens
from .edge import Edge, error_content
from .lifecycle import lifespan_for
from .models import Health, Ready
from .ratelimit import shared_limiters
from .responses import error
from .runtime import current_assistant

STATIC = Path(__file__).resolve().parent.parent / "static"


class AsciiJSON(JSONResponse):
    """JSON with every non-ASCII character escaped: an error detail can never fail to encode."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error_response(
    request: Request, status: int, kind: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    content = error_content(request.url.path, status, kind, detail)
    return AsciiJSON(status_code=status, content=content, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Every error body is `{"error", "detail"}` (OpenAI's shape on the OpenAI-compatible routes): domain
    errors, HTTP errors, validation errors. Crashes are the edge's (`Edge`)."""

    @app.exception_handler(AssistantError)
    async def domain_error(request: Request, exc: AssistantError) -> JSONResponse:
        retry = {"Retry-After": "5"} if exc.status_code == 503 else None
        return error_response(request, exc.status_code, type(exc).__name__, str(exc), retry)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = "PayloadTooLarge" if exc.status_code == 413 else HTTPStatus(exc.status_code).phrase.title()
        kind = kind.replace(" ", "").replace("-", "")
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.method} {request.url.path}; see /docs for the API"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            return error_response(
                request, 422, "InvalidRequest", "the body could not be read: send UTF-8 JSON"
            )
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
            headers = {"Allow": ", ".join(allowed_methods(request))}
        return error_response(request, exc.status_code, kind, detail, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors()[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()))
            problems.append(f"{where}: {e.get('msg', 'invalid')}")
        return error_response(request, 422, "InvalidRequest", "; ".join(problems) or "invalid request")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette's own 405 names only the first route's)."""
    methods: set[str] = set()
    # the included routers' own routes: FastAPI keeps included routers as single opaque entries
    for route in [
        *request.app.router.routes,
        *native.router.routes,
        *chat.router.routes,
        *library.router.routes,
    ]:
        route_methods = getattr(route, "methods", None)
        if route_methods and route.matches({**request.scope, "method": "GET"})[0] != Match.NONE:
            methods |= route_methods
    return sorted(methods)


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
            status="ready",
            passages=len(current.index.passages),
            model=current.index.manifest.model,
            generation=current.index.generation,
            stale=bool(request.app.state.stale),
            fallback=current.index.fallback_from is not None,
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
        body = error_content("", response.status_code, "CorsRejected", detail)
        return AsciiJSON(status_code=response.status_code, content=body, headers=keep)


def app_from_environment() -> FastAPI:
    """The app of one worker of `assistant serve --workers N` (uvicorn's factory): settings from `ASSISTANT_*`."""
    return create_app(Settings())


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
    app.include_router(library.router)
    app.include_router(tokens.router)
    finish_openapi(app, settings)
    api = settings.api
    app.add_middleware(
        Edge,
        api_keys=[*api.api_keys, *api.admin_keys] if api.api_keys else [],
        rate_limit_per_minute=api.rate_limit_per_minute,
        max_body_bytes=api.max_body_bytes,
        max_upload_bytes=settings.ingest.max_file_bytes,
        auth_failures_per_minute=api.auth_failures_per_minute,
        limiters=shared_limiters(settings),
    )
    if api.cors_origins:
        app.add_middleware(
            JsonCors,
            allow_origins=api.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    return app
