"""OpenAI-compatible chat completions: shapes, citations, history-driven follow-ups, streaming, the openai client."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.service import Assistant
from assistant.settings import ApiSettings, Settings

GOUT = {"role": "user", "content": "How is gout treated?"}


@pytest.fixture
def client(built_settings: Settings, assistant: Assistant) -> Iterator[TestClient]:
    with TestClient(create_app(built_settings, assistant)) as c:
        yield c


def chat(client: TestClient, messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    r = client.post("/v1/chat/completions", json={"model": "any", "messages": messages, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def data_lines(text: str) -> list[str]:
    return [line[6:] for line in text.split("\n") if line.startswith("data: ")]


def test_completion_has_openai_shape_markdown_citations_and_our_references(
    client: TestClient, assistant: Assistant
) -> None:
    body = chat(client, [{"role": "system", "content": "Be brief."}, GOUT])
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "clinical-followup-assistant"
    (choice,) = body["choices"]
    assert choice["finish_reason"] == "stop" and choice["index"] == 0
    message = choice["message"]
    native = assistant.ask("How is gout treated?", remember=False)
    assert message["role"] == "assistant"
    assert message["content"] == native.answer_markdown
    assert "### References" in message["content"]
    assert message["references"] == [r.model_dump() for r in native.references]
    # one url_citation per reference number per "[n]" marker, pointing at the marker itself
    markers = [m for m in re.finditer(r"(?<!\\)\[(\d+(?:, \d+)*)\]", message["content"])]
    expected = [(m.start(), m.end(), int(n)) for m in markers for n in m.group(1).split(", ")]
    notes = message["annotations"]
    assert len(notes) == len(expected) == sum(len(s.citations) for s in native.sentences)
    titles = {r.n: (r.title, r.url) for r in native.references}
    for note, (start, end, n) in zip(notes, expected, strict=True):
        assert note["type"] == "url_citation"
        cite = note["url_citation"]
        assert (cite["start_index"], cite["end_index"]) == (start, end)
        assert message["content"][start:end].startswith("[")
        assert (cite["title"], cite["url"]) == titles[n]
    assert body["x_answer"]["resolved_query"] == "How is gout treated?"
    assert (
        body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )


def test_the_whole_history_resolves_follow_ups_like_a_stored_conversation(
    client: TestClient, assistant: Assistant
) -> None:
    questions = ["How is gout treated?", "How is it diagnosed?", "And what are its limitations?"]
    native = []
    cid = None
    for q in questions:  # the same questions through the native API's stored conversation
        a = assistant.ask(q, conversation_id=cid)
        cid = a.conversation_id
        native.append(a.resolved_query)
    messages: list[dict[str, Any]] = []
    resolved = []
    for q in questions:
        messages.append({"role": "user", "content": q})
        body = chat(client, messages)
        resolved.append(body["x_answer"]["resolved_query"])
        messages.append({"role": "assistant", "content": body["choices"][0]["message"]["content"]})
    assert resolved == native
    assert resolved[1] == "How is it diagnosed? Gout"
    # without the history the follow-up is taken as it stands
    alone = chat(client, [{"role": "user", "content": "How is it diagnosed?"}])
    assert alone["x_answer"]["resolved_query"] == "How is it diagnosed?"


def test_the_last_user_message_with_text_is_the_question(client: TestClient) -> None:
    trailing = [GOUT, {"role": "assistant", "content": "Let me check."}, {"role": "user", "content": " "}]
    body = chat(client, trailing)
    assert body["x_answer"]["resolved_query"] == "How is gout treated?"


def test_content_parts_are_read_as_text(client: TestClient) -> None:
    parts = [
        {"type": "text", "text": "How is gout"},
        {"type": "image_url"},
        {"type": "text", "text": "treated?"},
    ]
    body = chat(client, [{"role": "user", "content": parts}])
    assert body["x_answer"]["resolved_query"] == "How is gout treated?"


def test_stream_sends_chunks_that_add_up_to_the_completion(client: TestClient) -> None:
    plain = chat(client, [GOUT])
    r = client.post(
        "/v1/chat/completions",
        json={"model": "any", "messages": [GOUT], "stream": True, "stream_options": {"include_usage": True}},
    )
    assert r.headers["content-type"].startswith("text/event-stream")
    lines = data_lines(r.text)
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    message = plain["choices"][0]["message"]
    assert content == message["content"]
    last = chunks[-2]["choices"][0]
    assert last["finish_reason"] == "stop"
    assert last["delta"]["annotations"] == message["annotations"]
    assert last["delta"]["references"] == message["references"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == plain["usage"]


@pytest.mark.parametrize(
    "body",
    [
        {"model": "x", "messages": []},
        {
            "model": "x",
            "messages": [{"role": "user", "content": "  "}, {"role": "assistant", "content": "hi"}],
        },
        {"model": "x", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
        {"model": "x", "messages": [{"role": "system", "content": "hello"}]},
        {"model": "x", "messages": [GOUT, {"role": "user", "content": "?!"}]},  # no words in the question
        {"model": "x", "messages": [GOUT], "n": 2},
        {"model": "x", "messages": [{"role": "wizard", "content": "hi"}]},
        {"messages": [GOUT]},
        # what cannot work is refused, not ignored: a forced tool call
        {
            "model": "x",
            "messages": [GOUT],
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "tool_choice": "required",
        },
        {"model": "x", "messages": [GOUT], "tool_choice": {"type": "function", "function": {"name": "f"}}},
        {"model": "x", "messages": [GOUT], "functions": [{"name": "f"}], "function_call": {"name": "f"}},
        {"model": "x", "messages": [GOUT], "response_format": {"type": "json_object"}},
    ],
)
def test_unusable_chat_requests_are_422(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post("/v1/chat/completions", json=body)
    # OpenAI's error shape on the OpenAI-compatible routes, so that its clients show the detail
    assert r.status_code == 422 and set(r.json()) == {"error"}
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert r.json()["error"]["type"] == "invalid_request_error" and r.json()["error"]["message"]


def test_sampling_and_length_fields_are_accepted_and_ignored(client: TestClient) -> None:
    plain = chat(client, [GOUT])
    tuned = chat(client, [GOUT], temperature=0.2, top_p=0.5, max_tokens=5, stop=["."], seed=1, user="u",
                 tools=[], tool_choice="none", response_format={"type": "text"})  # fmt: skip
    assert tuned["choices"][0]["message"]["content"] == plain["choices"][0]["message"]["content"]


def test_offered_tools_are_never_called(client: TestClient) -> None:
    """Open WebUI offers its built-in tools with every chat from its page: the answer is the same, no tool call."""
    plain = chat(client, [GOUT])
    tool = {"type": "function", "function": {"name": "search_web", "parameters": {"type": "object"}}}
    for extra in ({"tools": [tool] * 28}, {"tools": [tool], "tool_choice": "auto"},
                  {"functions": [tool["function"]], "function_call": "auto"}):  # fmt: skip
        offered = chat(client, [GOUT], **extra)
        message = offered["choices"][0]["message"]
        assert message["content"] == plain["choices"][0]["message"]["content"]
        assert not message.get("tool_calls") and offered["choices"][0]["finish_reason"] == "stop"


def test_one_model_by_id_and_a_404_in_openai_shape_for_others(client: TestClient) -> None:
    listed = client.get("/v1/models").json()["data"][0]
    assert client.get(f"/v1/models/{listed['id']}").json() == listed
    r = client.get("/v1/models/gpt-4o")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "ModelNotFound"
    assert "'clinical-followup-assistant'" in r.json()["error"]["message"]


def test_the_openai_client_reads_completions_streams_and_models(client: TestClient) -> None:
    oa = openai.OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=client, max_retries=0)
    completion = oa.chat.completions.create(model="clinical-followup-assistant", messages=[GOUT])  # type: ignore[list-item]
    message = completion.choices[0].message
    assert message.content is not None and message.content.startswith("**Acute gout flares are treated")
    assert message.annotations and message.annotations[0].type == "url_citation"
    first = message.annotations[0].url_citation
    assert message.content[first.start_index : first.end_index] == "[1]"
    assert first.url == "https://example.org/gout-guideline"
    assert (message.model_extra or {})["references"][0]["doc_id"] == "gout-test-guideline"

    stream = oa.chat.completions.create(model="any", messages=[GOUT], stream=True)  # type: ignore[list-item]
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert "".join(pieces) == message.content

    assert [m.id for m in oa.models.list()] == ["clinical-followup-assistant"]


def test_the_openai_client_sees_a_missing_key_as_an_authentication_error(
    built_settings: Settings, assistant: Assistant
) -> None:
    keyed = built_settings.model_copy(update={"api": ApiSettings(api_keys=["s3cret"])})
    with TestClient(create_app(keyed, assistant)) as client:
        wrong = openai.OpenAI(
            base_url="http://testserver/v1", api_key="nope", http_client=client, max_retries=0
        )
        with pytest.raises(openai.AuthenticationError):
            wrong.models.list()
        right = openai.OpenAI(
            base_url="http://testserver/v1", api_key="s3cret", http_client=client, max_retries=0
        )
        assert right.chat.completions.create(model="m", messages=[GOUT]).choices[0].message.content  # type: ignore[list-item]


def webui_task(task: str, output: str) -> dict[str, Any]:
    """A task request as Open WebUI sends it (its default templates, abridged)."""
    history = "USER: How is gout treated?\nASSISTANT: Acute gout flares are treated ... [1]\nUSER: And how is it diagnosed?"
    prompt = (f"### Task:\n{task}\n### Guidelines:\n- Keep it short.\n### Output:\nJSON format: {output}\n"
              f"### Chat History:\n<chat_history>\n{history}\n</chat_history>")  # fmt: skip
    return {"role": "user", "content": prompt}


@pytest.mark.parametrize(
    ("task", "output", "key"),
    [
        (
            "Generate a concise, 3-5 word title with an emoji summarizing the chat history.",
            '{ "title": "..." }',
            "title",
        ),
        (
            "Generate 1-3 broad tags categorizing the main themes of the chat history.",
            '{ "tags": [] }',
            "tags",
        ),
        (
            "Suggest 3-5 relevant follow-up questions or prompts that the user might naturally ask next.",
            '{ "follow_ups": [] }',
            "follow_ups",
        ),
        (
            "Analyze the chat history to determine the necessity of generating search queries.",
            '{ "queries": [] }',
            "queries",
        ),
    ],
)
def test_open_webui_task_requests_get_the_json_they_ask_for(
    client: TestClient,
    assistant: Assistant,
    monkeypatch: pytest.MonkeyPatch,
    task: str,
    output: str,
    key: str,
) -> None:
    asked: list[list[str]] = []

    def suggest(_hits: object, _answer: object, questions: list[str]) -> list[str]:
        asked.append(list(questions))
        return ["How can gout be prevented?"]

    monkeypatch.setattr(assistant, "suggest_followups", suggest)
    body = chat(client, [webui_task(task, output)])
    reply = json.loads(body["choices"][0]["message"]["content"])
    assert list(reply) == [key]
    if key == "title":
        assert reply["title"] == "Gout"  # the conversation's topic
    elif key == "tags":
        assert reply["tags"] == ["Gout", "Rheumatology"]
    elif key == "follow_ups":  # what the same conversation suggests through the chat route itself
        turns = [
            GOUT,
            {"role": "assistant", "content": "..."},
            {"role": "user", "content": "And how is it diagnosed?"},
        ]
        assert reply["follow_ups"] == chat(client, turns)["x_answer"]["suggested_followups"]
        assert reply["follow_ups"] and all(q.endswith("?") for q in reply["follow_ups"])
    else:
        assert reply["queries"] == [body["x_answer"]["resolved_query"]] and "Gout" in reply["queries"][0]
    assert body["choices"][0]["message"]["annotations"] == []


def test_an_unknown_task_gets_an_empty_object(client: TestClient) -> None:
    body = chat(client, [webui_task("Summarise the chat as a poem.", "{}")])
    assert body["choices"][0]["message"]["content"] == "{}"


def test_a_source_without_a_web_link_links_to_its_passage_in_the_markdown(assistant: Assistant) -> None:
    from assistant.api.stream import linked_markdown
    from assistant.render import render_markdown

    answer = assistant.ask("How is gout treated?", remember=False)
    first = answer.references[0].model_copy(update={"url": None})  # as a library file without a link
    references = [first, *answer.references[1:]]
    answer = answer.model_copy(
        update={"references": references, "answer_markdown": render_markdown(answer.sentences, references)}
    )
    content = linked_markdown(answer, "http://testserver/")
    lines = [x for x in content.split("### References")[1].splitlines() if x[:1].isdigit()]
    assert lines[0].endswith(f"<http://testserver/v1/sources/{first.passage_id.replace(':', '%3A')}>")
    assert len(lines) == len(references) and all(re.search(r"<https?://[^>]+>$", x) for x in lines)
    assert linked_markdown(answer.model_copy(update={"references": answer.references[1:]}), "x") == (
        answer.answer_markdown
    )  # sources with their own links are left as they are
