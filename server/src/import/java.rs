//! The two pieces of the Java library that ZooKeeper's files depend on:
//! `java.util.zip.Adler32` (the checksum of snapshots and txn log records)
//! and `java.util.Random` (from which a session's password is derived).

/// `java.util.zip.Adler32` over `bytes`, as `Checksum.getValue()` returns it.
pub fn adler32(bytes: &[u8]) -> i64 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the most that can be summed before `b` could overflow.
    for chunk in bytes.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    i64::from((b << 16) | a)
}

/// `java.util.Random`: the 48-bit linear congruential generator.
pub struct JavaRandom {
    seed: u64,
}

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const ADDEND: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;

impl JavaRandom {
    pub fn new(seed: i64) -> JavaRandom {
        JavaRandom {
            seed: (seed as u64 ^ MULTIPLIER) & MASK,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = self.seed.wrapping_mul(MULTIPLIER).wrapping_add(ADDEND) & MASK;
        (self.seed >> (48 - bits)) as u32 as i32
    }

    pub fn next_int(&mut self) -> i32 {
        self.next(32)
    }

    /// `nextBytes`: each int fills up to four bytes, low byte first.
    pub fn next_bytes(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(4) {
            let mut rnd = self.next_int();
            for b in chunk {
                *b = rnd as u8;
                rnd >>= 8;
            }
        }
    }
}

/// `ZooKeeperServer.superSecret`.
const SUPER_SECRET: i64 = 0xB341_5C00;

/// The password ZooKeeper gave session `id` (`generatePasswd`): a client
/// holding it can resume the session on Corral after the import.
pub fn session_password(id: i64) -> Vec<u8> {
    let mut passwd = vec![0u8; 16];
    JavaRandom::new(id ^ SUPER_SECRET).next_bytes(&mut passwd);
    passwd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_matches_java() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        // Long enough to need the modular reductions.
        let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &big {
            a = (a + u64::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(adler32(&big), ((b << 16) | a) as i64);
    }

    #[test]
    fn random_matches_java() {
        // new Random(0).nextInt(), new Random(42).nextInt() in Java.
        assert_eq!(JavaRandom::new(0).next_int(), -1_155_484_576);
        assert_eq!(JavaRandom::new(42).next_int(), -1_170_105_035);
        let mut bytes = [0u8; 6];
        JavaRandom::new(0).next_bytes(&mut bytes);
        // -1155484576 = 0xBB20B460, then 0x...: low byte first.
        assert_eq!(&bytes[..4], &[0x60, 0xB4, 0x20, 0xBB]);
    }
}
