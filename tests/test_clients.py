"""The OpenAI-compatible API through three real clients, offline, against a uvicorn server on loopback:
the openai Python client, litellm (as a library) and simonw's llm (as a library).

The server requires an API key, so every client is also shown to send the one it was configured with. Nothing may
leave the machine: a guard refuses (and records) any connection or name lookup other than loopback, and every
test fails if a client tried one (litellm's model cost map fetch, say).
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from assistant.service import Assistant, build_from_settings
from assistant.settings import ApiSettings, ComposerSettings, Settings

from .conftest import FIXTURE_CORPUS
from .fakes import FakeEmbedder

MODEL = "clinical-followup-assistant"
KEY = "client-test-key"
GOUT: list[ChatCompletionMessageParam] = [{"role": "user", "content": "How is gout treated?"}]
MIGRAINE: list[ChatCompletionMessageParam] = [{"role": "user", "content": "How is migraine treated?"}]
# A source with no link of its own (no url, doi or pmid): a library file (plain text and its metadata sidecar).
# Its reference line must link to our passage endpoint in the Markdown itself, since litellm and llm keep
# (little but) the text.
MIGRAINE_NOTE = """A test note on migraine

TREATMENT
Acute migraine attacks are treated with a simple analgesic or a triptan, taken early in the attack. Migraine
prevention with propranolol or topiramate is offered when attacks are frequent.
"""
MIGRAINE_META = """title: A test note on migraine
source_type: other
publisher: Test Headache Clinic
year: 2022
topic: Migraine
specialty: neurology
"""
REFERENCE_LINE = re.compile(r"^(\d+)\. .+ <(https?://[^>]+)>$", re.MULTILINE)
CITATION = re.compile(r"(?<!\\)\[(\d+(?:, \d+)*)\]")


# --- no internet -------------------------------------------------------------------------------------------


def _loopback(host: Any) -> bool:
    if host in (None, "localhost", "localhost.localdomain", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host)).is_loopback
    except ValueError:
        return False


@pytest.fixture(scope="module")
def internet_attempts() -> Iterator[list[str]]:
    """Refuse every connection and name lookup that is not loopback, for the whole module (imports included)."""
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def allowed(sock: socket.socket, address: Any) -> bool:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return True  # AF_UNIX and the like: local by nature
        return _loopback(address[0])

    def connect(self: socket.socket, address: Any) -> None:
        if not allowed(self, address):
            attempts.append(f"connect {address!r}")
            raise OSError(f"test_clients: no internet (connect to {address!r} refused)")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not allowed(self, address):
            attempts.append(f"connect_ex {address!r}")
            raise OSError(f"test_clients: no internet (connect to {address!r} refused)")
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _loopback(host):
            attempts.append(f"getaddrinfo {host!r}")
            raise socket.gaierror(
                socket.EAI_NONAME, f"test_clients: no internet (lookup of {host!r} refused)"
            )
        return real_getaddrinfo(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)
        mp.setattr(socket, "getaddrinfo", getaddrinfo)
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            mp.delenv(proxy, raising=False)
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        yield attempts


@pytest.fixture(autouse=True)
def _offline(internet_attempts: list[str]) -> Iterator[None]:
    before = len(internet_attempts)
    yield
    tried = internet_attempts[before:]
    assert not tried, f"a client tried to reach the internet: {tried}"


# --- the server --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, internet_attempts: list[str]) -> Iterator[str]:
    """The API (uvicorn in a thread, 127.0.0.1, a free port, keys required) on the test corpus plus a source
    without a link; returns its base URL."""
    import uvicorn

    from assistant.api import create_app

    root = tmp_path_factory.mktemp("clients")
    extra = root / "corpus_extra"
    extra.mkdir()
    (extra / "migraine-test-note.txt").write_text(MIGRAINE_NOTE, encoding="utf-8")
    (extra / "migraine-test-note.meta.yaml").write_text(MIGRAINE_META, encoding="utf-8")
    settings = Settings(
        model=FakeEmbedder.name,
        corpus=[FIXTURE_CORPUS, extra],
        index_dir=root / "index",
        data_dir=root / "data",
        cache_dir=root / "cache",
        composer=ComposerSettings(abstain_below=0.2, min_sentence_score=0.1, relative_margin=1.0),
        api=ApiSettings(api_keys=[KEY], rate_limit_per_minute=0, watch_interval_s=0),
    )
    build_from_settings(settings, FakeEmbedder(), progress=False)
    assistant = Assistant.open(settings, embedder=FakeEmbedder(), build_if_missing=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(settings, assistant), log_level="warning", access_log=False)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    uv.should_exit = True
    thread.join(10)
    assistant.close()


@pytest.fixture(scope="module")
def api_base(server: str) -> str:
    return f"{server}/v1"


@pytest.fixture(scope="module")
def expected(server: str) -> dict[str, Any]:
    """Our own chat completions (plain HTTP) for the questions the clients ask: what they should show."""
    out = {}
    for name, messages in (("gout", GOUT), ("migraine", MIGRAINE)):
        r = httpx.post(
            f"{server}/v1/chat/completions",
            json={"model": MODEL, "messages": messages},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        out[name] = r.json()
    return out


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def check_cited_markdown(text: str, server: str | None = None) -> dict[int, str]:
    """The answer as a text-only client keeps it: [n] markers, each n listed under ### References with a link.
    Returns {n: link}."""
    assert "### References" in text, text
    body, references = text.split("### References", 1)
    cited = {int(n) for m in CITATION.finditer(body) for n in m.group(1).split(", ")}
    links = {int(n): url for n, url in REFERENCE_LINE.findall(references)}
    assert cited and 1 in cited, body
    assert cited <= set(links), (cited, links)  # every number cited has a linked reference line
    if server is not None:  # and a link to our passage endpoint is reachable, with the key
        for url in links.values():
            if url.startswith(server):
                r = httpx.get(url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
                assert r.status_code == 200, (url, r.text)
    return links


def test_the_corpus_has_a_source_linked_only_through_our_passage_endpoint(
    expected: dict[str, Any], server: str
) -> None:
    message = expected["migraine"]["choices"][0]["message"]
    assert message["references"][0]["doc_id"] == "migraine-test-note"
    links = check_cited_markdown(message["content"], server)
    assert links[1] == f"{server}/v1/sources/{message['references'][0]['passage_id'].replace(':', '%3A')}"


# --- openai ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oa(api_base: str) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=api_base, api_key=KEY, max_retries=0, timeout=30)
    yield client
    client.close()


def test_openai_completion_keeps_the_whole_response(oa: openai.OpenAI, expected: dict[str, Any]) -> None:
    ours = expected["gout"]
    completion = oa.chat.completions.create(model=MODEL, messages=GOUT)
    assert completion.model == MODEL and completion.object == "chat.completion"
    message = completion.choices[0].message
    assert message.content is not None and message.content == ours["choices"][0]["message"]["content"]
    check_cited_markdown(message.content)
    assert message.annotations and message.annotations[0].type == "url_citation"
    first = message.annotations[0].url_citation
    assert message.content[first.start_index : first.end_index] == "[1]"
    assert first.url == "https://example.org/gout-guideline"
    # our own fields: on the models' extras, and in model_dump()
    assert (message.model_extra or {})["references"] == ours["choices"][0]["message"]["references"]
    assert (completion.model_extra or {})["x_answer"]["resolved_query"] == "How is gout treated?"
    dumped = completion.model_dump()
    assert dumped["choices"][0]["message"]["references"][0]["doc_id"] == "gout-test-guideline"
    assert dumped["x_answer"] == ours["x_answer"]
    assert completion.usage is not None and completion.usage.total_tokens == ours["usage"]["total_tokens"]


def test_openai_stream_adds_up_to_the_completion(oa: openai.OpenAI, expected: dict[str, Any]) -> None:
    ours = expected["gout"]["choices"][0]["message"]
    stream = oa.chat.completions.create(
        model=MODEL,
        messages=GOUT,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == ours["content"]
    finished = [c.choices[0] for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [f.finish_reason for f in finished] == ["stop"]
    extras = finished[0].delta.model_extra or {}
    assert extras["references"] == ours["references"]
    assert extras["annotations"] == ours["annotations"] != []
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_openai_lists_and_retrieves_our_model(oa: openai.OpenAI) -> None:
    listed = list(oa.models.list())
    assert [m.id for m in listed] == [MODEL]
    one = oa.models.retrieve(MODEL)
    assert one.id == MODEL and one.object == "model" and one.owned_by == listed[0].owned_by
    with pytest.raises(openai.NotFoundError) as missing:
        oa.models.retrieve("gpt-4o")
    assert missing.value.status_code == 404
    assert isinstance(missing.value.body, dict) and missing.value.body["code"] == "ModelNotFound"
    assert f"the one model here is '{MODEL}'" in missing.value.message


@pytest.mark.parametrize(
    ("extra", "detail"),
    [
        ({"messages": [{"role": "user", "content": "   "}]}, "no user message holds a question"),
        (
            {
                "messages": GOUT,
                "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
                "tool_choice": "required",
            },
            "body.tool_choice",
        ),
    ],
)
def test_openai_raises_our_error_detail(oa: openai.OpenAI, extra: dict[str, Any], detail: str) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        oa.chat.completions.create(model=MODEL, **extra)
    error = raised.value
    assert isinstance(error, openai.APIStatusError) and error.status_code == 422
    assert isinstance(error.body, dict)  # the client unwraps OpenAI's {"error": {...}}
    assert error.body["type"] == "invalid_request_error" and error.body["code"] == "InvalidRequest"
    assert detail in error.body["message"] and detail in error.message


def test_openai_with_a_wrong_key_is_an_authentication_error(api_base: str) -> None:
    wrong = openai.OpenAI(base_url=api_base, api_key="wrong", max_retries=0, timeout=30)
    with wrong, pytest.raises(openai.AuthenticationError) as raised:
        wrong.chat.completions.create(model=MODEL, messages=GOUT)
    assert raised.value.status_code == 401


# --- litellm -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def litellm(internet_attempts: list[str]) -> Iterator[Any]:
    """litellm, imported with its bundled model cost map (no fetch of the current one) and no callbacks."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        mp.setenv("LITELLM_TELEMETRY", "False")
        import litellm

        mp.setattr(litellm, "telemetry", False, raising=False)
        mp.setattr(litellm, "success_callback", [])
        mp.setattr(litellm, "failure_callback", [])
        mp.setattr(litellm, "suppress_debug_info", True, raising=False)
        yield litellm


