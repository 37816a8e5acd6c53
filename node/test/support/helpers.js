// Shared test helpers: one server per kind for a test file, unique paths,
// and assertions on error codes and events.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { after, before } = require('node:test');

const { Client } = require('../..');
const { startServer, sleep } = require('./servers');

let counter = 0;
/** A fresh path for one test. */
function uniquePath(prefix = 't') {
    counter += 1;
    return `/${prefix}-${process.pid}-${counter}-${crypto.randomBytes(3).toString('hex')}`;
}

/**
 * Starts a server of `kind` before the tests of the enclosing describe, and
 * closes the clients made with `ctx.connect` and stops the server after
 * them (also when a test failed).
 */
function serverFixture(kind, opts) {
    const ctx = { server: null, clients: [] };
    ctx.connect = async (connectOpts = {}, chroot = '') => {
        const zk = await Client.connect(ctx.server.hosts + chroot, { sessionTimeout: 4000, ...connectOpts });
        ctx.clients.push(zk);
        return zk;
    };
    before(async () => {
        ctx.server = await startServer(kind, opts);
    });
    after(async () => {
        for (const zk of ctx.clients) {
            try {
                await zk.close();
            } catch (_) { /* closed already */ }
        }
        if (ctx.server) await ctx.server.cleanup();
    });
    return ctx;
}

/** Asserts that `promise` rejects with an Error of ZooKeeper code `code`. */
async function rejectsWith(promise, code, errno) {
    await assert.rejects(promise, (e) => {
        assert.ok(e instanceof Error, `not an Error: ${e}`);
        assert.equal(e.code, code, `code of ${e.message}`);
        assert.equal(typeof e.errno, 'number');
        if (errno !== undefined) assert.equal(e.errno, errno);
        return true;
    });
}

/** Resolves with the next value `register(resolve)` delivers, or rejects after `ms`. */
function next(register, ms = 10000, what = 'event') {
    return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
        register((v) => {
            clearTimeout(t);
            resolve(v);
        });
    });
}

/** A one-shot watch callback whose events can be awaited: `w.fn`, `await w.event`. */
function watcher(ms = 10000) {
    let fn;
    const event = next((resolve) => { fn = resolve; }, ms, 'watch event');
    return { fn, event };
}

/** Collects events of an emitter or listener into an array. */
function collector() {
    const events = [];
    const waiters = [];
    const push = (ev) => {
        events.push(ev);
        for (const w of waiters.splice(0)) w();
    };
    /** Waits until `pred(events)` holds. */
    const until = async (pred, ms = 15000, what = 'events') => {
        const deadline = Date.now() + ms;
        while (!pred(events)) {
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(events, (k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
            await new Promise((resolve) => {
                const t = setTimeout(resolve, Math.min(left, 200));
                waiters.push(() => { clearTimeout(t); resolve(); });
            });
        }
        return events;
    };
    return { events, push, until };
}

function digestId(user, password) {
    return `${user}:${crypto.createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}

module.exports = { uniquePath, serverFixture, rejectsWith, next, watcher, collector, digestId, sleep };
