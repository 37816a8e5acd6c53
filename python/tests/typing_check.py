"""Type-checked with mypy --strict (`make test-python-pkg`), never run:
uses the public API as user code would, so that the stubs (_corral.pyi)
and annotations stay usable."""

import asyncio
from typing import List, Optional, Tuple

import corral
from corral.exceptions import NoNodeError, ZookeeperError
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
