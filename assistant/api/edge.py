"""The API's edge, as one ASGI middleware: request ids, access logs, API keys, rate limits (of requests and
of failed authentication), body size limits, the generation header, and the last word on crashes.

Access logs are JSON lines with the request id, method, route, status and latency, and never a request or
response body: questions and answers may hold patient data. A crash is one JSON line too, never a traceback
on stderr, and the client still gets a JSON 500 on a connection that stays usable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import sys
import time
import traceback
import uuid
from collections.abc import Sequence
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .ratelimit import Limiter, RateLimiter
from .tokens import PREFIX as TOKEN_PREFIX
from .tokens import Verdict, verify

ACCESS_LOG = "assistant.api.access"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
PROTECTED_PREFIX = "/v1/"
OPENAI_PREFIXES = ("/v1/chat/", "/v1/models")  # routes whose errors take OpenAI's shape
_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}


def error_content(path: str, status: int, kind: str, detail: str) -> dict[str, Any]:
    """An error body: `{"error", "detail"}`, or on the OpenAI-compatible routes OpenAI's
    `{"error": {"message", "type", "param", "code"}}`, so that OpenAI clients show the detail."""
    if not path.startswith(OPENAI_PREFIXES):
        return {"error": kind, "detail": detail}
    kind_of = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": detail, "type": kind_of, "param": None, "code": kind}}


def principal_of(key: str) -> str:
    """The stored owner of what a key creates: a hash, so the key itself is never written down."""
    return hashlib.sha256(b"assistant-principal\0" + key.encode()).hexdigest()[:32]


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, message and the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": round(record.created, 3), "level": record.levelname.lower(), "msg": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[2] is not None:
            # where it failed, without the exception's message (it may quote a question)
            line["trace"] = "".join(traceback.format_tb(record.exc_info[2]))
        return json.dumps(line, separators=(",", ":"))


def configure_access_log() -> logging.Logger:
    """The access logger, writing JSON lines to stderr (set up once per process)."""
    logger = logging.getLogger(ACCESS_LOG)
    if not any(getattr(h, "_assistant", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLines())
        handler._assistant = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def presented_key(headers: dict[str, str]) -> str | None:
    """The API key of a request: `Authorization: Bearer KEY` or `X-API-Key: KEY`."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return auth[7:].strip()
    return headers.get("x-api-key") or None


def key_matches(key: str | None, keys: Sequence[str]) -> bool:
    found = False
    for k in keys:  # compare with every key, in constant time each
        found |= key is not None and hmac.compare_digest(key.encode(), k.encode())
    return found


