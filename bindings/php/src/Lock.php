<?php

declare(strict_types=1);

namespace Corral;

use FFI;
use FFI\CData;

/**
 * A distributed lock (Curator's InterProcessMutex layout, so Curator,
 * kazoo and Corral holders exclude each other). From Client::lock().
 *
 *     $lock = $zk->lock('/locks/job');
 *     if ($lock->acquire(5.0)) { ...; $lock->release(); }
 */
final class Lock
{
    private ?CData $held = null;

    public function __construct(private Client $client, private string $path)
    {
    }

    public function __destruct()
    {
        if ($this->held !== null) {
            Native::ffi()->corral_lock_release($this->held);
            $this->held = null;
        }
    }

    public function path(): string
    {
        return $this->path;
    }

    /**
     * Waits up to $timeoutSeconds (negative: for ever; 0: only if free now)
     * for the lock; returns whether it is held.
     */
    public function acquire(float $timeoutSeconds = -1): bool
    {
        if ($this->held !== null) {
            throw new InvalidArgumentException("lock {$this->path} is already held by this handle", 1);
        }
        $ffi = Native::ffi();
        $out = $ffi->new('corral_lock*');
        $ms = $timeoutSeconds < 0 ? -1 : (int) min(ceil($timeoutSeconds * 1000), 2147483647);
        $rc = $ffi->corral_lock_acquire($this->client->handle(), $this->path, $ms, FFI::addr($out));
        if ($rc === $ffi->CORRAL_ETIMEOUT) {
            return false;
        }
        $this->client->check($rc);
        $this->held = $out;
        return true;
    }

    public function isHeld(): bool
    {
        return $this->held !== null;
    }

    /** Releases the lock (an error still frees the handle: the node goes with the session). */
    public function release(): void
    {
        if ($this->held === null) {
            throw new InvalidArgumentException("lock {$this->path} is not held", 1);
        }
        $held = $this->held;
        $this->held = null;
        $this->client->check(Native::ffi()->corral_lock_release($held));
    }
}
