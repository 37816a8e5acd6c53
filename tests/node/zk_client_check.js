#!/usr/bin/env node
// Interop check: drive a ZooKeeper-compatible server with node-zookeeper-client.
//
//   node tests/node/zk_client_check.js HOST:PORT
//
// Exits 0 and prints "OK: ..." when every check passed; otherwise prints
// "FAIL: <what>: expected ..., got ..." on stderr and exits 1. Everything it
// creates lives under one unique root node, removed at the end.
'use strict';

const zookeeper = require('node-zookeeper-client');

const { CreateMode, Exception, Event } = zookeeper;

const OP_TIMEOUT_MS = 10000;
const TOTAL_TIMEOUT_MS = 60000;

class CheckFailure extends Error {}

function fail(msg) {
    throw new CheckFailure(msg);
}

function show(v) {
    if (Buffer.isBuffer(v)) return `Buffer(${JSON.stringify(v.toString('utf8'))})`;
    return JSON.stringify(v);
}

function eq(what, got, expected) {
    const g = show(got);
    const e = show(expected);
    if (g !== e) fail(`${what}: expected ${e}, got ${g}`);
}

function check(what, cond, detail) {
    if (!cond) fail(`${what}${detail === undefined ? '' : ': ' + detail}`);
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout(what, promise, ms = OP_TIMEOUT_MS) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new CheckFailure(`${what}: no answer within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Call a node-zookeeper-client method whose callback is (error, ...results).
// Resolves to {error, results}; never rejects on a ZooKeeper error so that
// callers can assert on the error code.
function call(what, fn) {
    return withTimeout(what, new Promise((resolve) => {
        fn((error, ...results) => resolve({ error, results }));
    }));
}

// Same, but any error is a check failure; resolves to the first result.
async function ok(what, fn) {
    const { error, results } = await call(what, fn);
    if (error) fail(`${what}: unexpected error ${error.toString()} (code ${codeOf(error)})`);
    return results.length <= 1 ? results[0] : results;
}

function codeOf(error) {
    if (error && typeof error.getCode === 'function') return error.getCode();
    return error ? String(error) : null;
}

function nameOfCode(code) {
    for (const [name, value] of Object.entries(Exception)) {
        if (value === code && /^[A-Z_]+$/.test(name)) return name;
    }
    return String(code);
}

async function expectError(what, expectedCode, fn) {
    const { error } = await call(what, fn);
    if (!error) fail(`${what}: expected error ${nameOfCode(expectedCode)} (${expectedCode}), got success`);
    const code = codeOf(error);
    if (code !== expectedCode) {
        fail(`${what}: expected error ${nameOfCode(expectedCode)} (${expectedCode}), got ${error.toString()} (code ${code})`);
    }
}

function connect(hostPort) {
    const client = zookeeper.createClient(hostPort, {
        sessionTimeout: 10000,
        spinDelay: 200,
        retries: 0,
    });
    const connected = new Promise((resolve) => client.once('connected', resolve));
    client.connect();
    return withTimeout(`connect to ${hostPort}`, connected).then(() => client);
}

function closeClient(client) {
    return new Promise((resolve) => {
        if (!client) return resolve();
        const done = setTimeout(resolve, 2000);
        client.once('disconnected', () => {
            clearTimeout(done);
            resolve();
        });
        client.close();
    });
}

// Records watcher invocations so that tests can assert "fired exactly once".
function recorder() {
    const events = [];
    let wake = null;
    const watcher = (event) => {
        events.push(event);
        if (wake) wake();
    };
    watcher.events = events;
    watcher.waitFor = async (what, count, ms = OP_TIMEOUT_MS) => {
        const deadline = Date.now() + ms;
        while (events.length < count) {
            const left = deadline - Date.now();
            if (left <= 0) fail(`${what}: watcher did not fire within ${ms} ms (fired ${events.length} times)`);
            await new Promise((resolve) => {
                wake = resolve;
                setTimeout(resolve, Math.min(left, 100));
            });
            wake = null;
        }
    };
    return watcher;
}

// Depth-first delete of a subtree; errors are ignored (best-effort cleanup).
async function removeTree(client, path) {
    const { error, results } = await call(`list ${path}`, (cb) => client.getChildren(path, cb));
    if (!error) {
        for (const child of results[0]) await removeTree(client, `${path}/${child}`);
    }
    await call(`remove ${path}`, (cb) => client.remove(path, -1, cb));
}

function checkEvent(what, event, type, path) {
    eq(`${what}: event type`, event.getName(), type);
    eq(`${what}: event path`, event.getPath(), path);
}

async function run(hostPort) {
    const a = await connect(hostPort);
    let b = null;
    const root = `/node-check-${process.pid}-${Date.now()}`;
    const enc = (s) => Buffer.from(s, 'utf8');
    let steps = 0;
    const step = (name) => {
        steps += 1;
        console.log(`step ${steps}: ${name}`);
    };

    try {
        b = await connect(hostPort);

        // --- create: persistent, ephemeral, sequential -------------------
        step('create persistent');
        const created = await ok('create root', (cb) => a.create(root, enc('root-data'), CreateMode.PERSISTENT, cb));
        eq('create root returns path', created, root);
        await expectError('create existing root', Exception.NODE_EXISTS,
            (cb) => a.create(root, enc('again'), CreateMode.PERSISTENT, cb));
        await expectError('create with missing parent', Exception.NO_NODE,
            (cb) => a.create(`${root}/missing/child`, enc('x'), CreateMode.PERSISTENT, cb));

        step('exists');
        const rootStat = await ok('exists root', (cb) => a.exists(root, cb));
        check('exists root returns a stat', rootStat, `got ${show(rootStat)}`);
        eq('root stat version', rootStat.version, 0);
        eq('root stat dataLength', rootStat.dataLength, 9);
        eq('root stat numChildren', rootStat.numChildren, 0);
        const noStat = await ok('exists missing', (cb) => a.exists(`${root}/nope`, cb));
        eq('exists on a missing node', noStat === undefined ? null : noStat, null);

        step('create sequential');
        await ok('create seq parent', (cb) => a.create(`${root}/seqs`, CreateMode.PERSISTENT, cb));
        const seq0 = await ok('create seq 0', (cb) => a.create(`${root}/seqs/item-`, enc('s0'), CreateMode.PERSISTENT_SEQUENTIAL, cb));
        const seq1 = await ok('create seq 1', (cb) => a.create(`${root}/seqs/item-`, enc('s1'), CreateMode.PERSISTENT_SEQUENTIAL, cb));
        eq('first sequential name', seq0, `${root}/seqs/item-0000000000`);
        eq('second sequential name', seq1, `${root}/seqs/item-0000000001`);

        step('create ephemeral and ephemeral sequential');
        const eph = await ok('create ephemeral', (cb) => b.create(`${root}/eph`, enc('e'), CreateMode.EPHEMERAL, cb));
        eq('ephemeral path', eph, `${root}/eph`);
        const ephSeq = await ok('create ephemeral sequential',
            (cb) => b.create(`${root}/ephseq-`, enc('es'), CreateMode.EPHEMERAL_SEQUENTIAL, cb));
        check('ephemeral sequential name', /\/ephseq-\d{10}$/.test(ephSeq), `got ${show(ephSeq)}`);
        const ephStat = await ok('exists ephemeral', (cb) => a.exists(eph, cb));
        check('exists ephemeral returns a stat', ephStat, `got ${show(ephStat)}`);
        eq('ephemeralOwner of ephemeral node', ephStat.ephemeralOwner.toString('hex'), b.getSessionId().toString('hex'));
        eq('ephemeralOwner of persistent node', rootStat.ephemeralOwner.toString('hex'), '0000000000000000');
        await expectError('child of an ephemeral', Exception.NO_CHILDREN_FOR_EPHEMERALS,
            (cb) => b.create(`${eph}/child`, enc('x'), CreateMode.PERSISTENT, cb));

        // --- getData with a watch, triggered from the other client -------
        step('getData with watch');
        const dataPath = `${root}/data`;
        await ok('create data node', (cb) => a.create(dataPath, enc('v0'), CreateMode.PERSISTENT, cb));
        const dataWatch = recorder();
        const [data0, stat0] = await ok('getData with watcher', (cb) => a.getData(dataPath, dataWatch, cb));
        eq('getData data', data0, enc('v0'));
        eq('getData stat version', stat0.version, 0);
        eq('getData stat dataLength', stat0.dataLength, 2);

        step('setData with version from second client fires the watch once');
        const stat1 = await ok('setData v0 -> v1', (cb) => b.setData(dataPath, enc('v1'), 0, cb));
        eq('setData returns new version', stat1.version, 1);
        check('setData: mzxid grows', stat1.mzxid.toString('hex') > stat0.mzxid.toString('hex'),
            `before ${stat0.mzxid.toString('hex')}, after ${stat1.mzxid.toString('hex')}`);
        await dataWatch.waitFor('data watch after setData', 1);
        checkEvent('data watch', dataWatch.events[0], 'NODE_DATA_CHANGED', dataPath);
        eq('data watch event type code', dataWatch.events[0].getType(), Event.NODE_DATA_CHANGED);
        await ok('setData again (any version)', (cb) => b.setData(dataPath, enc('v2'), -1, cb));
        await ok('sync round trip on watching client', (cb) => a.exists(dataPath, cb));
        await sleep(300);
        eq('data watch is one-shot: number of events', dataWatch.events.length, 1);

        step('setData with a wrong version: BadVersion');
        await expectError('setData with stale version', Exception.BAD_VERSION,
            (cb) => a.setData(dataPath, enc('stale'), 0, cb));
        await expectError('setData on missing node', Exception.NO_NODE,
            (cb) => a.setData(`${root}/nope`, enc('x'), -1, cb));
        const [data2, stat2] = await ok('getData after setData', (cb) => a.getData(dataPath, cb));
        eq('data after two sets', data2, enc('v2'));
        eq('version after two sets', stat2.version, 2);

        // --- exists watch: NODE_CREATED ----------------------------------
        step('exists watch fires NODE_CREATED');
        const laterPath = `${root}/later`;
        const existsWatch = recorder();
        const missing = await ok('exists with watcher on missing node', (cb) => a.exists(laterPath, existsWatch, cb));
        eq('exists with watcher on missing node', missing === undefined ? null : missing, null);
        await ok('create watched node', (cb) => b.create(laterPath, enc('l'), CreateMode.PERSISTENT, cb));
        await existsWatch.waitFor('exists watch', 1);
        checkEvent('exists watch', existsWatch.events[0], 'NODE_CREATED', laterPath);

        // --- getChildren ---------------------------------------------------
        step('getChildren with watch');
        const childWatch = recorder();
        const [children, childStat] = await ok('getChildren root', (cb) => a.getChildren(root, childWatch, cb));
        eq('children of root', [...children].sort(),
            ['data', 'eph', ephSeq.slice(root.length + 1), 'later', 'seqs'].sort());
        eq('getChildren stat numChildren', childStat.numChildren, 5);
        await ok('create child to trigger child watch', (cb) => b.create(`${root}/kid`, CreateMode.PERSISTENT, cb));
        await childWatch.waitFor('child watch', 1);
        checkEvent('child watch', childWatch.events[0], 'NODE_CHILDREN_CHANGED', root);
        const [seqChildren] = await ok('getChildren seqs', (cb) => a.getChildren(`${root}/seqs`, cb));
        eq('children of seqs', [...seqChildren].sort(), ['item-0000000000', 'item-0000000001']);
        await expectError('getChildren on missing node', Exception.NO_NODE,
            (cb) => a.getChildren(`${root}/nope`, cb));

        // --- ephemerals vanish with their session --------------------------
        step('ephemerals are removed when their session closes');
        await closeClient(b);
        b = null;
        let gone = false;
        for (let i = 0; i < 50 && !gone; i += 1) {
            const s1 = await ok('exists ephemeral after close', (cb) => a.exists(eph, cb));
            const s2 = await ok('exists ephemeral seq after close', (cb) => a.exists(ephSeq, cb));
            gone = !s1 && !s2;
            if (!gone) await sleep(100);
        }
        check('ephemeral nodes removed after their session closed', gone, 'still present after 5 s');

        // --- transactions ----------------------------------------------------
        step('transaction that succeeds');
        const txPath = `${root}/tx`;
        const txResults = await ok('commit transaction', (cb) => a.transaction()
            .create(txPath, enc('t0'))
            .setData(txPath, enc('t1'), 0)
            .check(txPath, 1)
            .create(`${txPath}/child`, enc('c'))
            .commit(cb));
        eq('transaction result count', txResults.length, 4);
        eq('transaction result types', txResults.map((r) => r.type), [1, 5, 13, 1]);
        eq('transaction create result path', txResults[0].path, txPath);
        eq('transaction setData result version', txResults[1].stat.version, 1);
        const [txData] = await ok('getData after transaction', (cb) => a.getData(txPath, cb));
        eq('data written by transaction', txData, enc('t1'));

        step('transaction that fails is atomic and reports the error');
        const failPath = `${root}/tx-never`;
        const { error: txError, results: txFailOut } = await call('commit failing transaction', (cb) => a.transaction()
            .create(failPath, enc('n'))
            .check(txPath, 99)
            .setData(txPath, enc('t2'), -1)
            .commit(cb));
        check('failing transaction reports an error', txError, 'got success');
        eq('failing transaction error code', codeOf(txError), Exception.BAD_VERSION);
        const failResults = txFailOut[0];
        check('failing transaction returns per-op results', Array.isArray(failResults), `got ${show(failResults)}`);
        eq('failing transaction result types', failResults.map((r) => r.type), [-1, -1, -1]);
        eq('failing transaction per-op error codes', failResults.map((r) => r.err),
            [Exception.OK, Exception.BAD_VERSION, Exception.RUNTIME_INCONSISTENCY]);
        const notCreated = await ok('exists node from failed transaction', (cb) => a.exists(failPath, cb));
        eq('node from failed transaction exists', notCreated === undefined ? null : notCreated, null);
        const [txData2, txStat2] = await ok('getData after failed transaction', (cb) => a.getData(txPath, cb));
        eq('data after failed transaction', txData2, enc('t1'));
        eq('version after failed transaction', txStat2.version, 1);

        // --- remove ----------------------------------------------------------
        step('remove');
        await expectError('remove with wrong version', Exception.BAD_VERSION, (cb) => a.remove(dataPath, 7, cb));
        await expectError('remove non-empty node', Exception.NOT_EMPTY, (cb) => a.remove(txPath, -1, cb));
        await ok('remove with right version', (cb) => a.remove(dataPath, 2, cb));
        await expectError('remove missing node', Exception.NO_NODE, (cb) => a.remove(dataPath, -1, cb));
        const afterRemove = await ok('exists removed node', (cb) => a.exists(dataPath, cb));
        eq('removed node exists', afterRemove === undefined ? null : afterRemove, null);
    } finally {
        try {
            if (b) await closeClient(b);
            await withTimeout('cleanup', removeTree(a, root));
        } catch (e) {
            // cleanup problems must not hide the real result
        }
        await closeClient(a);
    }
    return steps;
}

function main() {
    const hostPort = process.argv[2];
    if (!hostPort || !/^[^:]+:\d+$/.test(hostPort)) {
        console.error('usage: node zk_client_check.js HOST:PORT');
        process.exit(2);
    }
    const overall = setTimeout(() => {
        console.error(`FAIL: whole check did not finish within ${TOTAL_TIMEOUT_MS} ms`);
        process.exit(1);
    }, TOTAL_TIMEOUT_MS);
    run(hostPort).then((steps) => {
        clearTimeout(overall);
        console.log(`OK: ${steps} steps passed against ${hostPort}`);
        process.exit(0);
    }, (err) => {
        clearTimeout(overall);
        if (err instanceof CheckFailure) {
            console.error(`FAIL: ${err.message}`);
        } else {
            console.error(`FAIL: unexpected exception: ${err && err.stack ? err.stack : err}`);
        }
        process.exit(1);
    });
}

main();