async def send_error(
    send: Send, path: str, status: int, kind: str, detail: str, headers: dict[str, str]
) -> None:
    body = json.dumps(error_content(path, status, kind, detail)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


UPLOAD_PREFIX = "/v1/library/files/"


class Edge:
    """ASGI middleware; everything under /v1/ needs a key (when keys are set) and is rate limited."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_keys: Sequence[str],
        rate_limit_per_minute: int,
        max_body_bytes: int,
        auth_failures_per_minute: int = 10,
        max_upload_bytes: int | None = None,
        limiters: tuple[Limiter, Limiter] | None = None,
    ) -> None:
        """`limiters` (requests, auth failures) default to buckets in this process's memory; a server with
        several workers passes ones in a shared database (`assistant.api.ratelimit.shared_limiters`)."""
        self.app = app
        self.api_keys = list(api_keys)
        self.limiter, self.auth_failures = limiters or (
            RateLimiter(rate_limit_per_minute),
            RateLimiter(auth_failures_per_minute),
        )
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes or max_body_bytes  # library uploads (UPLOAD_PREFIX)
        self.log = configure_access_log()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        outcome: dict[str, Any] = {"status": 500, "started": False}

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                outcome["started"] = True
                tags = [(b"x-request-id", request_id.encode())]
                generation = scope["state"].get("generation")
                if generation:
                    tags.append((b"x-index-generation", str(generation).encode()))
                message["headers"] = [*message.get("headers", []), *tags]
            await send(message)

        try:
            refused = await self.refusal(scope, headers)
            if refused is not None:
                status, kind, detail, extra = refused
                await send_error(send_tagged, scope["path"], status, kind, detail, extra)
            else:
                await self.app(scope, self.limit_body(receive, self.body_limit(scope)), send_tagged)
        except Exception as exc:  # the last word: a JSON line in the log, a JSON 500 to the client
            outcome["error"] = type(exc).__name__
            self.log.error(
                "unhandled error",
                exc_info=exc,
                extra={"fields": {"request_id": request_id, "error": type(exc).__name__}},
            )
            if not outcome["started"]:
                detail = f"unexpected server error (request id {request_id}); it was logged"
                await send_error(send_tagged, scope["path"], 500, "InternalError", detail, {})
        finally:
            self.access_line(scope, request_id, outcome, started, headers)

    async def refusal(
        self, scope: Scope, headers: dict[str, str]
    ) -> tuple[int, str, str, dict[str, str]] | None:
        """Why the request is refused before it reaches a route (status, kind, detail, headers), or None."""
        length = headers.get("content-length", "")
        limit = self.body_limit(scope)
        if length.isdigit() and int(length) > limit:
            detail = f"the request body is {length} bytes; the limit is {limit}"
            return 413, "PayloadTooLarge", detail, {}
        if not scope["path"].startswith(PROTECTED_PREFIX) or scope["method"] == "OPTIONS":
            return None
        key = presented_key(headers)
        address = (scope.get("client") or ("?",))[0]
        token = verify(key, self.api_keys) if key and key.startswith(TOKEN_PREFIX) and self.api_keys else None
        if self.api_keys and not key_matches(key, self.api_keys) and not isinstance(token, Verdict):
            wait = await self._acquire(self.auth_failures, address)
            if wait > 0:
                detail = "too many requests with a wrong or missing API key from this address; retry later"
                return 429, "RateLimited", detail, {"Retry-After": str(math.ceil(wait))}
            detail = "a valid API key is required: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"
            if isinstance(token, str):
                detail = token
            return 401, "Unauthorized", detail, {"WWW-Authenticate": "Bearer"}
        client = "ip:" + address
        if isinstance(token, Verdict):  # a widget's short-lived token: the subject's own conversations
            scope["state"]["principal"] = principal_of(token.key + "\0" + token.subject)
            scope["state"]["widget_token"] = True
        elif self.api_keys and key:
            scope["state"]["principal"] = principal_of(key)
            scope["state"]["api_key"] = key
            client = "key:" + key
        wait = await self._acquire(self.limiter, client)
        if wait > 0:
            detail = f"rate limit of {self.limiter.per_minute} requests a minute reached; retry later"
            return 429, "RateLimited", detail, {"Retry-After": str(math.ceil(wait))}
        return None

    async def _acquire(self, limiter: Limiter, client: str) -> float:
        if not limiter.shared:  # memory: no waiting, so not worth a thread
            return limiter.acquire(client)
        return await anyio.to_thread.run_sync(limiter.acquire, client)

    def body_limit(self, scope: Scope) -> int:
        upload = scope["method"] == "PUT" and scope["path"].startswith(UPLOAD_PREFIX)
        return self.max_upload_bytes if upload else self.max_body_bytes

    def limit_body(self, receive: Receive, limit: int) -> Receive:
        """`receive`, refusing bodies (chunked ones included) longer than the limit."""
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"the request body is over the limit of {limit} bytes")
            return message

        return limited

    def access_line(
        self, scope: Scope, request_id: str, outcome: dict[str, Any], started: float, headers: dict[str, str]
    ) -> None:
        route = scope.get("route")
        key = presented_key(headers)
        fields = {
            "request_id": request_id,
            "method": scope["method"],
            "route": getattr(route, "path", None)
            or ("static" if scope["path"].startswith("/static/") else "-"),
            "status": outcome["status"],
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            "key": hashlib.sha256(key.encode()).hexdigest()[:8] if key else None,
        }
        if "error" in outcome:
            fields["error"] = outcome["error"]
        self.log.info("request", extra={"fields": fields})
