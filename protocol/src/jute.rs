//! Jute, ZooKeeper's binary serialization: big-endian integers, length-prefixed
//! strings and buffers (-1 = null), count-prefixed vectors, one-byte booleans.

use crate::DecodeError;

/// Reads jute values from a byte slice. Never panics: every read checks bounds.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::UnexpectedEof {
                needed: n,
                remaining: self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn read_i32(&mut self) -> Result<i32, DecodeError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn read_i64(&mut self) -> Result<i64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.take(1)?[0] != 0)
    }

    /// A buffer; `None` when the length is -1 (jute's null).
    pub fn read_buffer(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        let len = self.read_i32()?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 {
            return Err(DecodeError::NegativeLength(len));
        }
        self.take(len as usize).map(Some)
    }

    pub fn read_string(&mut self) -> Result<Option<String>, DecodeError> {
        match self.read_buffer()? {
            None => Ok(None),
            Some(b) => std::str::from_utf8(b)
                .map(|s| Some(s.to_owned()))
                .map_err(|_| DecodeError::InvalidUtf8),
        }
    }

    /// A vector count; `None` for null. Rejects counts that cannot fit in the
    /// remaining bytes, so a hostile count never causes a huge allocation.
    pub fn read_count(&mut self) -> Result<Option<usize>, DecodeError> {
        let n = self.read_i32()?;
        if n == -1 {
            return Ok(None);
        }
        if n < 0 {
            return Err(DecodeError::NegativeLength(n));
        }
        if n as usize > self.remaining() {
            return Err(DecodeError::UnexpectedEof {
                needed: n as usize,
                remaining: self.remaining(),
            });
        }
        Ok(Some(n as usize))
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes(self.remaining()))
        }
    }
}

/// Writes jute values into a growable buffer.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(n),
        }
    }

    pub fn write_i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn write_i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn write_bool(&mut self, v: bool) {
        self.buf.push(v as u8);
    }

    pub fn write_buffer(&mut self, v: Option<&[u8]>) {
        match v {
            None => self.write_i32(-1),
            Some(b) => {
                self.write_i32(b.len() as i32);
                self.buf.extend_from_slice(b);
            }
        }
    }

    pub fn write_string(&mut self, v: &str) {
        self.write_buffer(Some(v.as_bytes()));
    }

    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }
}

/// A value with a jute encoding.
pub trait Encode {
    fn encode(&self, w: &mut Writer);

    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.into_inner()
    }
}

/// A value decodable from jute.
pub trait Decode: Sized {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a whole slice, rejecting trailing bytes.
    fn from_bytes(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        let v = Self::decode(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

impl Encode for i32 {
    fn encode(&self, w: &mut Writer) {
        w.write_i32(*self)
    }
}
impl Decode for i32 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_i32()
    }
}
impl Encode for i64 {
    fn encode(&self, w: &mut Writer) {
        w.write_i64(*self)
    }
}
impl Decode for i64 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_i64()
    }
}
impl Encode for bool {
    fn encode(&self, w: &mut Writer) {
        w.write_bool(*self)
    }
}
impl Decode for bool {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_bool()
    }
}

/// `ustring`: null decodes as the empty string (kazoo sends the `auth` id of
/// `CREATOR_ALL_ACL` as null). Null paths are rejected where requests are
/// decoded, as ZooKeeper does.
impl Encode for String {
    fn encode(&self, w: &mut Writer) {
        w.write_string(self)
    }
}
impl Decode for String {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.read_string()?.unwrap_or_default())
    }
}

/// `buffer`: null decodes as empty. Use `Option<Vec<u8>>` where null matters.
impl Encode for Vec<u8> {
    fn encode(&self, w: &mut Writer) {
        w.write_buffer(Some(self))
    }
}
impl Decode for Vec<u8> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.read_buffer()?.map(<[u8]>::to_vec).unwrap_or_default())
    }
}

/// A nullable `buffer` (znode data may be null, e.g. `create /a` from zkCli).
impl Encode for Option<Vec<u8>> {
    fn encode(&self, w: &mut Writer) {
        w.write_buffer(self.as_deref())
    }
}
impl Decode for Option<Vec<u8>> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.read_buffer()?.map(<[u8]>::to_vec))
    }
}

/// `vector<T>`: null decodes as empty.
impl<T: JuteElement> Encode for Vec<T> {
    fn encode(&self, w: &mut Writer) {
        w.write_i32(self.len() as i32);
        for item in self {
            item.encode(w);
        }
    }
}
/// At most this many vector elements are allocated before any is decoded: a
/// count is only bounded by the bytes left, and an element in memory can be
/// many times its smallest encoding (an `Acl` is 56 bytes, its encoding 12),
/// so a hostile count must not size the allocation on its own.
const MAX_PREALLOC: usize = 1024;

impl<T: JuteElement> Decode for Vec<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.read_count()?.unwrap_or(0);
        let mut out = Vec::with_capacity(n.min(MAX_PREALLOC));
        for _ in 0..n {
            out.push(T::decode(r)?);
        }
        Ok(out)
    }
}

/// Types allowed as vector elements (keeps `Vec<u8>` meaning `buffer`).
pub trait JuteElement: Encode + Decode {}
impl JuteElement for String {}
impl JuteElement for i64 {}

/// Declares a jute record: a struct whose fields are encoded in order.
#[macro_export]
macro_rules! jute_record {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }

        impl $crate::jute::Encode for $name {
            #[allow(unused_variables)]
            fn encode(&self, w: &mut $crate::jute::Writer) {
                $($crate::jute::Encode::encode(&self.$field, w);)*
            }
        }

        impl $crate::jute::Decode for $name {
            #[allow(unused_variables)]
            fn decode(r: &mut $crate::jute::Reader<'_>) -> Result<Self, $crate::DecodeError> {
                Ok($name { $($field: $crate::jute::Decode::decode(r)?),* })
            }
        }

        impl $crate::jute::JuteElement for $name {}
    };
}
