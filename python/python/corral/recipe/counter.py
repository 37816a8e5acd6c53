"""``Counter`` with kazoo's call shape (``kazoo.recipe.counter``) on the
client core's counter: ``counter += 1`` changes the value atomically
(compare-and-set on the node's version). The value is ASCII decimal as
kazoo writes it, or Curator's ``SharedCount`` (4-byte big-endian) with
``support_curator=True``. Integers only (kazoo also allows floats)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .. import _corral

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["Counter"]


def _check_int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("%s must be an int (corral counters hold integers)" % what)
    return value


class Counter:
    def __init__(
        self, client: "Client", path: str, default: int = 0, support_curator: bool = False
    ) -> None:
        self.client = client
        self.path = path
        self.default = _check_int(default, "default")
        self.support_curator = support_curator
        self.pre_value: Optional[int] = None
        self.post_value: Optional[int] = None
        self._native = _corral._Counter(client, path, default, support_curator)

    @property
    def value(self) -> int:
        """The value now (the node is created with ``default`` if missing)."""
        value: int = self._native.value()
        return value

    def _change(self, delta: int) -> "Counter":
        _check_int(delta, "the change")
        post: int = self._native.add(delta)
        self.pre_value, self.post_value = post - delta, post
        return self

    def __add__(self, value: int) -> "Counter":
        return self._change(value)

    def __sub__(self, value: int) -> "Counter":
        return self._change(-_check_int(value, "the change"))
