#!/usr/bin/env node
// Drops from package-lock.json the optional dependencies that are not in
// the lock (other platforms' builds of native helpers, which the npm
// registry reachable from our machines does not serve), so that `npm ci`
// accepts the lock. Run it after `npm install` changed the lock.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const pkgs = lock.packages;
let dropped = 0;
for (const [where, entry] of Object.entries(pkgs)) {
    const optional = entry.optionalDependencies;
    if (!optional) continue;
    for (const name of Object.keys(optional)) {
        const nested = `${where}/node_modules/${name}`;
        if (!pkgs[`node_modules/${name}`] && !pkgs[nested]) {
            delete optional[name];
            dropped += 1;
        }
    }
}
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.error(`prune-lock: dropped ${dropped} unresolvable optional dependencies`);
