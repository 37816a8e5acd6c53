// corral-zk and node-zookeeper-client (npm) on the same server see each
// other's writes, watches and locks' nodes, against corral-server and
// Apache ZooKeeper 3.8.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');
const zookeeper = require('node-zookeeper-client');

const { kinds } = require('./support/servers');
const { uniquePath, serverFixture, watcher } = require('./support/helpers');

/** Calls a node-zookeeper-client method: resolves to its results, rejects with its error. */
function nzc(client, method, ...args) {
    return new Promise((resolve, reject) => {
        client[method](...args, (error, ...results) => (error ? reject(error) : resolve(results)));
    });
}

for (const kind of kinds()) {
    describe(`node-zookeeper-client interop on ${kind}`, () => {
        const ctx = serverFixture(kind);
        let other;

        before(async () => {
            other = zookeeper.createClient(ctx.server.hosts, { sessionTimeout: 4000, retries: 0 });
            await new Promise((resolve, reject) => {
                const t = setTimeout(() => reject(new Error('node-zookeeper-client did not connect')), 15000);
                other.once('connected', () => { clearTimeout(t); resolve(); });
                other.connect();
            });
        });
        after(() => other && other.close());

        it('sees corral-zk writes, and corral-zk sees its writes', async () => {
            const zk = await ctx.connect();
            const root = uniquePath('interop');
            await zk.create(root, 'from corral');
            const [data, stat] = await nzc(other, 'getData', root);
            assert.equal(data.toString(), 'from corral');
            assert.equal(stat.version, 0);

            await nzc(other, 'create', `${root}/kid`, Buffer.from('from nzc'), zookeeper.CreateMode.PERSISTENT);
            assert.deepEqual(await zk.getChildren(root), ['kid']);
            assert.equal((await zk.getData(`${root}/kid`)).data.toString(), 'from nzc');

            await nzc(other, 'setData', root, Buffer.from('changed by nzc'), 0);
            const { data: d2, stat: s2 } = await zk.getData(root);
            assert.equal(d2.toString(), 'changed by nzc');
            assert.equal(s2.version, 1);

            await zk.setData(root, 'changed by corral', 1);
            const [d3] = await nzc(other, 'getData', root);
            assert.equal(d3.toString(), 'changed by corral');

            await zk.transaction().delete(`${root}/kid`).delete(root).commit();
            const [exists] = await nzc(other, 'exists', root);
            assert.equal(exists, null);
        });

        it('watches fire across clients, both ways', async () => {
            const zk = await ctx.connect();
            const path = uniquePath('interop-watch');
            const w = watcher();
            await zk.exists(path, { watch: w.fn });
            await nzc(other, 'create', path, Buffer.from('x'), zookeeper.CreateMode.EPHEMERAL);
            assert.equal((await w.event).type, 'node_created');

            // The watch is set once node-zookeeper-client's getData is
            // answered; only then may the change be made.
            let fired;
            const nzcEvent = new Promise((resolve) => {
                fired = resolve;
            });
            await new Promise((resolve, reject) => {
                other.getData(path, (event) => fired(event), (err) => (err ? reject(err) : resolve()));
            });
            await zk.setData(path, 'y');
            const ev = await nzcEvent;
            assert.equal(ev.getName(), 'NODE_DATA_CHANGED');
            assert.equal(ev.getPath(), path);
        });

        it('a corral-zk ephemeral sequential node is an ordinary one to node-zookeeper-client', async () => {
            const zk = await ctx.connect();
            const root = uniquePath('interop-seq');
            await zk.create(root);
            const a = await zk.create(`${root}/n-`, 'a', { mode: 'ephemeral_sequential' });
            const [b] = await nzc(other, 'create', `${root}/n-`, Buffer.from('b'), zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL);
            const names = (await zk.getChildren(root)).sort();
            assert.deepEqual(names.map((n) => `${root}/${n}`), [a, b].sort());
            const [, stat] = await nzc(other, 'getData', a);
            assert.equal(BigInt(`0x${stat.ephemeralOwner.toString('hex')}`), zk.sessionId);
            await zk.close();
            const [children] = await nzc(other, 'getChildren', root);
            assert.deepEqual(children.map((n) => `${root}/${n}`), [b]);
        });
    });
}
