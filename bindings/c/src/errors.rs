//! Result codes and error messages: the one place where a
//! `::corral_client::Error` becomes a `corral_result`.
//!
//! ZooKeeper's codes keep their numeric values (`CORRAL_ZNONODE` is -101, as
//! `ZNONODE` in libzookeeper and `KeeperException.Code.NONODE` in Java); the
//! codes only this library produces are positive.

use std::cell::RefCell;
use std::ffi::c_char;
use std::sync::Mutex;

use ::corral_client::Error;

/// What every `corral_*` call returns: `CORRAL_OK` (0), one of ZooKeeper's
/// error codes (negative), or one of the client-side codes (positive); see
/// `enum corral_code`.
#[allow(non_camel_case_types)]
pub type corral_result = i32;

/// The values a `corral_result` takes.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum corral_code {
    CORRAL_OK = 0,
    CORRAL_ZSYSTEMERROR = -1,
    CORRAL_ZRUNTIMEINCONSISTENCY = -2,
    CORRAL_ZDATAINCONSISTENCY = -3,
    CORRAL_ZCONNECTIONLOSS = -4,
    CORRAL_ZMARSHALLINGERROR = -5,
    CORRAL_ZUNIMPLEMENTED = -6,
    CORRAL_ZOPERATIONTIMEOUT = -7,
    CORRAL_ZBADARGUMENTS = -8,
    CORRAL_ZUNKNOWNSESSION = -12,
    CORRAL_ZNEWCONFIGNOQUORUM = -13,
    CORRAL_ZRECONFIGINPROGRESS = -14,
    CORRAL_ZAPIERROR = -100,
    CORRAL_ZNONODE = -101,
    CORRAL_ZNOAUTH = -102,
    CORRAL_ZBADVERSION = -103,
    CORRAL_ZNOCHILDRENFOREPHEMERALS = -108,
    CORRAL_ZNODEEXISTS = -110,
    CORRAL_ZNOTEMPTY = -111,
    CORRAL_ZSESSIONEXPIRED = -112,
    CORRAL_ZINVALIDCALLBACK = -113,
    CORRAL_ZINVALIDACL = -114,
    CORRAL_ZAUTHFAILED = -115,
    CORRAL_ZSESSIONMOVED = -118,
    CORRAL_ZNOTREADONLY = -119,
    CORRAL_ZEPHEMERALONLOCALSESSION = -120,
    CORRAL_ZNOWATCHER = -121,
    CORRAL_ZREQUESTTIMEOUT = -122,
    CORRAL_ZRECONFIGDISABLED = -123,
    CORRAL_ZSESSIONCLOSEDREQUIRESASLAUTH = -124,
    CORRAL_ZQUOTAEXCEEDED = -125,
    CORRAL_ZTHROTTLEDOP = -127,
    /// A NULL pointer where one is required, a string that is not UTF-8,
    /// unknown flags, a buffer length that does not fit.
    CORRAL_EINVAL = 1,
    /// No answer in time: the connection within the connect timeout, a
    /// lock within its timeout, or no event within `corral_poll_event`'s
    /// timeout.
    CORRAL_ETIMEOUT = 2,
    /// A bug: the library panicked. The call had no effect that can be
    /// relied on; the message is in `corral_last_error`.
    CORRAL_EPANIC = 3,
    /// The client was closed with `corral_client_close`.
    CORRAL_ECLOSED = 4,
}

pub(crate) const OK: corral_result = corral_code::CORRAL_OK as i32;

/// An error on the Rust side of a call, with its detailed message.
#[derive(Debug)]
pub enum FfiError {
    /// An invalid argument (CORRAL_EINVAL).
    Invalid(String),
    /// No answer in time (CORRAL_ETIMEOUT).
    Timeout(String),
    /// From the client core.
    Core(Error),
    /// The operating system refused a resource (CORRAL_ZSYSTEMERROR).
    System(String),
    /// The session has ended: the code that says how.
    Ended(corral_result),
}

impl From<Error> for FfiError {
    fn from(e: Error) -> FfiError {
        FfiError::Core(e)
    }
}

pub type FfiResult<T = ()> = Result<T, FfiError>;

/// `Err(CORRAL_EINVAL)` with a message.
pub fn invalid<T>(msg: impl Into<String>) -> FfiResult<T> {
    Err(FfiError::Invalid(msg.into()))
}

impl FfiError {
    pub fn code(&self) -> corral_result {
        match self {
            FfiError::Invalid(_) => corral_code::CORRAL_EINVAL as i32,
            FfiError::Timeout(_) => corral_code::CORRAL_ETIMEOUT as i32,
            FfiError::Core(e) => core_code(e),
            FfiError::System(_) => corral_code::CORRAL_ZSYSTEMERROR as i32,
            FfiError::Ended(code) => *code,
        }
    }

    pub fn message(&self) -> String {
        match self {
            FfiError::Invalid(m) => format!("invalid argument: {m}"),
            FfiError::Timeout(m) => format!("timed out: {m}"),
            FfiError::Core(e) => e.to_string(),
            FfiError::System(m) => m.clone(),
            FfiError::Ended(code) => {
                let d = describe(*code);
                format!(
                    "session ended: {}",
                    String::from_utf8_lossy(&d[..d.len() - 1])
                )
            }
        }
    }
}

/// The code of a core error: ZooKeeper's for server-side kinds (a failed
/// multi: its failing op's), ours for the client-side ones.
pub fn core_code(e: &Error) -> corral_result {
    match e.root() {
        Error::Timeout => corral_code::CORRAL_ETIMEOUT as i32,
        Error::Closed => corral_code::CORRAL_ECLOSED as i32,
        other => other.code(),
    }
}

