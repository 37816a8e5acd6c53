//! Exit codes of one-shot commands, and the failure type behind them.

use corral_client::Error;

pub const OK: i32 = 0;
/// A ZooKeeper error other than "no node" (node exists, bad version, not
/// empty, no auth...), or a local error (a file that cannot be read).
pub const ERROR: i32 = 1;
/// A command or its flags are wrong (as clap's own usage errors).
pub const USAGE: i32 = 2;
/// The node (or a parent) does not exist.
pub const NO_NODE: i32 = 3;
/// No server could be reached, the connection was lost, the session
/// expired, or a request timed out.
pub const CONNECTION: i32 = 4;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A ZooKeeper error on `path` (empty when the command has none).
    #[error("{}", zk_message(.error, .path))]
    Zk { error: Error, path: String },
    /// No session could be had with `hosts`.
    #[error("cannot connect to {hosts}: {error}")]
    Connect { hosts: String, error: Error },
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Other(String),
}

impl Failure {
    pub fn zk(error: Error, path: &str) -> Failure {
        Failure::Zk {
            error,
            path: path.to_owned(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::Usage(message.into())
    }

    pub fn code(&self) -> i32 {
        match self {
            Failure::Zk { error, .. } => match error {
                Error::NoNode => NO_NODE,
                e if is_connection(e) => CONNECTION,
                Error::Multi { error, .. } if **error == Error::NoNode => NO_NODE,
                _ => ERROR,
            },
            Failure::Connect { .. } => CONNECTION,
            Failure::Usage(_) => USAGE,
            Failure::Other(_) => ERROR,
        }
    }

    /// ZooKeeper's name of the error (`NONODE`...), or `USAGE` / `ERROR`.
    pub fn kind(&self) -> String {
        match self {
            Failure::Connect { .. } => "CONNECTION".to_owned(),
            Failure::Zk { error, .. } => match error {
                Error::Timeout => "TIMEOUT".to_owned(),
                Error::Closed => "CLOSED".to_owned(),
                e => corral_protocol::ErrorCode::from_i32(e.code())
                    .map_or_else(|| format!("ERROR{}", e.code()), |c| c.name().to_owned()),
            },
            Failure::Usage(_) => "USAGE".to_owned(),
            Failure::Other(_) => "ERROR".to_owned(),
        }
    }

    /// To stderr as text, or to stdout as one JSON object.
    pub fn print(&self, json: bool) {
        if json {
            let mut v = serde_json::json!({
                "error": self.kind(),
                "message": self.to_string(),
                "exit_code": self.code(),
            });
            if let Failure::Zk { error, path } = self {
                v["code"] = error.code().into();
                if !path.is_empty() {
                    v["path"] = path.as_str().into();
                }
            }
            println!("{v}");
        } else {
            eprintln!("{self}");
        }
    }
}

/// Errors that mean the server could not be talked to.
pub fn is_connection(e: &Error) -> bool {
    matches!(
        e,
        Error::ConnectionLoss
            | Error::SessionExpired
            | Error::Timeout
            | Error::OperationTimeout
            | Error::Closed
            | Error::RequestTimeout
    )
}

/// The messages zkCli.sh prints for the common errors.
fn zk_message(e: &Error, path: &str) -> String {
    let at = |what: &str| {
        if path.is_empty() {
            what.to_owned()
        } else {
            format!("{what}: {path}")
        }
    };
    match e {
        Error::NoNode => at("Node does not exist"),
        Error::NodeExists => at("Node already exists"),
        Error::NotEmpty => at("Node not empty"),
        Error::BadVersion => at("version No is not valid"),
        Error::NoAuth => at("Insufficient permission"),
        Error::NoChildrenForEphemerals => at("Ephemerals cannot have children"),
        Error::InvalidAcl => at("Acl is not valid"),
        Error::NoWatcher => at("No watcher found"),
        Error::Multi { error, .. } => zk_message(error, path),
        e if is_connection(e) => format!("Connection error: {e}"),
        e => format!("KeeperErrorCode = {e} for {path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(Failure::zk(Error::NoNode, "/a").code(), NO_NODE);
        assert_eq!(Failure::zk(Error::ConnectionLoss, "/a").code(), CONNECTION);
        assert_eq!(Failure::zk(Error::Timeout, "").code(), CONNECTION);
        assert_eq!(Failure::zk(Error::NodeExists, "/a").code(), ERROR);
        assert_eq!(Failure::usage("x").code(), USAGE);
        let refused = Failure::Connect {
            hosts: "h:1".into(),
            error: Error::Timeout,
        };
        assert_eq!(refused.code(), CONNECTION);
        assert_eq!(refused.to_string(), "cannot connect to h:1: timed out");
        assert_eq!(Failure::zk(Error::NoNode, "/a").kind(), "NONODE");
        assert_eq!(
            Failure::zk(Error::NoNode, "/a").to_string(),
            "Node does not exist: /a"
        );
    }
}
