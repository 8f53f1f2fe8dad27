"""The settings groups of the running service: conversations, the HTTP API and the library (re-exported by
`assistant.settings`, where the root `Settings` reads them from `ASSISTANT_...` variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class LibrarySettings(BaseModel):
    dir: Path | None = Field(
        None,
        description="The folder `assistant library add` and `sync` copy files into (added to the corpus "
        "folders when it is not one of them); default: the first corpus folder.",
    )
    serve: Literal["approved", "all"] = Field(
        "all",
        description="Which documents answers may quote: every one not retired (all), or only those reviewed "
        "as approved. A deployment sets approved; all lets the shipped corpus work out of the box.",
    )
    outdated_after_years: int = Field(
        10,
        ge=1,
        le=100,
        description="An answer flags a cited source last updated (or, lacking that, published) longer ago.",
    )


class ConversationSettings(BaseModel):
    database_url: str | None = Field(
        None,
        description="A PostgreSQL URL (postgresql://user:password@host:5432/db) to keep conversations and rate "
        "limits in, shared by every worker and replica; default: SQLite in ASSISTANT_DATA_DIR.",
    )
    database_pool: int = Field(
        8, ge=1, le=256, description="Connections each process keeps open to the PostgreSQL database."
    )
    expire_days: float = Field(30.0, gt=0, description="Conversations untouched this long are deleted.")
    expire_every_s: float = Field(
        3600.0, gt=0, description="How often the server deletes expired conversations."
    )
    strategy: Literal["entity-carry", "prepend", "none"] = Field(
        "entity-carry", description="How follow-up questions are resolved into a standalone retrieval query."
    )
    prefer_topic: bool = Field(
        True, description="Follow-up turns prefer passages of the conversation's topic (fused in by rank)."
    )
    rewriter_url: str | None = Field(
        None,
        description="Optional OpenAI-compatible chat endpoint base URL for rewriting follow-up questions.",
    )
    rewriter_model: str | None = Field(None, description="Model name to send to the rewriter endpoint.")
    rewriter_api_key: str | None = Field(
        None, description="Bearer key for the rewriter endpoint, if it needs one."
    )
    rewriter_timeout_s: float = Field(
        10.0, gt=0, description="Give up on the rewriter after this many seconds."
    )


class ApiSettings(BaseModel):
    api_keys: list[str] = Field(
        default_factory=list, description="When non-empty, every route but health needs one."
    )
    admin_keys: list[str] = Field(
        default_factory=list,
        description="Keys that may change the library over HTTP (/v1/library/...); none: those routes answer 403.",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser."
    )
    max_body_bytes: int = Field(64_000, ge=1024, description="Largest accepted request body.")
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Server processes sharing one read-only index (`assistant serve --workers N` sets it); "
        "with more than one, rate limits live in a shared database and the workers never rebuild the index.",
    )
    rate_limit_per_minute: int = Field(
        120, ge=0, description="Requests per minute per key or client (0 = off)."
    )
    request_timeout_s: float = Field(30.0, gt=0, description="Requests running longer are answered 503.")
    auth_failures_per_minute: int = Field(
        10,
        ge=0,
        description="Requests with a wrong or missing key per minute per client address, then 429 (0 = off).",
    )
    watch_interval_s: float = Field(
        2.0,
        ge=0,
        description="How often the server looks for a newly published index generation (0 = never).",
    )
