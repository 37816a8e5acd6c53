#!/usr/bin/env node
// One Node.js client (one session) keeping IN_FLIGHT getData or setData
// promises in flight for DURATION seconds, through corral-zk (node/) or
// node-zookeeper-client (npm); prints one JSON line per phase:
//   {"driver":..., "op":"getData"|"setData", "ops":N, "seconds":S, "ops_per_s":R,
//    "cpu_us_per_op":C}   (C: the client process's CPU time per operation)
//
//   node tests/bench/node_bench.js DRIVER HOSTS [IN_FLIGHT] [DURATION_S] [ZNODES] [VALUE_SIZE]
'use strict';

const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const [driver, hosts, inFlightArg, durationArg, znodesArg, sizeArg] = process.argv.slice(2);
const IN_FLIGHT = Number(inFlightArg || 256);
const DURATION_S = Number(durationArg || 5);
const ZNODES = Number(znodesArg || 100);
const VALUE = Buffer.alloc(Number(sizeArg || 100), 'x');
const ROOT_PATH = '/node-bench';

/** The operations of one driver, as Promises. */
async function open() {
    if (driver === 'corral-zk') {
        const { Client } = require(path.join(ROOT, 'node'));
        const zk = await Client.connect(hosts, { sessionTimeout: 30000 });
        return {
            get: (p) => zk.getData(p),
            set: (p) => zk.setData(p, VALUE),
            create: (p) => zk.create(p, VALUE).catch((e) => { if (e.code !== 'NODEEXISTS') throw e; }),
            close: () => zk.close(),
        };
    }
    if (driver === 'node-zookeeper-client') {
        const zookeeper = require(path.join(ROOT, 'tests', 'node', 'node_modules', 'node-zookeeper-client'));
        const c = zookeeper.createClient(hosts, { sessionTimeout: 30000 });
        await new Promise((resolve) => { c.once('connected', resolve); c.connect(); });
        const call = (fn) => new Promise((resolve, reject) => fn((e, v) => (e ? reject(e) : resolve(v))));
        return {
            get: (p) => call((cb) => c.getData(p, cb)),
            set: (p) => call((cb) => c.setData(p, VALUE, -1, cb)),
            create: (p) => call((cb) => c.create(p, VALUE, cb)).catch((e) => {
                if (e.getCode() !== zookeeper.Exception.NODE_EXISTS) throw e;
            }),
            close: () => c.close(),
        };
    }
    throw new Error(`unknown driver ${driver} (corral-zk | node-zookeeper-client)`);
}

async function phase(client, op) {
    const paths = Array.from({ length: ZNODES }, (_, i) => `${ROOT_PATH}/n${i}`);
    let ops = 0;
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(Math.round(DURATION_S * 1e9));
    const worker = async () => {
        while (process.hrtime.bigint() < deadline) {
            await client[op](paths[Math.floor(Math.random() * ZNODES)]);
            ops += 1;
        }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    return {
        driver,
        op: op === 'get' ? 'getData' : 'setData',
        in_flight: IN_FLIGHT,
        ops,
        seconds,
        ops_per_s: Math.round(ops / seconds),
        // CPU time of this process (all its threads) per operation.
        cpu_us_per_op: Number(((cpu.user + cpu.system) / ops).toFixed(1)),
    };
}

async function main() {
    const client = await open();
    await client.create(ROOT_PATH);
    for (let i = 0; i < ZNODES; i += 1) await client.create(`${ROOT_PATH}/n${i}`);
    for (const op of ['get', 'set']) console.log(JSON.stringify(await phase(client, op)));
    await client.close();
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
