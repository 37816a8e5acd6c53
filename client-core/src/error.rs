//! The client's error type: one kind per ZooKeeper result code, plus the
//! kinds that only the client produces.

use corral_protocol::ErrorCode;

/// Everything an operation can fail with.
///
/// Each server-side kind maps 1:1 to a `KeeperException.Code`:
/// [`Error::code`] gives the wire value and [`Error::from_code`] the kind.
/// The client-side kinds ([`Error::Timeout`], [`Error::Closed`],
/// [`Error::Multi`]) have no code of their own; `code()` returns the nearest
/// ZooKeeper code for them (documented on each), and `from_code` never
/// produces them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("system error")]
    SystemError,
    #[error("runtime inconsistency")]
    RuntimeInconsistency,
    #[error("data inconsistency")]
    DataInconsistency,
    /// The connection to the server was lost while the request was in
    /// flight (or the session could not be reached). The request may or may
    /// not have been applied; the session may still be alive.
    #[error("connection loss")]
    ConnectionLoss,
    #[error("marshalling error")]
    MarshallingError,
    #[error("unimplemented")]
    Unimplemented,
    #[error("operation timeout")]
    OperationTimeout,
    /// Bad arguments: from the server (empty message), or found by the client
    /// before anything was sent (an invalid path, a TTL without a TTL mode,
    /// ...), with the reason.
    #[error("bad arguments{}", if .0.is_empty() { String::new() } else { format!(": {}", .0) })]
    BadArguments(String),
    #[error("unknown session")]
    UnknownSession,
    #[error("new config has no quorum")]
    NewConfigNoQuorum,
    #[error("reconfig in progress")]
    ReconfigInProgress,
    #[error("api error")]
    ApiError,
    #[error("no node")]
    NoNode,
    #[error("not authenticated")]
    NoAuth,
    #[error("bad version")]
    BadVersion,
    #[error("ephemeral nodes may not have children")]
    NoChildrenForEphemerals,
    #[error("node exists")]
    NodeExists,
    #[error("directory not empty")]
    NotEmpty,
    /// The session expired (or was reported lost): every later call on this
    /// client fails with it. Start a new [`crate::Client`].
    #[error("session expired")]
    SessionExpired,
    #[error("invalid callback")]
    InvalidCallback,
    #[error("invalid ACL")]
    InvalidAcl,
    /// Authentication failed; the session is unusable afterwards.
    #[error("authentication failed")]
    AuthFailed,
    #[error("session moved")]
    SessionMoved,
    #[error("not a read-only call")]
    NotReadOnly,
    #[error("ephemeral node on local session")]
    EphemeralOnLocalSession,
    #[error("no watcher")]
    NoWatcher,
    #[error("request timeout")]
    RequestTimeout,
    #[error("reconfig disabled")]
    ReconfigDisabled,
    #[error("session closed because client failed to authenticate")]
    SessionClosedRequireSaslAuth,
    #[error("quota exceeded")]
    QuotaExceeded,
    #[error("op throttled due to high load")]
    Throttled,
    /// A code this client does not know (a newer server).
    #[error("unknown error code {0}")]
    Unknown(i32),

    /// Client side: no answer in time (the first session within the connect
    /// timeout, or a request within the request timeout). `code()` is
    /// OperationTimeout (-7), as the Java client uses for its own timeouts.
    #[error("timed out")]
    Timeout,
    /// Client side: the client was closed with [`crate::Client::close`] (or
    /// every handle dropped). `code()` is SessionExpired (-112), as kazoo's
    /// `ConnectionClosedError` is a `SessionExpiredError`.
    #[error("client closed")]
    Closed,
    /// A `multi` failed and nothing was applied: `index` is the first op
    /// that failed and `error` its error (the ops before it would have
    /// succeeded; the ops after it were not tried — ZooKeeper reports
    /// RuntimeInconsistency for them). `code()` is the failing op's code, so
    /// `e.root()` / `e.code()` read like the Java client's exception.
    #[error("multi failed at op {index}: {error}")]
    Multi { index: usize, error: Box<Error> },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The ZooKeeper code of this error (see the type's docs for the
    /// client-side kinds).
    pub fn code(&self) -> i32 {
        match self {
            Error::BadArguments(_) => ErrorCode::BadArguments as i32,
            Error::Unknown(c) => *c,
            Error::Timeout => ErrorCode::OperationTimeout as i32,
            Error::Closed => ErrorCode::SessionExpired as i32,
            Error::Multi { error, .. } => error.code(),
            other => other
                .error_code()
                .map_or(ErrorCode::SystemError as i32, |c| c as i32),
        }
    }

    /// The kind for a ZooKeeper code. `0` (OK) has no error and maps to
    /// `Unknown(0)`; unknown codes to [`Error::Unknown`].
    pub fn from_code(code: i32) -> Error {
        match ErrorCode::from_i32(code) {
            Some(c) => Error::from(c),
            None => Error::Unknown(code),
        }
    }

    /// The protocol's [`ErrorCode`], if this kind has one of its own.
    pub fn error_code(&self) -> Option<ErrorCode> {
        Some(match self {
            Error::SystemError => ErrorCode::SystemError,
            Error::RuntimeInconsistency => ErrorCode::RuntimeInconsistency,
            Error::DataInconsistency => ErrorCode::DataInconsistency,
            Error::ConnectionLoss => ErrorCode::ConnectionLoss,
            Error::MarshallingError => ErrorCode::MarshallingError,
            Error::Unimplemented => ErrorCode::Unimplemented,
            Error::OperationTimeout => ErrorCode::OperationTimeout,
            Error::BadArguments(_) => ErrorCode::BadArguments,
            Error::UnknownSession => ErrorCode::UnknownSession,
            Error::NewConfigNoQuorum => ErrorCode::NewConfigNoQuorum,
            Error::ReconfigInProgress => ErrorCode::ReconfigInProgress,
            Error::ApiError => ErrorCode::ApiError,
            Error::NoNode => ErrorCode::NoNode,
            Error::NoAuth => ErrorCode::NoAuth,
            Error::BadVersion => ErrorCode::BadVersion,
            Error::NoChildrenForEphemerals => ErrorCode::NoChildrenForEphemerals,
            Error::NodeExists => ErrorCode::NodeExists,
            Error::NotEmpty => ErrorCode::NotEmpty,
            Error::SessionExpired => ErrorCode::SessionExpired,
            Error::InvalidCallback => ErrorCode::InvalidCallback,
            Error::InvalidAcl => ErrorCode::InvalidAcl,
            Error::AuthFailed => ErrorCode::AuthFailed,
            Error::SessionMoved => ErrorCode::SessionMoved,
            Error::NotReadOnly => ErrorCode::NotReadOnly,
            Error::EphemeralOnLocalSession => ErrorCode::EphemeralOnLocalSession,
            Error::NoWatcher => ErrorCode::NoWatcher,
            Error::RequestTimeout => ErrorCode::RequestTimeout,
            Error::ReconfigDisabled => ErrorCode::ReconfigDisabled,
            Error::SessionClosedRequireSaslAuth => ErrorCode::SessionClosedRequireSaslAuth,
            Error::QuotaExceeded => ErrorCode::QuotaExceeded,
            Error::Throttled => ErrorCode::Throttled,
            Error::Multi { error, .. } => return error.error_code(),
            Error::Unknown(_) | Error::Timeout | Error::Closed => return None,
        })
    }

    /// Whether retrying the same request may succeed: the connection was
    /// lost or the server was too busy. Never true for a lost session.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::ConnectionLoss
                | Error::OperationTimeout
                | Error::RequestTimeout
                | Error::Throttled
                | Error::SessionMoved
                | Error::Timeout
        )
    }

    /// For a failed multi, the failing op's error; otherwise `self`.
    pub fn root(&self) -> &Error {
        match self {
            Error::Multi { error, .. } => error,
            other => other,
        }
    }
}

