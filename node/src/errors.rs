//! The one place where the client core's errors become JavaScript errors:
//! an `Error` whose `code` is ZooKeeper's name for the result code
//! (`KeeperException.Code`: `'NONODE'`, `'NODEEXISTS'`, `'BADVERSION'`,
//! `'CONNECTIONLOSS'`, `'SESSIONEXPIRED'`, ...) and whose `errno` is its
//! numeric value. Client-side kinds: `'CLOSED'` (the client was closed),
//! `'TIMEOUT'` (no answer in time), `'UNKNOWN'` (a code this client does not
//! know). A failed transaction also has `index`: the first op that failed.

use corral_client::Error;
use napi::bindgen_prelude::*;

/// The `code` of the JS error for `e` (for a failed multi: the failing op's).
pub fn code_name(e: &Error) -> &'static str {
    match e.root() {
        Error::SystemError => "SYSTEMERROR",
        Error::RuntimeInconsistency => "RUNTIMEINCONSISTENCY",
        Error::DataInconsistency => "DATAINCONSISTENCY",
        Error::ConnectionLoss => "CONNECTIONLOSS",
        Error::MarshallingError => "MARSHALLINGERROR",
        Error::Unimplemented => "UNIMPLEMENTED",
        Error::OperationTimeout => "OPERATIONTIMEOUT",
        Error::BadArguments(_) => "BADARGUMENTS",
        Error::UnknownSession => "UNKNOWNSESSION",
        Error::NewConfigNoQuorum => "NEWCONFIGNOQUORUM",
        Error::ReconfigInProgress => "RECONFIGINPROGRESS",
        Error::ApiError => "APIERROR",
        Error::NoNode => "NONODE",
        Error::NoAuth => "NOAUTH",
        Error::BadVersion => "BADVERSION",
        Error::NoChildrenForEphemerals => "NOCHILDRENFOREPHEMERALS",
        Error::NodeExists => "NODEEXISTS",
        Error::NotEmpty => "NOTEMPTY",
        Error::SessionExpired => "SESSIONEXPIRED",
        Error::InvalidCallback => "INVALIDCALLBACK",
        Error::InvalidAcl => "INVALIDACL",
        Error::AuthFailed => "AUTHFAILED",
        Error::SessionMoved => "SESSIONMOVED",
        Error::NotReadOnly => "NOTREADONLY",
        Error::EphemeralOnLocalSession => "EPHEMERALONLOCALSESSION",
        Error::NoWatcher => "NOWATCHER",
        Error::RequestTimeout => "REQUESTTIMEOUT",
        Error::ReconfigDisabled => "RECONFIGDISABLED",
        Error::SessionClosedRequireSaslAuth => "SESSIONCLOSEDREQUIRESASLAUTH",
        Error::QuotaExceeded => "QUOTAEXCEEDED",
        Error::Throttled => "THROTTLEDOP",
        Error::Timeout => "TIMEOUT",
        Error::Closed => "CLOSED",
        // Unknown codes (a newer server), and kinds added to the core later.
        _ => "UNKNOWN",
    }
}

/// The numeric `errno`: ZooKeeper's code (for `CLOSED` the core's nearest,
/// SessionExpired -112; for `TIMEOUT`, OperationTimeout -7).
pub fn errno(e: &Error) -> i32 {
    e.code()
}

/// Builds the JS error for `e` on the JS thread, as a `napi::Error` that
/// refers to it (so that a rejected Promise carries this very object).
pub fn to_napi(env: &Env, e: &Error) -> napi::Error {
    match js_error(env, e) {
        Ok(err) => err,
        Err(fallback) => fallback,
    }
}

fn js_error(env: &Env, e: &Error) -> Result<napi::Error> {
    let msg = match e {
        Error::Multi { index, error } => format!("{} (transaction op {index})", error),
        other => other.to_string(),
    };
    let err = napi::Error::<&str>::new(code_name(e), msg);
    let value = JsError::from(err).into_unknown(*env);
    let mut obj = value.coerce_to_object()?;
    obj.set_named_property("errno", errno(e))?;
    if let Error::Multi { index, .. } = e {
        obj.set_named_property("index", *index as u32)?;
    }
    Ok(napi::Error::from(value))
}

/// A `BADARGUMENTS` core error, for arguments the binding rejects itself.
pub fn bad_args(msg: impl Into<String>) -> Error {
    Error::BadArguments(msg.into())
}
