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
