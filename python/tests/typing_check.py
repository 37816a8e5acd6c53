"""Type-checked with mypy --strict (`make test-python-pkg`), never run:
uses the public API as user code would, so that the stubs (_corral.pyi)
and annotations stay usable."""

import asyncio
from typing import FrozenSet, List, Optional, Tuple

import corral
from corral.exceptions import NoNodeError, ZookeeperError
from corral.recipe.cache import NodeData, TreeEvent
from corral.security import OPEN_ACL_UNSAFE, make_digest_acl
from corral.states import WatchedEvent, ZnodeStat


def sync_usage(zk: corral.Client) -> None:
    zk.start(timeout=5)
    path: str = zk.create("/a", b"x", acl=OPEN_ACL_UNSAFE, ephemeral=True, sequence=True)
    created: Tuple[str, ZnodeStat] = zk.create("/b", include_data=True)

    def on_event(event: WatchedEvent) -> None:
        print(event.type, event.state, event.path)

    data, stat = zk.get(path, watch=on_event)
    version: int = stat.version
    exists: Optional[ZnodeStat] = zk.exists(path)
    children: List[str] = zk.get_children("/")
    with_stat: Tuple[List[str], ZnodeStat] = zk.get_children("/", include_data=True)
    zk.set(path, data + b"!", version=version)
    zk.set_acls(path, [make_digest_acl("u", "p", all=True)])
    t = zk.transaction()
    t.create("/c")
    t.check("/c", 0)
    results = t.commit()
    try:
        zk.delete(path, recursive=True)
    except NoNodeError:
        pass
    except ZookeeperError as e:
        print(e.code)

    @zk.DataWatch("/a")
    def watch(data: Optional[bytes], stat: Optional[ZnodeStat]) -> bool:
        return data is not None

    zk.add_listener(lambda state: print(state))
    session: Optional[Tuple[int, bytes]] = zk.client_id
    print(created, exists, children, with_stat, results, session, zk.connected, zk.state)
    zk.stop()
    zk.close()


async def async_usage() -> None:
    async with corral.AsyncClient("127.0.0.1:2181", timeout=4.0) as zk:
        data, stat = await zk.get("/")
        names: List[str] = await zk.get_children("/")
        path: str = await zk.create("/x", b"", makepath=True)
        gets = await asyncio.gather(*(zk.get(path) for _ in range(3)))
        print(data, stat.mzxid, names, gets)


def recipe_usage(zk: corral.Client) -> None:
    with zk.Lock("/lock", "me"):
        pass
    lock = zk.Lock("/lock", "me", extra_lock_patterns=["__lock__"])
    got: bool = lock.acquire(blocking=False, timeout=1.5)
    holders: List[str] = lock.contenders()
    print(got, holders, lock.is_acquired, lock.state, lock.node, lock.release())
    with zk.ReadLock("/rw"), zk.Semaphore("/sem", "me", max_leases=2):
        pass
    with zk.WriteLock("/rw"):
        pass
    zk.Election("/election", "me").run(print, "leading")
    zk.Barrier("/b").create()
    cleared: bool = zk.Barrier("/b").wait(timeout=1.0)
    entered: bool = zk.DoubleBarrier("/db", 3).enter(timeout=2.0)
    counter = zk.Counter("/count", default=1)
    counter += 2
    value: int = counter.value
    party = zk.Party("/party", "me")
    party.join()
    members: List[str] = list(party)
    zk.Queue("/q").put(b"x", priority=5)
    item: Optional[bytes] = zk.LockingQueue("/lq").get(timeout=1.0)
    cache = zk.TreeCache("/tree")

    @cache.listen
    def on_event(event: TreeEvent) -> None:
        if event.event_data is not None:
            print(event.event_type, event.event_data.path, event.event_data.stat.version)

    cache.start()
    node: Optional[NodeData] = cache.get_data("/tree")
    kids: Optional[FrozenSet[str]] = cache.get_children("/tree")
    cache.close()
    print(cleared, entered, value, members, item, node, kids, len(party))


async def async_recipe_usage(zk: corral.AsyncClient) -> None:
    async with zk.Lock("/lock", "me"), zk.Semaphore("/sem", max_leases=3):
        pass
    lock = zk.WriteLock("/rw")
    got: bool = await lock.acquire(timeout=1.0)
    await lock.release()

    async def lead() -> None:
        await asyncio.sleep(0)

    await zk.Election("/e").run(lead)
    print(got, await zk.ReadLock("/rw").contenders())
