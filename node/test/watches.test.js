// Every watch type: one-shot data / exist / child watches, persistent and
// persistent recursive watches, removal events and session-end events,
// against corral-server and Apache ZooKeeper 3.8.
'use strict';

const assert = require('node:assert/strict');
const { describe, it } = require('node:test');

const { kinds } = require('./support/servers');
const { uniquePath, serverFixture, watcher, collector, rejectsWith } = require('./support/helpers');

for (const kind of kinds()) {
    describe(`watches on ${kind}`, () => {
        const ctx = serverFixture(kind);

        it('getData watch: node_data_changed, then node_deleted', async () => {
            const zk = await ctx.connect();
            const path = uniquePath();
            await zk.create(path, 'a');
            const w1 = watcher();
            await zk.getData(path, { watch: w1.fn });
            await zk.setData(path, 'b');
            assert.deepEqual(await w1.event, { type: 'node_data_changed', state: 'sync_connected', path });
            const w2 = watcher();
            await zk.getData(path, { watch: w2.fn });
            await zk.delete(path);
            assert.deepEqual(await w2.event, { type: 'node_deleted', state: 'sync_connected', path });
        });

        it('exists watch: node_created on a missing node, node_data_changed on one', async () => {
            const zk = await ctx.connect();
            const path = uniquePath();
            const w1 = watcher();
            assert.equal(await zk.exists(path, { watch: w1.fn }), null);
            await zk.create(path);
            assert.equal((await w1.event).type, 'node_created');
            const w2 = watcher();
            assert.ok(await zk.exists(path, { watch: w2.fn }));
            await zk.setData(path, 'x');
            assert.equal((await w2.event).type, 'node_data_changed');
            await zk.delete(path);
        });

        it('getChildren watch: node_children_changed and node_deleted', async () => {
            const zk = await ctx.connect();
            const path = uniquePath();
            await zk.create(path);
            const w1 = watcher();
            assert.deepEqual(await zk.getChildren(path, { watch: w1.fn }), []);
            await zk.create(`${path}/kid`);
            assert.deepEqual(await w1.event, { type: 'node_children_changed', state: 'sync_connected', path });
            const w2 = watcher();
            await zk.getChildren(path, { watch: w2.fn });
            await zk.delete(path, -1, { recursive: true });
            assert.ok(['node_children_changed', 'node_deleted'].includes((await w2.event).type));
        });

        it('a watch fires once; another client\'s change fires it', async () => {
            const zk = await ctx.connect();
            const other = await ctx.connect();
            const path = uniquePath();
            await zk.create(path);
            const c = collector();
            await zk.getData(path, { watch: c.push });
            await other.setData(path, '1');
            await other.setData(path, '2');
            await c.until((ev) => ev.length >= 1);
            await zk.sync(path);
            await new Promise((r) => setTimeout(r, 200));
            assert.equal(c.events.length, 1);
            await zk.delete(path);
        });

        it('persistent watch: every change on the node, until removed', async () => {
            const zk = await ctx.connect();
            const path = uniquePath();
            const c = collector();
            const pw = await zk.addWatch(path, 'persistent', c.push);
            assert.equal(pw.path, path);
            assert.equal(pw.mode, 'persistent');
            await zk.create(path, 'a');
            await zk.setData(path, 'b');
            await zk.create(`${path}/kid`);
            await zk.delete(`${path}/kid`);
            await zk.setData(path, 'c');
            await c.until((ev) => ev.length >= 5);
            assert.deepEqual(c.events.map((e) => e.type), [
                'node_created', 'node_data_changed', 'node_children_changed',
                'node_children_changed', 'node_data_changed',
            ]);
            assert.ok(c.events.every((e) => e.path === path));
            await pw.remove();
            await c.until((ev) => ev.some((e) => e.type === 'persistent_watch_removed'));
            const n = c.events.length;
            await zk.setData(path, 'd');
            await zk.sync(path);
            await new Promise((r) => setTimeout(r, 200));
            assert.equal(c.events.length, n);
            await zk.delete(path);
        });

        it('persistent recursive watch: the subtree, without child events', async () => {
            const zk = await ctx.connect();
            const path = uniquePath();
            await zk.create(path);
            const c = collector();
            const pw = await zk.addWatch(path, 'persistent_recursive', c.push);
            await zk.create(`${path}/a`, 'x');
            await zk.create(`${path}/a/b`, 'y');
            await zk.setData(`${path}/a/b`, 'z');
            await zk.delete(`${path}/a/b`);
            await c.until((ev) => ev.length >= 4);
            assert.deepEqual(c.events.map((e) => [e.type, e.path]), [
                ['node_created', `${path}/a`],
                ['node_created', `${path}/a/b`],
                ['node_data_changed', `${path}/a/b`],
                ['node_deleted', `${path}/a/b`],
            ]);
            await pw.remove();
            await zk.delete(path, -1, { recursive: true });
        });

        it('removeWatches: data_watch_removed and child_watch_removed', async () => {
            const zk = await ctx.connect();
            const path = uniquePath();
            await zk.create(path);
            const wd = watcher();
            const wc = watcher();
            await zk.getData(path, { watch: wd.fn });
            await zk.getChildren(path, { watch: wc.fn });
            await zk.removeWatches(path, 'data');
            assert.equal((await wd.event).type, 'data_watch_removed');
            await zk.removeWatches(path, 'children');
            assert.equal((await wc.event).type, 'child_watch_removed');
            await rejectsWith(zk.removeWatches(path, 'any'), 'NOWATCHER');
            await zk.delete(path);
        });

        it('pending watches get a session event when the client closes', async () => {
            const zk = await ctx.connect();
            const path = uniquePath();
            const w = watcher();
            const c = collector();
            await zk.exists(path, { watch: w.fn });
            await zk.addWatch('/', 'persistent_recursive', c.push);
            await zk.close();
            assert.deepEqual(await w.event, { type: 'none', state: 'closed', path: '' });
            await c.until((ev) => ev.some((e) => e.type === 'none' && e.state === 'closed'));
        });
    });
}
