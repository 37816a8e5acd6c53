#!/usr/bin/env node
// Builds the addon with the napi CLI (debug), which also generates the
// TypeScript declarations, and checks them against the committed
// index.d.ts:
//
//   node scripts/dts.js --check   fail if index.d.ts is not what napi generates
//   node scripts/dts.js --write   update index.d.ts
//
// Either way the freshly built addon is put at ./corral-zk.node.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const mode = process.argv[2];
if (mode !== '--check' && mode !== '--write') {
    console.error('usage: node scripts/dts.js --check | --write');
    process.exit(2);
}

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-zk-dts-'));
try {
    const napi = path.join(root, 'node_modules', '.bin', 'napi');
    const r = spawnSync(napi, ['build', '--output-dir', out, '--dts', 'index.d.ts', '--no-const-enum'], {
        cwd: root,
        stdio: 'inherit',
    });
    if (r.error) throw r.error;
    if (r.status !== 0) process.exit(r.status || 1);

    const tmp = path.join(root, `corral-zk.node.${process.pid}.tmp`);
    fs.copyFileSync(path.join(out, 'corral-zk.node'), tmp);
    fs.renameSync(tmp, path.join(root, 'corral-zk.node'));

    const generated = fs.readFileSync(path.join(out, 'index.d.ts'), 'utf8');
    const committedPath = path.join(root, 'index.d.ts');
    const committed = fs.existsSync(committedPath) ? fs.readFileSync(committedPath, 'utf8') : '';
    if (mode === '--write') {
        fs.writeFileSync(committedPath, generated);
        console.error('index.d.ts written');
    } else if (generated !== committed) {
        const diffPath = path.join(out, 'index.d.ts');
        spawnSync('diff', ['-u', committedPath, diffPath], { stdio: 'inherit' });
        console.error('index.d.ts is stale: run `node scripts/dts.js --write` in node/ and commit it');
        process.exit(1);
    } else {
        console.error('index.d.ts is up to date');
    }
} finally {
    fs.rmSync(out, { recursive: true, force: true });
}
