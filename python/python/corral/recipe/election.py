"""Leader election with kazoo's call shape (``kazoo.recipe.election``):
``client.Election(path, "me").run(func)`` waits to be elected, then calls
``func`` and gives up the leadership when it returns.

As kazoo's, it is a lock on ``path``; ours has Curator's ``LeaderSelector``
layout (``_c_<uuid>-lock-<seq>`` nodes holding the identifier), so corral,
Curator and kazoo (with ``extra_lock_patterns=["-lock-"]``) candidates can
share an election. As in kazoo, ``func`` is not interrupted if the
connection or the session is lost: watch ``election.lock.state``.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable, List, Optional

from ..exceptions import CancelledError
from .lock import AsyncLock, Lock

if TYPE_CHECKING:
    from ..client import AsyncClient, Client

__all__ = ["AsyncElection", "Election"]


class Election:
    def __init__(self, client: "Client", path: str, identifier: Optional[Any] = None) -> None:
        self.lock = Lock(client, path, identifier)

    def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Blocks until elected (or ``cancel()``), then calls
        ``func(*args, **kwargs)`` as leader."""
        if not callable(func):
            raise ValueError("leader function is not callable")
        try:
            with self.lock:
                func(*args, **kwargs)
        except CancelledError:
            pass

    def cancel(self) -> None:
        """Leaves the queue; does not interrupt a running leader function."""
        self.lock.cancel()

    def contenders(self) -> List[str]:
        """The candidates' identifiers, the leader first."""
        return self.lock.contenders()


class AsyncElection:
    """``Election`` for an ``AsyncClient``: ``await election.run(func)``;
    ``func`` may be a coroutine function."""

    def __init__(
        self, client: "AsyncClient", path: str, identifier: Optional[Any] = None
    ) -> None:
        self.lock = AsyncLock(client, path, identifier)

    async def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if not callable(func):
            raise ValueError("leader function is not callable")
        try:
            async with self.lock:
                result = func(*args, **kwargs)
                if inspect.isawaitable(result):
                    await result
        except CancelledError:
            pass

    def cancel(self) -> None:
        self.lock.cancel()

    async def contenders(self) -> List[str]:
        return await self.lock.contenders()
