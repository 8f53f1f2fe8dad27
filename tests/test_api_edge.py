"""The API's edge: keys, CORS, rate limits, body and question limits, time limit, JSON errors, access logs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.api.ratelimit import RateLimiter
from assistant.service import Assistant
from assistant.settings import ApiSettings, Settings

from .conftest import Lines

ASK = {"question": "How is gout treated?"}


def make_client(settings: Settings, assistant: Assistant, **api: Any) -> TestClient:
    changed = settings.model_copy(update={"api": ApiSettings(**api)})
    return TestClient(create_app(changed, assistant), raise_server_exceptions=False)


@pytest.fixture
def keyed(built_settings: Settings, assistant: Assistant) -> Iterator[TestClient]:
    with make_client(built_settings, assistant, api_keys=["k1", "k2"], rate_limit_per_minute=0) as c:
        yield c


def test_api_routes_need_a_key_when_keys_are_set(keyed: TestClient) -> None:
    missing = keyed.post("/v1/ask", json=ASK)
    assert missing.status_code == 401 and missing.json()["error"] == "Unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert keyed.post("/v1/ask", json=ASK, headers={"Authorization": "Bearer k3"}).status_code == 401
    assert keyed.post("/v1/ask", json=ASK, headers={"Authorization": "Bearer k1"}).status_code == 200
    assert keyed.post("/v1/ask", json=ASK, headers={"X-API-Key": "k2"}).status_code == 200
    assert keyed.get("/v1/models").status_code == 401
    assert keyed.get("/v1/sources/anything").status_code == 401  # 401 before 404: ids are not probed
    # health and the page (which asks for a key) need none
    for path in ("/livez", "/readyz", "/", "/widget.js", "/static/app.js"):
        assert keyed.get(path).status_code == 200, path


def test_the_spec_declares_the_keys_when_set(keyed: TestClient) -> None:
    spec = keyed.get("/openapi.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert spec["paths"]["/v1/ask"]["post"]["security"] == [{"bearer": []}, {"apiKey": []}]
    assert "security" not in spec["paths"]["/livez"]["get"]


def test_rate_limit_per_key_answers_429_with_retry_after(
    built_settings: Settings, assistant: Assistant
) -> None:
    with make_client(built_settings, assistant, api_keys=["a", "b"], rate_limit_per_minute=2) as c:
        a = {"X-API-Key": "a"}
        assert [c.get("/v1/models", headers=a).status_code for _ in range(3)] == [200, 200, 429]
        limited = c.get("/v1/models", headers=a)
        assert limited.json()["error"]["code"] == "RateLimited"  # OpenAI's shape on /v1/models
        # 2 a minute: one token back every 30 s, so the wait is at most 30 s and at least 1
        assert 1 <= int(limited.headers["retry-after"]) <= 30
        assert c.get("/v1/models", headers={"X-API-Key": "b"}).status_code == 200  # its own bucket
        assert c.get("/livez").status_code == 200  # health is never limited


def test_token_bucket_by_hand() -> None:
    limiter = RateLimiter(per_minute=60)  # one token a second, bursts of 60
    assert all(limiter.acquire("c", now=0.0) == 0.0 for _ in range(60))
    assert limiter.acquire("c", now=0.0) == pytest.approx(1.0)  # empty: the next token in 1 s
    assert limiter.acquire("c", now=0.5) == pytest.approx(0.5)  # half a token back
    assert limiter.acquire("c", now=1.0) == 0.0
    assert limiter.acquire("other", now=1.0) == 0.0
    assert RateLimiter(per_minute=0).acquire("c", now=0.0) == 0.0  # off


def test_bodies_over_the_limit_are_413(built_settings: Settings, assistant: Assistant) -> None:
    with make_client(built_settings, assistant, max_body_bytes=1024) as c:
        big = {"question": "gout " * 300}
        r = c.post("/v1/ask", json=big)
        assert r.status_code == 413 and r.json()["error"] == "PayloadTooLarge"
        chunked = c.post(
            "/v1/ask",
            content=iter([b'{"question": "', b"gout " * 300, b'"}']),
            headers={"content-type": "application/json"},
        )
        assert chunked.status_code == 413 and chunked.json()["error"] == "PayloadTooLarge"
        assert c.post("/v1/ask", json=ASK).status_code == 200


def test_questions_over_the_length_limit_are_422(built_settings: Settings, assistant: Assistant) -> None:
    short = built_settings.model_copy(update={"max_question_chars": 20})
    assistant.settings = short
    with TestClient(create_app(short, assistant)) as c:
        r = c.post("/v1/ask", json={"question": "How is gout treated in older adults?"})
        assert r.status_code == 422 and r.json()["error"] == "InvalidQuestion"
        assert "the limit is 20" in r.json()["detail"]


def test_requests_past_the_time_limit_are_503(
    built_settings: Settings, assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assistant, "ask", lambda *a, **k: time.sleep(1.0))
    with make_client(built_settings, assistant, request_timeout_s=0.05) as c:
        r = c.post("/v1/ask", json=ASK)
        assert r.status_code == 503 and r.json()["error"] == "RequestTimeout"


def test_crashes_are_500_json_without_details(
    built_settings: Settings, assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("secret patient detail")

    monkeypatch.setattr(assistant, "ask", boom)
    with make_client(built_settings, assistant) as c:
        r = c.post("/v1/ask", json=ASK)
        assert r.status_code == 500 and r.json()["error"] == "InternalError"
        assert "secret" not in r.text


def test_cors_allows_listed_origins_only(built_settings: Settings, assistant: Assistant) -> None:
    with make_client(built_settings, assistant, cors_origins=["https://clinic.example"], api_keys=["k"]) as c:
        preflight = c.options(
            "/v1/ask",
            headers={
                "Origin": "https://clinic.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://clinic.example"
        refused = c.options(
            "/v1/ask", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert refused.status_code == 400 and refused.json()["error"] == "CorsRejected"
        ok = c.post("/v1/ask", json=ASK, headers={"Origin": "https://clinic.example", "X-API-Key": "k"})
        assert ok.headers["access-control-allow-origin"] == "https://clinic.example"
        # errors carry CORS headers too, so the page can read them
        denied = c.post("/v1/ask", json=ASK, headers={"Origin": "https://clinic.example"})
        assert (
            denied.status_code == 401
            and denied.headers["access-control-allow-origin"] == "https://clinic.example"
        )
        other = c.post("/v1/ask", json=ASK, headers={"Origin": "https://evil.example", "X-API-Key": "k"})
        assert "access-control-allow-origin" not in other.headers
        assert "https://clinic.example" in c.get("/").headers["content-security-policy"]


def test_access_log_is_json_lines_without_question_or_answer(client_log: tuple[TestClient, Lines]) -> None:
    client, handler = client_log
    r = client.post(
        "/v1/ask", json={"question": "Zebrafish gout treated?"}, headers={"X-Request-ID": "abc-123"}
    )
    assert r.headers["x-request-id"] == "abc-123"
    generated = client.get("/v1/nowhere").headers["x-request-id"]
    first, second = (json.loads(line) for line in handler.lines[-2:])
    assert {k: first[k] for k in ("request_id", "method", "route", "status")} == {
        "request_id": "abc-123", "method": "POST", "route": "/v1/ask", "status": 200,
    }  # fmt: skip
    assert first["latency_ms"] >= 0
    assert (second["request_id"], second["route"], second["status"]) == (generated, "-", 404)
    text = "\n".join(handler.lines)
    assert "Zebrafish" not in text and "gout" not in text.lower()
