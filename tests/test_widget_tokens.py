"""Short-lived widget tokens: minted by a host's server with a real key, accepted until they expire, signed with
the key that minted them (so they die with it), and unable to mint more."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from assistant.api import create_app
from assistant.api.tokens import Verdict, mint, verify
from assistant.service import Assistant
from assistant.settings import ApiSettings, Settings

ASK = {"question": "How is gout treated?"}


def test_a_token_speaks_for_its_key_and_subject_until_it_expires() -> None:
    token, expires = mint("k1", 600, "session-7", now=1000)
    assert expires == 1600
    assert verify(token, ["k0", "k1"], now=1599) == Verdict(key="k1", subject="session-7")
    assert "expired" in str(verify(token, ["k1"], now=1600))
    assert "no longer accepted" in str(verify(token, ["k2"], now=1000))


@given(st.text(min_size=1, max_size=40), st.integers(0, 3))
def test_a_changed_token_is_refused(subject: str, part: int) -> None:
    token, _ = mint("k1", 600, subject, now=1000)
    head, payload = token[:3], token[3:].split(".")
    payload[part] = payload[part][:-1] + ("A" if payload[part][-1:] != "A" else "B")
    assert not isinstance(verify(head + ".".join(payload), ["k1"], now=1000), Verdict)


@pytest.fixture
def keyed(built_settings: Settings, assistant: Assistant) -> Iterator[TestClient]:
    changed = built_settings.model_copy(update={"api": ApiSettings(api_keys=["k1"], rate_limit_per_minute=0)})
    with TestClient(create_app(changed, assistant), raise_server_exceptions=False) as c:
        yield c


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def minted(client: TestClient, **body: Any) -> dict[str, Any]:
    r = client.post("/v1/widget/tokens", json=body, headers=bearer("k1"))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_minted_token_asks_and_keeps_its_subjects_conversation(keyed: TestClient) -> None:
    out = minted(keyed, ttl_s=120, subject="visitor-1")
    assert out["token"].startswith("wt.") and out["expires_in"] == 120 and out["subject"] == "visitor-1"
    first = keyed.post("/v1/ask", json=ASK, headers=bearer(out["token"]))
    assert first.status_code == 200, first.text
    conversation = first.json()["conversation_id"]
    again = minted(keyed, subject="visitor-1")["token"]  # a refreshed token of the same subject
    follow = {"question": "and in pregnancy?", "conversation_id": conversation}
    assert keyed.post("/v1/ask", json=follow, headers=bearer(again)).status_code == 200
    stranger = minted(keyed, subject="visitor-2")["token"]
    assert keyed.post("/v1/ask", json=follow, headers=bearer(stranger)).status_code == 404


def test_tokens_cannot_mint_tokens_and_bad_ones_say_why(keyed: TestClient) -> None:
    token = minted(keyed)["token"]
    r = keyed.post("/v1/widget/tokens", json={}, headers=bearer(token))
    assert r.status_code == 403 and "API key" in r.json()["detail"]
    expired, _ = mint("k1", 60, "s", now=0)
    r = keyed.post("/v1/ask", json=ASK, headers=bearer(expired))
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert keyed.post("/v1/widget/tokens", json={"ttl_s": 5}, headers=bearer("k1")).status_code == 422
    assert keyed.post("/v1/widget/tokens", json={}).status_code == 401


def test_a_server_without_keys_needs_no_tokens(built_settings: Settings, assistant: Assistant) -> None:
    with TestClient(create_app(built_settings, assistant)) as c:
        r = c.post("/v1/widget/tokens", json={})
        assert r.status_code == 409 and "needs no token" in r.json()["detail"]
