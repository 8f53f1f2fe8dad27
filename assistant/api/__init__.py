"""HTTP API (FastAPI): the native API, OpenAI-compatible chat, the chat page and the embeddable widget."""

from .app import create_app

__all__ = ["create_app"]
