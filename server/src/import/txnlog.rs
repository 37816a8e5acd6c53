//! ZooKeeper txn log files (`FileTxnLog`): `log.<hex zxid of the first txn>`.
//!
//! ```text
//! FileHeader   int magic "ZKLG", int version 2, long dbid
//! entries      long Adler32 of the entry, buffer entry (TxnHeader + txn
//!              [+ digest]), byte 'B'
//! padding      zeros: ZooKeeper preallocates the file in blocks
//! ```
//!
//! As ZooKeeper reads it: an entry of length 0 is the end (the padding),
//! and so is an entry cut short or missing its 'B' (a write torn by a
//! crash); a checksum that does not match is damage, and an error.

use super::java::adler32;
use super::jute_reader::{FormatError, JuteReader};
use super::records::{decode_entry, TxnHeader, ZkTxn};

/// How a log file ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    /// The last entry ends at the end of the file.
    Clean,
    /// Zeros (or an empty entry) follow the last entry.
    Padding,
    /// The entry at `offset` is incomplete: a torn write.
    Partial { offset: u64, reason: String },
}

#[derive(Debug)]
pub struct ZkLog {
    pub dbid: i64,
    pub entries: Vec<(TxnHeader, ZkTxn)>,
    pub tail: Tail,
}

/// End-of-record marker (`Util.writeTxnBytes`).
const EOR: u8 = b'B';

pub fn parse(buf: &[u8]) -> Result<ZkLog, FormatError> {
    let mut r = JuteReader::new(buf);
    let dbid = r.read_file_header(b"ZKLG", "txn log")?;
    let mut entries = Vec::new();
    let tail = loop {
        let at = r.position();
        if r.remaining() == 0 {
            break Tail::Clean;
        }
        match read_entry(&mut r) {
            Ok(Some(bytes)) => {
                let entry = decode_entry(bytes).map_err(|e| {
                    // Offsets inside the entry: 12 bytes of crc + length precede it.
                    FormatError::at(at + 12 + e.offset as usize, format!("txn: {}", e.reason))
                })?;
                entries.push(entry);
            }
            Ok(None) => break Tail::Padding,
            Err(e) if e.eof => {
                break if buf[at..].iter().all(|b| *b == 0) {
                    Tail::Padding
                } else {
                    Tail::Partial {
                        offset: at as u64,
                        reason: e.reason,
                    }
                };
            }
            Err(e) => return Err(e),
        }
    };
    Ok(ZkLog {
        dbid,
        entries,
        tail,
    })
}

/// One framed entry; `None` for the empty entry that marks the end.
fn read_entry<'a>(r: &mut JuteReader<'a>) -> Result<Option<&'a [u8]>, FormatError> {
    let at = r.position();
    let crc = r.read_i64()?;
    let Some(bytes) = r.read_buffer()? else {
        return Err(FormatError::at(at + 8, "null txn entry"));
    };
    if bytes.is_empty() {
        return Ok(None);
    }
    let eor_at = r.position();
    if r.read_u8()? != EOR {
        // ZooKeeper: "Last transaction was partial."
        return Err(FormatError {
            offset: eor_at as u64,
            reason: "entry not followed by its end marker 'B'".into(),
            eof: true,
        });
    }
    let sum = adler32(bytes);
    if sum != crc {
        return Err(FormatError::at(
            at,
            format!("txn entry checksum mismatch: file says {crc:#x}, content gives {sum:#x}"),
        ));
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::super::records::{op, tests::header};
    use super::*;
    use corral_protocol::Writer;

    fn entry(buf: &mut Vec<u8>, zxid: i64) {
        let mut e = Writer::new();
        header(&mut e, 5, zxid, op::DELETE);
        e.write_string(&format!("/n{zxid}"));
        let e = e.into_inner();
        buf.extend_from_slice(&adler32(&e).to_be_bytes());
        buf.extend_from_slice(&(e.len() as i32).to_be_bytes());
        buf.extend_from_slice(&e);
        buf.push(b'B');
    }

    fn log(n: i64) -> Vec<u8> {
        let mut buf = b"ZKLG\0\0\0\x02".to_vec();
        buf.extend_from_slice(&0i64.to_be_bytes());
        for zxid in 1..=n {
            entry(&mut buf, zxid);
        }
        buf
    }

    fn zxids(l: &ZkLog) -> Vec<i64> {
        l.entries.iter().map(|(h, _)| h.zxid).collect()
    }

    #[test]
    fn clean_and_zero_padded_logs() {
        let buf = log(3);
        let l = parse(&buf).unwrap();
        assert_eq!((zxids(&l), l.tail), (vec![1, 2, 3], Tail::Clean));

        let mut padded = buf.clone();
        padded.resize(buf.len() + 4096, 0);
        let l = parse(&padded).unwrap();
        assert_eq!((zxids(&l), l.tail), (vec![1, 2, 3], Tail::Padding));
        // Padding shorter than an entry header is padding too.
        let mut short = buf.clone();
        short.resize(buf.len() + 5, 0);
        assert_eq!(parse(&short).unwrap().tail, Tail::Padding);
    }

    #[test]
    fn torn_tail_ends_the_log() {
        let buf = log(3);
        for cut in [1, 5, 12, 20] {
            let l = parse(&buf[..buf.len() - cut]).unwrap();
            assert_eq!(zxids(&l), vec![1, 2], "cut {cut}");
            assert!(
                matches!(l.tail, Tail::Partial { .. }),
                "cut {cut}: {:?}",
                l.tail
            );
        }
        let mut no_marker = buf.clone();
        *no_marker.last_mut().unwrap() = 0;
        let l = parse(&no_marker).unwrap();
        assert_eq!(zxids(&l), vec![1, 2]);
    }

    #[test]
    fn damage_is_an_error() {
        let mut buf = log(3);
        let last = buf.len() - 3;
        buf[last] ^= 0x20;
        let e = parse(&buf).unwrap_err();
        assert!(e.reason.contains("checksum mismatch"), "{e}");

        let mut magic = log(1);
        magic[..4].copy_from_slice(b"ZKSN");
        let e = parse(&magic).unwrap_err();
        assert!(e.reason.contains("not a ZooKeeper txn log"), "{e}");
        assert!(parse(b"ZK")
            .unwrap_err()
            .reason
            .contains("shorter than its header"));
    }
}
