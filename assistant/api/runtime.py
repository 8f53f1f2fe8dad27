"""What the routes share: the assistant serving now, the caller's principal, and running domain work off the
event loop, with a time limit."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from fastapi import Request

from ..errors import AssistantError, IndexNotFound
from ..service import Assistant

T = TypeVar("T")


class RequestTimeout(AssistantError):
    """The request took longer than the configured limit."""

    status_code = 503


def current_assistant(request: Request) -> Assistant:
    """The assistant serving now (one per request, even across a hot swap); 503 while there is none.

    The reason given names no paths: it reaches unauthenticated callers of /readyz (the log has the detail).
    """
    assistant: Assistant | None = request.app.state.assistant
    if assistant is None:
        failed = request.app.state.load_error is not None
        raise IndexNotFound(
            "not ready: the index could not be loaded; the server log says why"
            if failed
            else "not ready: the index is still loading; retry shortly"
        )
    request.state.generation = assistant.index.generation
    return assistant


def principal(request: Request) -> str | None:
    """Who is calling, as the edge established it (a hash of the API key), or None without keys."""
    return getattr(request.state, "principal", None)


class Ticket:
    """Whether a request's lasting effect (a stored turn) may still happen: the worker claims the ticket just
    before storing, the time limit cancels it; whichever comes first wins, so a request answered 503 has
    stored nothing and one that stored its turn is answered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = "open"

    def _settle(self, to: str) -> bool:
        with self._lock:
            if self._state == "open":
                self._state = to
            return self._state == to

    def claim(self) -> bool:
        return self._settle("claimed")

    def cancel(self) -> bool:
        return self._settle("cancelled")


async def run_domain(
    request: Request, fn: Callable[..., T], /, *args: Any, ticket: Ticket | None = None, **kwargs: Any
) -> T:
    """`fn(*args, **kwargs)` in a worker thread; 503 when it runs past the request time limit.

    A capacity limiter caps concurrent domain work at the number of cores, so requests queue instead of
    competing for the CPU. With a `ticket` (that `fn` claims before its lasting effect), a request whose work
    is already storing when the limit passes is waited for and answered instead.
    """
    limiter: anyio.CapacityLimiter = request.app.state.limiter
    timeout: float = request.app.state.settings.api.request_timeout_s
    call = functools.partial(fn, *args, **kwargs)
    work = asyncio.ensure_future(anyio.to_thread.run_sync(call, abandon_on_cancel=True, limiter=limiter))
    try:
        return await asyncio.wait_for(asyncio.shield(work), timeout)
    except TimeoutError:
        if ticket is not None and not ticket.cancel():
            return await work  # it claimed the ticket: it is storing, and the client gets its answer
        work.add_done_callback(lambda w: w.cancelled() or w.exception())  # nobody awaits it any more
        raise RequestTimeout(
            f"the request took longer than {timeout:g} s and was abandoned; retry, or ask a narrower question"
        ) from None
