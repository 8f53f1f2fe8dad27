"""Optional follow-up rewriting by a language model behind any OpenAI-compatible chat endpoint.

Off by default (no model can be reached offline). When `ASSISTANT_CONVERSATION__REWRITER_URL` and
`..._REWRITER_MODEL` are set, a follow-up turn is rewritten into a standalone question by the model; on any error
or an empty reply the offline resolution stands, so the assistant never fails because the model does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from .followup import TurnContext

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You rewrite a clinician's follow-up question into one standalone question that names everything it refers "
    "to (the disease, drug or patient group from the conversation). If the question already stands alone, or "
    "changes the subject, return it unchanged. Reply with the question only."
)


class Rewriter(Protocol):
    def rewrite(self, question: str, history: Sequence[TurnContext]) -> str | None: ...


class ChatRewriter:
    """Rewrites follow-ups with `POST {base_url}/chat/completions` (OpenAI request and response shapes)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 10.0,
        client: Any = None,
    ) -> None:
        import httpx

        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = client or httpx.Client(timeout=timeout_s, headers=headers)

    def messages(self, question: str, history: Sequence[TurnContext]) -> list[dict[str, str]]:
        earlier = "\n".join(f"- {turn.question}" for turn in history[-6:])
        user = f"Conversation so far:\n{earlier}\n\nFollow-up question: {question}\n\nStandalone question:"
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]

    def rewrite(self, question: str, history: Sequence[TurnContext]) -> str | None:
        import httpx

        body = {"model": self.model, "messages": self.messages(question, history), "temperature": 0}
        try:
            response = self.client.post(self.url, json=body)
            response.raise_for_status()
            content = response.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            log.warning(
                "follow-up rewriter failed (%s); using the offline resolution", exc.__class__.__name__
            )
            return None
        text = " ".join(str(content or "").split())
        return text[:1000] or None
