//! Arbitrary bytes through every decoder of corral-protocol: `check_frame`,
//! `Request::decode_frame` (and `Request::decode` for every opcode),
//! `ConnectRequest`/`ConnectResponse::decode`, `multi::decode_multi_results`
//! and `decode_multi_ops`, reply bodies by opcode, and every record. Whatever
//! decodes must re-encode to bytes that decode to the same value.
//!
//! The same function runs in the deterministic test
//! `protocol/tests/random_input.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/decoders.rs"]
mod decoders;

fuzz_target!(|data: &[u8]| {
    decoders::decode_all(data);
});
