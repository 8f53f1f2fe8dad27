"""What the routes share: the loaded assistant, and running domain work off the event loop, with a time limit."""

from __future__ import annotations

import asyncio
import functools
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
    """The loaded assistant; 503 while the index is still loading or could not be loaded."""
    assistant: Assistant | None = request.app.state.assistant
    if assistant is None:
        raise IndexNotFound(request.app.state.load_error or "the index is still loading; retry shortly")
    return assistant


async def run_domain(request: Request, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in a worker thread; 503 when it runs past the request time limit.

    A capacity limiter caps concurrent domain work at the number of cores, so requests queue instead of
    competing for the CPU.
    """
    limiter: anyio.CapacityLimiter = request.app.state.limiter
    timeout: float = request.app.state.settings.api.request_timeout_s
    call = functools.partial(fn, *args, **kwargs)
    try:
        return await asyncio.wait_for(
            anyio.to_thread.run_sync(call, abandon_on_cancel=True, limiter=limiter), timeout
        )
    except TimeoutError:
        raise RequestTimeout(
            f"the request took longer than {timeout:g} s and was abandoned; retry, or ask a narrower question"
        ) from None
