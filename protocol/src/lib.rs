//! The Apache ZooKeeper client wire protocol: jute records, opcodes, error
//! codes, watch types and framing. Pure data and codecs; no I/O.
//!
//! Decoding never panics: every malformed input is a [`DecodeError`].

pub mod acl;
pub mod connect;
pub mod create_mode;
pub mod error;
pub mod frame;
pub mod jute;
pub mod multi;
pub mod opcode;
pub mod records;
pub mod request;
pub mod watcher;

pub use acl::perms;
pub use connect::{ConnectRequest, ConnectResponse};
pub use create_mode::CreateMode;
pub use error::{DecodeError, ErrorCode};
pub use frame::{check_frame, frame};
pub use jute::{Decode, Encode, Reader, Writer};
pub use multi::{MultiOp, MultiResult};
pub use opcode::{xid, OpCode};
pub use records::*;
pub use request::Request;
pub use watcher::{AddWatchMode, EventType, KeeperState, WatcherType};

/// The default `jute.maxbuffer`: 0xfffff bytes.
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;
