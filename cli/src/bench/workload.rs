//! What each session sends: prebuilt request frames (only the xid changes
//! per request) and a small deterministic random generator to pick them.

use corral_protocol::{
    Acl, CreateMode, CreateRequest, GetDataRequest, OpCode, Request, SetDataRequest,
};

/// The parent of the znodes the `mixed` workload reads and writes.
pub const BENCH_ROOT: &str = "/bench";
/// The parent of the znodes the `create` workload adds.
pub const CREATE_ROOT: &str = "/bench-create";

/// The path of the `i`-th znode of the `mixed` workload.
pub fn znode_path(i: usize) -> String {
    format!("{BENCH_ROOT}/n-{i:06}")
}

/// Which operation a request is, for per-operation statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
    Create,
}

impl Op {
    pub const ALL: [Op; 3] = [Op::Read, Op::Write, Op::Create];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The ZooKeeper name of the request type.
    pub fn name(self) -> &'static str {
        match self {
            Op::Read => OpCode::GetData.name(),
            Op::Write => OpCode::SetData.name(),
            Op::Create => OpCode::Create.name(),
        }
    }
}

/// The request mix a session draws from.
pub enum Mix {
    /// `read_pct`% getData, the rest setData, on uniformly random znodes.
    Mixed {
        reads: Vec<Vec<u8>>,
        writes: Vec<Vec<u8>>,
        read_pct: u32,
    },
    /// Persistent sequential creates under [`CREATE_ROOT`].
    Create { frame: Vec<u8> },
}

impl Mix {
    pub fn mixed(znodes: usize, value_size: usize, read_pct: u32) -> Mix {
        let value = vec![b'x'; value_size];
        let mut reads = Vec::with_capacity(znodes);
        let mut writes = Vec::with_capacity(znodes);
        for i in 0..znodes {
            let path = znode_path(i);
            reads.push(
                Request::GetData(GetDataRequest {
                    path: path.clone(),
                    watch: false,
                })
                .to_frame(0),
            );
            writes.push(
                Request::SetData(SetDataRequest {
                    path,
                    data: Some(value.clone()),
                    version: -1,
                })
                .to_frame(0),
            );
        }
        Mix::Mixed {
            reads,
            writes,
            read_pct,
        }
    }

    pub fn create(value_size: usize) -> Mix {
        let frame = Request::Create(CreateRequest {
            path: format!("{CREATE_ROOT}/s-"),
            data: Some(vec![b'x'; value_size]),
            acl: Acl::open_unsafe(),
            flags: CreateMode::PersistentSequential.flags(),
        })
        .to_frame(0);
        Mix::Create { frame }
    }

    /// Picks the next request: its kind and its frame (xid to be patched).
    pub fn next<'a>(&'a self, rng: &mut Rng) -> (Op, &'a [u8]) {
        match self {
            Mix::Mixed {
                reads,
                writes,
                read_pct,
            } => {
                let i = rng.below(reads.len() as u64) as usize;
                if (rng.below(100) as u32) < *read_pct {
                    (Op::Read, &reads[i])
                } else {
                    (Op::Write, &writes[i])
                }
            }
            Mix::Create { frame } => (Op::Create, frame),
        }
    }
}

/// xorshift64*: fast, seedable, good enough to spread load over znodes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so that nearby seeds diverge at once.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n` > 0), by multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() >> 32) * n) >> 32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_stays_in_range_and_covers_it() {
        let mut rng = Rng::new(7);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let v = rng.below(10) as usize;
            seen[v] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn mixed_respects_read_pct() {
        let mix = Mix::mixed(10, 4, 90);
        let mut rng = Rng::new(1);
        let reads = (0..10_000)
            .filter(|_| mix.next(&mut rng).0 == Op::Read)
            .count();
        assert!((8_800..9_200).contains(&reads), "{reads}");
        let all_reads = Mix::mixed(10, 4, 100);
        assert!((0..1000).all(|_| all_reads.next(&mut rng).0 == Op::Read));
        let all_writes = Mix::mixed(10, 4, 0);
        assert!((0..1000).all(|_| all_writes.next(&mut rng).0 == Op::Write));
    }

    #[test]
    fn templates_decode_as_requests() {
        let Mix::Mixed { reads, writes, .. } = Mix::mixed(3, 5, 50) else {
            unreachable!()
        };
        let (h, req) = Request::decode_frame(&reads[2][4..]).unwrap();
        assert_eq!(h.op_type, OpCode::GetData as i32);
        assert_eq!(req.path(), Some("/bench/n-000002"));
        let (_, req) = Request::decode_frame(&writes[0][4..]).unwrap();
        let Request::SetData(set) = req else { panic!() };
        assert_eq!(set.data.as_deref(), Some(&b"xxxxx"[..]));
        let Mix::Create { frame } = Mix::create(3) else {
            unreachable!()
        };
        let (h, req) = Request::decode_frame(&frame[4..]).unwrap();
        assert_eq!(h.op_type, OpCode::Create as i32);
        assert_eq!(req.path(), Some("/bench-create/s-"));
    }
}
