<?php

declare(strict_types=1);

namespace Corral;

use FFI;
use FFI\CData;

/**
 * A ZooKeeper session, over libcorral (PHP's FFI extension; no compiled
 * extension). Works with corral-server and Apache ZooKeeper.
 *
 *     $zk = new Corral\Client('127.0.0.1:2181');
 *     $zk->create('/app', 'hello');
 *     [$data, $stat] = $zk->get('/app', true);   // with a watch
 *     $zk->set('/app', 'bye', $stat['version']);
 *     $event = $zk->pollEvent(5.0);              // ['type' => 3, 'state' => 3, 'path' => '/app']
 *     $zk->close();
 *
 * Errors are exceptions whose code is ZooKeeper's (NoNodeException: -101, ...).
 * Watches and session events are queued; take them with pollEvent(): no
 * PHP code is ever called from another thread.
 */
final class Client
{
    public const PERSISTENT = 0;
    public const EPHEMERAL = 1;
    public const SEQUENCE = 2;
    public const CONTAINER = 4;

    public const SESSION_EVENT = -1;
    public const CREATED_EVENT = 1;
    public const DELETED_EVENT = 2;
    public const CHANGED_EVENT = 3;
    public const CHILD_EVENT = 4;

    public const DISCONNECTED_STATE = 0;
    public const CONNECTED_STATE = 3;
    public const AUTH_FAILED_STATE = 4;
    public const CONNECTED_READONLY_STATE = 5;
    public const CLOSED_STATE = 7;
    public const EXPIRED_SESSION_STATE = -112;

    private FFI $ffi;
    private ?CData $handle;

    /** Connects (blocking; at most $timeoutMs, also the session timeout). */
    public function __construct(string $hosts, int $timeoutMs = 10000)
    {
        $this->ffi = Native::ffi();
        $out = $this->ffi->new('corral_client*');
        Native::check($this->ffi->corral_client_connect($hosts, $timeoutMs, FFI::addr($out)));
        $this->handle = $out;
    }

    public function __destruct()
    {
        if ($this->handle !== null) {
            $this->ffi->corral_client_free($this->handle);
            $this->handle = null;
        }
    }

    /** Creates a node; returns its path (with the sequence suffix). $flags: EPHEMERAL | SEQUENCE, or CONTAINER. */
    public function create(string $path, string $value = '', int $flags = 0, ?array $acl = null): string
    {
        [$data, $len] = Native::bytes($value);
        [$aclArr, $aclLen, $keep] = Native::acl($acl);
        $out = $this->ffi->new('char[1024]');
        $this->check($this->ffi->corral_create_with_acl(
            $this->h(), $path, $data, $len, $aclArr, $aclLen, $flags, $out, 1024
        ));
        unset($keep);
        return FFI::string($out);
    }

    /** @return array{0: string, 1: array<string, int>} [$data, $stat] */
    public function get(string $path, bool $watch = false): array
    {
        $bytes = $this->ffi->new('corral_bytes');
        $stat = $this->ffi->new('corral_stat');
        $this->check($this->ffi->corral_get($this->h(), $path, $watch, FFI::addr($bytes), FFI::addr($stat)));
        return [Native::takeBytes($bytes), Native::stat($stat)];
    }

    /** Sets the data if the version matches (-1: any); returns the new stat. */
    public function set(string $path, string $value, int $version = -1): array
    {
        [$data, $len] = Native::bytes($value);
        $stat = $this->ffi->new('corral_stat');
        $this->check($this->ffi->corral_set($this->h(), $path, $data, $len, $version, FFI::addr($stat)));
        return Native::stat($stat);
    }

    public function delete(string $path, int $version = -1): void
    {
        $this->check($this->ffi->corral_delete($this->h(), $path, $version));
    }

    /** The node's stat, or null if it does not exist. With $watch, a watch is set either way. */
    public function exists(string $path, bool $watch = false): ?array
    {
        $stat = $this->ffi->new('corral_stat');
        $rc = $this->ffi->corral_exists($this->h(), $path, $watch, FFI::addr($stat));
        if ($rc === $this->ffi->CORRAL_ZNONODE) {
            return null;
        }
        $this->check($rc);
        return Native::stat($stat);
    }

