"""The server's life around its requests: the index loads in the background, newly published generations
are swapped in between requests, a stale corpus is rebuilt in the background, expired conversations go.

Every request takes the assistant serving at its start (`runtime.current_assistant`) and keeps it to the end,
so a swap never mixes two generations in one answer, and no request waits for a swap.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI

from ..errors import AssistantError
from ..loader import current_generation, load_index
from ..service import Assistant, build_from_settings, is_stale
from ..settings import Settings
from .edge import ACCESS_LOG

log = logging.getLogger(ACCESS_LOG)


def _note(message: str, **fields: Any) -> None:
    log.info(message, extra={"fields": fields})


def _failed(message: str, exc: BaseException) -> None:
    """A failure of background work: its one-line message for an `AssistantError`, else the trace."""
    fields = {"error": type(exc).__name__}
    if isinstance(exc, AssistantError):
        log.error(f"{message}: {exc}", extra={"fields": fields})
    else:
        log.error(message, exc_info=exc, extra={"fields": fields})


def swap_in(current: Assistant, index_dir: Path) -> Assistant:
    """An assistant over the newest generation of `index_dir` that verifies, sharing the conversations and
    the model of `current`, warmed; `current` itself when that generation is the one it serves."""
    embedder = current.embedder
    index = load_index(
        index_dir,
        expected_model=embedder.name,
        expected_dimension=embedder.dimension,
        expected_vectors=embedder.vectors,
        log=_note,
    )
    if index.generation == current.index.generation:
        return current
    fresh = Assistant.from_index(current.settings, embedder, index, current.conversations)
    fresh.warm()
    return fresh


class Lifecycle:
    """The background tasks of one app (state on `app.state`: assistant, load_error, stale)."""

    def __init__(self, app: FastAPI, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.index_dir = settings.index_dir

    @property
    def serving(self) -> Assistant | None:
        served: Assistant | None = self.app.state.assistant
        return served

    async def load(self) -> None:
        try:
            self.app.state.assistant = await anyio.to_thread.run_sync(self._open, abandon_on_cancel=True)
        except Exception as exc:
            self.app.state.load_error = type(exc).__name__
            _failed("index load failed", exc)
            return
        await self.warm()
        # several workers would each rebuild the same corpus: they report it stale (readyz) and swap in
        # the generation that `assistant index build` publishes
        await self.check_stale(rebuild=self.settings.api.workers == 1)

    async def given(self) -> None:
        """An assistant handed in is served as it is; only whether it is stale is found out."""
        await self.check_stale(rebuild=False)

    def _open(self) -> Assistant:
        return Assistant.open(self.settings, rebuild_stale=False, log=_note)

    async def warm(self) -> None:
        """The work done once so that no request pays for it (a failure only slows requests)."""
        served = self.serving
        if served is None:
            return
        try:
            await anyio.to_thread.run_sync(
                served.warm, limiter=self.app.state.limiter, abandon_on_cancel=True
            )
        except Exception as exc:
            _failed("warm-up failed", exc)

    async def check_stale(self, *, rebuild: bool) -> None:
        served = self.serving
        if served is None or not self.watches(served):
            return
        self.app.state.stale = await anyio.to_thread.run_sync(is_stale, served.index.manifest, self.settings)
        if self.app.state.stale and rebuild:
            _note("the corpus changed since the served index was built: rebuilding it in the background")
            try:
                await anyio.to_thread.run_sync(self._rebuild, served, abandon_on_cancel=True)
            except Exception as exc:
                _failed("the background rebuild failed; the index built before is still served", exc)

    def _rebuild(self, served: Assistant) -> None:
        build_from_settings(
            self.settings, served.embedder, index_dir=self.index_dir, progress=False, log=_note
        )

    def watches(self, served: Assistant) -> bool:
        """Whether the served index is the configured one (an assistant handed in may serve another)."""
        return served.index.path.parent.resolve() == self.index_dir.resolve()

    async def watch(self) -> None:
        """Swap in each newly published generation of the configured index folder."""
        interval = self.settings.api.watch_interval_s
        refused: str | None = None  # a generation that failed to load: not retried until another appears
        while interval > 0:
            await anyio.sleep(interval)
            served = self.serving
            if served is None or not self.watches(served):
                continue
            try:
                newest = await anyio.to_thread.run_sync(lambda: current_generation(self.index_dir).name)
            except AssistantError:
                continue
            if newest in (served.index.generation, refused):
                continue
            try:
                fresh = await anyio.to_thread.run_sync(
                    swap_in, served, self.index_dir, abandon_on_cancel=True
                )
            except Exception as exc:
                refused = newest
                _failed(
                    f"generation {newest} could not be loaded; still serving {served.index.generation}", exc
                )
                continue
            if fresh is served:  # it failed to load and the loader fell back to the one served
                refused = newest
                continue
            self.app.state.assistant = fresh
            _note("serving a new index generation", generation=fresh.index.generation)
            await self.check_stale(rebuild=False)

    async def expire(self) -> None:
        """Delete expired conversations now and then (they are also refused as soon as they expire)."""
        while True:
            await anyio.sleep(self.settings.conversation.expire_every_s)
            served = self.serving
            if served is not None and served.conversations is not None:
                try:
                    gone = await anyio.to_thread.run_sync(served.conversations.expire)
                except Exception as exc:
                    _failed("expiring conversations failed", exc)
                    continue
                if gone:
                    _note("expired conversations deleted", count=gone)


def lifespan_for(settings: Settings, assistant: Assistant | None) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.assistant = assistant
        app.state.load_error = None
        app.state.stale = False
        app.state.limiter = anyio.CapacityLimiter(max(1, os.cpu_count() or 1))
        life = Lifecycle(app, settings)
        async with anyio.create_task_group() as tasks:
            # a library change over HTTP: rebuild in the background; the watcher swaps the result in
            app.state.rebuild = lambda: tasks.start_soon(functools.partial(life.check_stale, rebuild=True))
            tasks.start_soon(life.load if assistant is None else life.given)
            tasks.start_soon(life.watch)
            tasks.start_soon(life.expire)
            yield
            tasks.cancel_scope.cancel()  # a load or rebuild still running must not hold up shutdown
        if app.state.assistant is not None:
            app.state.assistant.close()

    return lifespan
