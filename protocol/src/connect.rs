//! The session handshake: `ConnectRequest` / `ConnectResponse`, which come
//! with or without the trailing `readOnly` byte depending on the client.

use crate::jute::{Decode, Encode, Reader, Writer};
use crate::records::{ConnectRequestBody, ConnectResponseBody};
use crate::DecodeError;

/// A client's handshake. `read_only` is `None` for old clients that do not
/// send the byte; the response must then be sent without it too.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: Option<bool>,
}

impl ConnectRequest {
    pub fn decode(frame: &[u8]) -> Result<ConnectRequest, DecodeError> {
        let mut r = Reader::new(frame);
        let body = ConnectRequestBody::decode(&mut r)?;
        let read_only = match r.remaining() {
            0 => None,
            1 => Some(r.read_bool()?),
            n => return Err(DecodeError::TrailingBytes(n)),
        };
        Ok(ConnectRequest {
            protocol_version: body.protocol_version,
            last_zxid_seen: body.last_zxid_seen,
            time_out: body.time_out,
            session_id: body.session_id,
            passwd: body.passwd,
            read_only,
        })
    }

    pub fn encode(&self, w: &mut Writer) {
        ConnectRequestBody {
            protocol_version: self.protocol_version,
            last_zxid_seen: self.last_zxid_seen,
            time_out: self.time_out,
            session_id: self.session_id,
            passwd: self.passwd.clone(),
        }
        .encode(w);
        if let Some(ro) = self.read_only {
            w.write_bool(ro);
        }
    }
}

/// The server's handshake answer; `read_only` present iff the request had it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: Option<bool>,
}

impl ConnectResponse {
    pub fn decode(frame: &[u8]) -> Result<ConnectResponse, DecodeError> {
        let mut r = Reader::new(frame);
        let body = ConnectResponseBody::decode(&mut r)?;
        let read_only = match r.remaining() {
            0 => None,
            1 => Some(r.read_bool()?),
            n => return Err(DecodeError::TrailingBytes(n)),
        };
        Ok(ConnectResponse {
            protocol_version: body.protocol_version,
            time_out: body.time_out,
            session_id: body.session_id,
            passwd: body.passwd,
            read_only,
        })
    }

    pub fn encode(&self, w: &mut Writer) {
        ConnectResponseBody {
            protocol_version: self.protocol_version,
            time_out: self.time_out,
            session_id: self.session_id,
            passwd: self.passwd.clone(),
        }
        .encode(w);
        if let Some(ro) = self.read_only {
            w.write_bool(ro);
        }
    }
}
