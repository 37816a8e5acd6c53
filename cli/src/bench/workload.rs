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

/// The parents the `create` workload spreads its znodes over: `--parents`
/// children `p000`, `p001`... of [`CREATE_ROOT`], or [`CREATE_ROOT`] itself
/// when `parents` is 0.
pub fn create_parents(parents: usize) -> Vec<String> {
    if parents == 0 {
        return vec![CREATE_ROOT.to_owned()];
    }
    let width = (parents - 1).to_string().len().max(3);
    (0..parents)
        .map(|i| format!("{CREATE_ROOT}/p{i:0width$}"))
        .collect()
}

/// Which operation a request is, for per-operation statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
    Create,
    /// A watch fan-out round: until every watcher was notified.
    Watch,
    /// One watcher's notification in a fan-out round.
    Notify,
}

impl Op {
    pub const ALL: [Op; 5] = [Op::Read, Op::Write, Op::Create, Op::Watch, Op::Notify];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The ZooKeeper name of the request type.
    pub fn name(self) -> &'static str {
        match self {
            Op::Read => OpCode::GetData.name(),
            Op::Write => OpCode::SetData.name(),
            Op::Create => OpCode::Create.name(),
            Op::Watch => "watch",
            Op::Notify => "notify",
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
    /// Persistent sequential creates under uniformly random parents (see
    /// [`create_parents`]).
    Create { frames: Vec<Vec<u8>> },
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

    pub fn create(value_size: usize, parents: usize) -> Mix {
        let frames = create_parents(parents)
            .into_iter()
            .map(|parent| {
                Request::Create(CreateRequest {
                    path: format!("{parent}/s-"),
                    data: Some(vec![b'x'; value_size]),
                    acl: Acl::open_unsafe(),
                    flags: CreateMode::PersistentSequential.flags(),
                })
                .to_frame(0)
            })
            .collect();
        Mix::Create { frames }
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
            Mix::Create { frames } if frames.len() == 1 => (Op::Create, &frames[0]),
            Mix::Create { frames } => {
                let i = rng.below(frames.len() as u64) as usize;
                (Op::Create, &frames[i])
            }
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
        let Mix::Create { frames } = Mix::create(3, 0) else {
            unreachable!()
        };
        let (h, req) = Request::decode_frame(&frames[0][4..]).unwrap();
        assert_eq!(h.op_type, OpCode::Create as i32);
        assert_eq!(req.path(), Some("/bench-create/s-"));
    }

    #[test]
    fn creates_spread_over_parents() {
        assert_eq!(create_parents(0), ["/bench-create"]);
        assert_eq!(
            create_parents(2),
            ["/bench-create/p000", "/bench-create/p001"]
        );
        assert_eq!(create_parents(1001)[1000], "/bench-create/p1000");
        let mix = Mix::create(1, 4);
        let mut rng = Rng::new(3);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let (op, frame) = mix.next(&mut rng);
            assert_eq!(op, Op::Create);
            let (_, req) = Request::decode_frame(&frame[4..]).unwrap();
            seen.insert(req.path().unwrap().to_owned());
        }
        let want: Vec<String> = create_parents(4)
            .iter()
            .map(|p| format!("{p}/s-"))
            .collect();
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), want);
    }
}
