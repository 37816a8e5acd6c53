<?php

// A second process contending for a lock (LockTest): prints "waiting",
// blocks in acquire, prints "acquired", releases and exits.
//   php lock_worker.php HOSTS PATH

declare(strict_types=1);

require __DIR__ . '/../autoload.php';

[, $hosts, $path] = $argv;
$client = new Corral\Client($hosts);
$lock = $client->lock($path);
echo "waiting\n";
fflush(STDOUT);
if (!$lock->acquire(20.0)) {
    echo "timeout\n";
    exit(1);
}
echo "acquired\n";
$lock->release();
$client->close();
