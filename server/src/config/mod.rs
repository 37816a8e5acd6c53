//! Server configuration: Apache ZooKeeper's `zoo.cfg` plus `corral-server` flags.
//!
//! The file is read as ZooKeeper's `QuorumPeerConfig` reads it: a
//! `java.util.Properties` file (same comments, separators, line continuations
//! and backslash escapes; see [`properties`]) whose keys and values are
//! trimmed, a later key overriding an earlier one. Settings that ZooKeeper takes from `zookeeper.*`
//! system properties (`jute.maxbuffer`, `4lw.commands.whitelist`, ...) are
//! accepted with and without that prefix; when several spellings of one
//! setting are present, the one on the latest line wins. Keys Corral does not
//! use are kept in [`ServerConfig::raw`] and logged at debug level.

mod builder;
pub mod dynamic;
mod properties;
mod raft;

pub use raft::RaftTimings;

use builder::Builder;

use properties::{Properties, Setting};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use std::{fmt, fs, io};

/// Why the configuration could not be loaded. `at` names where the value
/// came from: `file:line` for the config file, `--flag` for a flag.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{at}: {reason}")]
    Syntax { at: String, reason: String },
    #[error("{at}: invalid value {value:?} for {key}: {reason}")]
    Invalid {
        at: String,
        key: String,
        value: String,
        reason: String,
    },
    /// Settings that are valid one by one but not together.
    #[error("inconsistent configuration: {reason}")]
    Inconsistent { reason: String },
    #[error("{}: {reason}", path.display())]
    MyId { path: PathBuf, reason: String },
}

