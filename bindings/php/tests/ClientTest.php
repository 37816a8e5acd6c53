<?php

declare(strict_types=1);

use Corral\Client;

final class ClientTest extends CorralTestCase
{
    private Client $zk;

    protected function setUp(): void
    {
        parent::setUp();
        $this->zk = new Client($this->hosts, 10000);
        $this->zk->create($this->root);
    }

    protected function tearDown(): void
    {
        $this->deleteTree($this->root);
        $this->zk->close();
    }

    private function deleteTree(string $path): void
    {
        try {
            foreach ($this->zk->getChildren($path) as $child) {
                $this->deleteTree("$path/$child");
            }
            $this->zk->delete($path);
        } catch (Corral\CorralException $e) {
        }
    }

    /** Events until one that is not a session event (or null). */
    private function nextNodeEvent(Client $c): ?array
    {
        while (($ev = $c->pollEvent(5.0)) !== null) {
            if ($ev['type'] !== Client::SESSION_EVENT) {
                return $ev;
            }
        }
        return null;
    }

    public function testCrud(): void
    {
        $p = "{$this->root}/a";
        $this->assertSame($p, $this->zk->create($p, "v\0bin"));
        [$data, $stat] = $this->zk->get($p);
        $this->assertSame("v\0bin", $data);
        $this->assertSame(0, $stat['version']);
        $this->assertSame(5, $stat['dataLength']);
        $this->assertGreaterThan(0, $stat['czxid']);
        foreach (['czxid', 'mzxid', 'ctime', 'mtime', 'version', 'cversion', 'aversion',
                  'ephemeralOwner', 'dataLength', 'numChildren', 'pzxid'] as $field) {
            $this->assertArrayHasKey($field, $stat);
        }
        $stat = $this->zk->set($p, 'w', 0);
        $this->assertSame(1, $stat['version']);
        $this->assertSame(1, $this->zk->exists($p)['version']);
        $this->assertNull($this->zk->exists("{$this->root}/none"));
        $this->zk->create("$p/x");
        $this->zk->create("$p/y", '');
        $children = $this->zk->getChildren($p);
        sort($children);
        $this->assertSame(['x', 'y'], $children);
        $this->zk->delete("$p/x");
        $this->zk->delete("$p/y", 0);
        $this->zk->delete($p, 1);
        $this->assertNull($this->zk->exists($p));
        [$empty] = $this->zk->get($this->root);
        $this->assertSame('', $empty);
    }

    public function testFlags(): void
    {
        $seq = $this->zk->create("{$this->root}/s-", '', Client::SEQUENCE);
        $this->assertMatchesRegularExpression('~/s-\d{10}$~', $seq);
        $eph = $this->zk->create("{$this->root}/e", '', Client::EPHEMERAL);
        [$id] = $this->zk->session();
        $this->assertSame($id, $this->zk->exists($eph)['ephemeralOwner']);
        $this->zk->create("{$this->root}/c", '', Client::CONTAINER);
        $this->assertNotNull($this->zk->exists("{$this->root}/c"));
    }

    public function testErrorsCarryZooKeeperCodes(): void
    {
        $p = "{$this->root}/err";
        $cases = [
            [fn () => $this->zk->get("{$this->root}/missing"), Corral\NoNodeException::class, -101],
            [fn () => $this->zk->create($this->root), Corral\NodeExistsException::class, -110],
            [fn () => $this->zk->set($this->root, 'x', 42), Corral\BadVersionException::class, -103],
            [fn () => $this->zk->create("{$this->root}/no/parent"), Corral\NoNodeException::class, -101],
            [fn () => $this->zk->create('relative'), Corral\BadArgumentsException::class, -8],
            [fn () => $this->zk->create($p, '', 99), Corral\InvalidArgumentException::class, 1],
        ];
        foreach ($cases as [$call, $class, $code]) {
            try {
                $call();
                $this->fail("expected $class");
            } catch (Corral\CorralException $e) {
                $this->assertInstanceOf($class, $e);
                $this->assertSame($code, $e->getCode());
                $this->assertNotSame('', $e->getMessage());
            }
        }
        $this->zk->create($p);
        $this->zk->create("$p/kid");
        $this->expectException(Corral\NotEmptyException::class);
        $this->expectExceptionCode(-111);
        $this->zk->delete($p);
    }