/// A static, NUL-terminated description of a code.
pub fn describe(code: corral_result) -> &'static [u8] {
    use corral_code::*;
    const CODES: &[(corral_code, &[u8])] = &[
        (CORRAL_OK, b"ok\0"),
        (CORRAL_ZSYSTEMERROR, b"system error\0"),
        (CORRAL_ZRUNTIMEINCONSISTENCY, b"runtime inconsistency\0"),
        (CORRAL_ZDATAINCONSISTENCY, b"data inconsistency\0"),
        (CORRAL_ZCONNECTIONLOSS, b"connection loss\0"),
        (CORRAL_ZMARSHALLINGERROR, b"marshalling error\0"),
        (CORRAL_ZUNIMPLEMENTED, b"unimplemented\0"),
        (CORRAL_ZOPERATIONTIMEOUT, b"operation timeout\0"),
        (CORRAL_ZBADARGUMENTS, b"bad arguments\0"),
        (CORRAL_ZUNKNOWNSESSION, b"unknown session\0"),
        (CORRAL_ZNEWCONFIGNOQUORUM, b"new config has no quorum\0"),
        (CORRAL_ZRECONFIGINPROGRESS, b"reconfig in progress\0"),
        (CORRAL_ZAPIERROR, b"api error\0"),
        (CORRAL_ZNONODE, b"no node\0"),
        (CORRAL_ZNOAUTH, b"not authenticated\0"),
        (CORRAL_ZBADVERSION, b"bad version\0"),
        (
            CORRAL_ZNOCHILDRENFOREPHEMERALS,
            b"ephemeral nodes may not have children\0",
        ),
        (CORRAL_ZNODEEXISTS, b"node exists\0"),
        (CORRAL_ZNOTEMPTY, b"directory not empty\0"),
        (CORRAL_ZSESSIONEXPIRED, b"session expired\0"),
        (CORRAL_ZINVALIDCALLBACK, b"invalid callback\0"),
        (CORRAL_ZINVALIDACL, b"invalid ACL\0"),
        (CORRAL_ZAUTHFAILED, b"authentication failed\0"),
        (CORRAL_ZSESSIONMOVED, b"session moved\0"),
        (CORRAL_ZNOTREADONLY, b"not a read-only call\0"),
        (
            CORRAL_ZEPHEMERALONLOCALSESSION,
            b"ephemeral node on local session\0",
        ),
        (CORRAL_ZNOWATCHER, b"no watcher\0"),
        (CORRAL_ZREQUESTTIMEOUT, b"request timeout\0"),
        (CORRAL_ZRECONFIGDISABLED, b"reconfig disabled\0"),
        (
            CORRAL_ZSESSIONCLOSEDREQUIRESASLAUTH,
            b"session closed because client failed to authenticate\0",
        ),
        (CORRAL_ZQUOTAEXCEEDED, b"quota exceeded\0"),
        (CORRAL_ZTHROTTLEDOP, b"op throttled due to high load\0"),
        (CORRAL_EINVAL, b"invalid argument\0"),
        (CORRAL_ETIMEOUT, b"timed out\0"),
        (CORRAL_EPANIC, b"internal error (panic)\0"),
        (CORRAL_ECLOSED, b"client closed\0"),
    ];
    CODES
        .iter()
        .find(|(c, _)| *c as i32 == code)
        .map_or(b"unknown error code\0", |(_, s)| s)
}

thread_local! {
    /// The last error message of any call on this thread.
    static THREAD_LAST: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The last error message of a client (and of the calling thread).
#[derive(Default)]
pub struct LastError(Mutex<String>);

impl LastError {
    pub fn get(&self) -> String {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, msg: &str) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        s.clear();
        s.push_str(msg);
    }
}

/// Records `msg` as the calling thread's last error, and `client`'s.
pub fn record(client: Option<&LastError>, msg: &str) {
    THREAD_LAST.with(|t| {
        let mut t = t.borrow_mut();
        t.clear();
        t.push_str(msg);
    });
    if let Some(c) = client {
        c.set(msg);
    }
}

pub fn thread_last() -> String {
    THREAD_LAST.with(|t| t.borrow().clone())
}

/// Copies `msg` into `buf` (at most `cap - 1` bytes, then a NUL; nothing if
/// `buf` is NULL or `cap` is 0) and stores its full length in `*len`.
///
/// # Safety
/// `buf` must be NULL or valid for `cap` bytes; `len` NULL or valid.
pub unsafe fn copy_out(msg: &[u8], buf: *mut c_char, cap: usize, len: *mut usize) {
    if !buf.is_null() && cap > 0 {
        let n = msg.len().min(cap - 1);
        std::ptr::copy_nonoverlapping(msg.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
    if !len.is_null() {
        *len = msg.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_zookeeper() {
        assert_eq!(core_code(&Error::NoNode), -101);
        assert_eq!(core_code(&Error::NodeExists), -110);
        assert_eq!(
            core_code(&Error::Closed),
            corral_code::CORRAL_ECLOSED as i32
        );
        assert_eq!(
            core_code(&Error::Timeout),
            corral_code::CORRAL_ETIMEOUT as i32
        );
        let multi = Error::Multi {
            index: 0,
            error: Box::new(Error::BadVersion),
        };
        assert_eq!(core_code(&multi), -103);
        assert_eq!(describe(-101), b"no node\0");
        assert_eq!(describe(12345), b"unknown error code\0");
    }

    #[test]
    fn every_core_code_is_described() {
        for c in ::corral_client::protocol::ErrorCode::ALL {
            let s = describe(c as i32);
            assert_ne!(s, b"unknown error code\0", "{c:?}");
        }
    }
}
