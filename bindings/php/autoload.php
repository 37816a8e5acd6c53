<?php

/*
 * Loads Corral\Client, Corral\Lock and the Zookeeper class (php-zookeeper's
 * API) without composer:
 *
 *     require '/path/to/bindings/php/autoload.php';
 */

declare(strict_types=1);

require_once __DIR__ . '/src/Exceptions.php';
require_once __DIR__ . '/src/Zookeeper.php';

spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'Corral\\', 7) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, 7)) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
