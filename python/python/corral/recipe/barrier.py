"""Barriers with kazoo's call shapes (``kazoo.recipe.barrier``), on the
recipes of the Corral client core:

- ``Barrier``: the node ``<path>`` exists = set (kazoo's and Curator's
  layout);
- ``DoubleBarrier``: Curator's ``DistributedDoubleBarrier`` layout
  (``<path>/<uuid>`` ephemeral members with empty data, ``<path>/ready``);
  kazoo's differs only in the member's data (its identifier), so kazoo
  and corral members can share a double barrier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .. import _corral

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["Barrier", "DoubleBarrier"]


class Barrier:
    def __init__(self, client: "Client", path: str) -> None:
        self.client = client
        self.path = path
        self._native = _corral._Barrier(client, path)

    def create(self) -> None:
        """Sets the barrier (creates its node)."""
        self._native.create()

    def remove(self) -> bool:
        """Removes the barrier: True if it was set."""
        removed: bool = self._native.remove()
        return removed

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Waits until the barrier is removed: True then, False after
        ``timeout`` seconds. Rides out connection losses."""
        cleared: bool = self._native.wait(timeout)
        return cleared


class DoubleBarrier:
    """``enter()`` waits until ``num_clients`` members have entered,
    ``leave()`` until every member has left. ``identifier`` is accepted
    for kazoo's signature (our member nodes hold no data)."""

    def __init__(
        self, client: "Client", path: str, num_clients: int, identifier: Optional[Any] = None
    ) -> None:
        self.client = client
        self.path = path
        self.num_clients = num_clients
        self.participating = False
        self._native = _corral._DoubleBarrier(client, path, num_clients)

    def enter(self, timeout: Optional[float] = None) -> bool:
        """Enters and waits for the others: True, or False after
        ``timeout`` seconds (then we are not counted)."""
        entered: bool = self._native.enter(timeout)
        self.participating = entered
        return entered

    def leave(self, timeout: Optional[float] = None) -> bool:
        """Leaves and waits for the others: True, or False after
        ``timeout`` seconds."""
        self.participating = False
        left: bool = self._native.leave(timeout)
        return left
