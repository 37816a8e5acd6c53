<?php

declare(strict_types=1);

require __DIR__ . '/../autoload.php';

if (!getenv('CORRAL_HOSTS')) {
    fwrite(STDERR, "set CORRAL_HOSTS to a running server (make test-php starts them)\n");
    exit(2);
}

/** A path of our own under which a test works, and the connect string. */
abstract class CorralTestCase extends PHPUnit\Framework\TestCase
{
    protected string $hosts;
    protected string $root;

    protected function setUp(): void
    {
        $this->hosts = (string) getenv('CORRAL_HOSTS');
        $this->root = sprintf('/phptest-%d-%s', getmypid(), bin2hex(random_bytes(4)));
    }
}