def litellm_args(api_base: str, messages: list[ChatCompletionMessageParam]) -> dict[str, Any]:
    return {"model": f"openai/{MODEL}", "api_base": api_base, "api_key": KEY, "messages": messages,
            "num_retries": 0, "timeout": 30}  # fmt: skip


@pytest.mark.parametrize("question", ["gout", "migraine"])
def test_litellm_completion_keeps_citations_and_linked_references(
    litellm: Any, api_base: str, server: str, expected: dict[str, Any], question: str
) -> None:
    ours = expected[question]
    response = litellm.completion(**litellm_args(api_base, GOUT if question == "gout" else MIGRAINE))
    message = response.choices[0].message
    assert message.content == ours["choices"][0]["message"]["content"]
    links = check_cited_markdown(message.content, server)
    assert links[1] == ours["choices"][0]["message"]["annotations"][0]["url_citation"]["url"]
    assert response.choices[0].finish_reason == "stop"
    # What else survives, as of litellm 1.110 (constraints.txt): annotations as they are, our references
    # under provider_specific_fields, x_answer at the top.
    dumped = response.model_dump()
    assert dumped["choices"][0]["message"]["annotations"] == ours["choices"][0]["message"]["annotations"]
    kept = dumped["choices"][0]["message"].get("provider_specific_fields") or {}
    assert kept.get("references") == ours["choices"][0]["message"]["references"]
    assert dumped.get("x_answer") == ours["x_answer"]


