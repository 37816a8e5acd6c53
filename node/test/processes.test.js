// What needs processes of their own: lock contention across two Node
// processes, a process exiting by itself once its client is closed, and a
// throwing callback.
'use strict';

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');
const { describe, it } = require('node:test');

const { kinds } = require('./support/servers');
const { uniquePath, serverFixture } = require('./support/helpers');

const FIXTURES = path.join(__dirname, 'fixtures');

/** Runs a fixture script with node; resolves to { code, stdout, stderr }. */
function runNode(script, args, timeoutMs = 120000) {
    return new Promise((resolve) => {
        execFile(process.execPath, [path.join(FIXTURES, script), ...args], { timeout: timeoutMs },
            (err, stdout, stderr) => {
                resolve({ code: err ? (err.code ?? err.signal) : 0, killed: Boolean(err && err.killed), stdout, stderr });
            });
    });
}

for (const kind of kinds()) {
    describe(`processes on ${kind}`, () => {
        const ctx = serverFixture(kind);

        it('two processes contend for one lock: no overlap, no lost update', async () => {
            const zk = await ctx.connect();
            const lockPath = uniquePath('plock');
            const counterPath = uniquePath('pcounter');
            await zk.create(counterPath, '0');
            const rounds = 15;
            const [a, b] = await Promise.all(['A', 'B'].map((name) =>
                runNode('lock_worker.js', [ctx.server.hosts, lockPath, counterPath, String(rounds), name])));
            assert.equal(a.code, 0, a.stderr);
            assert.equal(b.code, 0, b.stderr);
            const holds = `${a.stdout}${b.stdout}`.trim().split('\n').map((l) => JSON.parse(l));
            assert.equal(holds.length, 2 * rounds);
            holds.sort((x, y) => x.start - y.start);
            for (let i = 1; i < holds.length; i++) {
                assert.ok(holds[i].start >= holds[i - 1].end,
                    `holds overlap: ${JSON.stringify(holds[i - 1])} and ${JSON.stringify(holds[i])}`);
            }
            assert.ok(new Set(holds.map((h) => h.name)).size === 2);
            assert.equal((await zk.getData(counterPath)).data.toString(), String(2 * rounds));
        });

        it('a process exits by itself once its client is closed', async () => {
            const r = await runNode('exit_check.js', [ctx.server.hosts], 30000);
            assert.equal(r.killed, false, 'the process did not exit within 30 s after close()');
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stdout, /state closed/);
            assert.match(r.stdout, /after close CLOSED/);
        });

        it('a throwing callback is an uncaught exception; the client goes on', async () => {
            const r = await runNode('callback_throw.js', [ctx.server.hosts], 30000);
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stdout, /uncaught boom/);
            assert.match(r.stdout, /data y/);
        });
    });
}
