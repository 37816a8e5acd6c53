<?php

declare(strict_types=1);

/** The php-zookeeper extension's API, as its users call it. */
final class ZookeeperTest extends CorralTestCase
{
    private const OPEN_ACL = [['perms' => Zookeeper::PERM_ALL, 'scheme' => 'world', 'id' => 'anyone']];

    private Zookeeper $zk;
    /** @var list<array{int, int, string}> */
    private array $sessionEvents = [];

    protected function setUp(): void
    {
        parent::setUp();
        $this->zk = new Zookeeper($this->hosts, function (int $type, int $state, string $path): void {
            $this->sessionEvents[] = [$type, $state, $path];
        }, 10000);
        $this->zk->create($this->root, '', self::OPEN_ACL);
    }

    protected function tearDown(): void
    {
        $this->deleteTree($this->root);
    }

    private function deleteTree(string $path): void
    {
        try {
            foreach ($this->zk->getChildren($path) as $child) {
                $this->deleteTree("$path/$child");
            }
            $this->zk->delete($path);
        } catch (ZookeeperException $e) {
        }
    }

    /** Dispatches until $done() or 5 s. */
    private function dispatchUntil(callable $done): void
    {
        $deadline = microtime(true) + 5;
        while (!$done() && microtime(true) < $deadline) {
            zookeeper_dispatch();
            usleep(20000);
        }
    }

    public function testConstants(): void
    {
        $this->assertSame(31, Zookeeper::PERM_ALL);
        $this->assertSame(1, Zookeeper::EPHEMERAL);
        $this->assertSame(2, Zookeeper::SEQUENCE);
        $this->assertSame(3, Zookeeper::CONNECTED_STATE);
        $this->assertSame(3, Zookeeper::CHANGED_EVENT);
        $this->assertSame(-1, Zookeeper::SESSION_EVENT);
        $this->assertSame(-101, Zookeeper::NONODE);
        $this->assertTrue(is_subclass_of(ZookeeperNoNodeException::class, ZookeeperException::class));
    }

    public function testSessionEventThroughDispatch(): void
    {
        $this->dispatchUntil(fn () => $this->sessionEvents !== []);
        $this->assertSame([Zookeeper::SESSION_EVENT, Zookeeper::CONNECTED_STATE, ''], $this->sessionEvents[0]);
        $this->assertSame(Zookeeper::CONNECTED_STATE, $this->zk->getState());
        [$id, $password] = $this->zk->getClientId();
        $this->assertNotSame(0, $id);
        $this->assertSame(16, strlen($password));
        $this->assertGreaterThan(0, $this->zk->getRecvTimeout());
        $this->assertTrue($this->zk->isRecoverable());
        $this->assertTrue(Zookeeper::setDebugLevel(Zookeeper::LOG_LEVEL_WARN));
    }

    public function testCrud(): void
    {
        $p = "{$this->root}/node";
        $this->assertSame($p, $this->zk->create($p, 'one', self::OPEN_ACL));
        $stat = null;
        $this->assertSame('one', $this->zk->get($p, null, $stat));
        $this->assertSame(0, $stat['version']);
        $this->assertSame('on', $this->zk->get($p, null, $stat, 2));
        $this->assertTrue($this->zk->set($p, 'two', 0, $stat));
        $this->assertSame(1, $stat['version']);
        $this->assertSame(1, $this->zk->exists($p)['version']);
        $this->assertFalse($this->zk->exists("$p/none"));
        $seq = $this->zk->create("$p/s-", null, self::OPEN_ACL, Zookeeper::SEQUENCE | Zookeeper::EPHEMERAL);
        $this->assertMatchesRegularExpression('~/s-\d{10}$~', $seq);
        $this->assertSame([basename($seq)], $this->zk->getChildren($p));
        $this->assertTrue($this->zk->delete($seq));
        $this->assertTrue($this->zk->delete($p, 1));
    }

    public function testExceptions(): void
    {
        try {
            $this->zk->get("{$this->root}/missing");
            $this->fail('expected ZookeeperNoNodeException');
        } catch (ZookeeperNoNodeException $e) {
            $this->assertSame(Zookeeper::NONODE, $e->getCode());
        }
        try {
            $this->zk->create($this->root, '', self::OPEN_ACL);
            $this->fail('expected ZookeeperException');
        } catch (ZookeeperException $e) {
            $this->assertSame(Zookeeper::NODEEXISTS, $e->getCode());
        }
        try {
            $this->zk->set($this->root, 'x', 7);
            $this->fail('expected ZookeeperException');
        } catch (ZookeeperException $e) {
            $this->assertSame(Zookeeper::BADVERSION, $e->getCode());
        }
        $unconnected = new Zookeeper();
        $this->expectException(ZookeeperConnectionException::class);
        $unconnected->get('/');
    }

    public function testWatchersRunFromDispatch(): void
    {
        $p = "{$this->root}/watched";
        $this->zk->create($p, 'a', self::OPEN_ACL);
        $other = new Zookeeper($this->hosts);
        $seen = [];
        $record = function (int $type, int $state, string $path) use (&$seen): void {
            $seen[] = [$type, $state, $path];
        };

        $this->zk->get($p, $record);
        $other->set($p, 'b');
        usleep(200000);
        $this->assertSame([], $seen, 'callbacks wait for zookeeper_dispatch()');
        $this->dispatchUntil(function () use (&$seen) {
            return $seen !== [];
        });
        $this->assertSame([[Zookeeper::CHANGED_EVENT, Zookeeper::CONNECTED_STATE, $p]], $seen);

        $seen = [];
        $this->zk->getChildren($p, $record);
        $other->create("$p/kid", '', self::OPEN_ACL);
        $this->dispatchUntil(function () use (&$seen) {
            return $seen !== [];
        });
        $this->assertSame([[Zookeeper::CHILD_EVENT, Zookeeper::CONNECTED_STATE, $p]], $seen);

        $seen = [];
        $this->assertFalse($this->zk->exists("$p/later", $record));
        $other->create("$p/later", '', self::OPEN_ACL);
        $this->dispatchUntil(function () use (&$seen) {
            return $seen !== [];
        });
        $this->assertSame([[Zookeeper::CREATED_EVENT, Zookeeper::CONNECTED_STATE, "$p/later"]], $seen);

        // One-shot: a second change calls nothing.
        $seen = [];
        $other->set($p, 'c');
        usleep(200000);
        zookeeper_dispatch();
        $this->assertSame([], $seen);
        $other->close();
    }

    public function testAclAndAuth(): void
    {
        $p = "{$this->root}/private";
        $owner = new Zookeeper($this->hosts);
        $this->assertTrue($owner->addAuth('digest', 'carol:pw'));
        $owner->create($p, 'x', [['perms' => Zookeeper::PERM_ALL, 'scheme' => 'auth', 'id' => '']]);
        try {
            $this->zk->get($p);
            $this->fail('expected ZookeeperAuthenticationException');
        } catch (ZookeeperAuthenticationException $e) {
            $this->assertSame(Zookeeper::NOAUTH, $e->getCode());
        }
        [$stat, $acls] = $owner->getAcl($p);
        $this->assertSame(0, $stat['aversion']);
        $this->assertSame('digest', $acls[0]['scheme']);
        $this->assertTrue($owner->setAcl($p, 0, self::OPEN_ACL));
        $this->assertSame('x', $this->zk->get($p));
        $owner->close();
    }

    public function testClose(): void
    {
        $zk = new Zookeeper($this->hosts);
        $zk->close();
        $this->expectException(ZookeeperConnectionException::class);
        $zk->getState();
    }
}