    public function testAcl(): void
    {
        $p = "{$this->root}/acl";
        $owner = new Client($this->hosts);
        $owner->addAuth('digest', 'bob:secret');
        $owner->create($p, 'hidden', 0, [['perms' => Zookeeper::PERM_ALL, 'scheme' => 'auth', 'id' => '']]);
        try {
            $this->zk->get($p);
            $this->fail('expected NoAuthException');
        } catch (Corral\NoAuthException $e) {
            $this->assertSame(-102, $e->getCode());
        }
        [$acl, $stat] = $owner->getAcl($p);
        $this->assertSame('digest', $acl[0]['scheme']);
        $this->assertStringStartsWith('bob:', $acl[0]['id']);
        $owner->setAcl($p, [['perms' => Zookeeper::PERM_ALL, 'scheme' => 'world', 'id' => 'anyone']], $stat['aversion']);
        $this->assertSame('hidden', $this->zk->get($p)[0]);
        $owner->close();
    }

    public function testWatchThroughPollEvent(): void
    {
        $p = "{$this->root}/w";
        $this->zk->create($p, 'one');
        $first = $this->zk->pollEvent(1.0);
        $this->assertSame(['type' => Client::SESSION_EVENT, 'state' => Client::CONNECTED_STATE, 'path' => ''], $first);
        $this->assertNull($this->zk->pollEvent(0.05));

        $other = new Client($this->hosts);
        $this->zk->get($p, true);
        $other->set($p, 'two');
        $this->assertSame(['type' => Client::CHANGED_EVENT, 'state' => Client::CONNECTED_STATE, 'path' => $p],
            $this->nextNodeEvent($this->zk));

        $this->zk->getChildren($p, true);
        $other->create("$p/kid");
        $this->assertSame(Client::CHILD_EVENT, $this->nextNodeEvent($this->zk)['type']);

        $this->assertNull($this->zk->exists("$p/new", true));
        $other->create("$p/new");
        $this->assertSame(['type' => Client::CREATED_EVENT, 'state' => Client::CONNECTED_STATE, 'path' => "$p/new"],
            $this->nextNodeEvent($this->zk));
        $other->close();
    }

    public function testLockInProcess(): void
    {
        $path = "{$this->root}/lock";
        $other = new Client($this->hosts);
        $mine = $this->zk->lock($path);
        $this->assertTrue($mine->acquire(5.0));
        $this->assertTrue($mine->isHeld());
        $theirs = $other->lock($path);
        $this->assertFalse($theirs->acquire(0.3));
        $this->assertFalse($theirs->acquire(0));
        $mine->release();
        $this->assertTrue($theirs->acquire(5.0));
        $theirs->release();
        $other->close();
    }

    public function testLockContendedByTwoProcesses(): void
    {
        $path = "{$this->root}/proc-lock";
        $lock = $this->zk->lock($path);
        $this->assertTrue($lock->acquire(5.0));

        $cmd = [PHP_BINARY, __DIR__ . '/lock_worker.php', $this->hosts, $path];
        $proc = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $this->assertIsResource($proc);
        try {
            $this->assertSame("waiting\n", fgets($pipes[1]));
            // The other process is blocked while we hold the lock.
            usleep(700000);
            $this->assertTrue(proc_get_status($proc)['running']);
            $lock->release();
            $out = stream_get_contents($pipes[1]);
            $err = stream_get_contents($pipes[2]);
        } finally {
            fclose($pipes[1]);
            fclose($pipes[2]);
            $rc = proc_close($proc);
        }
        $this->assertSame("acquired\n", $out, $err);
        $this->assertSame(0, $rc);
        // And we get it back.
        $this->assertTrue($lock->acquire(5.0));
        $lock->release();
    }

    public function testClosedClient(): void
    {
        $c = new Client($this->hosts);
        $c->close();
        $c->close();
        $this->assertSame(Client::CLOSED_STATE, $c->state());
        try {
            $c->get('/');
            $this->fail('expected ClosedException');
        } catch (Corral\ClosedException $e) {
            $this->assertSame(4, $e->getCode());
        }
        $last = null;
        try {
            while (($ev = $c->pollEvent(1.0)) !== null) {
                $last = $ev;
            }
            $this->fail('expected ClosedException');
        } catch (Corral\ClosedException $e) {
            $this->assertSame(Client::CLOSED_STATE, $last['state']);
        }
    }

    public function testConnectFailure(): void
    {
        $this->expectException(Corral\TimeoutException::class);
        new Client('127.0.0.1:1', 500);
    }
}
