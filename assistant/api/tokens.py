"""Short-lived widget tokens, so that a public page never holds a working API key.

The host page's server calls `POST /v1/widget/tokens` with a real API key and hands the token to its page; the
widget sends it as `Authorization: Bearer wt....` until it expires. A token is signed (HMAC-SHA256) with the key
that minted it, so it needs no storage, works across workers, and dies with its key. It cannot mint tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import AssistantError
from .models import ErrorOut, json_number, valid_unicode
from .responses import API_ERRORS

PREFIX = "wt."
TOKEN_PATH = "/v1/widget/tokens"
router = APIRouter()


def _fingerprint(key: str) -> str:
    return hashlib.sha256(b"assistant-widget-key\0" + key.encode()).hexdigest()[:16]


def _signature(key: str, payload: str) -> str:
    digest = hmac.new(key.encode(), b"assistant-widget-token\0" + payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def mint(key: str, ttl_s: int, subject: str, now: float | None = None) -> tuple[str, int]:
    """A token for `subject`, valid `ttl_s` seconds, signed with `key`; and when it expires (Unix time)."""
    expires = int(now if now is not None else time.time()) + ttl_s
    subject_b64 = base64.urlsafe_b64encode(subject.encode()).rstrip(b"=").decode()
    payload = f"{expires}.{_fingerprint(key)}.{subject_b64}"
    return f"{PREFIX}{payload}.{_signature(key, payload)}", expires


class Verdict(BaseModel):
    key: str  # the key that minted the token
    subject: str


def verify(token: str, keys: Sequence[str], now: float | None = None) -> Verdict | str:
    """Who a token speaks for, or why it is refused (a sentence)."""
    parts = token[len(PREFIX) :].split(".") if token.startswith(PREFIX) else []
    if len(parts) != 4 or not parts[0].isdigit():
        return "not a widget token"
    expires, fingerprint, subject_b64, signature = parts
    for key in keys:
        if hmac.compare_digest(_fingerprint(key), fingerprint):
            payload = f"{expires}.{fingerprint}.{subject_b64}"
            if not hmac.compare_digest(_signature(key, payload), signature):
                return "the widget token's signature is wrong"
            if int(expires) <= (now if now is not None else time.time()):
                return "the widget token has expired: fetch a new one from the page's token endpoint"
            try:
                subject = base64.urlsafe_b64decode(subject_b64 + "=" * (-len(subject_b64) % 4)).decode()
            except ValueError:
                return "not a widget token"
            return Verdict(key=key, subject=subject)
    return "the key that minted this widget token is no longer accepted"


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ttl_s: int = Field(600, ge=60, le=3600, description="How long the token is valid, in seconds.")
    subject: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="Whom the token is for (e.g. the host's session id): tokens of one subject share its "
        "conversations, so a widget keeps its conversation across token refreshes. Default: a new one.",
    )

    _numbers = field_validator("ttl_s", mode="before")(json_number)
    _unicode = model_validator(mode="before")(valid_unicode)


class TokenOut(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer TOKEN` (or hand to the widget).")
    expires_in: int = Field(description="Seconds until it expires.")
    expires_at: str = Field(description="When it expires (ISO 8601, UTC).")
    subject: str


class NoKeys(AssistantError):
    """This server has no API keys, so its routes need no token."""

    status_code = 409


class TokenNotAllowed(AssistantError):
    """A widget token cannot mint tokens: a real key must."""

    status_code = 403


@router.post(
    TOKEN_PATH,
    operation_id="mint_widget_token",
    response_model=TokenOut,
    tags=["widget"],
    responses={
        **API_ERRORS,
        403: {"model": ErrorOut, "description": "Called with a widget token rather than an API key"},
        409: {"model": ErrorOut, "description": "The server has no API keys: the widget needs no token"},
    },
    summary="A short-lived token for the chat widget (call it from your server, with your API key)",
)
async def mint_token(request: Request, body: TokenRequest | None = None) -> TokenOut:
    body = body or TokenRequest()
    key = getattr(request.state, "api_key", None)
    if getattr(request.state, "widget_token", False):
        raise TokenNotAllowed("a widget token cannot mint tokens: call this from your server with an API key")
    if not key:
        raise NoKeys("this server has no API keys (ASSISTANT_API__API_KEYS), so the widget needs no token")
    subject = body.subject or secrets.token_urlsafe(12)
    token, expires = mint(key, body.ttl_s, subject)
    when = datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z")
    return TokenOut(token=token, expires_in=body.ttl_s, expires_at=when, subject=subject)
