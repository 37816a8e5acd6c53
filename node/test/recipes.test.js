// The recipes: lock, read/write lock, semaphore, leader latch, election,
// barrier, double barrier, counter, queue, tree cache — against
// corral-server and Apache ZooKeeper 3.8.
'use strict';

const assert = require('node:assert/strict');
const { describe, it } = require('node:test');

const { kinds } = require('./support/servers');
const { uniquePath, serverFixture, collector, rejectsWith, sleep } = require('./support/helpers');

for (const kind of kinds()) {
    describe(`recipes on ${kind}`, () => {
        const ctx = serverFixture(kind);

        it('lock: exclusive, re-entrant, with timeouts', async () => {
            const a = await ctx.connect();
            const b = await ctx.connect();
            const path = uniquePath('lock');
            const la = a.lock(path, { data: 'holder-a' });
            const lb = b.lock(path);
            assert.equal(la.path, path);
            assert.equal(la.state, 'released');
            assert.equal(await la.acquire(), true);
            assert.equal(la.isAcquired, true);
            assert.equal(la.state, 'acquired');
            assert.match(la.node, new RegExp(`^${path}/_c_.*-lock-\\d{10}$`));
            assert.equal((await a.getData(la.node)).data.toString(), 'holder-a');
            assert.equal(await la.acquire({ timeout: 100 }), true); // re-entrant
            assert.equal(await lb.acquire({ timeout: 300 }), false);
            assert.equal(await lb.tryAcquire(), false);
            const waiting = lb.acquire({ timeout: 10000 });
            await sleep(200);
            assert.equal((await la.contenders()).length, 2);
            await la.release();
            assert.equal(lb.isAcquired, false);
            await la.release();
            assert.equal(await waiting, true);
            assert.equal(lb.isAcquired, true);
            await rejectsWith(la.release(), 'BADARGUMENTS');
            await lb.release();
            assert.equal(la.node, null);
        });

        it('read/write lock: readers share, a writer excludes', async () => {
            const a = await ctx.connect();
            const b = await ctx.connect();
            const path = uniquePath('rw');
            const ra = a.readWriteLock(path).readLock;
            const rwb = b.readWriteLock(path);
            assert.equal(await ra.acquire({ timeout: 2000 }), true);
            assert.equal(await rwb.readLock.acquire({ timeout: 2000 }), true);
            assert.equal(await rwb.writeLock.acquire({ timeout: 300 }), false);
            await ra.release();
            await rwb.readLock.release();
            assert.equal(await rwb.writeLock.acquire({ timeout: 2000 }), true);
            assert.equal(await ra.acquire({ timeout: 300 }), false);
            await rwb.writeLock.release();
        });

        it('semaphore: at most maxLeases', async () => {
            const a = await ctx.connect();
            const b = await ctx.connect();
            const path = uniquePath('sem');
            const sa = a.semaphore(path, 2);
            const sb = b.semaphore(path, 2);
            const l1 = await sa.acquire();
            const l2 = await sb.acquire({ timeout: 2000 });
            assert.ok(l1 && l2);
            assert.equal(typeof l1.node, 'string');
            assert.equal(await sb.acquire({ timeout: 300 }), null);
            // The timed-out acquire's node is deleted in the background.
            const deadline = Date.now() + 5000;
            while ((await sa.leaseNodes()).length !== 2 && Date.now() < deadline) await sleep(50);
            assert.equal((await sa.leaseNodes()).length, 2);
            await l1.release();
            await rejectsWith(l1.release(), 'BADARGUMENTS');
            const l3 = await sb.acquire({ timeout: 2000 });
            assert.ok(l3);
            await l2.release();
            await l3.release();
        });

        it('leader latch: isLeader / notLeader events, handover on close', async () => {
            const a = await ctx.connect();
            const b = await ctx.connect();
            const path = uniquePath('latch');
            const la = a.leaderLatch(path, 'A');
            const lb = b.leaderLatch(path, 'B');
            const ea = collector();
            const eb = collector();
            la.on('isLeader', () => ea.push('isLeader')).on('notLeader', () => ea.push('notLeader'));
            lb.on('isLeader', () => eb.push('isLeader')).on('closed', () => eb.push('closed'));
            la.once('closed', () => ea.push('closed'));
            assert.equal(la.listenerCount('isLeader'), 1);
            await la.start();
            assert.equal(await la.awaitLeadership({ timeout: 5000 }), true);
            await ea.until((e) => e.includes('isLeader'));
            await lb.start();
            assert.equal(await lb.awaitLeadership({ timeout: 300 }), false);
            assert.equal(lb.hasLeadership, false);
            assert.equal(lb.state, 'not_leader');
            const parts = await lb.participants();
            assert.deepEqual(parts.map((p) => [p.id, p.isLeader]), [['A', true], ['B', false]]);
            await la.close();
            await ea.until((e) => e.includes('closed'));
            assert.equal(la.state, 'closed');
            await eb.until((e) => e.includes('isLeader'));
            assert.equal(lb.hasLeadership, true);
            await lb.close();
            await eb.until((e) => e.includes('closed'));
        });

        it('election: run(fn) as leader, one at a time; cancel()', async () => {
            const a = await ctx.connect();
            const b = await ctx.connect();
            const path = uniquePath('election');
            const log = [];
            let releaseA;
            const ea = a.election(path, 'A');
            const eb = b.election(path, 'B');
            assert.equal(ea.state, 'stopped');
            const runA = ea.run(async (leadership) => {
                assert.equal(typeof leadership.node, 'string');
                log.push('A start');
                await new Promise((r) => { releaseA = r; });
                log.push('A end');
            });
            while (!releaseA) await sleep(20);
            assert.equal(ea.isLeader, true);
            const runB = eb.run(() => { log.push('B'); });
            await sleep(300);
            assert.equal(eb.state, 'candidate');
            assert.deepEqual(log, ['A start']);
            releaseA();
            await runA;
            await runB;
            assert.deepEqual(log, ['A start', 'A end', 'B']);
            assert.equal(ea.state, 'stopped');

            // A rejected task rejects run(); cancel() leaves while waiting.
            await assert.rejects(ea.run(async () => { throw new Error('task failed'); }), /task failed/);
            let releaseC;
            const ec = a.election(path, 'C');
            const runC = ec.run(() => new Promise((r) => { releaseC = r; }));
            while (!releaseC) await sleep(20);
            const runD = eb.run(() => { log.push('D'); });
            await sleep(200);
            await eb.cancel();
            await runD;
            releaseC();
            await runC;
            assert.ok(!log.includes('D'));
        });

        it('barrier: wait until removed', async () => {
            const a = await ctx.connect();
            const b = await ctx.connect();
            const path = uniquePath('barrier');
            const ba = a.barrier(path);
            assert.equal(await ba.isSet(), false);
            assert.equal(await ba.wait({ timeout: 100 }), true);
            await ba.set();
            await ba.set();
            assert.equal(await ba.isSet(), true);
            assert.equal(await b.barrier(path).wait({ timeout: 200 }), false);
            const waiting = b.barrier(path).wait({ timeout: 10000 });
            await sleep(100);
            await ba.remove();
            assert.equal(await waiting, true);
        });

        it('double barrier: enter and leave together', async () => {
            const clients = [await ctx.connect(), await ctx.connect(), await ctx.connect()];
            const path = uniquePath('dbarrier');
            const lone = clients[0].doubleBarrier(path, 3);
            assert.equal(await lone.enter({ timeout: 200 }), false);
            const parts = clients.map((c) => c.doubleBarrier(path, 3));
            assert.deepEqual(await Promise.all(parts.map((p) => p.enter({ timeout: 10000 }))), [true, true, true]);
            assert.deepEqual(await Promise.all(parts.map((p) => p.leave({ timeout: 10000 }))), [true, true, true]);
        });

        it('counter: add, set, compare-and-set, formats', async () => {
            const a = await ctx.connect();
            const b = await ctx.connect();
            const path = uniquePath('counter');
            const ca = a.counter(path);
            const cb = b.counter(path);
            assert.equal(await ca.get(), 0);
            await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? ca : cb).add(1)));
            assert.equal(await cb.get(), 10);
            assert.equal(await ca.add(-3), 7);
            assert.equal((await a.getData(path)).data.toString(), '7');
            const { value, version } = await ca.getVersioned();
            assert.equal(value, 7);
            assert.equal(await cb.compareAndSet(version, 100), true);
            assert.equal(await ca.compareAndSet(version, 5), false);
            await ca.set(42);
            assert.equal(await cb.get(), 42);
            const shared = a.counter(uniquePath('shared'), { format: 'shared_count', initial: 5 });
            assert.equal(await shared.add(1), 6);
            const long = a.counter(uniquePath('long'), { format: 'atomic_long' });
            assert.equal(await long.add(2 ** 40), 2 ** 40);
            await rejectsWith(a.counter(path, { format: 'roman' }).get(), 'BADARGUMENTS');
        });

        it('queue: put, take, priorities, locked items', async () => {
            const a = await ctx.connect();
            const b = await ctx.connect();
            const path = uniquePath('queue');
            const qa = a.queue(path);
            const qb = b.queue(path);
            assert.equal(await qb.take({ timeout: 100 }), null);
            await qa.put('low', { priority: 500 });
            await qa.put(Buffer.from('high'), { priority: 1 });
            await qa.putAll(['m1', 'm2']);
            assert.equal(await qb.count(), 4);
            assert.equal((await qb.take()).toString(), 'high');
            const item = await qb.takeLocked({ timeout: 2000 });
            assert.equal(item.data.toString(), 'm1');
            assert.equal(typeof item.name, 'string');
            await item.release();
            await rejectsWith(item.consume(), 'BADARGUMENTS');
            const again = await qa.takeLocked({ timeout: 2000 });
            assert.equal(again.data.toString(), 'm1');
            await again.consume();
            assert.equal((await qa.take({ timeout: 2000 })).toString(), 'm2');
            assert.equal((await qa.take({ timeout: 2000 })).toString(), 'low');
            const waiting = qb.take({ timeout: 10000 });
            await sleep(100);
            await qa.put('late');
            assert.equal((await waiting).toString(), 'late');
            await rejectsWith(qa.put('x', { priority: 1000 }), 'BADARGUMENTS');
        });

        it('tree cache: initial load and change events', async () => {
            const zk = await ctx.connect();
            const root = uniquePath('cache');
            await zk.create(`${root}/a`, 'A', { makepath: true });
            const cache = zk.treeCache(root);
            const c = collector();
            cache.on('change', c.push);
            await cache.start();
            assert.ok(c.events.some((e) => e.type === 'initialized'));
            assert.equal(cache.size, 2);
            assert.equal(cache.get(`${root}/a`).data.toString(), 'A');
            assert.deepEqual(cache.children(root), ['a']);
            assert.equal(cache.get(`${root}/missing`), null);
            await zk.create(`${root}/b`, 'B');
            await zk.setData(`${root}/a`, 'A2');
            await zk.delete(`${root}/b`);
            await c.until((ev) => ev.some((e) => e.type === 'node_removed'));
            const changes = c.events
                .filter((e) => e.type.startsWith('node_'))
                .map((e) => [e.type, e.node.path]);
            assert.deepEqual(changes.slice(-3), [
                ['node_added', `${root}/b`],
                ['node_updated', `${root}/a`],
                ['node_removed', `${root}/b`],
            ]);
            assert.equal(cache.get(`${root}/a`).data.toString(), 'A2');
            assert.equal(cache.get(`${root}/a`).stat.version, 1);
            await cache.close();
            assert.equal(cache.size, 0);
            await zk.delete(root, -1, { recursive: true });
        });
    });
}
