//! Jute as ZooKeeper's `BinaryInputArchive` reads it from its files:
//! big-endian integers, int32-length strings and buffers (-1 = null),
//! int32-count vectors. Every read is bounds-checked and a failure names
//! the byte offset, so a damaged file gives a clear error, never a panic.

use corral_protocol::{Acl, Id};

/// Why bytes do not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (at byte offset {offset})")]
pub struct FormatError {
    pub offset: u64,
    pub reason: String,
    /// The input ended before the value did (a torn tail, not garbage).
    pub eof: bool,
}

impl FormatError {
    pub fn at(offset: usize, reason: impl Into<String>) -> FormatError {
        FormatError {
            offset: offset as u64,
            reason: reason.into(),
            eof: false,
        }
    }
}

#[derive(Clone)]
pub struct JuteReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> JuteReader<'a> {
    pub fn new(buf: &'a [u8]) -> JuteReader<'a> {
        JuteReader { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The bytes read so far (what a checksum up to here covers).
    pub fn consumed(&self) -> &'a [u8] {
        &self.buf[..self.pos]
    }

    /// An error at the current position.
    pub fn error(&self, reason: impl Into<String>) -> FormatError {
        FormatError::at(self.pos, reason)
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        if self.remaining() < n {
            return Err(FormatError {
                offset: self.pos as u64,
                reason: format!(
                    "unexpected end of data: {n} bytes needed, {} left",
                    self.remaining()
                ),
                eof: true,
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn read_u8(&mut self) -> Result<u8, FormatError> {
        Ok(self.take(1)?[0])
    }

    pub fn read_bool(&mut self) -> Result<bool, FormatError> {
        Ok(self.read_u8()? != 0)
    }

    pub fn read_i32(&mut self) -> Result<i32, FormatError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn read_i64(&mut self) -> Result<i64, FormatError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(i64::from_be_bytes(a))
    }

    /// A buffer; `None` for jute's null (length -1).
    pub fn read_buffer(&mut self) -> Result<Option<&'a [u8]>, FormatError> {
        let at = self.pos;
        let len = self.read_i32()?;
        match len {
            -1 => Ok(None),
            n if n < 0 => Err(FormatError::at(at, format!("negative length {n}"))),
            n => self.take(n as usize).map(Some),
        }
    }

    /// A string; `None` for null.
    pub fn read_string(&mut self) -> Result<Option<String>, FormatError> {
        let at = self.pos;
        match self.read_buffer()? {
            None => Ok(None),
            Some(b) => std::str::from_utf8(b)
                .map(|s| Some(s.to_owned()))
                .map_err(|_| FormatError::at(at, "string is not valid UTF-8")),
        }
    }

    /// A string where null means empty (jute's `ustring` fields).
    pub fn read_ustring(&mut self) -> Result<String, FormatError> {
        Ok(self.read_string()?.unwrap_or_default())
    }

    /// A vector's element count; null counts as empty. A count that cannot
    /// fit in the bytes left (each element takes at least `min_size`) is
    /// damage, and never sizes an allocation.
    pub fn read_count(&mut self, min_size: usize) -> Result<usize, FormatError> {
        let at = self.pos;
        match self.read_i32()? {
            -1 => Ok(0),
            n if n < 0 => Err(FormatError::at(at, format!("negative count {n}"))),
            n if (n as usize).saturating_mul(min_size.max(1)) > self.remaining() => {
                Err(FormatError {
                    offset: at as u64,
                    reason: format!(
                        "count {n} does not fit in the {} bytes left",
                        self.remaining()
                    ),
                    eof: true,
                })
            }
            n => Ok(n as usize),
        }
    }

    /// `vector<ACL>`: each `int perms, ustring scheme, ustring id`.
    pub fn read_acls(&mut self) -> Result<Vec<Acl>, FormatError> {
        let n = self.read_count(12)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let perms = self.read_i32()?;
            let scheme = self.read_ustring()?;
            let id = self.read_ustring()?;
            out.push(Acl {
                perms,
                id: Id { scheme, id },
            });
        }
        Ok(out)
    }

    /// ZooKeeper's `FileHeader`: magic, version, dbid. Checks the magic
    /// (`ZKSN` for snapshots, `ZKLG` for txn logs) and the version (2).
    pub fn read_file_header(&mut self, magic: &[u8; 4], what: &str) -> Result<i64, FormatError> {
        let found = self.take(4).map_err(|_| {
            FormatError::at(
                0,
                format!("not a ZooKeeper {what}: shorter than its header"),
            )
        })?;
        if found != magic {
            return Err(FormatError::at(
                0,
                format!(
                    "not a ZooKeeper {what}: magic {:?}, expected {:?}",
                    String::from_utf8_lossy(found),
                    String::from_utf8_lossy(magic)
                ),
            ));
        }
        let version = self.read_i32()?;
        if version != 2 {
            return Err(FormatError::at(
                4,
                format!("unsupported {what} format version {version} (expected 2)"),
            ));
        }
        self.read_i64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jute_values_and_nulls() {
        let mut buf = vec![0, 0, 0, 7];
        buf.extend_from_slice(&(-1i32).to_be_bytes());
        buf.extend_from_slice(&2i32.to_be_bytes());
        buf.extend_from_slice(b"/a");
        buf.extend_from_slice(&(-5i64).to_be_bytes());
        let mut r = JuteReader::new(&buf);
        assert_eq!(r.read_i32().unwrap(), 7);
        assert_eq!(r.read_buffer().unwrap(), None);
        assert_eq!(r.read_string().unwrap().as_deref(), Some("/a"));
        assert_eq!(r.read_i64().unwrap(), -5);
        let e = r.read_i32().unwrap_err();
        assert!(e.eof && e.offset == 22, "{e:?}");
    }

    #[test]
    fn hostile_lengths_are_errors() {
        let buf = (-2i32).to_be_bytes();
        assert!(!JuteReader::new(&buf).read_buffer().unwrap_err().eof);
        let buf = i32::MAX.to_be_bytes();
        assert!(JuteReader::new(&buf).read_count(12).unwrap_err().eof);
        assert!(JuteReader::new(&buf).read_buffer().unwrap_err().eof);
    }

    #[test]
    fn bad_magic_names_both() {
        let mut r = JuteReader::new(b"ZKLG\0\0\0\x02\0\0\0\0\0\0\0\0");
        let e = r.read_file_header(b"ZKSN", "snapshot").unwrap_err();
        assert!(e.reason.contains("\"ZKLG\", expected \"ZKSN\""), "{e}");
        let mut r = JuteReader::new(b"ZKLG\0\0\0\x03\0\0\0\0\0\0\0\0");
        let e = r.read_file_header(b"ZKLG", "txn log").unwrap_err();
        assert!(e.reason.contains("version 3"), "{e}");
    }
}
