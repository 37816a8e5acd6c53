#!/usr/bin/env node
// Builds the native addon from source with cargo and puts it at
// <package>/corral-zk.node (the `install` script: `npm install` runs it; no
// prebuilt binary is downloaded). Needs a Rust toolchain (cargo) on PATH.
//
//   CORRAL_ZK_PROFILE=debug   build without optimisations (faster to build)
//   CARGO=/path/to/cargo      the cargo to run
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const profile = process.env.CORRAL_ZK_PROFILE || 'release';
const cargo = process.env.CARGO || 'cargo';

const args = [
    'build',
    '--manifest-path', path.join(root, 'Cargo.toml'),
    '--lib',
    '--message-format=json-render-diagnostics',
];
if (profile === 'release') args.push('--release');
else if (profile !== 'debug') args.push('--profile', profile);

console.error(`corral-zk: ${cargo} ${args.join(' ')}`);
const started = Date.now();
const r = spawnSync(cargo, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 28,
});
if (r.error) {
    console.error(`corral-zk: cannot run ${cargo} (a Rust toolchain is needed to build the addon): ${r.error.message}`);
    process.exit(1);
}
if (r.status !== 0) {
    console.error(`corral-zk: cargo failed (exit ${r.status})`);
    process.exit(r.status || 1);
}

let artifact = null;
for (const line of r.stdout.toString('utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const msg = JSON.parse(line);
    if (msg.reason === 'compiler-artifact' && msg.target.name === 'corral_node'
        && msg.target.kind.includes('cdylib')) {
        artifact = msg.filenames.find((f) => /\.(so|dylib|dll)$/.test(f)) || null;
    }
}
if (!artifact) {
    console.error('corral-zk: cargo did not report the corral_node library');
    process.exit(1);
}

// Copy, then rename: a process that has the old addon loaded keeps it.
const dest = path.join(root, 'corral-zk.node');
const tmp = `${dest}.${process.pid}.tmp`;
fs.copyFileSync(artifact, tmp);
fs.renameSync(tmp, dest);
console.error(`corral-zk: built ${path.relative(root, dest)} (${profile}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
