//! A deterministic fuzz-style test (no external crates): a few hundred
//! thousand pseudo-random and mutated-valid inputs from a fixed-seed PRNG go
//! through every decoder (`common::decoders::decode_all`, the same function
//! the cargo-fuzz target in protocol/fuzz/ runs). Nothing may panic, and
//! whatever decodes must survive encode + decode unchanged.
//!
//! `CORRAL_FUZZ_ITERS=N` changes the number of inputs (default 300 000;
//! release builds get through it in a second or two, debug in well under a
//! minute).

mod common;

use common::decoders::decode_all;
use common::{fixtures, samples};
use corral_protocol::jute::Writer;
use corral_protocol::multi::{encode_multi_ops, encode_multi_results};
use corral_protocol::*;

/// xorshift64*: small, fast, good enough for input generation.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

const INTERESTING_I32: [i32; 12] = [
    -1,
    0,
    1,
    -2,
    2,
    16,
    0x7f,
    0xff,
    0x7fff_ffff,
    i32::MIN,
    0xfffff,
    0x100000,
];

/// Valid encodings to mutate: captured frames (and their payloads), every
/// sample request, connect forms, multi ops and results.
fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for f in fixtures::load_all() {
        for (_, fr) in f.frames {
            out.push(fr[4..].to_vec());
            out.push(fr);
        }
    }
    for (i, req) in samples::requests().iter().enumerate() {
        let fr = req.to_frame(i as i32);
        out.push(fr[4..].to_vec());
        out.push(fr[12..].to_vec());
        out.push(fr);
    }
    let mut w = Writer::new();
    encode_multi_results(&samples::multi_results(), &mut w);
    out.push(w.into_inner());
    let mut w = Writer::new();
    encode_multi_ops(&samples::multi_write_ops(), &mut w);
    out.push(w.into_inner());
    for ro in [None, Some(true)] {
        let mut w = Writer::new();
        ConnectRequest {
            time_out: 30000,
            passwd: vec![0; 16],
            read_only: ro,
            ..Default::default()
        }
        .encode(&mut w);
        out.push(w.into_inner());
    }
    out
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = input.len();
        match rng.below(9) {
            // Flip a bit.
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            // Replace a byte.
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = [0, 0xff, 0x7f, 0x80, 1, rng.byte()][rng.below(6)];
            }
            // Overwrite an aligned-or-not i32 with an interesting value
            // (lengths, counts, opcodes, xids).
            2 if len >= 4 => {
                let i = rng.below(len - 3);
                let v = INTERESTING_I32[rng.below(INTERESTING_I32.len())];
                input[i..i + 4].copy_from_slice(&v.to_be_bytes());
            }
            // Truncate.
            3 if len > 0 => input.truncate(rng.below(len)),
            // Insert random bytes.
            4 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
                input.splice(i..i, bytes);
            }
            // Delete a range.
            5 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                input.drain(i..i + n);
            }
            // Duplicate a chunk (repeated vector elements / multi ops).
            6 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let chunk = input[i..i + n].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, chunk);
            }
            // Splice in part of another seed.
            7 => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let i = rng.below(other.len());
                    let n = 1 + rng.below(other.len() - i);
                    let at = rng.below(len + 1);
                    input.splice(at..at, other[i..i + n].iter().copied());
                }
            }
            // Set an opcode-looking field to a valid opcode.
            _ if len >= 8 => {
                let op = OpCode::ALL[rng.below(OpCode::ALL.len())] as i32;
                let i = 4 * rng.below(len / 4).min(1);
                input[i..i + 4].copy_from_slice(&op.to_be_bytes());
            }
            _ => input.push(rng.byte()),
        }
    }
}

fn iterations() -> usize {
    std::env::var("CORRAL_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000)
}

#[test]
fn seeds_decode_cleanly() {
    for s in seeds() {
        decode_all(&s);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x00c0_ffee_d00d_f00d);
    let n = iterations() / 3;
    let mut buf = Vec::with_capacity(512);
    for _ in 0..n {
        buf.clear();
        let len = match rng.below(4) {
            0 => rng.below(16),
            1 => rng.below(64),
            2 => rng.below(256),
            _ => rng.below(1024),
        };
        // Mostly small values, as lengths and counts are.
        let dense = rng.below(3) == 0;
        for _ in 0..len {
            let b = if dense || rng.below(4) == 0 {
                rng.byte()
            } else {
                0
            };
            buf.push(b);
        }
        decode_all(&buf);
    }
}

#[test]
fn mutated_valid_inputs_never_panic() {
    let seeds = seeds();
    assert!(seeds.len() > 100);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let n = iterations() - iterations() / 3;
    for _ in 0..n {
        let mut input = seeds[rng.below(seeds.len())].clone();
        mutate(&mut rng, &mut input, &seeds);
        decode_all(&input);
    }
}
