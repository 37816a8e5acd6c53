//! The one place where the client core's errors become Python exceptions
//! (the classes of `corral.exceptions`, named as kazoo names them).

use corral_client::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// The name in `corral.exceptions` of the class for `e`.
pub fn class_name(e: &Error) -> &'static str {
    match e.root() {
        Error::SystemError => "SystemZookeeperError",
        Error::RuntimeInconsistency => "RuntimeInconsistency",
        Error::DataInconsistency => "DataInconsistency",
        Error::ConnectionLoss => "ConnectionLoss",
        Error::MarshallingError => "MarshallingError",
        Error::Unimplemented => "UnimplementedError",
        Error::OperationTimeout => "OperationTimeoutError",
        Error::BadArguments(_) => "BadArgumentsError",
        Error::UnknownSession => "UnknownSessionError",
        Error::NewConfigNoQuorum => "NewConfigNoQuorumError",
        Error::ReconfigInProgress => "ReconfigInProcessError",
        Error::ApiError => "APIError",
        Error::NoNode => "NoNodeError",
        Error::NoAuth => "NoAuthError",
        Error::BadVersion => "BadVersionError",
        Error::NoChildrenForEphemerals => "NoChildrenForEphemeralsError",
        Error::NodeExists => "NodeExistsError",
        Error::NotEmpty => "NotEmptyError",
        Error::SessionExpired => "SessionExpiredError",
        Error::InvalidCallback => "InvalidCallbackError",
        Error::InvalidAcl => "InvalidACLError",
        Error::AuthFailed => "AuthFailedError",
        Error::SessionMoved => "SessionMovedError",
        Error::NotReadOnly => "NotReadOnlyCallError",
        Error::EphemeralOnLocalSession => "EphemeralOnLocalSessionError",
        Error::NoWatcher => "NoWatcherError",
        Error::RequestTimeout => "RequestTimeoutError",
        Error::ReconfigDisabled => "ReconfigDisabledError",
        Error::SessionClosedRequireSaslAuth => "SessionClosedRequireSaslAuthError",
        Error::QuotaExceeded => "QuotaExceededError",
        Error::Throttled => "ThrottledError",
        // Client side: no answer in time (kazoo's handler timeout).
        Error::Timeout => "KazooTimeoutError",
        // Client side: stopped / closed (kazoo's ConnectionClosedError, a
        // SessionExpiredError).
        Error::Closed => "ConnectionClosedError",
        // Unknown codes (a newer server), and any kind added to the core
        // later: the base class, with the code in the message.
        _ => "ZookeeperError",
    }
}

/// A `corral.exceptions` exception (by class name) with a message.
pub fn exception(py: Python<'_>, name: &str, msg: String) -> PyErr {
    let class = py.import("corral.exceptions").and_then(|m| m.getattr(name));
    match class.and_then(|c| c.call1((msg.clone(),))) {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => PyRuntimeError::new_err(format!("{msg} (corral.exceptions unavailable: {e})")),
    }
}

/// The Python exception for a core error.
pub fn to_pyerr(py: Python<'_>, e: &Error) -> PyErr {
    let msg = match e.root() {
        Error::Unknown(code) => format!("unknown error code {code}"),
        root => root.to_string(),
    };
    exception(py, class_name(e), msg)
}

/// The error raised when a client is used before `start()` or after
/// `close()`, or in a child process of the one that created it.
pub fn closed(py: Python<'_>, why: &str) -> PyErr {
    exception(py, "ConnectionClosedError", why.to_owned())
}