/// Flags of the `corral-server` binary; each overrides the zoo.cfg value.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServerArgs {
    /// Path to a ZooKeeper zoo.cfg
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on for clients (clientPortAddress) [default: 0.0.0.0]
    #[arg(long)]
    pub address: Option<IpAddr>,
    /// Port to listen on for clients (clientPort) [default: 2181]
    #[arg(long)]
    pub port: Option<u16>,
    /// Directory of snapshots, and of the log unless --data-log-dir is given (dataDir)
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Directory of the transaction log (dataLogDir) [default: the data dir]
    #[arg(long)]
    pub data_log_dir: Option<PathBuf>,
    /// Basic time unit in milliseconds (tickTime) [default: 2000]
    #[arg(long)]
    pub tick_time: Option<u64>,
    /// Smallest session timeout granted, in milliseconds (minSessionTimeout) [default: 2 ticks]
    #[arg(long)]
    pub min_session_timeout: Option<u64>,
    /// Largest session timeout granted, in milliseconds (maxSessionTimeout) [default: 20 ticks]
    #[arg(long)]
    pub max_session_timeout: Option<u64>,
    /// Connections allowed per client IP, 0 = unlimited (maxClientCnxns) [default: 60]
    #[arg(long)]
    pub max_client_cnxns: Option<u32>,
    /// Four-letter words allowed, comma separated, or "*" (4lw.commands.whitelist) [default: srvr]
    #[arg(long = "4lw-whitelist")]
    pub four_letter_whitelist: Option<String>,
    /// Largest request or znode payload in bytes (jute.maxbuffer) [default: 1048575]
    #[arg(long)]
    pub jute_max_buffer: Option<usize>,
    /// "super:BASE64(SHA1(super:password))" enabling the super user (superDigest)
    #[arg(long)]
    pub super_digest: Option<String>,
    /// Start even if the log is damaged before its end: drop every record
    /// from the first damaged one on (acknowledged writes there are lost).
    #[arg(long)]
    pub truncate_corrupt_log: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub client_address: IpAddr,
    pub client_port: u16,
    /// Relative paths are relative to the working directory, as in ZooKeeper.
    pub data_dir: PathBuf,
    /// Defaults to `data_dir`.
    pub data_log_dir: PathBuf,
    pub tick_time: Duration,
    /// In ticks.
    pub init_limit: u32,
    /// In ticks.
    pub sync_limit: u32,
    /// Per client IP; 0 = unlimited.
    pub max_client_cnxns: u32,
    /// Defaults to 2 ticks.
    pub min_session_timeout: Duration,
    /// Defaults to 20 ticks.
    pub max_session_timeout: Duration,
    pub four_letter_whitelist: FourLetterWhitelist,
    pub jute_max_buffer: usize,
    /// `user:BASE64(SHA1(user:password))`; whoever authenticates as that digest is the super user.
    pub super_digest: Option<String>,
    /// Needed for TTL nodes, as in ZooKeeper.
    pub extended_types_enabled: bool,
    pub container_check_interval: Duration,
    pub container_max_per_minute: u32,
    /// Ordered by id; from `server.N` lines of zoo.cfg and of its `dynamicConfigFile`.
    pub servers: Vec<PeerEntry>,
    pub admin_enabled: bool,
    pub admin_port: u16,
    pub snap_count: u64,
    pub autopurge_snap_retain_count: u32,
    /// This server's id: the number in `dataDir/myid` when `servers` is not
    /// empty (read by [`ServerConfig::load`]), 0 in standalone mode.
    pub server_id: u64,
    /// Every key=value read from the file (and its dynamicConfigFile), for `conf`/`envi`.
    pub raw: BTreeMap<String, String>,
    /// `--truncate-corrupt-log`: see [`ServerArgs::truncate_corrupt_log`].
    pub truncate_corrupt_log: bool,
    /// `reconfigEnabled`: whether clients may change the membership
    /// (see [`crate::reconfig`]).
    pub reconfig_enabled: bool,
    /// `skipACL=yes`: reconfig skips its ACL check (other requests do not).
    pub skip_acl: bool,
    /// `raft.*`: heartbeat and election timeouts of an ensemble.
    pub raft: RaftTimings,
    /// `readonlymode.enabled`: a member cut off from its quorum serves
    /// read-only clients (see [`crate::read_only`]).
    pub read_only_mode: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let tick_time = Duration::from_millis(2000);
        ServerConfig {
            client_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            client_port: 2181,
            data_dir: PathBuf::from("data"),
            data_log_dir: PathBuf::from("data"),
            tick_time,
            init_limit: 10,
            sync_limit: 5,
            max_client_cnxns: 60,
            min_session_timeout: tick_time * 2,
            max_session_timeout: tick_time * 20,
            four_letter_whitelist: FourLetterWhitelist::default(),
            jute_max_buffer: 0xfffff,
            super_digest: None,
            extended_types_enabled: false,
            container_check_interval: Duration::from_millis(60_000),
            container_max_per_minute: 10_000,
            servers: Vec::new(),
            admin_enabled: true,
            admin_port: 8080,
            snap_count: 100_000,
            autopurge_snap_retain_count: 3,
            server_id: 0,
            raw: BTreeMap::new(),
            truncate_corrupt_log: false,
            reconfig_enabled: false,
            skip_acl: false,
            raft: RaftTimings::default(),
            read_only_mode: false,
        }
    }
}

impl ServerConfig {
    /// zoo.cfg (if args.config) then flags on top, then derived defaults, then validation.
    ///
    /// When `server.N` lines describe an ensemble, this server's id is read
    /// from `dataDir/myid` (it may be missing when there is a single server
    /// line), and a missing clientPort/clientPortAddress is taken from this
    /// server's `;[host:]port` part, as ZooKeeper does.
    pub fn load(args: &ServerArgs) -> Result<ServerConfig, ConfigError> {
        let mut builder = match &args.config {
            Some(path) => {
                let text = fs::read_to_string(path).map_err(|source| ConfigError::Io {
                    path: path.clone(),
                    source,
                })?;
                Builder::from_text(&text, Some(path))?
            }
            None => Builder::default(),
        };
        builder.apply_flags(args)?;
        if !builder.config.servers.is_empty() {
            builder.read_my_id()?;
        }
        builder.finish()
    }

    /// Parse zoo.cfg text (java.util.Properties-like: `#`/`!` comments,
    /// `key=value` and `key: value` and `key value`, trimmed; later keys
    /// override earlier). A relative `dynamicConfigFile` is looked up in the
    /// working directory; `myid` is not read.
    pub fn from_cfg_str(text: &str) -> Result<ServerConfig, ConfigError> {
        Builder::from_text(text, None)?.finish()
    }

