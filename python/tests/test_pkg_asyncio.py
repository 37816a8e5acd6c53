"""corral.AsyncClient: the operations as coroutines, watches and
listeners in the event loop, 1,000 concurrent gets, cancellation — against
both servers."""

import asyncio
import threading
import uuid

import pytest

import corral
from corral import exceptions as ex
from corral.states import ZnodeStat


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_operations(server):
    async def main():
        async with corral.AsyncClient(server.hosts, timeout=4.0) as zk:
            root = "/aio-" + uuid.uuid4().hex[:8]
            assert await zk.create(root, b"r") == root
            data, stat = await zk.get(root)
            assert data == b"r" and isinstance(stat, ZnodeStat)
            assert (await zk.set(root, b"s", version=0)).version == 1
            assert await zk.exists(root + "/x") is None
            path, stat = await zk.create(root + "/a/b", b"", makepath=True, include_data=True)
            assert path == root + "/a/b" and stat.dataLength == 0
            assert await zk.get_children(root) == ["a"]
            children, st = await zk.get_children(root, include_data=True)
            assert children == ["a"] and st.numChildren == 1
            assert await zk.ensure_path(root + "/c/d") is True
            assert await zk.sync(root) == root
            acls, _ = await zk.get_acls(root)
            assert acls[0].id.scheme == "world"
            assert (await zk.set_acls(root, acls)).aversion == 1
            assert await zk.add_auth("digest", "u:p") is True
            t = zk.transaction()
            t.create(root + "/t")
            t.check(root, 1)
            assert await t.commit() == [root + "/t", True]
            with pytest.raises(ex.NoNodeError):
                await zk.get(root + "/missing")
            with pytest.raises(ex.NodeExistsError):
                await zk.create(root)
            with pytest.raises(ex.BadVersionError):
                await zk.delete(root, version=9)
            assert await zk.delete(root, recursive=True) is True
            assert zk.connected and zk.state == "CONNECTED"
            assert zk.client_id[0] != 0
        assert not zk.connected
        with pytest.raises(ex.ConnectionClosedError):
            await zk.get("/")

    run(main())


def test_thousand_concurrent_gets(server):
    async def main():
        zk = corral.AsyncClient(server.hosts, timeout=4.0)
        await zk.start()
        root = "/aio-many-" + uuid.uuid4().hex[:8]
        await zk.create(root)
        await asyncio.gather(*(zk.create("%s/n%d" % (root, i), b"%d" % i) for i in range(20)))
        results = await asyncio.gather(*(zk.get("%s/n%d" % (root, i % 20)) for i in range(1000)))
        assert len(results) == 1000
        for i, (data, stat) in enumerate(results):
            assert data == b"%d" % (i % 20)
        await zk.delete(root, recursive=True)
        await zk.stop()
        await zk.close()

    run(main())


def test_watch_and_listener_in_loop(server):
    async def main():
        loop_thread = threading.current_thread()
        zk = corral.AsyncClient(server.hosts, timeout=4.0)
        states = []
        zk.add_listener(lambda s: states.append((s, threading.current_thread() is loop_thread)))
        await zk.start()
        root = "/aio-w-" + uuid.uuid4().hex[:8]
        await zk.create(root)
        got = asyncio.get_running_loop().create_future()

        async def watcher(event):  # a coroutine function: scheduled as a task
            assert threading.current_thread() is loop_thread
            data, _ = await zk.get(event.path)
            got.set_result((event, data))

        await zk.get(root, watch=watcher)
        await zk.set(root, b"new")
        event, data = await asyncio.wait_for(got, 10)
        assert (event.type, event.path, data) == ("CHANGED", root, b"new")

        plain = asyncio.Event()
        await zk.exists(root + "/c", watch=lambda e: plain.set())
        await zk.create(root + "/c")
        await asyncio.wait_for(plain.wait(), 10)

        await zk.delete(root, recursive=True)
        await zk.stop()
        assert states == [("CONNECTED", True), ("LOST", True)]
        await zk.close()

    run(main())


def test_cancel(server):
    async def main():
        zk = corral.AsyncClient(server.hosts, timeout=4.0)
        await zk.start()
        fut = zk.get("/")
        fut.cancel()
        with pytest.raises(asyncio.CancelledError):
            await fut
        # the client is fine afterwards
        assert (await zk.exists("/")) is not None
        await zk.close()

    run(main())


def test_not_in_a_loop(server):
    zk = corral.AsyncClient(server.hosts)
    with pytest.raises(RuntimeError):
        zk.start()
