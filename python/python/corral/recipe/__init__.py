"""The recipes, with kazoo's module layout (``corral.recipe.lock.Lock``
as ``kazoo.recipe.lock.Lock``) and call shapes, on the recipes of the
Corral client core (Curator-compatible node layouts; see python/README.md
for where they differ from kazoo's). Usually made through the client:
``client.Lock(path, identifier)``, ``client.Counter(path)``..."""
