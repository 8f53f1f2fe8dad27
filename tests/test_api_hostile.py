"""The API against hostile callers: other keys' conversations, guessed keys, abandoned requests, and strings
built to break things (lone surrogates, NUL, bidi controls, megabytes) in every slot of every route."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from assistant.service import Assistant
from assistant.settings import Settings

from .conftest import Lines
from .test_api_edge import make_client

ASK = {"question": "How is gout treated?"}


def key(k: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {k}"}


def test_a_conversation_belongs_to_the_key_that_made_it(
    built_settings: Settings, assistant: Assistant
) -> None:
    with make_client(built_settings, assistant, api_keys=["k1", "k2"], rate_limit_per_minute=0) as c:
        cid = c.post("/v1/ask", json=ASK, headers=key("k1")).json()["conversation_id"]
        follow = {"question": "How is it diagnosed?", "conversation_id": cid}
        assert c.get(f"/v1/conversations/{cid}", headers=key("k2")).status_code == 404
        assert c.post("/v1/ask", json=follow, headers=key("k2")).status_code == 404
        assert c.delete(f"/v1/conversations/{cid}", headers=key("k2")).status_code == 404
        # the owner still has all of it
        assert c.post("/v1/ask", json=follow, headers=key("k1")).status_code == 200
        turns = c.get(f"/v1/conversations/{cid}", headers=key("k1")).json()["turns"]
        assert [t["question"] for t in turns] == ["How is gout treated?", "How is it diagnosed?"]
        assert c.delete(f"/v1/conversations/{cid}", headers=key("k1")).status_code == 204


def test_without_keys_conversations_are_shared_as_before(
    built_settings: Settings, assistant: Assistant
) -> None:
    with make_client(built_settings, assistant) as c:
        cid = c.post("/v1/ask", json=ASK).json()["conversation_id"]
        assert c.get(f"/v1/conversations/{cid}").status_code == 200


def test_wrong_keys_are_rate_limited_per_address(built_settings: Settings, assistant: Assistant) -> None:
    with make_client(built_settings, assistant, api_keys=["k1"], auth_failures_per_minute=3) as c:
        codes = [c.post("/v1/ask", json=ASK, headers=key(f"guess{i}")).status_code for i in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        refused = c.get("/v1/models", headers=key("guess9"))
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"]["type"] == "rate_limit_error"  # OpenAI's shape on /v1/models
        assert c.post("/v1/ask", json=ASK, headers=key("k1")).status_code == 200  # the right key still works


def _turns(settings: Settings) -> int:
    with sqlite3.connect(settings.data_dir / "conversations.sqlite3") as db:
        return int(db.execute("SELECT count(*) FROM turns").fetchone()[0])


def test_a_request_that_times_out_stores_nothing(
    built_settings: Settings, assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished = threading.Event()
    retrieve = assistant.retrieve

    def slow_retrieve(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.5)
        try:
            return retrieve(*args, **kwargs)
        finally:
            finished.set()

    monkeypatch.setattr(assistant, "retrieve", slow_retrieve)
    assert assistant.conversations is not None
    with make_client(built_settings, assistant, request_timeout_s=0.1) as c:
        before = _turns(built_settings)
        r = c.post("/v1/ask", json=ASK)
        assert r.status_code == 503 and r.json()["error"] == "RequestTimeout"
        assert finished.wait(5)
        time.sleep(0.3)  # the abandoned work runs to its end: it must not store its turn
        assert _turns(built_settings) == before


SURROGATE = '"\\ud800"'  # JSON text of a lone surrogate: valid JSON, not valid Unicode


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/ask", '{"question": "gout \\udc00?"}'),
        ("/v1/ask/stream", '{"question": "gout?", "filters": {"topics": [' + SURROGATE + "]}}"),
        (
            "/v1/chat/completions",
            '{"model": "m", "messages": [{"role": "user", "content": "gout?"}, '
            '{"role": "assistant", "content": "x \\ud83d"}, {"role": "user", "content": "and?"}]}',
        ),
        (
            "/v1/chat/completions",
            '{"model": ' + SURROGATE + ', "messages": [{"role": "user", "content": "a"}]}',
        ),
    ],
)
def test_lone_surrogates_anywhere_are_422_and_the_connection_survives(
    client_log: tuple[TestClient, Lines], path: str, body: str
) -> None:
    c, lines = client_log
    r = c.post(path, content=body.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    detail = r.json()["error"]["message"] if path.startswith("/v1/chat/") else r.json()["detail"]
    assert "surrogate" in json.dumps(detail)
    assert c.post("/v1/ask", json=ASK).status_code == 200  # the same client goes on
    assert all(json.loads(line)["level"] != "error" for line in lines.lines)


HOSTILE = st.one_of(
    st.text(max_size=40),  # any code point, lone surrogates included
    st.sampled_from(["\ud800", "\udfff gout", "gout\x00", "\u202egout\u202c", "\ufeff", "\u200b" * 50]),
    st.sampled_from(["gout " * 200_000, "\ud800" * 300_000, "[1]" * 10_000]),  # ~1 MB
    st.text(alphabet=st.sampled_from("\x00\u202e\u2066\ud800\U0001f600a "), max_size=200),
)


def _json(value: Any) -> bytes:
    return json.dumps(
        value
    ).encode()  # ensure_ascii: surrogates go as \\ud800 escapes, as a client could send


def requests_with(s: str) -> list[tuple[str, str, bytes | None]]:
    """The string in every slot of every route: path parameters, body fields, chat history."""
    ask_bodies = [
        {"question": s},
        {"question": "gout?", "conversation_id": s},
        {"question": "gout?", "filters": {"topics": [s], "specialties": [s]}},
    ]
    chat_bodies = [
        {"model": s or "m", "messages": [{"role": "user", "content": s}]},
        {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": s}]}]},
        {
            "model": "m",
            "messages": [{"role": "assistant", "content": s}, {"role": "user", "content": "and?"}],
        },
        {"model": "m", "messages": [{"role": "user", "content": "gout?"}], "user": s},
    ]
    segment = quote(s[:2000].encode("utf-8", "surrogatepass"), safe="")  # URLs: clients refuse longer
    return [
        *(("POST", route, _json(b)) for route in ("/v1/ask", "/v1/ask/stream") for b in ask_bodies),
        *(("POST", "/v1/chat/completions", _json(b)) for b in chat_bodies),
        *(("POST", "/v1/chat/completions", _json(b | {"stream": True})) for b in chat_bodies[:1]),
        ("POST", "/v1/ask", s.encode("utf-8", "surrogatepass")),  # not JSON at all
        ("GET", f"/v1/conversations/{segment}", None),
        ("DELETE", f"/v1/conversations/{segment}", None),
        ("GET", f"/v1/sources/{segment}", None),
        ("GET", f"/v1/models?x={segment}", None),
        ("GET", f"/readyz?{segment}", None),
        ("GET", f"/livez?{segment}", None),
    ]


def test_hostile_strings_in_every_slot_of_every_route_are_never_a_500(
    built_settings: Settings, assistant: Assistant
) -> None:
    seen: dict[int, int] = {}
    with make_client(built_settings, assistant, rate_limit_per_minute=0, max_body_bytes=4_000_000) as c:

        @given(HOSTILE)
        @hsettings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        def check(s: str) -> None:
            for method, path, body in requests_with(s):
                headers = {"content-type": "application/json"} if body is not None else {}
                r = c.request(method, path, content=body, headers=headers)
                assert r.status_code < 500, (method, path, r.status_code, r.text[:300])
                assert r.headers["content-type"].startswith(("application/json", "text/event-stream"))
                seen[r.status_code] = seen.get(r.status_code, 0) + 1

        check()
    assert {200, 422} <= set(seen)  # both answered and refused inputs were among them


def test_a_crash_is_one_json_log_line_and_a_json_500_on_a_connection_that_goes_on(
    client_log: tuple[TestClient, Lines], assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    c, lines = client_log  # a TestClient that raises whatever escapes the app: nothing may
    calls = {"n": 0}
    ask = assistant.ask
    secret = "Patient Zanzibar-4471"  # what an exception's message might quote

    def crash_once(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError(secret)
        return ask(*args, **kwargs)

    monkeypatch.setattr(assistant, "ask", crash_once)
    r = c.post(
        "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "gout?"}]}
    )
    assert r.status_code == 500 and r.json()["error"]["code"] == "InternalError"
    assert r.json()["error"]["message"].startswith("unexpected server error (request id ")
    assert c.post("/v1/ask", json=ASK).status_code == 200
    records = [json.loads(line) for line in lines.lines]  # every line is JSON
    crashed = [r for r in records if r["msg"] == "unhandled error"]
    assert len(crashed) == 1 and crashed[0]["error"] == "RuntimeError" and "trace" in crashed[0]
    assert "Zanzibar" not in "\n".join(lines.lines)
