"""Library administration over HTTP, for a page that uploads: list, status, upload, remove and review.

Every route needs an admin key (`ASSISTANT_API__ADMIN_KEYS`, sent like an API key); with none configured the
routes answer 403. A change is made as `assistant library` makes it (`assistant.library.ops`: checked first,
audited, nothing lost), then the index is rebuilt in the background (only new text is embedded) and served
once published; the answer says `"rebuild": "started"`.
"""

from __future__ import annotations

import functools
import re
import tempfile
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..library import ops
from ..library.cli import status as library_status
from ..library.state import audit_entries
from ..readers import SUFFIXES
from ..service import require_unicode
from ..settings import Settings
from ..types import REVIEW_STATUSES, Document
from .edge import key_matches, presented_key
from .models import valid_unicode
from .responses import API_ERRORS, error

router = APIRouter(tags=["library"])
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    **API_ERRORS,
    400: error("The file cannot be read or lacks metadata; nothing was changed"),
    403: error("An admin key is required (ASSISTANT_API__ADMIN_KEYS), or none is configured"),
    404: error("No such document in the library"),
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,150}$")


class LibraryDocument(BaseModel):
    doc_id: str
    title: str
    source_type: str
    publisher: str
    year: int | None
    link: str | None = None
    review_status: str | None = None
    reviewed_by: str | None = None
    last_reviewed: str | None = None
    last_updated: str | None = None
    file: str | None = None

    @classmethod
    def of(cls, doc: Document) -> LibraryDocument:
        return cls(**{k: v for k, v in doc.__dict__.items() if k in cls.model_fields}, link=doc.link,
                   file=doc.source_file)  # fmt: skip


class ChangeOut(BaseModel):
    action: str = Field(description="added, replaced, unchanged, removed or reviewed")
    file: str
    doc_ids: list[str]
    detail: str = ""


class ChangesOut(BaseModel):
    changes: list[ChangeOut]
    rebuild: str = Field(
        description="`started` when the index is being rebuilt in the background, else `none`"
    )


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(
        description=f"One of {', '.join(REVIEW_STATUSES)}.", pattern="^(" + "|".join(REVIEW_STATUSES) + ")$"
    )
    by: str = Field(min_length=1, max_length=200, pattern=r"\S", description="Who reviewed it.")
    note: str = Field("", max_length=2000)

    _unicode = model_validator(mode="before")(valid_unicode)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    keys = settings.api.admin_keys
    if not keys:
        raise HTTPException(403, "library administration over HTTP is off; set ASSISTANT_API__ADMIN_KEYS")
    headers = {k.lower(): v for k, v in request.headers.items()}
    if not key_matches(presented_key(headers), keys):
        raise HTTPException(403, "an admin key is required: send it as 'Authorization: Bearer KEY'")
    return settings


def _who(request: Request, by: str | None) -> str:
    if by:
        require_unicode(by, "by")
    return by or f"api:{getattr(request.state, 'principal', None) or 'admin'}"


async def _changed(request: Request, changes: list[ops.Change]) -> ChangesOut:
    started = "none"
    if any(c.action not in ("unchanged", "skipped") for c in changes):
        schedule = getattr(request.app.state, "rebuild", None)
        if schedule is not None:
            schedule()
            started = "started"
    out = [ChangeOut(action=c.action, file=c.file, doc_ids=list(c.doc_ids), detail=c.detail) for c in changes]
    return ChangesOut(changes=out, rebuild=started)


async def _run(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))


@router.get("/v1/library", operation_id="library_list", response_model=list[LibraryDocument],
            responses=ADMIN_ERRORS, summary="The documents indexed")  # fmt: skip
async def library_list(request: Request) -> list[LibraryDocument]:
    docs = await _run(ops.documents, _settings(request))
    return [LibraryDocument.of(d) for d in sorted(docs.values(), key=lambda d: d.doc_id)]


@router.get("/v1/library/status", operation_id="library_status", responses=ADMIN_ERRORS,
            summary="What is indexed, stale, left out, and the review counts")  # fmt: skip
async def library_status_route(request: Request) -> dict[str, Any]:
    report: dict[str, Any] = await _run(library_status, _settings(request))
    report.pop("library_dir", None)  # no server paths to HTTP callers
    return report


class LibraryDocumentDetail(LibraryDocument):
    keywords: list[str] = Field(default_factory=list)
    history: list[dict[str, str]] = Field(
        default_factory=list,
        description="The audit log's entries for this document (at, by, action, file, detail).",
    )


@router.get("/v1/library/documents/{doc_id}", operation_id="library_show", response_model=LibraryDocumentDetail,
            responses=ADMIN_ERRORS, summary="One document's metadata and history")  # fmt: skip
async def library_show(doc_id: str, request: Request) -> LibraryDocumentDetail:
    settings = _settings(request)
    require_unicode(doc_id, "the document id")
    doc = await _run(ops.find, settings, doc_id)
    entries = await _run(lambda: list(audit_entries(settings.library_dir)))
    history = [
        {k: str(v) for k, v in e.items()} for e in entries if doc_id in str(e.get("doc_id", "")).split(",")
    ]
    base = LibraryDocument.of(doc).model_dump()
    return LibraryDocumentDetail(**base, keywords=list(doc.keywords), history=history)


@router.put(
    "/v1/library/files/{name}", operation_id="library_upload", response_model=ChangesOut, status_code=202,
    responses=ADMIN_ERRORS, summary="Upload a file (the body, as sent) into the library",
)  # fmt: skip
async def library_upload(
    name: str, request: Request, by: str | None = Query(None, max_length=200)
) -> ChangesOut:
    settings = _settings(request)
    require_unicode(name, "the file name")
    if not _NAME.match(name) or Path(name).suffix.lower() not in SUFFIXES:
        raise HTTPException(
            422,
            f"the file name must be letters, digits, '.', '_', '-' or spaces with one of {' '.join(SUFFIXES)}",
        )
    body = await request.body()
    if not body:
        raise HTTPException(422, "the body is empty: send the file's bytes")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(body)
        changes = await _run(ops.add, settings, [path], by=_who(request, by))
    skipped = [c.detail for c in changes if c.action == "skipped"]
    if skipped:
        raise ops.LibraryError(
            f"nothing was changed: {skipped[0].replace(str(path), name)}"
        )  # no server paths
    return await _changed(request, changes)


@router.delete("/v1/library/documents/{doc_id}", operation_id="library_remove", response_model=ChangesOut,
               status_code=202, responses=ADMIN_ERRORS, summary="Remove a document's file")  # fmt: skip
async def library_remove(
    doc_id: str, request: Request, by: str | None = Query(None, max_length=200)
) -> ChangesOut:
    settings = _settings(request)
    require_unicode(doc_id, "the document id")
    change = await _run(ops.remove, settings, doc_id, by=_who(request, by))
    return await _changed(request, [change])


@router.post("/v1/library/documents/{doc_id}/review", operation_id="library_review", response_model=ChangesOut,
             status_code=202, responses=ADMIN_ERRORS, summary="Record a document's review")  # fmt: skip
async def library_review(doc_id: str, body: ReviewIn, request: Request) -> ChangesOut:
    settings = _settings(request)
    require_unicode(doc_id, "the document id")
    change = await _run(ops.review, settings, doc_id, body.status, by=body.by, note=body.note)
    return await _changed(request, [change])
