"""The recipes of corral.AsyncClient: locks and semaphores as async
context managers, election with a coroutine — against both servers."""

import asyncio
import uuid

import pytest

import corral
from corral import exceptions as ex
from corral.recipe.lock import AsyncLock


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def fresh():
    return "/aio-recipes-" + uuid.uuid4().hex[:8]


def test_async_lock(server):
    async def main():
        async with corral.AsyncClient(server.hosts, timeout=4.0) as a, \
                corral.AsyncClient(server.hosts, timeout=4.0) as b:
            path = fresh() + "/lock"
            first, second = a.Lock(path, "a"), b.Lock(path, "b")
            assert isinstance(first, AsyncLock)
            async with first:
                assert first.is_acquired
                assert await second.acquire(blocking=False) is False
                with pytest.raises(ex.LockTimeout):
                    await second.acquire(timeout=0.2)
                waiter = asyncio.ensure_future(second.acquire())
                # (the timed-out attempt's node is deleted in the background)
                while await first.contenders() != ["a", "b"]:
                    await asyncio.sleep(0.02)
                assert not waiter.done()
            assert await asyncio.wait_for(waiter, 10) is True
            assert await second.release() is True
            assert await first.release() is False

    run(main())


def test_async_lock_tasks_exclude_each_other(server):
    async def main():
        async with corral.AsyncClient(server.hosts, timeout=4.0) as zk:
            path = fresh() + "/lock"
            inside, overlaps = [0], []

            async def worker():
                lock = zk.Lock(path)  # one handle per task (re-entrant per handle)
                for _ in range(5):
                    async with lock:
                        inside[0] += 1
                        overlaps.append(inside[0] > 1)
                        await asyncio.sleep(0.002)
                        inside[0] -= 1

            await asyncio.gather(*(worker() for _ in range(4)))
            assert not any(overlaps) and len(overlaps) == 20

    run(main())


def test_async_lock_cancelled_wait_leaves_no_node(server):
    async def main():
        async with corral.AsyncClient(server.hosts, timeout=4.0) as zk:
            path = fresh() + "/lock"
            holder, waiter = zk.Lock(path), zk.Lock(path)
            await holder.acquire()
            task = asyncio.ensure_future(waiter.acquire())
            while len(await zk.get_children(path)) < 2:
                await asyncio.sleep(0.02)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            while len(await zk.get_children(path)) > 1:
                await asyncio.sleep(0.02)
            # kazoo's cancel() too
            task = asyncio.ensure_future(waiter.acquire())
            await asyncio.sleep(0.1)
            waiter.cancel()
            with pytest.raises(ex.CancelledError):
                await task
            await holder.release()
            assert await waiter.acquire(timeout=5)
            await waiter.release()

    run(main())


def test_async_semaphore_and_rw_locks(server):
    async def main():
        async with corral.AsyncClient(server.hosts, timeout=4.0) as zk:
            path = fresh()
            s1, s2 = zk.Semaphore(path + "/sem", "s1"), zk.Semaphore(path + "/sem", "s2")
            async with s1:
                assert await s1.lease_holders() == ["s1"]
                assert await s2.acquire(blocking=False) is False
            assert await s2.acquire(timeout=5)
            await s2.release()

            r1, r2 = zk.ReadLock(path + "/rw", "r1"), zk.ReadLock(path + "/rw", "r2")
            w = zk.WriteLock(path + "/rw", "w")
            async with r1, r2:
                assert await w.acquire(blocking=False) is False
            async with w:
                assert await r1.acquire(blocking=False) is False

    run(main())


def test_async_election(server):
    async def main():
        async with corral.AsyncClient(server.hosts, timeout=4.0) as zk:
            path = fresh() + "/election"
            led = []

            async def lead(name):
                led.append(name)
                await asyncio.sleep(0.05)

            await asyncio.gather(zk.Election(path, "x").run(lead, "x"),
                                 zk.Election(path, "y").run(lead, "y"))
            assert sorted(led) == ["x", "y"]

    run(main())


def test_async_lock_contends_with_sync_client(server, zk):
    """An AsyncClient's lock and a Client's lock on one path."""
    path = fresh() + "/lock"
    blocking = zk.Lock(path, "sync")
    blocking.acquire()

    async def main():
        async with corral.AsyncClient(server.hosts, timeout=4.0) as a:
            lock = a.Lock(path, "async")
            assert await lock.acquire(blocking=False) is False
            loop = asyncio.get_running_loop()
            loop.call_later(0.2, blocking.release)
            assert await lock.acquire(timeout=10) is True
            assert await lock.contenders() == ["async"]
            await lock.release()

    run(main())
