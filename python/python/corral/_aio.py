"""asyncio plumbing for the native AsyncClient (internal)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable


def resolve(fut: "asyncio.Future[Any]", ok: bool, value: Any) -> None:
    """Completes ``fut`` in its loop (scheduled by the native side with
    ``call_soon_threadsafe``); a cancelled future stays cancelled."""
    if fut.done():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


def _run(fn: Callable[[Any], Any], arg: Any) -> None:
    result = fn(arg)
    if inspect.isawaitable(result):
        asyncio.ensure_future(result)


def call_in_loop(loop: asyncio.AbstractEventLoop, fn: Callable[[Any], Any], arg: Any) -> None:
    """Runs ``fn(arg)`` in ``loop`` (a coroutine result becomes a task)."""
    if not loop.is_closed():
        loop.call_soon_threadsafe(_run, fn, arg)


def in_loop(loop: asyncio.AbstractEventLoop, fn: Callable[[Any], Any]) -> Callable[[Any], None]:
    """A callable that runs ``fn`` in ``loop`` instead of the caller's thread."""

    def call(arg: Any) -> None:
        call_in_loop(loop, fn, arg)

    return call
