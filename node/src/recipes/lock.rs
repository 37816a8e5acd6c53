//! `Lock` (a mutex, or one side of a read/write lock) and `Semaphore`.

use std::sync::{Arc, Mutex};

use corral_client::recipes::lock::{Lock as CoreLock, LockState};
use corral_client::recipes::rwlock::ReadWriteLock as CoreRwLock;
use corral_client::recipes::semaphore::{Lease as CoreLease, Semaphore as CoreSemaphore};
use corral_client::Client as CoreClient;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::bad_args;
use crate::promise::{self, millis, Rt, WaitOptions};

/// Which core lock a `Lock` is.
#[derive(Clone)]
enum Side {
    Mutex(Arc<Rt<CoreLock>>),
    Read(Arc<Rt<CoreRwLock>>),
    Write(Arc<Rt<CoreRwLock>>),
}

impl Side {
    fn lock(&self) -> &CoreLock {
        match self {
            Side::Mutex(l) => l,
            Side::Read(rw) => rw.read_lock(),
            Side::Write(rw) => rw.write_lock(),
        }
    }
}

/// Options of `Client.lock`.
#[napi(object)]
#[derive(Default)]
pub struct LockOptions {
    /// Stored in our contender node (e.g. who holds the lock).
    pub data: Option<Either<Buffer, String>>,
}

/// A distributed re-entrant mutex (Curator's `InterProcessMutex` layout),
/// or a side of a read/write lock. Re-entrant per handle: each `acquire`
/// needs a `release`. Processes (or tasks) that must exclude each other
/// need a handle each.
#[napi]
pub struct Lock {
    side: Side,
    path: String,
}

impl Lock {
    pub fn new(client: &CoreClient, path: String, options: Option<LockOptions>) -> Lock {
        let data = crate::convert::bytes(options.unwrap_or_default().data);
        let lock = CoreLock::new(client, &path).with_data(data);
        Lock {
            side: Side::Mutex(Arc::new(Rt::new(lock))),
            path,
        }
    }
}

#[napi]
impl Lock {
    /// Waits until the lock is held: resolves to true, or to false if
    /// `timeout` (ms) passed first.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn acquire<'env>(
        &self,
        env: &'env Env,
        options: Option<WaitOptions>,
    ) -> Result<PromiseRaw<'env, bool>> {
        let side = self.side.clone();
        let timeout = millis(options.unwrap_or_default().timeout);
        promise::spawn_value(env, async move {
            match timeout {
                Some(t) => side.lock().acquire_timeout(t).await,
                None => side.lock().acquire().await.map(|()| true),
            }
        })
    }

    /// Takes the lock only if nobody else holds or waits for it.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn try_acquire<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, bool>> {
        let side = self.side.clone();
        promise::spawn_value(env, async move { side.lock().try_acquire().await })
    }

    /// Releases one hold (the lock when the last one goes). Rejects with
    /// BADARGUMENTS if this handle does not hold it.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn release<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let side = self.side.clone();
        promise::spawn_value(env, async move { side.lock().release().await })
    }

    /// Whether this handle holds the lock and is connected.
    #[napi(getter)]
    pub fn is_acquired(&self) -> bool {
        self.side.lock().is_acquired()
    }

    /// `'released'`, `'acquired'`, `'suspended'` (held, but the connection
    /// is down) or `'lost'`.
    #[napi(
        getter,
        ts_return_type = "'released' | 'acquired' | 'suspended' | 'lost'"
    )]
    pub fn state(&self) -> String {
        match self.side.lock().state() {
            LockState::Released => "released",
            LockState::Acquired => "acquired",
            LockState::Suspended => "suspended",
            LockState::Lost => "lost",
        }
        .to_owned()
    }

    /// Our node's path while held.
    #[napi(getter)]
    pub fn node(&self) -> Option<String> {
        self.side.lock().node()
    }

    /// The lock's path.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// The contender nodes in queue order (the first holds the lock).
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn contenders<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Vec<String>>> {
        let side = self.side.clone();
        promise::spawn_value(env, async move { side.lock().contenders().await })
    }
}

/// A read/write lock (Curator's `InterProcessReadWriteLock` layout): many
/// readers or one writer; a writer may also read.
#[napi]
pub struct ReadWriteLock {
    inner: Arc<Rt<CoreRwLock>>,
    path: String,
}

impl ReadWriteLock {
    pub fn new(client: &CoreClient, path: String) -> ReadWriteLock {
        ReadWriteLock {
            inner: Arc::new(Rt::new(CoreRwLock::new(client, &path))),
            path,
        }
    }
}

#[napi]
impl ReadWriteLock {
    /// The shared side.
    #[napi(getter)]
    pub fn read_lock(&self) -> Lock {
        Lock {
            side: Side::Read(self.inner.clone()),
            path: self.path.clone(),
        }
    }

    /// The exclusive side.
    #[napi(getter)]
    pub fn write_lock(&self) -> Lock {
        Lock {
            side: Side::Write(self.inner.clone()),
            path: self.path.clone(),
        }
    }
}

/// A counting semaphore (Curator's `InterProcessSemaphoreV2` layout): at
/// most `maxLeases` leases at a time.
#[napi]
pub struct Semaphore {
    inner: Arc<CoreSemaphore>,
}

impl Semaphore {
    pub fn new(client: &CoreClient, path: &str, max_leases: u32) -> Semaphore {
        Semaphore {
            inner: Arc::new(CoreSemaphore::new(client, path, max_leases as usize)),
        }
    }
}

#[napi]
impl Semaphore {
    /// Waits for a lease: resolves to it, or to null if `timeout` (ms)
    /// passed first.
    #[napi(ts_return_type = "Promise<Lease | null>")]
    pub fn acquire<'env>(
        &self,
        env: &'env Env,
        options: Option<WaitOptions>,
    ) -> Result<PromiseRaw<'env, Option<Lease>>> {
        let sem = self.inner.clone();
        let timeout = millis(options.unwrap_or_default().timeout);
        promise::spawn(
            env,
            async move {
                match timeout {
                    Some(t) => sem.acquire_timeout(t).await,
                    None => sem.acquire().await.map(Some),
                }
            },
            |_, lease| Ok(lease.map(Lease::new)),
        )
    }

    /// The lease nodes held now (of every client).
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn lease_nodes<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Vec<String>>> {
        let sem = self.inner.clone();
        promise::spawn_value(env, async move { sem.lease_nodes().await })
    }
}

/// A lease of a `Semaphore`; give it back with `release()`.
#[napi]
pub struct Lease {
    node: String,
    inner: Arc<Rt<Mutex<Option<CoreLease>>>>,
}

impl Lease {
    fn new(lease: CoreLease) -> Lease {
        Lease {
            node: lease.node().to_owned(),
            inner: Arc::new(Rt::new(Mutex::new(Some(lease)))),
        }
    }
}

#[napi]
impl Lease {
    /// The lease's node path.
    #[napi(getter)]
    pub fn node(&self) -> String {
        self.node.clone()
    }

    /// Gives the lease back. Rejects with BADARGUMENTS if already released.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn release<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let lease = self.inner.lock().unwrap().take();
        promise::spawn_value(env, async move {
            match lease {
                Some(l) => l.release().await,
                None => Err(bad_args("lease already released")),
            }
        })
    }
}
