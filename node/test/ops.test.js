// Every operation of Client and every error code it maps, against
// corral-server and Apache ZooKeeper 3.8.
'use strict';

const assert = require('node:assert/strict');
const { describe, it } = require('node:test');

const { Client, Perms, Transaction } = require('..');
const { kinds, SUPER_USER, SUPER_PASSWORD } = require('./support/servers');
const { uniquePath, serverFixture, rejectsWith, digestId } = require('./support/helpers');

for (const kind of kinds()) {
    describe(`operations on ${kind}`, () => {
        const ctx = serverFixture(kind);

        it('connects and reports its session', async () => {
            const zk = await ctx.connect();
            assert.equal(zk.state, 'connected');
            assert.equal(typeof zk.sessionId, 'bigint');
            assert.ok(zk.sessionId !== 0n);
            assert.ok(Buffer.isBuffer(zk.sessionPassword));
            assert.ok(zk.sessionTimeout > 0 && zk.sessionTimeout <= 4000);
            assert.equal(zk.connectedHost, ctx.server.hosts);
        });

        it('creates in every mode and reads back', async () => {
            const zk = await ctx.connect();
            const root = uniquePath();
            assert.equal(await zk.create(root), root);
            assert.equal(await zk.create(`${root}/p`, 'text'), `${root}/p`);
            assert.equal(await zk.create(`${root}/b`, Buffer.from([0, 1, 2, 255])), `${root}/b`);
            const e = await zk.create(`${root}/e`, null, { mode: 'ephemeral' });
            const ps = await zk.create(`${root}/ps-`, 'x', { mode: 'persistent_sequential' });
            const es = await zk.create(`${root}/es-`, 'x', { mode: 'ephemeral_sequential' });
            await zk.create(`${root}/c`, '', { mode: 'container' });
            await zk.create(`${root}/ttl`, 'x', { mode: 'persistent', ttl: 60000 });
            await zk.create(`${root}/ttlseq-`, 'x', { mode: 'persistent_sequential', ttl: 60000 });
            assert.match(ps, /\/ps-\d{10}$/);
            assert.match(es, /\/es-\d{10}$/);

            const p = await zk.getData(`${root}/p`);
            assert.ok(Buffer.isBuffer(p.data));
            assert.equal(p.data.toString(), 'text');
            assert.equal(p.stat.version, 0);
            assert.equal(p.stat.dataLength, 4);
            assert.equal(p.stat.ephemeralOwner, 0n);
            assert.deepEqual([...(await zk.getData(`${root}/b`)).data], [0, 1, 2, 255]);
            assert.equal((await zk.getData(root)).data.length, 0);
            const es2 = await zk.exists(e);
            assert.equal(es2.ephemeralOwner, zk.sessionId);
            const children = (await zk.getChildren(root)).sort();
            assert.equal(children.length, 8);
            assert.ok(children.includes('p') && children.includes('c') && children.includes('ttl'));
            assert.equal((await zk.exists(root)).numChildren, 8);
            await zk.delete(root, -1, { recursive: true });
            assert.equal(await zk.exists(root), null);
        });

        it('creates parents with makepath and ensurePath', async () => {
            const zk = await ctx.connect();
            const root = uniquePath();
            assert.equal(await zk.create(`${root}/a/b/c`, 'deep', { makepath: true }), `${root}/a/b/c`);
            assert.equal((await zk.getData(`${root}/a/b/c`)).data.toString(), 'deep');
            await zk.ensurePath(`${root}/x/y`);
            await zk.ensurePath(`${root}/x/y`);
            assert.ok(await zk.exists(`${root}/x/y`));
            assert.equal(await zk.getAllChildrenNumber(root), 5);
            await zk.delete(root, -1, { recursive: true });
            await zk.delete(root, -1, { recursive: true }); // a missing node is fine
        });

        it('sets data with versions', async () => {
            const zk = await ctx.connect();
            const path = uniquePath();
            await zk.create(path, 'v0');
            const s1 = await zk.setData(path, 'v1');
            assert.equal(s1.version, 1);
            const s2 = await zk.setData(path, Buffer.from('v2'), 1);
            assert.equal(s2.version, 2);
            await rejectsWith(zk.setData(path, 'v3', 1), 'BADVERSION', -103);
            assert.equal((await zk.setData(path, null, -1)).dataLength, 0);
            await rejectsWith(zk.delete(path, 1), 'BADVERSION');
            await zk.delete(path, 3);
            await rejectsWith(zk.delete(path), 'NONODE', -101);
        });

        it('maps error codes', async () => {
            const zk = await ctx.connect();
            const root = uniquePath();
            await zk.create(root);
            await rejectsWith(zk.create(root), 'NODEEXISTS', -110);
            await rejectsWith(zk.getData(`${root}/missing`), 'NONODE', -101);
            await rejectsWith(zk.setData(`${root}/missing`, 'x'), 'NONODE');
            await rejectsWith(zk.getChildren(`${root}/missing`), 'NONODE');
            await rejectsWith(zk.create(`${root}/a/b`), 'NONODE');
            await zk.create(`${root}/child`);
            await rejectsWith(zk.delete(root), 'NOTEMPTY', -111);
            await zk.create(`${root}/eph`, '', { mode: 'ephemeral' });
            await rejectsWith(zk.create(`${root}/eph/x`), 'NOCHILDRENFOREPHEMERALS', -108);
            await rejectsWith(zk.getData('no-slash'), 'BADARGUMENTS', -8);
            await rejectsWith(zk.create(`${root}/bad`, '', { mode: 'sideways' }), 'BADARGUMENTS');
            await rejectsWith(zk.create(`${root}/bad`, '', { mode: 'ephemeral', ttl: 1000 }), 'BADARGUMENTS');
            await rejectsWith(zk.create(`${root}/noacl`, '', { acl: [] }), 'INVALIDACL', -114);
            await rejectsWith(zk.removeWatches(root, 'data'), 'NOWATCHER', -121);
            await rejectsWith(zk.removeWatches(root, 'sideways'), 'BADARGUMENTS');
            assert.equal(await zk.exists(`${root}/missing`), null);
            await zk.delete(root, -1, { recursive: true });
        });

        it('runs sync, getEphemerals and whoAmI', async () => {
            const zk = await ctx.connect();
            const root = uniquePath();
            assert.equal(await zk.sync('/'), '/');
            await zk.create(root);
            const e = await zk.create(`${root}/e`, '', { mode: 'ephemeral' });
            assert.deepEqual(await zk.getEphemerals(root), [e]);
            assert.ok((await zk.getEphemerals()).includes(e));
            const ids = await zk.whoAmI();
            assert.ok(ids.some((i) => i.authScheme === 'ip'));
            await zk.delete(root, -1, { recursive: true });
        });

        it('sets and reads ACLs, with digest auth', async () => {
            const zk = await ctx.connect();
            const other = await ctx.connect();
            const path = uniquePath();
            await zk.addAuth('digest', 'alice:secret');
            const acl = [
                { perms: Perms.All, scheme: 'digest', id: digestId('alice', 'secret') },
                { perms: Perms.Read, scheme: 'world', id: 'anyone' },
            ];
            await zk.create(path, 'guarded', { acl });
            const got = await zk.getACL(path);
            assert.deepEqual(got.acl, acl);
            assert.equal(got.stat.aversion, 0);
            assert.equal((await other.getData(path)).data.toString(), 'guarded');
            await rejectsWith(other.setData(path, 'x'), 'NOAUTH', -102);
            const s = await zk.setACL(path, [{ perms: Perms.All, scheme: 'digest', id: digestId('alice', 'secret') }], 0);
            assert.equal(s.aversion, 1);
            await rejectsWith(zk.setACL(path, acl, 0), 'BADVERSION');
            await rejectsWith(other.getData(path), 'NOAUTH');
            await rejectsWith(other.getACL(`${path}/missing`), 'NONODE');

            const carol = await ctx.connect({ authData: [{ scheme: 'digest', auth: 'alice:secret' }] });
            assert.equal((await carol.getData(path)).data.toString(), 'guarded');
            const admin = await ctx.connect({ authData: [{ scheme: 'digest', auth: Buffer.from(`${SUPER_USER}:${SUPER_PASSWORD}`) }] });
            await admin.delete(path);
        });

        it('commits transactions, or nothing', async () => {
            const zk = await ctx.connect();
            const root = uniquePath();
            await zk.create(root, 'r');
            const tx = zk.transaction();
            assert.ok(tx instanceof Transaction);
            const results = await tx
                .create(`${root}/a`, 'a')
                .create(`${root}/s-`, 'b', { mode: 'persistent_sequential' })
                .setData(root, 'r2', 0)
                .check(root, 1)
                .delete(`${root}/a`)
                .commit();
            assert.deepEqual(results.map((r) => r.type), ['create', 'create', 'set_data', 'check', 'delete']);
            assert.equal(results[0].path, `${root}/a`);
            assert.match(results[1].path, /\/s-\d{10}$/);
            assert.equal(results[2].stat.version, 1);

            await assert.rejects(
                zk.transaction().create(`${root}/b`).check(root, 7).create(`${root}/c`).commit(),
                (e) => e.code === 'BADVERSION' && e.errno === -103 && e.index === 1,
            );
            assert.equal(await zk.exists(`${root}/b`), null);
            await rejectsWith(zk.transaction().create(`${root}/bad`, '', { mode: 'nope' }).commit(), 'BADARGUMENTS');
            assert.deepEqual(await zk.transaction().commit(), []);
            await zk.delete(root, -1, { recursive: true });
        });

        it('applies the chroot of the connect string', async () => {
            const zk = await ctx.connect();
            const root = uniquePath();
            await zk.create(root);
            const chrooted = await ctx.connect({}, root);
            assert.equal(await chrooted.create('/inside', 'x'), '/inside');
            assert.equal((await zk.getData(`${root}/inside`)).data.toString(), 'x');
            assert.deepEqual(await chrooted.getChildren('/'), ['inside']);
            await zk.delete(root, -1, { recursive: true });
        });

        it('resumes a session with its id and password', async () => {
            const zk = await ctx.connect();
            const again = await ctx.connect({ sessionId: zk.sessionId, sessionPassword: zk.sessionPassword });
            assert.equal(again.sessionId, zk.sessionId);
        });

        it('fails to connect to nothing with TIMEOUT', async () => {
            await rejectsWith(
                Client.connect('127.0.0.1:1', { connectTimeout: 500 }),
                'TIMEOUT',
            );
            await rejectsWith(Client.connect('127.0.0.1:notaport'), 'BADARGUMENTS');
        });

        it('rejects every call with CLOSED after close()', async () => {
            const zk = await ctx.connect();
            const states = [];
            zk.on('state', (s) => states.push(s));
            await zk.close();
            assert.equal(zk.state, 'closed');
            await rejectsWith(zk.getData('/'), 'CLOSED', -112);
            await rejectsWith(zk.create(uniquePath()), 'CLOSED');
            await rejectsWith(zk.transaction().check('/').commit(), 'CLOSED');
            await rejectsWith(zk.lock(uniquePath()).acquire(), 'CLOSED');
            await zk.close(); // idempotent
            await new Promise((r) => setImmediate(r));
            assert.deepEqual(states, ['closed']);
        });

        it('fails a bad credential with AUTHFAILED', async () => {
            const zk = await ctx.connect();
            const states = [];
            zk.on('state', (s) => states.push(s));
            await rejectsWith(zk.addAuth('nosuchscheme', 'x'), 'AUTHFAILED', -115);
        });
    });
}
