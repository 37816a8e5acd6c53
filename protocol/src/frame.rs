//! Framing: every packet is an int32 big-endian length followed by that many
//! bytes.

use crate::DecodeError;

/// Looks at the start of `buf` for one frame. Returns `Ok(None)` when more
/// bytes are needed, `Ok(Some(len))` when a whole frame of `len` payload bytes
/// follows the 4-byte header, and an error when the declared length is
/// negative or larger than `max` (the caller closes the connection).
pub fn check_frame(buf: &[u8], max: usize) -> Result<Option<usize>, DecodeError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if len < 0 || len as usize > max {
        return Err(DecodeError::FrameTooLarge {
            len: len as i64,
            max,
        });
    }
    let len = len as usize;
    if buf.len() < 4 + len {
        return Ok(None);
    }
    Ok(Some(len))
}

/// Prefixes `payload` with its length.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&(payload.len() as i32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}