    /// The lines `conf` prints, in ZooKeeper's order. `dataDirSize` and
    /// `dataLogSize` are left to the caller, which knows what is on disk. With
    /// an ensemble, the quorum settings and one `server.N` line per member follow.
    pub fn conf_lines(&self) -> Vec<(String, String)> {
        let mut lines = vec![
            ("clientPort", self.client_port.to_string()),
            ("secureClientPort", "-1".to_owned()),
            ("dataDir", absolute(&self.data_dir)),
            ("dataLogDir", absolute(&self.data_log_dir)),
            ("tickTime", millis(self.tick_time)),
            ("maxClientCnxns", self.max_client_cnxns.to_string()),
            ("minSessionTimeout", millis(self.min_session_timeout)),
            ("maxSessionTimeout", millis(self.max_session_timeout)),
            ("clientPortListenBacklog", "-1".to_owned()),
            ("serverId", self.server_id.to_string()),
        ];
        let me = self.servers.iter().find(|p| p.id == self.server_id);
        if let Some(me) = me {
            lines.extend([
                ("initLimit", self.init_limit.to_string()),
                ("syncLimit", self.sync_limit.to_string()),
                ("electionAlg", "3".to_owned()),
                ("electionPort", me.election_port.to_string()),
                ("quorumPort", me.peer_port.to_string()),
                ("peerType", u8::from(me.observer).to_string()),
            ]);
        }
        let mut lines: Vec<(String, String)> =
            lines.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        if me.is_some() {
            lines.extend(
                self.servers
                    .iter()
                    .map(|p| (format!("server.{}", p.id), p.to_string())),
            );
        }
        lines
    }
}

/// Which four-letter words the server answers (`4lw.commands.whitelist`).
#[derive(Debug, Clone, PartialEq)]
pub enum FourLetterWhitelist {
    All,
    Only(BTreeSet<String>),
}

impl Default for FourLetterWhitelist {
    /// ZooKeeper's default: only `srvr`.
    fn default() -> Self {
        FourLetterWhitelist::Only(BTreeSet::from(["srvr".to_owned()]))
    }
}

impl FourLetterWhitelist {
    /// Parses a list separated by commas and/or whitespace; `*` anywhere
    /// allows every command. `srvr` is always allowed, as in ZooKeeper
    /// (zkServer.sh relies on it). Names are case-sensitive, as in ZooKeeper.
    pub fn parse(list: &str) -> Self {
        let mut allowed = BTreeSet::from(["srvr".to_owned()]);
        for name in list.split(|c: char| c == ',' || c.is_whitespace()) {
            match name {
                "" => {}
                "*" => return FourLetterWhitelist::All,
                name => {
                    allowed.insert(name.to_owned());
                }
            }
        }
        FourLetterWhitelist::Only(allowed)
    }

    pub fn allows(&self, cmd: &str) -> bool {
        match self {
            FourLetterWhitelist::All => true,
            FourLetterWhitelist::Only(allowed) => allowed.contains(cmd),
        }
    }
}

/// One `server.N=host:peerPort:electionPort[:participant|:observer][;[clientHost:]clientPort]` line.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerEntry {
    pub id: u64,
    /// Without the brackets of an IPv6 literal.
    pub host: String,
    pub peer_port: u16,
    pub election_port: u16,
    pub observer: bool,
    /// The client address; the host is `0.0.0.0` when the line gives only a port.
    pub client: Option<(String, u16)>,
}

impl fmt::Display for PeerEntry {
    /// The line's value as ZooKeeper prints it, e.g. `zk1:2888:3888:participant;0.0.0.0:2181`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = if self.observer {
            "observer"
        } else {
            "participant"
        };
        write!(
            f,
            "{}:{}:{}:{role}",
            bracketed(&self.host),
            self.peer_port,
            self.election_port
        )?;
        if let Some((host, port)) = &self.client {
            write!(f, ";{}:{port}", bracketed(host))?;
        }
        Ok(())
    }
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

fn millis(d: Duration) -> String {
    d.as_millis().to_string()
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

#[cfg(test)]
mod tests;
