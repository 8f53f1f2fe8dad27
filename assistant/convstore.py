"""The conversation-store seam: what the assistant and the API need of a store, and the store the settings
choose (SQLite in the data folder by default; PostgreSQL when `ASSISTANT_CONVERSATION__DATABASE_URL` is set,
shared by every worker and replica)."""

from __future__ import annotations

from typing import Any, Protocol

from .followup import TurnContext
from .settings import Settings


class Conversations(Protocol):
    """Conversations and their turns. `owner` is the principal of a request (None when the server has no API
    keys): a conversation created by one owner is `ConversationNotFound` to every other."""

    def create(self, owner: str | None = None) -> str: ...

    def exists(self, cid: str, owner: str | None = None) -> bool: ...

    def history(self, cid: str, owner: str | None = None) -> list[TurnContext]: ...

    def add_turn(
        self, cid: str, question: str, resolved_query: str, topic: str, answer: dict[str, Any]
    ) -> None: ...

    def get(self, cid: str, owner: str | None = None) -> dict[str, Any]: ...

    def delete(self, cid: str, owner: str | None = None) -> None: ...

    def expire(self, now: float | None = None) -> int: ...

    def close(self) -> None: ...


def open_conversations(settings: Settings) -> Conversations:
    """The store the settings choose, opened (and, for PostgreSQL, migrated to the current schema)."""
    conv = settings.conversation
    if conv.database_url:
        from .pgstore import PostgresConversationStore

        return PostgresConversationStore(conv.database_url, conv.expire_days, pool_size=conv.database_pool)
    from .conversation import ConversationStore

    return ConversationStore(settings.data_dir / "conversations.sqlite3", conv.expire_days)