def test_litellm_stream_adds_up_to_the_completion(
    litellm: Any, api_base: str, server: str, expected: dict[str, Any]
) -> None:
    ours = expected["gout"]["choices"][0]["message"]
    chunks = list(litellm.completion(**litellm_args(api_base, GOUT), stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == ours["content"]
    check_cited_markdown(text, server)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    # the delta that carries our references and annotations (the last one with content from us) survives whole
    carried = [c.choices[0].delta.model_dump() for c in chunks if c.choices]
    with_refs = [d for d in carried if d.get("references")]
    assert with_refs and with_refs[-1]["references"] == ours["references"]
    assert with_refs[-1]["annotations"] == ours["annotations"] != []
    # litellm's own reassembly of the stream keeps the text
    rebuilt = litellm.stream_chunk_builder(chunks, messages=GOUT)
    assert rebuilt.choices[0].message.content == ours["content"]


def test_litellm_raises_our_error_detail(litellm: Any, api_base: str) -> None:
    with pytest.raises(openai.APIStatusError) as raised:  # litellm's errors subclass openai's
        litellm.completion(**litellm_args(api_base, [{"role": "user", "content": "   "}]))
    assert raised.value.status_code == 422
    assert "no user message holds a question: send one with text" in str(raised.value)


# --- llm ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llm(
    tmp_path_factory: pytest.TempPathFactory, api_base: str, internet_attempts: list[str]
) -> Iterator[Any]:
    """llm with our server registered as an OpenAI-compatible model (extra-openai-models.yaml, its key stored
    under a name of its own) in a throwaway LLM_USER_PATH; no plugins but the default ones."""
    user = tmp_path_factory.mktemp("llm-user")
    (user / "extra-openai-models.yaml").write_text(
        f"- model_id: clinical\n  model_name: {MODEL}\n  api_base: {api_base}\n  api_key_name: clinical\n",
        encoding="utf-8",
    )
    (user / "keys.json").write_text(json.dumps({"clinical": KEY}), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LLM_USER_PATH", str(user))
        mp.setenv("LLM_LOAD_PLUGINS", "")
        mp.delenv("OPENAI_API_KEY", raising=False)
        import llm

        yield llm
    assert not (user / "logs.db").exists()  # the library does not log prompts unless asked


def test_llm_prompt_gives_cited_text(llm: Any, server: str, expected: dict[str, Any]) -> None:
    ours = expected["migraine"]["choices"][0]["message"]
    model = llm.get_model("clinical")
    assert model.model_name == MODEL
    response = model.prompt(MIGRAINE[0]["content"], stream=False)
    text = response.text()
    assert text == ours["content"]
    links = check_cited_markdown(text, server)
    assert links[1].startswith(f"{server}/v1/sources/migraine-test-note")
    # not streamed, llm also keeps the completion's JSON (ours included, its null fields dropped) on .json()
    kept = response.json()
    assert kept["choices"][0]["message"]["references"] == without_nulls(ours["references"])
    assert kept["x_answer"]["resolved_query"] == "How is migraine treated?"
    assert response.usage().input == expected["migraine"]["usage"]["prompt_tokens"]


def test_llm_stream_gives_the_same_text_only(llm: Any, server: str, expected: dict[str, Any]) -> None:
    ours = expected["gout"]["choices"][0]["message"]
    response = llm.get_model("clinical").prompt(GOUT[0]["content"])  # streams by default
    pieces = list(response)
    assert len(pieces) > 1 and "".join(pieces) == ours["content"]
    check_cited_markdown(response.text(), server)
    kept = response.json()  # streamed, llm keeps text, role, finish reason, usage and ids: no references
    assert kept["content"] == ours["content"] and kept["finish_reason"] == "stop"
    assert "references" not in json.dumps(kept) and "annotations" not in kept


def test_llm_sends_the_stored_key(llm: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The key under api_key_name is what authenticates: with another one stored the server says 401."""
    model = llm.get_model("clinical")
    response = model.prompt(GOUT[0]["content"], stream=False, key="wrong")
    with pytest.raises(openai.AuthenticationError):
        response.text()


def test_each_reference_links_to_its_source_or_to_our_passage(expected: dict[str, Any], server: str) -> None:
    """The link a text-only client shows for a reference: the source's own web link, else our passage."""
    for ours in expected.values():
        message = ours["choices"][0]["message"]
        links = check_cited_markdown(message["content"])
        for ref in message["references"]:
            own = ref["url"] if ref["url"] and ref["url"].startswith(("http://", "https://")) else None
            assert links[ref["n"]] == (own or f"{server}/v1/sources/{ref['passage_id'].replace(':', '%3A')}")
