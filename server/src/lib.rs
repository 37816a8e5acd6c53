//! corral-server: a ZooKeeper-compatible server. Every write goes
//! connection -> prep -> Raft log (openraft) -> apply to the data tree ->
//! reply + watch events, in standalone mode as a one-member Raft group.

pub mod admin;
pub mod apply;
pub mod auth;
pub mod config;
pub mod connection;
pub mod core;
pub mod four_letter;
pub mod import;
pub mod memory;
pub mod path;
pub mod peer;
pub mod proposer;
pub mod raft;
pub mod raft_runtime;
pub mod read_only;
pub mod reads;
pub mod reconfig;
pub mod server;
pub mod storage;
pub mod tree;
pub mod txn;
pub mod watches;

pub use config::{ServerArgs, ServerConfig};
pub use server::Server;
