//! Helpers shared by the protocol test binaries (each uses a part of them).
#![allow(dead_code)]

pub mod decoders;
pub mod fixtures;
pub mod samples;
