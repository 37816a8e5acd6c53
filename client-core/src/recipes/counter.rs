//! `Counter`: an integer in one node, changed atomically by compare-and-set
//! on the node's data version (kazoo's `Counter`, Curator's `SharedCount`
//! and `DistributedAtomicLong`).
//!
//! Layout: the node `<path>` (persistent, parents created) holds the value
//! in the chosen [`CounterFormat`]. A missing node is created with the
//! initial value on first use; empty data reads as 0.
//!
//! An update reads the value and its version, then writes the new value
//! conditioned on that version; when another writer got there first
//! (BadVersion) it reads again and retries, so concurrent increments are
//! never lost. The conditional write is sent as a one-op `multi`, which the
//! client never retries on its own: a write whose reply is lost to a
//! connection loss is reported as ConnectionLoss (it may or may not have
//! been applied — re-read to find out) instead of being applied twice.

use std::time::Duration;

use rand::Rng;

use super::barrier::{ensure_path, split_path};
use crate::types::{CreateOptions, Op};
use crate::{Client, Error, Result, Watch};

/// How the value is stored in the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CounterFormat {
    /// ASCII decimal (`"42"`, `"-7"`), as kazoo's `Counter` writes.
    #[default]
    Decimal,
    /// 4-byte big-endian `i32`, as Curator's `SharedCount` writes. Values
    /// outside `i32` fail with BadArguments.
    SharedCount,
    /// 8-byte big-endian `i64`, as Curator's `DistributedAtomicLong` writes.
    AtomicLong,
}

impl CounterFormat {
    /// The bytes of `value` in this format.
    pub fn encode(self, value: i64) -> Result<Vec<u8>> {
        Ok(match self {
            CounterFormat::Decimal => value.to_string().into_bytes(),
            CounterFormat::SharedCount => i32::try_from(value)
                .map_err(|_| Error::BadArguments(format!("{value} does not fit a SharedCount")))?
                .to_be_bytes()
                .to_vec(),
            CounterFormat::AtomicLong => value.to_be_bytes().to_vec(),
        })
    }

    /// The value stored in `data` (empty data is 0).
    pub fn decode(self, data: &[u8]) -> Result<i64> {
        if data.is_empty() {
            return Ok(0);
        }
        let bad = || Error::BadArguments(format!("counter data {data:?} is not {self:?}"));
        match self {
            CounterFormat::Decimal => std::str::from_utf8(data)
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .ok_or_else(bad),
            CounterFormat::SharedCount => <[u8; 4]>::try_from(data)
                .map(|b| i32::from_be_bytes(b) as i64)
                .map_err(|_| bad()),
            CounterFormat::AtomicLong => <[u8; 8]>::try_from(data)
                .map(i64::from_be_bytes)
                .map_err(|_| bad()),
        }
    }
}

/// A shared counter; see the module docs.
///
/// ```no_run
/// # use corral_client::{Client, recipes::counter::{Counter, CounterFormat}};
/// # async fn demo(client: Client) -> corral_client::Result<()> {
/// let hits = Counter::new(client, "/app/hits").with_format(CounterFormat::SharedCount);
/// let now = hits.add(1).await?; // the value after our increment
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Counter {
    client: Client,
    path: String,
    format: CounterFormat,
    initial: i64,
}

impl Counter {
    /// A counter at `path` in [`CounterFormat::Decimal`], starting at 0.
    pub fn new(client: Client, path: &str) -> Counter {
        Counter {
            client,
            path: path.to_owned(),
            format: CounterFormat::Decimal,
            initial: 0,
        }
    }

    pub fn with_format(mut self, format: CounterFormat) -> Counter {
        self.format = format;
        self
    }

