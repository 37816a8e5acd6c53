//! Coordination recipes over [`Client`](crate::Client), with node layouts
//! compatible with Apache Curator (and readable by kazoo): see
//! docs/RECIPES.md for each recipe's layout, guarantees and failure
//! behaviour.

mod contenders;

pub mod barrier;
pub mod counter;
pub mod double_barrier;
pub mod leader_election;
pub mod leader_latch;
pub mod lock;
pub mod party;
pub mod queue;
pub mod rwlock;
pub mod semaphore;
pub mod service_discovery;
pub mod tree_cache;

pub use barrier::Barrier;
pub use counter::{Counter, CounterFormat};
pub use double_barrier::DoubleBarrier;
pub use leader_election::{Election, ElectionState, LeaderElection, Leadership};
pub use leader_latch::{LatchState, LeaderLatch, Participant};
pub use lock::{Lock, LockState};
pub use party::{Member, Party};
pub use queue::{Queue, QueueItem};
pub use rwlock::ReadWriteLock;
pub use semaphore::{Lease, Semaphore};
pub use service_discovery::{
    ServiceCache, ServiceDiscovery, ServiceInstance, ServiceType, UriSpec, UriSpecPart,
};
pub use tree_cache::{
    ChildData, TreeCache, TreeCacheBuilder, TreeCacheEvent, TreeCacheEvents,
    WatchMode as TreeCacheWatchMode,
};
