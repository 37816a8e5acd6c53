"""asyncio plumbing for the native AsyncClient (internal)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable


class OpFuture(asyncio.Future):  # type: ignore[type-arg]
    """The future of an AsyncClient operation (completed by the native
    side, in its loop). Cancelling it aborts the operation: ``_abort`` is
    set by the native side when it starts the operation."""

    __slots__ = ("_abort",)
    _abort: Callable[[], None]

    def cancel(self, msg: Any = None) -> bool:
        if not super().cancel(msg):
            return False
        self._abort()
        return True


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