    /// The value the node is created with if it does not exist.
    pub fn with_initial(mut self, initial: i64) -> Counter {
        self.initial = initial;
        self
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The current value (the node is created if missing).
    pub async fn get(&self) -> Result<i64> {
        Ok(self.get_versioned().await?.0)
    }

    /// The current value and the node's data version, for
    /// [`Counter::compare_and_set`].
    pub async fn get_versioned(&self) -> Result<(i64, i32)> {
        loop {
            match self.client.get_data(&self.path).await {
                Ok((data, stat)) => return Ok((self.format.decode(&data)?, stat.version)),
                Err(Error::NoNode) => self.create().await?,
                Err(e) => return Err(e),
            }
        }
    }

    /// The current value, its version, and a one-shot watch that fires on
    /// the next change (or deletion) of the node.
    pub async fn get_w(&self) -> Result<(i64, i32, Watch)> {
        loop {
            match self.client.get_data_w(&self.path).await {
                Ok((data, stat, w)) => return Ok((self.format.decode(&data)?, stat.version, w)),
                Err(Error::NoNode) => self.create().await?,
                Err(e) => return Err(e),
            }
        }
    }

    /// Adds `delta` atomically; returns the new value. Retries on
    /// contention until it wins; fails with ConnectionLoss if the reply to
    /// its write was lost (see the module docs), BadArguments on overflow.
    pub async fn add(&self, delta: i64) -> Result<i64> {
        self.update(|v| {
            v.checked_add(delta)
                .ok_or_else(|| Error::BadArguments(format!("{v} + {delta} overflows")))
        })
        .await
    }

    /// Sets the value unconditionally.
    pub async fn set(&self, value: i64) -> Result<()> {
        self.update(|_| Ok(value)).await.map(drop)
    }

    /// Sets the value if the node's version is still `version` (from
    /// [`Counter::get_versioned`]): `Ok(false)` if someone changed it
    /// since (Curator's `trySetCount`).
    pub async fn compare_and_set(&self, version: i32, value: i64) -> Result<bool> {
        let data = self.format.encode(value)?;
        match self.write(&data, version).await {
            Ok(()) => Ok(true),
            Err(Error::BadVersion) | Err(Error::NoNode) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Applies `f` to the current value until the conditional write wins;
    /// returns the value written.
    async fn update(&self, f: impl Fn(i64) -> Result<i64>) -> Result<i64> {
        let mut conflicts = 0u32;
        loop {
            let (old, version) = self.get_versioned().await?;
            let new = f(old)?;
            let data = self.format.encode(new)?;
            match self.write(&data, version).await {
                Ok(()) => return Ok(new),
                Err(Error::BadVersion) | Err(Error::NoNode) => {
                    conflicts += 1;
                    backoff(conflicts).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes `data` if the version matches, as a one-op multi (never
    /// retried by the client).
    async fn write(&self, data: &[u8], version: i32) -> Result<()> {
        let op = Op::set_data(self.path.clone(), data.to_vec(), Some(version));
        match self.client.multi(vec![op]).await {
            Ok(_) => Ok(()),
            Err(Error::Multi { error, .. }) => Err(*error),
            Err(e) => Err(e),
        }
    }

    /// Creates the node with the initial value; Ok if it exists.
    async fn create(&self) -> Result<()> {
        let data = self.format.encode(self.initial)?;
        ensure_path(&self.client, split_path(&self.path).0).await?;
        match self
            .client
            .create(&self.path, &data, &CreateOptions::default())
            .await
        {
            Ok(_) | Err(Error::NodeExists) => Ok(()),
            // Unknown outcome: the next read tells.
            Err(e) if e.is_retryable() => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// After repeated conflicts, a short random pause so that contenders spread
/// out (the first retries are immediate).
async fn backoff(conflicts: u32) {
    if conflicts < 3 {
        tokio::task::yield_now().await;
        return;
    }
    let max_ms = u64::from(conflicts.min(20));
    let ms = rand::thread_rng().gen_range(0..=max_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let d = CounterFormat::Decimal;
        assert_eq!(d.encode(-42).unwrap(), b"-42");
        assert_eq!(d.decode(b"17").unwrap(), 17);
        assert_eq!(d.decode(b"").unwrap(), 0);
        assert!(d.decode(b"x").is_err());
        let s = CounterFormat::SharedCount;
        assert_eq!(s.encode(258).unwrap(), vec![0, 0, 1, 2]);
        assert_eq!(s.decode(&[0xff, 0xff, 0xff, 0xfe]).unwrap(), -2);
        assert!(s.encode(i64::from(i32::MAX) + 1).is_err());
        assert!(s.decode(&[1, 2, 3]).is_err());
        let l = CounterFormat::AtomicLong;
        assert_eq!(l.encode(1).unwrap(), vec![0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(l.decode(&l.encode(i64::MIN).unwrap()).unwrap(), i64::MIN);
    }
}