impl From<ErrorCode> for Error {
    fn from(c: ErrorCode) -> Error {
        match c {
            ErrorCode::Ok => Error::Unknown(0),
            ErrorCode::SystemError => Error::SystemError,
            ErrorCode::RuntimeInconsistency => Error::RuntimeInconsistency,
            ErrorCode::DataInconsistency => Error::DataInconsistency,
            ErrorCode::ConnectionLoss => Error::ConnectionLoss,
            ErrorCode::MarshallingError => Error::MarshallingError,
            ErrorCode::Unimplemented => Error::Unimplemented,
            ErrorCode::OperationTimeout => Error::OperationTimeout,
            ErrorCode::BadArguments => Error::BadArguments(String::new()),
            ErrorCode::UnknownSession => Error::UnknownSession,
            ErrorCode::NewConfigNoQuorum => Error::NewConfigNoQuorum,
            ErrorCode::ReconfigInProgress => Error::ReconfigInProgress,
            ErrorCode::ApiError => Error::ApiError,
            ErrorCode::NoNode => Error::NoNode,
            ErrorCode::NoAuth => Error::NoAuth,
            ErrorCode::BadVersion => Error::BadVersion,
            ErrorCode::NoChildrenForEphemerals => Error::NoChildrenForEphemerals,
            ErrorCode::NodeExists => Error::NodeExists,
            ErrorCode::NotEmpty => Error::NotEmpty,
            ErrorCode::SessionExpired => Error::SessionExpired,
            ErrorCode::InvalidCallback => Error::InvalidCallback,
            ErrorCode::InvalidAcl => Error::InvalidAcl,
            ErrorCode::AuthFailed => Error::AuthFailed,
            ErrorCode::SessionMoved => Error::SessionMoved,
            ErrorCode::NotReadOnly => Error::NotReadOnly,
            ErrorCode::EphemeralOnLocalSession => Error::EphemeralOnLocalSession,
            ErrorCode::NoWatcher => Error::NoWatcher,
            ErrorCode::RequestTimeout => Error::RequestTimeout,
            ErrorCode::ReconfigDisabled => Error::ReconfigDisabled,
            ErrorCode::SessionClosedRequireSaslAuth => Error::SessionClosedRequireSaslAuth,
            ErrorCode::QuotaExceeded => Error::QuotaExceeded,
            ErrorCode::Throttled => Error::Throttled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for c in ErrorCode::ALL {
            if c == ErrorCode::Ok {
                continue;
            }
            let e = Error::from_code(c as i32);
            assert_eq!(e.code(), c as i32, "{c:?}");
            assert_eq!(e.error_code(), Some(c));
            assert_eq!(Error::from_code(e.code()), e);
        }
        assert_eq!(Error::from_code(-999), Error::Unknown(-999));
        assert_eq!(Error::Unknown(-999).code(), -999);
    }

    #[test]
    fn client_side_kinds() {
        assert_eq!(Error::Timeout.code(), -7);
        assert_eq!(Error::Closed.code(), -112);
        assert_eq!(Error::BadArguments("x".into()).code(), -8);
        let m = Error::Multi {
            index: 1,
            error: Box::new(Error::NoNode),
        };
        assert_eq!(m.code(), -101);
        assert_eq!(m.root(), &Error::NoNode);
        assert!(Error::ConnectionLoss.is_retryable());
        assert!(!Error::SessionExpired.is_retryable());
        assert_eq!(
            Error::BadArguments("path must start with /".into()).to_string(),
            "bad arguments: path must start with /"
        );
        assert_eq!(
            Error::BadArguments(String::new()).to_string(),
            "bad arguments"
        );
    }
}
