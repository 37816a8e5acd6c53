<?php

// php bindings/php/examples/quickstart.php 127.0.0.1:2181

declare(strict_types=1);

require __DIR__ . '/../autoload.php';

$zk = new Corral\Client($argv[1] ?? '127.0.0.1:2181');
$path = $zk->create('/quickstart-php-' . getmypid(), 'hello');
[$data, $stat] = $zk->get($path, true);          // and watch it
echo "$path = $data (version {$stat['version']})\n";
$zk->set($path, 'world', $stat['version']);
while (($event = $zk->pollEvent(5.0)) !== null) {  // the session event, then ours
    echo "event type {$event['type']} state {$event['state']} path '{$event['path']}'\n";
    if ($event['type'] === Corral\Client::CHANGED_EVENT) {
        break;
    }
}
$lock = $zk->lock('/quickstart-php-lock');
if ($lock->acquire(5.0)) {
    echo "locked\n";
    $lock->release();
}
try {
    $zk->get('/does/not/exist');
} catch (Corral\NoNodeException $e) {
    echo "no node (code {$e->getCode()})\n";
}
$zk->delete($path);
$zk->close();
