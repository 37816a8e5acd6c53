<?php

/*
 * The API of the php-zookeeper PECL extension (class Zookeeper, its
 * constants and exceptions, zookeeper_dispatch()) over Corral\Client, so
 * code written for that extension runs without compiling an extension.
 * Not declared when the extension itself is loaded.
 *
 * Differences: connect() waits until the session is established (the
 * extension returns at once); watcher callbacks run from
 * zookeeper_dispatch() (or Zookeeper::dispatch()), never on their own.
 */

declare(strict_types=1);

if (!extension_loaded('zookeeper')) {

    class ZookeeperException extends Exception
    {
    }

    class ZookeeperOperationTimeoutException extends ZookeeperException
    {
    }

    class ZookeeperConnectionException extends ZookeeperException
    {
    }

    class ZookeeperMarshallingException extends ZookeeperException
    {
    }

    class ZookeeperAuthenticationException extends ZookeeperException
    {
    }

    class ZookeeperSessionException extends ZookeeperException
    {
    }

    class ZookeeperNoNodeException extends ZookeeperException
    {
    }

    class Zookeeper
    {
        public const PERM_READ = 1;
        public const PERM_WRITE = 2;
        public const PERM_CREATE = 4;
        public const PERM_DELETE = 8;
        public const PERM_ADMIN = 16;
        public const PERM_ALL = 31;

        public const EPHEMERAL = 1;
        public const SEQUENCE = 2;

        public const EXPIRED_SESSION_STATE = -112;
        public const AUTH_FAILED_STATE = -113;
        public const CONNECTING_STATE = 1;
        public const ASSOCIATING_STATE = 2;
        public const CONNECTED_STATE = 3;
        public const READONLY_STATE = 5;
        public const NOTCONNECTED_STATE = 999;

        public const CREATED_EVENT = 1;
        public const DELETED_EVENT = 2;
        public const CHANGED_EVENT = 3;
        public const CHILD_EVENT = 4;
        public const SESSION_EVENT = -1;
        public const NOTWATCHING_EVENT = -2;

        public const LOG_LEVEL_ERROR = 1;
        public const LOG_LEVEL_WARN = 2;
        public const LOG_LEVEL_INFO = 3;
        public const LOG_LEVEL_DEBUG = 4;

        public const SYSTEMERROR = -1;
        public const RUNTIMEINCONSISTENCY = -2;
        public const DATAINCONSISTENCY = -3;
        public const CONNECTIONLOSS = -4;
        public const MARSHALLINGERROR = -5;
        public const UNIMPLEMENTED = -6;
        public const OPERATIONTIMEOUT = -7;
        public const BADARGUMENTS = -8;
        public const INVALIDSTATE = -9;
        public const NEWCONFIGNOQUORUM = -13;
        public const RECONFIGINPROGRESS = -14;

        public const OK = 0;
        public const APIERROR = -100;
        public const NONODE = -101;
        public const NOAUTH = -102;
        public const BADVERSION = -103;
        public const NOCHILDRENFOREPHEMERALS = -108;
        public const NODEEXISTS = -110;
        public const NOTEMPTY = -111;
        public const SESSIONEXPIRED = -112;
        public const INVALIDCALLBACK = -113;
        public const INVALIDACL = -114;
        public const AUTHFAILED = -115;
        public const CLOSING = -116;
        public const NOTHING = -117;
        public const SESSIONMOVED = -118;

        /** @var array<int, WeakReference<Zookeeper>> live instances, for zookeeper_dispatch() */
        private static array $instances = [];

        private ?Corral\Client $client = null;
        /** @var callable|null */
        private $watcher = null;
        private int $recvTimeout = 10000;
        /** @var array<string, list<callable>> one-shot watchers of get/exists, by path */
        private array $dataWatchers = [];
        /** @var array<string, list<callable>> one-shot watchers of getChildren, by path */
        private array $childWatchers = [];

        public function __construct(string $host = '', ?callable $watcher_cb = null, int $recv_timeout = 10000)
        {
            self::$instances[spl_object_id($this)] = WeakReference::create($this);
            if ($host !== '') {
                $this->connect($host, $watcher_cb, $recv_timeout);
            }
        }

        public function __destruct()
        {
            unset(self::$instances[spl_object_id($this)]);
        }

        public function connect(string $host, ?callable $watcher_cb = null, int $recv_timeout = 10000): void
        {
            if ($recv_timeout <= 0) {
                throw new ZookeeperException("recv_timeout parameter has to be greater than 0");
            }
            $this->watcher = $watcher_cb;
            $this->recvTimeout = $recv_timeout;
            try {
                $this->client = new Corral\Client($host, $recv_timeout);
            } catch (Corral\CorralException $e) {
                throw new ZookeeperConnectionException($e->getMessage(), $e->getCode(), $e);
            }
        }

        public function close(): void
        {
            $this->c()->close();
            $this->client = null;
            $this->dataWatchers = $this->childWatchers = [];
        }

        /** @param list<array{perms:int, scheme:string, id:string}> $acls */
        public function create(string $path, ?string $value, array $acls, ?int $flags = null): string
        {
            return $this->call(fn (Corral\Client $c) => $c->create($path, (string) $value, (int) $flags, $acls));
        }

        public function delete(string $path, int $version = -1): bool
        {
            $this->call(fn (Corral\Client $c) => $c->delete($path, $version));
            return true;
        }

        public function set(string $path, ?string $value, int $version = -1, ?array &$stat = null): bool
        {
            $stat = $this->call(fn (Corral\Client $c) => $c->set($path, (string) $value, $version));
            return true;
        }

        public function get(string $path, ?callable $watcher_cb = null, ?array &$stat = null, int $max_size = 0): string
        {
            [$data, $stat] = $this->call(fn (Corral\Client $c) => $c->get($path, $watcher_cb !== null));
            if ($watcher_cb !== null) {
                $this->dataWatchers[$path][] = $watcher_cb;
            }
            return $max_size > 0 ? substr($data, 0, $max_size) : $data;
        }

        /** @return list<string> */
        public function getChildren(string $path, ?callable $watcher_cb = null): array
        {
            $children = $this->call(fn (Corral\Client $c) => $c->getChildren($path, $watcher_cb !== null));
            if ($watcher_cb !== null) {
                $this->childWatchers[$path][] = $watcher_cb;
            }
            return $children;
        }

        /** @return array<string, int>|false the stat, or false if the node does not exist */
        public function exists(string $path, ?callable $watcher_cb = null): array|false
        {
            $stat = $this->call(fn (Corral\Client $c) => $c->exists($path, $watcher_cb !== null));
            if ($watcher_cb !== null) {
                $this->dataWatchers[$path][] = $watcher_cb;
            }
            return $stat ?? false;
        }

        /** @return array{0: array<string, int>, 1: list<array{perms:int, scheme:string, id:string}>} [$stat, $acls] */
        public function getAcl(string $path): array
        {
            [$acl, $stat] = $this->call(fn (Corral\Client $c) => $c->getAcl($path));
            return [$stat, $acl];
        }

        public function setAcl(string $path, int $version, array $acls): bool
        {
            $this->call(fn (Corral\Client $c) => $c->setAcl($path, $acls, $version));
            return true;
        }

        /** @return array{0: int, 1: string} [session id, password] */
        public function getClientId(): array
        {
            [$id, $password] = $this->c()->session();
            return [$id, $password];
        }

        public function setWatcher(callable $watcher_cb): bool
        {
            $this->c();
            $this->watcher = $watcher_cb;
            return true;
        }

        /** The state in the C client's numbers (CONNECTED_STATE, CONNECTING_STATE, ...). */
        public function getState(): int
        {
            return self::cState($this->c()->state());
        }

        public function getRecvTimeout(): int
        {
            return $this->c()->session()[2] ?: $this->recvTimeout;
        }

        public function addAuth(string $scheme, string $cert, ?callable $completion_cb = null): bool
        {
            $this->call(fn (Corral\Client $c) => $c->addAuth($scheme, $cert));
            if ($completion_cb !== null) {
                $completion_cb();
            }
            return true;
        }

        public function isRecoverable(): bool
        {
            $state = $this->getState();
            return $state !== self::EXPIRED_SESSION_STATE && $state !== self::AUTH_FAILED_STATE;
        }

        /** Accepted for compatibility; libcorral logs through its own facility. */
        public function setLogStream($file): bool
        {
            return true;
        }

        public static function setDebugLevel(int $level): bool
        {
            return true;
        }

        public static function setDeterministicConnOrder(bool $trueOrFalse): bool
        {
            return true;
        }

        /** Runs the callbacks of this handle's queued events; returns how many events there were. */
        public function dispatch(): int
        {
            $n = 0;
            while ($this->client !== null) {
                try {
                    $ev = $this->client->pollEvent(0);
                } catch (Corral\CorralException $e) {
                    break; // the session has ended and its events were taken
                }
                if ($ev === null) {
                    break;
                }
                $n++;
                $this->deliver($ev['type'], $ev['state'], $ev['path']);
            }
            return $n;
        }

        /** zookeeper_dispatch(): dispatches every live handle. */
        public static function dispatchAll(): void
        {
            foreach (self::$instances as $ref) {
                $ref->get()?->dispatch();
            }
        }

        private function deliver(int $type, int $state, string $path): void
        {
            $state = self::cState($state);
            if ($type === self::SESSION_EVENT) {
                if ($this->watcher !== null) {
                    ($this->watcher)($type, $state, $path);
                }
                return;
            }
            $callbacks = [];
            if ($type !== self::CHILD_EVENT) {
                $callbacks = $this->dataWatchers[$path] ?? [];
                unset($this->dataWatchers[$path]);
            }
            if ($type === self::CHILD_EVENT || $type === self::DELETED_EVENT) {
                $callbacks = array_merge($callbacks, $this->childWatchers[$path] ?? []);
                unset($this->childWatchers[$path]);
            }
            foreach ($callbacks as $cb) {
                $cb($type, $state, $path);
            }
        }

        /** libcorral's state (ZooKeeper's Java numbers) in the C client's numbers. */
        private static function cState(int $state): int
        {
            return match ($state) {
                0 => self::CONNECTING_STATE,
                3 => self::CONNECTED_STATE,
                4 => self::AUTH_FAILED_STATE,
                5 => self::READONLY_STATE,
                -112 => self::EXPIRED_SESSION_STATE,
                default => self::NOTCONNECTED_STATE,
            };
        }

        private function c(): Corral\Client
        {
            if ($this->client === null) {
                throw new ZookeeperConnectionException('Zookeeper->connect() was not called', 5999);
            }
            return $this->client;
        }

        /** Runs $f on the client, turning a Corral exception into the extension's. */
        private function call(callable $f): mixed
        {
            try {
                return $f($this->c());
            } catch (Corral\CorralException $e) {
                $class = match ($e->getCode()) {
                    self::CONNECTIONLOSS => ZookeeperConnectionException::class,
                    self::OPERATIONTIMEOUT, 2 => ZookeeperOperationTimeoutException::class,
                    self::MARSHALLINGERROR => ZookeeperMarshallingException::class,
                    self::NOAUTH, self::AUTHFAILED => ZookeeperAuthenticationException::class,
                    self::SESSIONEXPIRED, self::SESSIONMOVED, 4 => ZookeeperSessionException::class,
                    self::NONODE => ZookeeperNoNodeException::class,
                    default => ZookeeperException::class,
                };
                throw new $class($e->getMessage(), $e->getCode(), $e);
            }
        }
    }

    /** Runs the watcher callbacks of the events queued on every Zookeeper handle. */
    function zookeeper_dispatch(): void
    {
        Zookeeper::dispatchAll();
    }
}
