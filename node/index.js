// corral-zk: a ZooKeeper client for Node.js over the Corral Rust client
// core. The native addon (corral-zk.node) is built from source by
// `npm install` (scripts/build.js); its API is described in index.d.ts.
'use strict';

let binding;
try {
    binding = require('./corral-zk.node');
} catch (e) {
    e.message = `corral-zk: cannot load the native addon (run \`npm run build\` in ${__dirname}): ${e.message}`;
    throw e;
}

// Named exports written out, so that `import { Client } from 'corral-zk'`
// finds them (Node detects the names of a CommonJS module statically).
module.exports.Barrier = binding.Barrier;
module.exports.Client = binding.Client;
module.exports.Counter = binding.Counter;
module.exports.DoubleBarrier = binding.DoubleBarrier;
module.exports.Election = binding.Election;
module.exports.LeaderLatch = binding.LeaderLatch;
module.exports.Lease = binding.Lease;
module.exports.Lock = binding.Lock;
module.exports.Perms = binding.Perms;
module.exports.PersistentWatch = binding.PersistentWatch;
module.exports.Queue = binding.Queue;
module.exports.QueueItem = binding.QueueItem;
module.exports.ReadWriteLock = binding.ReadWriteLock;
module.exports.Semaphore = binding.Semaphore;
module.exports.SessionState = binding.SessionState;
module.exports.Transaction = binding.Transaction;
module.exports.TreeCache = binding.TreeCache;
