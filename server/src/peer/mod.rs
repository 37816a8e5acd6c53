//! Between the servers of an ensemble: openraft's RPCs, forwarded client
//! writes, session touches and read indexes, as protobuf frames
//! (`proto/peer.proto`) over TCP on each server's quorum port.

mod codec;
pub mod duties;
pub mod forward;
pub mod link;
pub mod network;
pub mod prevote;
pub mod service;

pub use forward::Forwarder;
pub use network::Links;
pub use prevote::Election;
