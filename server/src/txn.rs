//! Log entries: what a write becomes after prep, and what applying it yields.
//!
//! A txn carries everything its outcome depends on (time, session, the
//! caller's identities), so applying the same log gives the same tree on
//! every server.

use corral_protocol::{ErrorCode, Id, MultiOp, SetAclRequest};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    /// The session the request came from (0 for server-originated txns).
    pub session_id: i64,
    /// Milliseconds since the epoch, taken by the proposer.
    pub time: i64,
    /// The identities of the proposing connection, for ACL checks.
    pub auth: Vec<Id>,
    pub op: TxnOp,
}

/// The txns of one log entry (see [`crate::proposer`]); each gets its own
/// zxid when applied. Shared: the log keeps entries in memory and hands
/// out copies of them to be applied, which then cost no allocation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxnBatch(pub Arc<[Txn]>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOp {
    /// create/create2/createContainer/createTTL, delete, setData or check.
    Single(MultiOp),
    SetAcl(SetAclRequest),
    Multi(Vec<MultiOp>),
    CreateSession {
        session_id: i64,
        timeout_ms: i32,
        passwd: Vec<u8>,
    },
    /// Ends `Txn::session_id`; `expired` when the server timed it out.
    CloseSession {
        expired: bool,
    },
    /// Deletes an empty container or an expired TTL node (reaper).
    DeleteContainer(String),
    /// `Txn::session_id` is now served by ensemble member `server` (its
    /// client reconnected there); any other server lets go of its old
    /// connection, as ZooKeeper's SessionMoved.
    MoveSession {
        server: u64,
    },
    /// Sets `/zookeeper/config` to `members` (`server.N=...` lines) plus
    /// `version=<this txn's zxid>` (see [`crate::reconfig`]); fails with
    /// BadVersion unless `expected_version` is -1 or the current version.
    SetConfig {
        members: String,
        expected_version: i64,
    },
}

/// What applying a txn produced: the reply for the proposer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxnOutcome {
    pub zxid: i64,
    pub err: Option<ErrorCode>,
    /// The encoded reply body (empty for errors).
    pub body: Vec<u8>,
}

impl TxnOutcome {
    pub fn error(zxid: i64, err: ErrorCode) -> TxnOutcome {
        TxnOutcome {
            zxid,
            err: Some(err),
            body: Vec::new(),
        }
    }
}