    /** @return list<string> */
    public function getChildren(string $path, bool $watch = false): array
    {
        $strings = $this->ffi->new('corral_strings');
        $this->check($this->ffi->corral_get_children($this->h(), $path, $watch, FFI::addr($strings)));
        return Native::takeStrings($strings);
    }

    /** @return array{0: list<array{perms:int, scheme:string, id:string}>, 1: array<string, int>} [$acl, $stat] */
    public function getAcl(string $path): array
    {
        $acls = $this->ffi->new('corral_acls');
        $stat = $this->ffi->new('corral_stat');
        $this->check($this->ffi->corral_get_acl($this->h(), $path, FFI::addr($acls), FFI::addr($stat)));
        return [Native::takeAcl($acls), Native::stat($stat)];
    }

    /** Sets the ACL if its version (aversion) matches (-1: any); returns the new stat. */
    public function setAcl(string $path, array $acl, int $version = -1): array
    {
        [$arr, $n, $keep] = Native::acl($acl);
        $stat = $this->ffi->new('corral_stat');
        $this->check($this->ffi->corral_set_acl($this->h(), $path, $version, $arr, $n, FFI::addr($stat)));
        unset($keep);
        return Native::stat($stat);
    }

    /** Adds credentials, e.g. addAuth('digest', 'user:password'). */
    public function addAuth(string $scheme, string $credential): void
    {
        [$data, $len] = Native::bytes($credential);
        $this->check($this->ffi->corral_add_auth($this->h(), $scheme, $data, $len));
    }

    /**
     * The oldest queued event, waiting up to $timeoutSeconds (negative: for
     * ever); null if none came. ['type' => ..., 'state' => ..., 'path' => ...]
     * with ZooKeeper's numbers (SESSION_EVENT, CHANGED_EVENT, ...).
     * Throws ClosedException (SessionExpiredException...) once the session
     * has ended and its last event was taken.
     */
    public function pollEvent(float $timeoutSeconds): ?array
    {
        $ev = $this->ffi->new('corral_event');
        $ms = $timeoutSeconds < 0 ? -1 : (int) min(ceil($timeoutSeconds * 1000), 2147483647);
        $rc = $this->ffi->corral_poll_event($this->h(), $ms, FFI::addr($ev));
        if ($rc === $this->ffi->CORRAL_ETIMEOUT) {
            return null;
        }
        $this->check($rc);
        $event = ['type' => $ev->type, 'state' => $ev->state, 'path' => FFI::string($ev->path)];
        $this->ffi->corral_event_free(FFI::addr($ev));
        return $event;
    }

    /** A lock on $path for this session (not acquired yet). */
    public function lock(string $path): Lock
    {
        return new Lock($this, $path);
    }

    /** The session state (CONNECTED_STATE, ...). */
    public function state(): int
    {
        $state = $this->ffi->new('int32_t');
        $this->check($this->ffi->corral_client_state($this->h(), FFI::addr($state)));
        return $state->cdata;
    }

    /** @return array{0: int, 1: string, 2: int} [session id, password, negotiated timeout ms] */
    public function session(): array
    {
        $id = $this->ffi->new('int64_t');
        $timeout = $this->ffi->new('int32_t');
        $pw = $this->ffi->new('uint8_t[64]');
        $len = $this->ffi->new('size_t');
        $this->check($this->ffi->corral_client_session(
            $this->h(), FFI::addr($id), FFI::addr($timeout), $pw, 64, FFI::addr($len)
        ));
        return [$id->cdata, FFI::string($pw, min($len->cdata, 64)), $timeout->cdata];
    }

    /** Closes the session (its ephemeral nodes go). Later calls throw ClosedException. */
    public function close(): void
    {
        if ($this->handle !== null) {
            $this->check($this->ffi->corral_client_close($this->handle));
        }
    }

    /** @internal the corral_client* for Lock */
    public function handle(): CData
    {
        return $this->h();
    }

    /** @internal */
    public function check(int $rc): void
    {
        Native::check($rc, $this->handle);
    }

    private function h(): CData
    {
        if ($this->handle === null) {
            throw CorralException::fromCode(4);
        }
        return $this->handle;
    }
}
