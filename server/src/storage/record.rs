//! Record framing shared by log segments and snapshots:
//! `[u32 length][u32 crc32c(payload)][payload]`, big-endian.

use std::io::{self, Read, Write};

pub const HEADER_LEN: usize = 8;
/// No record is larger than this; a bigger length means corruption.
pub const MAX_RECORD: usize = 64 << 20;

pub fn write_record(out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let mut header = [0u8; HEADER_LEN];
    header[..4].copy_from_slice(&(payload.len() as u32).to_be_bytes());
    header[4..].copy_from_slice(&crc32c::crc32c(payload).to_be_bytes());
    out.write_all(&header)?;
    out.write_all(payload)
}

pub fn encoded_len(payload: &[u8]) -> u64 {
    (HEADER_LEN + payload.len()) as u64
}

/// Why bytes at some offset are not a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// Fewer bytes than the header or the declared length.
    Truncated,
    /// A zero or impossible length.
    BadLength,
    /// The checksum does not match.
    BadChecksum,
}

/// Parses the record at the start of `buf`: its payload and total length.
pub fn parse_record(buf: &[u8]) -> Result<(&[u8], usize), Damage> {
    if buf.len() < HEADER_LEN {
        return Err(Damage::Truncated);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    let crc = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    if len == 0 || len > MAX_RECORD {
        return Err(Damage::BadLength);
    }
    let Some(payload) = buf.get(HEADER_LEN..HEADER_LEN + len) else {
        return Err(Damage::Truncated);
    };
    if crc32c::crc32c(payload) != crc {
        return Err(Damage::BadChecksum);
    }
    Ok((payload, HEADER_LEN + len))
}

/// Reads records one at a time from a stream, so a large file need not
/// be in memory at once.
pub struct RecordReader<R> {
    inner: R,
    buf: Vec<u8>,
    offset: u64,
}

/// What [`RecordReader::next_record`] found.
#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    /// A damaged record at this offset.
    Damaged(u64, Damage),
}

impl<R: Read> RecordReader<R> {
    pub fn new(inner: R) -> Self {
        RecordReader {
            inner,
            buf: Vec::new(),
            offset: 0,
        }
    }

    /// A reader of a stream already positioned at `offset`.
    pub fn at_offset(inner: R, offset: u64) -> Self {
        RecordReader {
            inner,
            buf: Vec::new(),
            offset,
        }
    }

    /// The offset of the next record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next record's payload; `None` at a clean end of the stream.
    pub fn next_record(&mut self) -> Result<Option<&[u8]>, ReadError> {
        let at = self.offset;
        self.buf.resize(HEADER_LEN, 0);
        let got = read_full(&mut self.inner, &mut self.buf).map_err(ReadError::Io)?;
        if got == 0 {
            return Ok(None);
        }
        if got < HEADER_LEN {
            return Err(ReadError::Damaged(at, Damage::Truncated));
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        if len == 0 || len > MAX_RECORD {
            return Err(ReadError::Damaged(at, Damage::BadLength));
        }
        self.buf.resize(HEADER_LEN + len, 0);
        let got = read_full(&mut self.inner, &mut self.buf[HEADER_LEN..]).map_err(ReadError::Io)?;
        if got < len {
            return Err(ReadError::Damaged(at, Damage::Truncated));
        }
        let (payload, total) = parse_record(&self.buf).map_err(|d| ReadError::Damaged(at, d))?;
        self.offset += total as u64;
        Ok(Some(payload))
    }
}

/// Reads until `buf` is full or the stream ends; how many bytes came.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The records of a whole buffer, stopping at the first damaged one.
pub struct Scan<'a> {
    /// `(offset, payload)` of each valid record, in order.
    pub records: Vec<(u64, &'a [u8])>,
    /// Length of the valid prefix.
    pub valid_len: u64,
    /// What stopped the scan before the end, if anything.
    pub damage: Option<Damage>,
    /// Whether a valid record exists after the damage (so the damage is
    /// not a torn tail but corruption in the middle).
    pub valid_after_damage: bool,
}

pub fn scan(buf: &[u8]) -> Scan<'_> {
    let mut records = Vec::new();
    let mut pos = 0usize;
    let mut damage = None;
    while pos < buf.len() {
        match parse_record(&buf[pos..]) {
            Ok((payload, len)) => {
                records.push((pos as u64, payload));
                pos += len;
            }
            Err(d) => {
                damage = Some(d);
                break;
            }
        }
    }
    let valid_after_damage =
        damage.is_some() && (pos + 1..buf.len()).any(|at| parse_record(&buf[at..]).is_ok());
    Scan {
        records,
        valid_len: pos as u64,
        damage,
        valid_after_damage,
    }
}

pub fn read_file(path: &std::path::Path) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut buf)?;
    Ok(buf)
}

/// Makes a rename or a new file in `dir` durable.
pub fn sync_dir(dir: &std::path::Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        for i in 0..n {
            write_record(&mut buf, format!("record {i}").as_bytes()).unwrap();
        }
        buf
    }

    #[test]
    fn clean_file_scans_fully() {
        let buf = records(5);
        let s = scan(&buf);
        assert_eq!(s.records.len(), 5);
        assert_eq!(s.valid_len, buf.len() as u64);
        assert_eq!(s.damage, None);
    }

    #[test]
    fn torn_tail_is_told_apart_from_middle_damage() {
        let mut buf = records(5);
        let full = buf.len();
        buf.truncate(full - 3);
        let s = scan(&buf);
        assert_eq!((s.records.len(), s.damage), (4, Some(Damage::Truncated)));
        assert!(!s.valid_after_damage);

        let mut zero_tail = records(5);
        zero_tail.extend_from_slice(&[0u8; 64]);
        let s = scan(&zero_tail);
        assert_eq!((s.records.len(), s.damage), (5, Some(Damage::BadLength)));
        assert!(!s.valid_after_damage);

        let mut flipped = records(5);
        flipped[HEADER_LEN + 2] ^= 0x40;
        let s = scan(&flipped);
        assert_eq!((s.records.len(), s.damage), (0, Some(Damage::BadChecksum)));
        assert!(s.valid_after_damage, "records follow the damaged one");
    }
}
