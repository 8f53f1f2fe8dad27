"""The library routes: admin key required, uploads checked, changed and rebuilt in the background."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.service import Assistant, build_from_settings
from assistant.settings import ApiSettings, Settings

from .conftest import FIXTURE_CORPUS
from .fakes import FakeEmbedder

ADMIN = {"Authorization": "Bearer admin-key"}
TEXT = (
    "Gout care leaflet\n\nAllopurinol is the first-line urate-lowering drug for people with gout and "
    "frequent flares. Start at a low dose and titrate monthly until the serum urate is below target.\n"
)


@pytest.fixture
def client(settings: Settings, tmp_path: Path, fake_embedder: FakeEmbedder) -> Iterator[TestClient]:
    lib = tmp_path / "lib"
    shutil.copytree(FIXTURE_CORPUS, lib)
    settings.corpus = [lib]
    settings.api = ApiSettings(api_keys=["user-key"], admin_keys=["admin-key"], watch_interval_s=0.05)
    build_from_settings(settings, fake_embedder, progress=False)
    assistant = Assistant.open(settings, embedder=fake_embedder, build_if_missing=False)
    with TestClient(create_app(settings, assistant)) as c:
        yield c


def wait_for(check: object, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_library_routes_need_an_admin_key(client: TestClient) -> None:
    assert client.get("/v1/library").status_code == 401  # no key at all: the edge refuses
    user = client.get("/v1/library", headers={"X-API-Key": "user-key"})
    assert user.status_code == 403 and user.json()["error"] == "Forbidden"
    assert client.get("/v1/library", headers=ADMIN).status_code == 200


def test_without_admin_keys_the_routes_are_off(settings: Settings, assistant: Assistant) -> None:
    with TestClient(create_app(settings, assistant)) as c:
        r = c.get("/v1/library/status")
    assert r.status_code == 403 and "ASSISTANT_API__ADMIN_KEYS" in r.json()["detail"]


def test_upload_is_added_rebuilt_in_the_background_and_served(client: TestClient) -> None:
    r = client.put(
        "/v1/library/files/leaflet.txt?by=nurse",
        content=TEXT.encode(),
        headers=ADMIN,
    )
    assert r.status_code == 400 and "missing metadata source_type, publisher, year" in r.json()["detail"]
    assert r.json()["detail"].startswith("nothing was changed: leaflet.txt: missing metadata")  # no paths
    meta = b"source_type: patient-information\npublisher: Gout Trust\nyear: 2025\n"
    assert client.put("/v1/library/files/leaflet.meta.yaml", content=meta, headers=ADMIN).status_code == 422
    # a sidecar cannot be uploaded alone: the metadata goes with the file as a Markdown front matter instead
    md = b"---\ntitle: Gout leaflet\nsource_type: patient-information\npublisher: Gout Trust\nyear: 2025\n" \
         b"url: https://example.org/gout\n---\n\n" + TEXT.encode()  # fmt: skip
    r = client.put("/v1/library/files/leaflet.md?by=nurse", content=md, headers=ADMIN)
    assert r.status_code == 202, r.text
    assert r.json() == {
        "changes": [{"action": "added", "file": "leaflet.md", "doc_ids": ["leaflet"], "detail": ""}],
        "rebuild": "started",
    }

    def served() -> bool:  # a patient-information leaflet: asked for the patient audience, which prefers it
        question = {"question": "allopurinol gout leaflet", "audience": "patient"}
        answer = client.post("/v1/ask", json=question, headers=ADMIN)
        return any(ref["doc_id"] == "leaflet" for ref in answer.json().get("references", []))

    wait_for(served)
    rows = {d["doc_id"]: d for d in client.get("/v1/library", headers=ADMIN).json()}
    assert rows["leaflet"]["file"] == "leaflet.md" and rows["leaflet"]["source_type"] == "patient-information"

    r = client.post("/v1/library/documents/leaflet/review", json={"status": "retired", "by": "Dr B"},
                    headers=ADMIN)  # fmt: skip
    assert r.status_code == 202 and r.json()["changes"][0]["action"] == "reviewed"
    wait_for(lambda: not served())  # a retired document is never quoted
    shown = client.get("/v1/library/documents/leaflet", headers=ADMIN).json()
    assert shown["review_status"] == "retired" and shown["reviewed_by"] == "Dr B"
    assert [(h["action"], h["by"]) for h in shown["history"]] == [("added", "nurse"), ("reviewed", "Dr B")]
    assert client.delete("/v1/library/documents/leaflet", headers=ADMIN).status_code == 202
    again = client.delete("/v1/library/documents/leaflet", headers=ADMIN)
    assert again.status_code == 404 and again.json()["error"] == "NotInLibrary"


@pytest.mark.parametrize("name", ["../x.txt", ".hidden.txt", "a.exe", "noext"])
def test_bad_upload_names_are_refused(client: TestClient, name: str) -> None:
    r = client.put(f"/v1/library/files/{name}", content=b"x", headers=ADMIN)
    assert r.status_code in (404, 422), r.text


def test_a_bad_review_is_a_422_and_an_unknown_document_a_404(client: TestClient) -> None:
    bad = client.post("/v1/library/documents/gout-test-study/review", json={"status": "ok", "by": "x"},
                      headers=ADMIN)  # fmt: skip
    assert bad.status_code == 422
    r = client.post(
        "/v1/library/documents/nope/review", json={"status": "approved", "by": "x"}, headers=ADMIN
    )
    assert r.status_code == 404 and r.json()["error"] == "NotInLibrary"
