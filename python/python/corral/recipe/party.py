"""``Party`` with kazoo's call shape and layout (``kazoo.recipe.party``):
members are ephemeral ``<path>/<uuid hex>__party__`` nodes holding their
identifier, so kazoo and corral members see each other."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, List, Optional

from .. import _corral

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["Party"]


class Party:
    def __init__(self, client: "Client", path: str, identifier: Optional[Any] = None) -> None:
        self.client = client
        self.path = path
        self.data = str(identifier or "").encode("utf-8")
        self.participating = False
        self._native = _corral._Party(client, path, self.data)

    def join(self) -> None:
        """Joins the party (an ephemeral member node)."""
        self._native.join()
        self.participating = True

    def leave(self) -> bool:
        """Leaves the party: True if we were a member."""
        self.participating = False
        left: bool = self._native.leave()
        return left

    def __len__(self) -> int:
        count: int = self._native.count()
        return count

    def __iter__(self) -> Iterator[str]:
        """The members' identifiers."""
        members: List[str] = self._native.members()
        return iter(members)
