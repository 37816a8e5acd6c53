// Session states through real faults: the server killed and restarted
// ('suspended' then 'reconnected', the session and its watches kept), a
// frozen server (CONNECTIONLOSS, then 'lost' and SESSIONEXPIRED), against
// corral-server and Apache ZooKeeper 3.8.
'use strict';

const assert = require('node:assert/strict');
const { describe, it } = require('node:test');

const { Client } = require('..');
const { kinds, startServer } = require('./support/servers');
const { uniquePath, collector, rejectsWith, watcher } = require('./support/helpers');

/** Runs `fn(server)` with a server of its own, stopped even on failure. */
async function withServer(kind, opts, fn) {
    const server = await startServer(kind, opts);
    try {
        await fn(server);
    } finally {
        await server.cleanup();
    }
}

for (const kind of kinds()) {
    describe(`sessions on ${kind}`, () => {
        it('kill -9 and restart: suspended, reconnected, same session', async () => {
            await withServer(kind, { maxSessionTimeout: 30000 }, async (server) => {
                const zk = await Client.connect(server.hosts, { sessionTimeout: 20000 });
                try {
                    const states = collector();
                    zk.on('state', states.push);
                    const path = uniquePath('restart');
                    await zk.create(path, 'eph', { mode: 'ephemeral' });
                    const w = watcher(60000);
                    await zk.getData(path, { watch: w.fn });
                    const session = zk.sessionId;

                    await server.kill();
                    await states.until((s) => s.includes('suspended'), 20000, "'suspended'");
                    assert.equal(zk.state, 'suspended');
                    await server.start();
                    await states.until((s) => s.includes('reconnected'), 30000, "'reconnected'");
                    assert.deepEqual(states.events, ['suspended', 'reconnected']);
                    assert.equal(zk.sessionId, session);
                    const stat = await zk.exists(path);
                    assert.equal(stat.ephemeralOwner, session);
                    await zk.setData(path, 'changed');
                    assert.equal((await w.event).type, 'node_data_changed');
                } finally {
                    await zk.close();
                }
            });
        });

        it('frozen server: CONNECTIONLOSS, then lost and SESSIONEXPIRED', async () => {
            await withServer(kind, {}, async (server) => {
                const zk = await Client.connect(server.hosts, { sessionTimeout: 2000 });
                const states = collector();
                zk.on('state', states.push);
                const w = watcher(30000);
                await zk.exists(uniquePath('frozen'), { watch: w.fn });
                await server.freeze();
                try {
                    await rejectsWith(zk.getData('/'), 'CONNECTIONLOSS', -4);
                    await states.until((s) => s.includes('lost'), 20000, "'lost'");
                    assert.deepEqual(states.events, ['suspended', 'lost']);
                    assert.equal(zk.state, 'lost');
                    await rejectsWith(zk.getData('/'), 'SESSIONEXPIRED', -112);
                    assert.deepEqual(await w.event, { type: 'none', state: 'expired', path: '' });
                } finally {
                    server.signal('SIGCONT');
                    await zk.close();
                }
            });
        });
    });
}
