"""kazoo's module path for ``DataWatch`` / ``ChildrenWatch``
(``kazoo.recipe.watchers``); they live in ``corral.watchers``."""

from ..watchers import ChildrenWatch, DataWatch

__all__ = ["ChildrenWatch", "DataWatch"]
