"""The native HTTP API through FastAPI's TestClient, on the fixture corpus with the fake embedder."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.errors import IndexNotFound
from assistant.service import Assistant
from assistant.settings import Settings


@pytest.fixture
def client(built_settings: Settings, assistant: Assistant) -> Iterator[TestClient]:
    with TestClient(create_app(built_settings, assistant)) as c:
        yield c


def events(text: str) -> list[tuple[str, dict]]:
    """(event name, data) of a Server-Sent Events body."""
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_ask_returns_the_answer_contract_and_remembers_the_conversation(client: TestClient) -> None:
    r = client.post("/v1/ask", json={"question": "How is gout treated?"})
    assert r.status_code == 200
    first = r.json()
    assert set(first) >= {
        "conversation_id", "question", "resolved_query", "abstained", "answer_markdown", "answer_text",
        "sentences", "references", "suggested_followups", "disclaimer", "timings_ms",
    }  # fmt: skip
    assert first["abstained"] is False
    # the gout guideline's treatment sentence leads, cited [1], and reference 1 is that guideline
    assert first["sentences"][0]["text"].startswith("Acute gout flares are treated")
    assert first["sentences"][0]["citations"] == [1]
    assert first["references"][0]["doc_id"] == "gout-test-guideline"
    cid = first["conversation_id"]

    # "it" carries the conversation's topic (Gout) into the retrieval query
    r = client.post("/v1/ask", json={"question": "How is it diagnosed?", "conversation_id": cid})
    assert r.status_code == 200 and r.json()["resolved_query"] == "How is it diagnosed? Gout"
    assert r.json()["conversation_id"] == cid

    conv = client.get(f"/v1/conversations/{cid}").json()
    assert [t["question"] for t in conv["turns"]] == ["How is gout treated?", "How is it diagnosed?"]
    assert conv["turns"][1]["answer"]["resolved_query"] == "How is it diagnosed? Gout"

    assert client.delete(f"/v1/conversations/{cid}").status_code == 204
    gone = client.get(f"/v1/conversations/{cid}")
    assert gone.status_code == 404 and gone.json()["error"] == "ConversationNotFound"
    again = client.delete(f"/v1/conversations/{cid}")
    assert again.status_code == 404


def test_stream_sends_the_answer_sentence_by_sentence(client: TestClient) -> None:
    plain = client.post("/v1/ask", json={"question": "How is gout treated?"}).json()
    r = client.post("/v1/ask/stream", json={"question": "How is gout treated?"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    got = events(r.text)
    names = [name for name, _ in got]
    n = len(plain["sentences"])
    assert names == ["meta", *["sentence"] * n, "references", "followups", "disclaimer", "done"]
    assert got[0][1]["resolved_query"] == "How is gout treated?" and got[0][1]["conversation_id"]
    streamed = [{k: d[k] for k in ("text", "citations", "section")} for name, d in got if name == "sentence"]
    assert streamed == plain["sentences"]
    assert [d["index"] for name, d in got if name == "sentence"] == list(range(n))
    assert got[-4][1]["references"] == plain["references"]
    assert got[-2][1]["disclaimer"] == plain["disclaimer"]


def test_abstention_streams_one_abstained_event(client: TestClient) -> None:
    got = events(client.post("/v1/ask/stream", json={"question": "What is the weather on Mars?"}).text)
    assert [n for n, _ in got] == ["meta", "abstained", "references", "followups", "disclaimer", "done"]
    assert got[0][1]["abstained"] is True
    assert got[1][1]["text"].startswith("The indexed sources do not answer this question.")


def test_source_has_the_passage_its_document_and_neighbours(client: TestClient) -> None:
    # the gout guideline has one passage per section: Presentation (0), Diagnosis (1), Treatment (2)
    answer = client.post("/v1/ask", json={"question": "How is gout diagnosed with crystals?"}).json()
    pid = next(r["passage_id"] for r in answer["references"] if r["doc_id"] == "gout-test-guideline")
    src = client.get(f"/v1/sources/{pid}").json()
    assert src["passage_id"] == pid and src["document"]["publisher"] == "Test Society of Rheumatology"
    assert src["document"]["link"] == "https://example.org/gout-guideline"
    missing = client.get("/v1/sources/no-such-passage")
    assert missing.status_code == 404 and missing.json()["error"] == "PassageNotFound"


def test_middle_passage_has_both_neighbours(client: TestClient, assistant: Assistant) -> None:
    middle = next(
        p for p in assistant.index.passages if p.doc_id == "gout-test-guideline" and p.position == 1
    )
    src = client.get(f"/v1/sources/{middle.passage_id}").json()
    assert src["section"] == "Diagnosis"
    assert [n["section"] for n in src["neighbours"]] == ["Presentation", "Treatment"]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"question": ""}, "InvalidRequest"),
        ({"question": " \t "}, "InvalidRequest"),
        ({"question": "x" * 2001}, "InvalidQuestion"),
        ({"question": "\u008d\u200b"}, "InvalidRequest"),  # only control and zero-width characters
        ({"question": "?!"}, "InvalidRequest"),
        ({"question": "gout", "top_k": 0}, "InvalidRequest"),
        ({"question": "gout", "filters": {"source_types": ["blog"]}}, "InvalidRequest"),
        ({"question": "gout", "surprise": 1}, "InvalidRequest"),
        ({}, "InvalidRequest"),
    ],
)
def test_bad_requests_are_422_json(client: TestClient, body: dict, kind: str) -> None:
    r = client.post("/v1/ask", json=body)
    assert r.status_code == 422
    assert r.json()["error"] == kind and r.json()["detail"]


def test_malformed_json_unknown_routes_and_methods_are_json_errors(client: TestClient) -> None:
    bad = client.post("/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert bad.status_code == 422 and bad.json()["error"] == "InvalidRequest"
    nowhere = client.get("/v1/nowhere")
    assert nowhere.status_code == 404 and nowhere.json() == {
        "error": "NotFound",
        "detail": "no route GET /v1/nowhere; see /docs for the API",
    }
    wrong = client.put("/v1/ask")
    assert wrong.status_code == 405 and wrong.json()["error"] == "MethodNotAllowed"
    assert wrong.headers["allow"] == "POST"
    # GET and DELETE live in two routes; Allow names both
    assert client.put("/v1/conversations/x").headers["allow"] == "DELETE, GET"
    binary = client.post("/v1/ask", content=b"\xff\xfe", headers={"content-type": "application/json"})
    assert binary.status_code == 422 and binary.json()["error"] == "InvalidRequest"
    unknown = client.post("/v1/ask", json={"question": "gout?", "conversation_id": "nope"})
    assert unknown.status_code == 404 and unknown.json()["error"] == "ConversationNotFound"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/livez").json() == {"status": "ok"}
    ready = client.get("/readyz")
    generation = ready.json().pop("generation")
    assert ready.json() | {"generation": generation} == {
        "status": "ready", "passages": 10, "model": "fake-hash-64", "generation": generation,
        "stale": False, "fallback": False,
    }  # fmt: skip
    assert generation.startswith("gen-") and ready.headers["x-index-generation"] == generation


def test_not_ready_until_the_index_loads(
    built_settings: Settings, assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def slow_open(_settings: Settings, **_options: object) -> Assistant:
        release.wait(10)
        return assistant

    monkeypatch.setattr(Assistant, "open", staticmethod(slow_open))
    with TestClient(create_app(built_settings)) as client:
        waiting = client.get("/readyz")
        assert waiting.status_code == 503 and waiting.json()["error"] == "IndexNotFound"
        assert client.post("/v1/ask", json={"question": "gout?"}).status_code == 503
        assert client.get("/livez").status_code == 200
        release.set()
        for _ in range(200):  # the load finishes in the background; poll until it has
            if client.get("/readyz").status_code == 200:
                break
            threading.Event().wait(0.02)
        assert client.get("/readyz").json()["status"] == "ready"


@pytest.mark.parametrize(
    ("failure", "detail"),
    [
        (IndexNotFound("no index in /x: build one"), "IndexNotFound"),
        (RuntimeError("disk on fire"), "RuntimeError"),
    ],
)
def test_an_index_that_cannot_load_keeps_readyz_503_without_paths(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: Exception,
    detail: str,
) -> None:
    def failing_open(_settings: Settings, **_options: object) -> Assistant:
        raise failure

    monkeypatch.setattr(Assistant, "open", staticmethod(failing_open))
    with TestClient(create_app(settings)) as client:
        for _ in range(200):  # wait for the background load to give up
            if client.app.state.load_error:  # type: ignore[attr-defined]
                break
            threading.Event().wait(0.02)
        r = client.get("/readyz")
        said = "not ready: the index could not be loaded; the server log says why"
        assert r.status_code == 503 and r.json() == {"error": "IndexNotFound", "detail": said}
        assert r.headers["retry-after"] == "5"
    failed = [r for r in caplog.records if r.getMessage().startswith("index load failed")]
    assert failed and failed[0].fields["error"] == detail  # type: ignore[attr-defined]
    if isinstance(failure, IndexNotFound):  # the reason, with its paths, is the operator's to read
        assert "/x" in failed[0].getMessage()


def test_openapi_declares_every_status(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    statuses = lambda path, method: set(spec["paths"][path][method]["responses"])  # noqa: E731
    common = {"401", "413", "422", "429", "503"}
    assert statuses("/v1/ask", "post") == {"200", "404", *common}
    assert (
        spec["paths"]["/v1/ask"]["post"]["responses"]["200"]["links"]["FirstSource"]["operationId"]
        == "get_source"
    )
    assert statuses("/v1/ask/stream", "post") == {"200", "404", *common}
    assert statuses("/v1/conversations/{conversation_id}", "get") == {"200", "404", *common}
    assert statuses("/v1/conversations/{conversation_id}", "delete") == {"204", "404", *common}
    assert statuses("/v1/sources/{passage_id}", "get") == {"200", "404", *common}
    assert statuses("/v1/chat/completions", "post") == {"200", *common}
    assert statuses("/v1/models", "get") == {"200", *common}
    assert statuses("/readyz", "get") == {"200", "503"}
    assert "text/event-stream" in spec["paths"]["/v1/ask/stream"]["post"]["responses"]["200"]["content"]
    limit = spec["components"]["schemas"]["AskRequest"]["properties"]["question"]["maxLength"]
    assert limit == 2000  # the configured max_question_chars
    assert "securitySchemes" not in spec.get("components", {})  # no keys configured


def test_page_widget_and_static_files_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<title>Clinical follow-up assistant</title>" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    widget = client.get("/widget.js")
    assert widget.status_code == 200 and "javascript" in widget.headers["content-type"]
    assert "attachShadow" in widget.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    # the page never inserts server text as HTML
    assert "innerHTML" not in client.get("/static/app.js").text


def test_the_answer_says_how_the_question_was_read(client: TestClient) -> None:
    # "gout" is a word of the fixture library; "treatmnet" is one edit from its "treatment"
    body = client.post("/v1/ask", json={"question": "gout treatmnet"}).json()
    assert '"treatmnet" read as "treatment"' in body["understood"]
    assert "treatment" in body["resolved_query"] and "treatmnet" not in body["resolved_query"]
    got = events(client.post("/v1/ask/stream", json={"question": "gout treatmnet"}).text)
    assert got[0][0] == "meta" and got[0][1]["understood"] == body["understood"]
