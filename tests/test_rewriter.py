"""The optional follow-up rewriter, against a fake OpenAI-compatible chat server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from assistant.followup import TurnContext
from assistant.rewriter import ChatRewriter
from assistant.service import Assistant


class FakeChat(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []
    reply: str | None = "How is gout treated?"
    status = 200

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeChat.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        payload = {"choices": [{"message": {"role": "assistant", "content": FakeChat.reply}}]}
        data = json.dumps(payload if FakeChat.status == 200 else {"error": "down"}).encode()
        self.send_response(FakeChat.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def fake_server() -> Iterator[str]:
    FakeChat.requests, FakeChat.reply, FakeChat.status = [], "How is gout treated?", 200
    server = HTTPServer(("127.0.0.1", 0), FakeChat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


HISTORY = [TurnContext("How is gout diagnosed?", "How is gout diagnosed?", "Gout")]


def test_rewriter_sends_an_openai_request_and_reads_the_reply(fake_server: str) -> None:
    rewriter = ChatRewriter(fake_server + "/", "local-model", api_key="k1")
    assert rewriter.rewrite("How is it treated?", HISTORY) == "How is gout treated?"
    (request,) = FakeChat.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer k1"
    body = request["body"]
    assert body["model"] == "local-model" and body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "How is gout diagnosed?" in body["messages"][1]["content"]
    assert "How is it treated?" in body["messages"][1]["content"]


@pytest.mark.parametrize(("status", "reply"), [(500, "x"), (200, None), (200, "   ")])
def test_rewriter_failures_fall_back_to_none(fake_server: str, status: int, reply: str | None) -> None:
    FakeChat.status, FakeChat.reply = status, reply
    assert ChatRewriter(fake_server, "m").rewrite("How is it treated?", HISTORY) is None


def test_unreachable_rewriter_falls_back(assistant: Assistant) -> None:
    assistant.rewriter = ChatRewriter("http://127.0.0.1:9", "m", timeout_s=0.5)
    first = assistant.ask("How is gout diagnosed?")
    second = assistant.ask("And how is it treated?", conversation_id=first.conversation_id)
    assert second.resolved_query == "And how is it treated? Gout"  # the offline resolution


def test_assistant_uses_the_rewrite_for_follow_ups(assistant: Assistant, fake_server: str) -> None:
    assistant.rewriter = ChatRewriter(fake_server, "m")
    first = assistant.ask("How is gout diagnosed?")
    assert FakeChat.requests == []  # a first turn is never sent to the model
    second = assistant.ask("And how is it treated?", conversation_id=first.conversation_id)
    assert second.resolved_query == "How is gout treated?"
    assert any(r.doc_id.startswith("gout") for r in second.references)
