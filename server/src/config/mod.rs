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

pub mod dynamic;
mod properties;
mod raft;

pub use raft::RaftTimings;

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

const CLIENT_PORT: &[&str] = &["clientPort"];
const CLIENT_PORT_ADDRESS: &[&str] = &["clientPortAddress"];
const DATA_DIR: &[&str] = &["dataDir"];
const DATA_LOG_DIR: &[&str] = &["dataLogDir"];
const TICK_TIME: &[&str] = &["tickTime"];
const INIT_LIMIT: &[&str] = &["initLimit"];
const SYNC_LIMIT: &[&str] = &["syncLimit"];
const MAX_CLIENT_CNXNS: &[&str] = &["maxClientCnxns"];
const MIN_SESSION_TIMEOUT: &[&str] = &["minSessionTimeout"];
const MAX_SESSION_TIMEOUT: &[&str] = &["maxSessionTimeout"];
const WHITELIST: &[&str] = &["4lw.commands.whitelist", "zookeeper.4lw.commands.whitelist"];
const READ_ONLY: &[&str] = &["readonlymode.enabled", "zookeeper.readonlymode.enabled"];
const JUTE_MAX_BUFFER: &[&str] = &["jute.maxbuffer", "zookeeper.jute.maxbuffer"];
const SUPER_DIGEST: &[&str] = &[
    "superDigest",
    "DigestAuthenticationProvider.superDigest",
    "zookeeper.DigestAuthenticationProvider.superDigest",
];
const EXTENDED_TYPES: &[&str] = &["extendedTypesEnabled", "zookeeper.extendedTypesEnabled"];
const CONTAINER_INTERVAL: &[&str] = &[
    "znode.container.checkIntervalMs",
    "zookeeper.znode.container.checkIntervalMs",
];
const CONTAINER_MAX: &[&str] = &[
    "znode.container.maxPerMinute",
    "zookeeper.znode.container.maxPerMinute",
];
const ADMIN_ENABLED: &[&str] = &["admin.enableServer", "zookeeper.admin.enableServer"];
const ADMIN_PORT: &[&str] = &["admin.serverPort", "zookeeper.admin.serverPort"];
const SNAP_COUNT: &[&str] = &["snapCount", "zookeeper.snapCount"];
const SNAP_RETAIN: &[&str] = &["autopurge.snapRetainCount"];
const DYNAMIC_CONFIG_FILE: &[&str] = &["dynamicConfigFile"];
const RECONFIG_ENABLED: &[&str] = &["reconfigEnabled"];
const SKIP_ACL: &[&str] = &["skipACL", "zookeeper.skipACL"];

const KNOWN_KEYS: &[&[&str]] = &[
    CLIENT_PORT,
    CLIENT_PORT_ADDRESS,
    DATA_DIR,
    DATA_LOG_DIR,
    TICK_TIME,
    INIT_LIMIT,
    SYNC_LIMIT,
    MAX_CLIENT_CNXNS,
    MIN_SESSION_TIMEOUT,
    MAX_SESSION_TIMEOUT,
    WHITELIST,
    READ_ONLY,
    JUTE_MAX_BUFFER,
    SUPER_DIGEST,
    EXTENDED_TYPES,
    CONTAINER_INTERVAL,
    CONTAINER_MAX,
    ADMIN_ENABLED,
    ADMIN_PORT,
    SNAP_COUNT,
    SNAP_RETAIN,
    DYNAMIC_CONFIG_FILE,
    RECONFIG_ENABLED,
    SKIP_ACL,
    raft::HEARTBEAT,
    raft::ELECTION_TIMEOUT_MIN,
    raft::ELECTION_TIMEOUT_MAX,
];

/// ZooKeeper never lets fewer snapshots be kept (it warns and uses 3).
const MIN_SNAP_RETAIN_COUNT: u32 = 3;
/// With extended types on, the server id must fit in the top byte of TTL session ids.
const MAX_EXTENDED_SERVER_ID: u64 = 254;
const PEER_FORM: &str =
    "expected host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]";

/// A configuration being assembled; `None`/`false` marks what is still to be
/// derived once the file and the flags are both applied.
#[derive(Default)]
struct Builder {
    config: ServerConfig,
    data_log_dir: Option<PathBuf>,
    min_session_timeout: Option<Duration>,
    max_session_timeout: Option<Duration>,
    client_port_set: bool,
    client_address_set: bool,
    server_id: Option<u64>,
    /// Read-only mode needs `isro` answered, whatever the whitelist says.
    read_only: bool,
}

impl Builder {
    fn from_text(text: &str, path: Option<&Path>) -> Result<Builder, ConfigError> {
        let file = path.map_or_else(|| "zoo.cfg".to_owned(), |p| p.display().to_string());
        let props = Properties::parse(text, file)?;
        let mut b = Builder::default();
        let c = &mut b.config;

        if let Some(s) = props.get(CLIENT_PORT) {
            c.client_port = s.number("a port number (0-65535)")?;
            b.client_port_set = true;
        }
        if let Some(s) = props.get(CLIENT_PORT_ADDRESS) {
            if !s.value.is_empty() {
                c.client_address = resolve(s.value).map_err(|reason| s.invalid(reason))?;
                b.client_address_set = true;
            }
        }
        if let Some(s) = props.get(DATA_DIR) {
            c.data_dir = s.path()?;
        }
        if let Some(s) = props.get(DATA_LOG_DIR) {
            if !s.value.is_empty() {
                b.data_log_dir = Some(s.path()?);
            }
        }
        if let Some(s) = props.get(TICK_TIME) {
            c.tick_time = s.positive_millis()?;
        }
        if let Some(s) = props.get(INIT_LIMIT) {
            c.init_limit = s.number("a number of ticks")?;
        }
        if let Some(s) = props.get(SYNC_LIMIT) {
            c.sync_limit = s.number("a number of ticks")?;
        }
        if let Some(s) = props.get(MAX_CLIENT_CNXNS) {
            c.max_client_cnxns = s.number("a number of connections (0 = unlimited)")?;
        }
        if let Some(s) = props.get(MIN_SESSION_TIMEOUT) {
            b.min_session_timeout = s.session_timeout()?;
        }
        if let Some(s) = props.get(MAX_SESSION_TIMEOUT) {
            b.max_session_timeout = s.session_timeout()?;
        }
        if let Some(s) = props.get(WHITELIST) {
            c.four_letter_whitelist = FourLetterWhitelist::parse(s.value);
        }
        if let Some(s) = props.get(READ_ONLY) {
            b.read_only = s.boolean()?;
        }
        if let Some(s) = props.get(JUTE_MAX_BUFFER) {
            c.jute_max_buffer = s.jute_max_buffer()?;
        }
        if let Some(s) = props.get(SUPER_DIGEST) {
            if !s.value.is_empty() {
                check_super_digest(s.value).map_err(|reason| s.invalid(reason))?;
                c.super_digest = Some(s.value.to_owned());
            }
        }
        if let Some(s) = props.get(EXTENDED_TYPES) {
            c.extended_types_enabled = s.boolean()?;
        }
        if let Some(s) = props.get(CONTAINER_INTERVAL) {
            c.container_check_interval = s.positive_millis()?;
        }
        if let Some(s) = props.get(CONTAINER_MAX) {
            c.container_max_per_minute = s.number("a number of containers")?;
        }
        if let Some(s) = props.get(ADMIN_ENABLED) {
            c.admin_enabled = s.boolean()?;
        }
        if let Some(s) = props.get(ADMIN_PORT) {
            c.admin_port = s.number("a port number (0-65535)")?;
        }
        if let Some(s) = props.get(SNAP_COUNT) {
            c.snap_count = s.number("a number of transactions")?;
            if c.snap_count == 0 {
                return Err(s.invalid("must be greater than 0"));
            }
        }
        if let Some(s) = props.get(SNAP_RETAIN) {
            let count: u32 = s.number("a number of snapshots")?;
            if count < MIN_SNAP_RETAIN_COUNT {
                tracing::warn!(
                    "{}: invalid autopurge.snapRetainCount {count}; using {MIN_SNAP_RETAIN_COUNT}",
                    s.at
                );
            }
            c.autopurge_snap_retain_count = count.max(MIN_SNAP_RETAIN_COUNT);
        }
        c.raft.read(&props)?;

        if let Some(s) = props.get(RECONFIG_ENABLED) {
            c.reconfig_enabled = s.boolean()?;
        }
        if let Some(s) = props.get(SKIP_ACL) {
            // ZooKeeper: `"yes".equals(System.getProperty("zookeeper.skipACL"))`.
            c.skip_acl = s.value == "yes";
        }

        let mut servers = BTreeMap::new();
        collect_servers(&props, &mut servers)?;
        let mut raw: BTreeMap<String, String> = props
            .entries()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if let Some(s) = props.get(DYNAMIC_CONFIG_FILE) {
            let mut dynamic = PathBuf::from(s.value);
            if dynamic.is_relative() {
                if let Some(dir) = path.and_then(Path::parent) {
                    dynamic = dir.join(dynamic);
                }
            }
            let text = fs::read_to_string(&dynamic).map_err(|source| ConfigError::Io {
                path: dynamic.clone(),
                source,
            })?;
            let dynamic_props = Properties::parse(&text, dynamic.display().to_string())?;
            collect_servers(&dynamic_props, &mut servers)?;
            raw.extend(dynamic_props.into_entries());
        }
        c.servers = servers.into_values().collect();

        for (key, value) in &raw {
            let known = key.starts_with("server.")
                || KNOWN_KEYS
                    .iter()
                    .any(|aliases| aliases.contains(&key.as_str()));
            if !known {
                tracing::debug!(%key, %value, "zoo.cfg key not used by corral; kept for conf/envi");
            }
        }
        c.raw = raw;
        Ok(b)
    }

    fn apply_flags(&mut self, args: &ServerArgs) -> Result<(), ConfigError> {
        let c = &mut self.config;
        if let Some(address) = args.address {
            c.client_address = address;
            self.client_address_set = true;
        }
        if let Some(port) = args.port {
            c.client_port = port;
            self.client_port_set = true;
        }
        if let Some(dir) = &args.data_dir {
            c.data_dir = dir.clone();
        }
        if let Some(dir) = &args.data_log_dir {
            self.data_log_dir = Some(dir.clone());
        }
        if let Some(ms) = args.tick_time {
            if ms == 0 {
                return Err(flag_error(
                    "--tick-time",
                    "tickTime",
                    ms,
                    "must be greater than 0",
                ));
            }
            c.tick_time = Duration::from_millis(ms);
        }
        if let Some(ms) = args.min_session_timeout {
            self.min_session_timeout = Some(Duration::from_millis(ms));
        }
        if let Some(ms) = args.max_session_timeout {
            self.max_session_timeout = Some(Duration::from_millis(ms));
        }
        if let Some(n) = args.max_client_cnxns {
            c.max_client_cnxns = n;
        }
        if let Some(list) = &args.four_letter_whitelist {
            c.four_letter_whitelist = FourLetterWhitelist::parse(list);
        }
        if let Some(n) = args.jute_max_buffer {
            if n == 0 {
                return Err(flag_error(
                    "--jute-max-buffer",
                    "jute.maxbuffer",
                    n,
                    "must be greater than 0",
                ));
            }
            c.jute_max_buffer = n;
        }
        if let Some(digest) = &args.super_digest {
            check_super_digest(digest)
                .map_err(|reason| flag_error("--super-digest", "superDigest", digest, reason))?;
            c.super_digest = Some(digest.clone());
        }
        c.truncate_corrupt_log = args.truncate_corrupt_log;
        Ok(())
    }

    /// Reads this server's id from `dataDir/myid`, as a member of an ensemble.
    fn read_my_id(&mut self) -> Result<(), ConfigError> {
        let path = self.config.data_dir.join("myid");
        let id = match fs::read_to_string(&path) {
            Ok(text) => {
                let first = text.lines().next().unwrap_or("").trim();
                first.parse::<u64>().map_err(|_| ConfigError::MyId {
                    path: path.clone(),
                    reason: format!("server id {first:?} is not a number"),
                })?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.config.servers.len() == 1 => {
                self.config.servers[0].id
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ConfigError::MyId {
                    path,
                    reason: "missing; every member of an ensemble needs the N of its \
                             server.N line in this file"
                        .to_owned(),
                })
            }
            Err(source) => return Err(ConfigError::Io { path, source }),
        };
        if !self.config.servers.iter().any(|p| p.id == id) {
            return Err(ConfigError::MyId {
                path,
                reason: format!("server id {id} has no server.{id} line in the configuration"),
            });
        }
        self.server_id = Some(id);
        Ok(())
    }

    fn finish(self) -> Result<ServerConfig, ConfigError> {
        let mut c = self.config;
        let tick = c.tick_time;
        c.data_log_dir = self.data_log_dir.unwrap_or_else(|| c.data_dir.clone());
        c.min_session_timeout = self.min_session_timeout.unwrap_or(tick * 2);
        c.max_session_timeout = self.max_session_timeout.unwrap_or(tick * 20);
        c.read_only_mode = self.read_only;
        if self.read_only {
            if let FourLetterWhitelist::Only(allowed) = &mut c.four_letter_whitelist {
                allowed.insert("isro".to_owned());
            }
        }
        c.raft.check()?;
        if c.min_session_timeout > c.max_session_timeout {
            return Err(ConfigError::Inconsistent {
                reason: format!(
                    "minSessionTimeout ({} ms) must not be larger than maxSessionTimeout ({} ms)",
                    c.min_session_timeout.as_millis(),
                    c.max_session_timeout.as_millis()
                ),
            });
        }
        if let Some(id) = self.server_id {
            c.server_id = id;
            let client = c
                .servers
                .iter()
                .find(|p| p.id == id)
                .and_then(|p| p.client.clone());
            if let Some((host, port)) = client {
                if !self.client_port_set {
                    c.client_port = port;
                }
                if !self.client_address_set {
                    c.client_address = resolve(&host).map_err(|reason| ConfigError::Invalid {
                        at: "client address".to_owned(),
                        key: format!("server.{id}"),
                        value: host.clone(),
                        reason,
                    })?;
                }
            }
            if c.extended_types_enabled && id > MAX_EXTENDED_SERVER_ID {
                return Err(ConfigError::Inconsistent {
                    reason: format!(
                        "extendedTypesEnabled needs a server id of at most \
                         {MAX_EXTENDED_SERVER_ID}, this server's is {id}"
                    ),
                });
            }
        }
        if !c.servers.is_empty() {
            for (name, value) in [("initLimit", c.init_limit), ("syncLimit", c.sync_limit)] {
                if value == 0 {
                    return Err(ConfigError::Inconsistent {
                        reason: format!("{name} must be greater than 0 in an ensemble"),
                    });
                }
            }
        }
        Ok(c)
    }
}

fn flag_error(flag: &str, key: &str, value: impl ToString, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        at: flag.to_owned(),
        key: key.to_owned(),
        value: value.to_string(),
        reason: reason.to_owned(),
    }
}

/// An IP address, or a host name resolved to its first address.
fn resolve(host: &str) -> Result<IpAddr, String> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse() {
        return Ok(ip);
    }
    match (bare, 0).to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .map(|a| a.ip())
            .ok_or_else(|| format!("host name {bare:?} has no address")),
        Err(e) => Err(format!(
            "neither an IP address nor a resolvable host name ({e})"
        )),
    }
}

/// Accepts what ZooKeeper's `DigestAuthenticationProvider.generateDigest` prints.
fn check_super_digest(digest: &str) -> Result<(), &'static str> {
    const FORM: &str = "expected user:BASE64(SHA1(user:password)), as printed by \
                        DigestAuthenticationProvider.generateDigest";
    let (user, hash) = digest.split_once(':').ok_or(FORM)?;
    let base64 = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
    let hash_ok = hash.len() == 28
        && hash.is_ascii()
        && hash.ends_with('=')
        && hash[..27].chars().all(base64);
    if user.is_empty() || !hash_ok {
        return Err(FORM);
    }
    Ok(())
}

/// Reads the `server.N` lines of one file into `servers`.
fn collect_servers(
    props: &Properties,
    servers: &mut BTreeMap<u64, PeerEntry>,
) -> Result<(), ConfigError> {
    for setting in props.with_prefix("server.") {
        let id = setting.key["server.".len()..]
            .parse()
            .map_err(|_| setting.invalid("the N of server.N must be a number"))?;
        let peer = parse_peer(id, setting.value).map_err(|reason| setting.invalid(reason))?;
        servers.insert(id, peer);
    }
    Ok(())
}

/// What a setting's value means, with ZooKeeper's parsing rules.
impl Setting<'_> {
    /// A decimal number, with an optional `+` as Java's `Integer.parseInt` allows.
    fn number<T: FromStr>(&self, expected: &str) -> Result<T, ConfigError> {
        let digits = self.value.strip_prefix('+').unwrap_or(self.value);
        if digits.starts_with(['+', '-']) {
            return Err(self.invalid(format!("expected {expected}")));
        }
        digits
            .parse()
            .map_err(|_| self.invalid(format!("expected {expected}")))
    }

    fn positive_millis(&self) -> Result<Duration, ConfigError> {
        let ms: u64 = self.number("a number of milliseconds")?;
        if ms == 0 {
            return Err(self.invalid("must be greater than 0"));
        }
        Ok(Duration::from_millis(ms))
    }

    /// `-1` means "derive from tickTime", as in ZooKeeper.
    fn session_timeout(&self) -> Result<Option<Duration>, ConfigError> {
        if self.value == "-1" {
            return Ok(None);
        }
        let ms: u64 = self.number("a number of milliseconds, or -1 for the default")?;
        Ok(Some(Duration::from_millis(ms)))
    }

    fn boolean(&self) -> Result<bool, ConfigError> {
        match self.value.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.invalid("expected true or false")),
        }
    }

    fn path(&self) -> Result<PathBuf, ConfigError> {
        if self.value.is_empty() {
            return Err(self.invalid("must not be empty"));
        }
        Ok(PathBuf::from(self.value))
    }

    /// Decimal, or hexadecimal with `0x`/`#` as Java's `Integer.decode` reads it.
    fn jute_max_buffer(&self) -> Result<usize, ConfigError> {
        const EXPECTED: &str = "expected a number of bytes (decimal or 0x hexadecimal)";
        let hex = ["0x", "0X", "#"]
            .iter()
            .find_map(|prefix| self.value.strip_prefix(*prefix));
        let n = match hex {
            Some(digits) => usize::from_str_radix(digits, 16)
                .ok()
                .filter(|_| !digits.starts_with(['+', '-'])),
            None => self.number::<usize>(EXPECTED).ok(),
        };
        match n {
            Some(0) => Err(self.invalid("must be greater than 0")),
            Some(n) => Ok(n),
            None => Err(self.invalid(EXPECTED)),
        }
    }
}

pub(crate) fn parse_peer(id: u64, spec: &str) -> Result<PeerEntry, String> {
    let (server, client) = match spec.split_once(';') {
        Some((server, client)) => (server.trim(), Some(client.trim())),
        None => (spec.trim(), None),
    };
    if server.contains('|') {
        return Err("several addresses per server (`|`) are not supported".to_owned());
    }
    let parts = split_host_ports(server).ok_or(PEER_FORM)?;
    if !(3..=4).contains(&parts.len()) || parts[0].is_empty() {
        return Err(PEER_FORM.to_owned());
    }
    let observer = match parts.get(3).map(|t| t.to_ascii_lowercase()).as_deref() {
        None | Some("participant") => false,
        Some("observer") => true,
        Some(_) => {
            return Err(format!(
                "unknown peer type {:?}; expected participant or observer",
                parts[3]
            ))
        }
    };
    let client = match client {
        None => None,
        Some(client) => {
            let parts = split_host_ports(client).ok_or(PEER_FORM)?;
            let (host, port) = match parts.as_slice() {
                [port] => ("0.0.0.0", *port),
                [host, port] if !host.is_empty() => (*host, *port),
                _ => return Err(PEER_FORM.to_owned()),
            };
            Some((host.to_owned(), parse_port(port, "client port", true)?))
        }
    };
    Ok(PeerEntry {
        id,
        host: parts[0].to_owned(),
        peer_port: parse_port(parts[1], "quorum port", false)?,
        election_port: parse_port(parts[2], "election port", false)?,
        observer,
        client,
    })
}

fn parse_port(text: &str, what: &str, zero_ok: bool) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(0) if !zero_ok => Err(format!("{what} must be between 1 and 65535")),
        Ok(port) => Ok(port),
        Err(_) => Err(format!("{what} {text:?} is not a port number")),
    }
}

/// Splits `host:a:b...` on colons, where the host may be a bracketed IPv6
/// literal (returned without brackets). `None` if a bracket is not closed or
/// not followed by a colon.
fn split_host_ports(s: &str) -> Option<Vec<&str>> {
    let Some(rest) = s.strip_prefix('[') else {
        return Some(s.split(':').collect());
    };
    let (host, rest) = rest.split_once(']')?;
    let mut parts = vec![host];
    if !rest.is_empty() {
        parts.extend(rest.strip_prefix(':')?.split(':'));
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Debian's /etc/zookeeper/conf/zoo.cfg as shipped.
    const DEBIAN_ZOO_CFG: &str = "\
# The number of milliseconds of each tick
tickTime=2000
# The number of ticks that the initial 
# synchronization phase can take
initLimit=10
# The number of ticks that can pass between 
# sending a request and getting an acknowledgement
syncLimit=5
# the directory where the snapshot is stored.
# do not use /tmp for storage, /tmp here is just 
# example sakes.
dataDir=/tmp/zookeeper
# the port at which the clients will connect
clientPort=2181
# the maximum number of client connections.
# increase this if you need to handle more clients
#maxClientCnxns=60
#
# Be sure to read the maintenance section of the 
# administrator guide before turning on autopurge.
#
# https://zookeeper.apache.org/doc/current/zookeeperAdmin.html#sc_maintenance
#
# The number of snapshots to retain in dataDir
#autopurge.snapRetainCount=3
# Purge task interval in hours
# Set to \"0\" to disable auto purge feature
#autopurge.purgeInterval=1

## Metrics Providers
#
# https://prometheus.io Metrics Exporter
#metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
#metricsProvider.httpHost=0.0.0.0
#metricsProvider.httpPort=7000
#metricsProvider.exportJvmInfo=true
";

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ServerArgs,
    }

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "corral-config-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn err(text: &str) -> String {
        ServerConfig::from_cfg_str(text).unwrap_err().to_string()
    }

    #[test]
    fn debian_zoo_cfg() {
        let c = ServerConfig::from_cfg_str(DEBIAN_ZOO_CFG).unwrap();
        assert_eq!(c.tick_time, ms(2000));
        assert_eq!((c.init_limit, c.sync_limit), (10, 5));
        assert_eq!(c.data_dir, PathBuf::from("/tmp/zookeeper"));
        assert_eq!(c.data_log_dir, PathBuf::from("/tmp/zookeeper"));
        assert_eq!(c.client_port, 2181);
        assert_eq!(c.client_address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(c.max_client_cnxns, 60);
        assert_eq!(c.min_session_timeout, ms(4000));
        assert_eq!(c.max_session_timeout, ms(40000));
        assert!(c.servers.is_empty());
        assert_eq!(c.four_letter_whitelist, FourLetterWhitelist::default());
        let keys: Vec<&str> = c.raw.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "clientPort",
                "dataDir",
                "initLimit",
                "syncLimit",
                "tickTime"
            ]
        );
        assert_eq!(c.raw["dataDir"], "/tmp/zookeeper");
    }

    #[test]
    fn defaults() {
        let c = ServerConfig::default();
        assert_eq!(c.client_port, 2181);
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert_eq!(c.data_log_dir, c.data_dir);
        assert_eq!(c.tick_time, ms(2000));
        assert_eq!(c.min_session_timeout, ms(4000));
        assert_eq!(c.max_session_timeout, ms(40000));
        assert_eq!(c.jute_max_buffer, 1_048_575);
        assert_eq!(c.super_digest, None);
        assert!(!c.extended_types_enabled);
        assert_eq!(c.container_check_interval, ms(60_000));
        assert_eq!(c.container_max_per_minute, 10_000);
        assert!(c.admin_enabled);
        assert_eq!(c.admin_port, 8080);
        assert_eq!(c.snap_count, 100_000);
        assert_eq!(c.autopurge_snap_retain_count, 3);
        assert!(c.four_letter_whitelist.allows("srvr"));
        assert!(!c.four_letter_whitelist.allows("ruok"));
        assert_eq!(ServerConfig::from_cfg_str("").unwrap(), c);
        assert_eq!(ServerConfig::load(&ServerArgs::default()).unwrap(), c);
    }

    #[test]
    fn properties_syntax() {
        let c = ServerConfig::from_cfg_str(
            "! bang comment\n\
             \x20  tickTime : 1000\n\
             clientPort 2182\n\
             initLimit=\\\n    \
             7\n\
             dataDir = /var/lib/zoo\\\\keeper  \n\
             syncLimit=1\n\
             syncLimit=3\n\
             my\\ key=caf\\u00e9 \\uD83D\\uDE00\n\
             empty\n\
             dataLogDir=C:\\\\zk\\\\log\n",
        )
        .unwrap();
        assert_eq!(c.tick_time, ms(1000));
        assert_eq!(c.client_port, 2182);
        assert_eq!(c.init_limit, 7);
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/zoo\\keeper"));
        assert_eq!(c.sync_limit, 3);
        assert_eq!(c.raw["my key"], "café 😀");
        assert_eq!(c.raw["empty"], "");
        assert_eq!(c.data_log_dir, PathBuf::from("C:\\zk\\log"));

        let e = err("tickTime=2000\nfoo=\\u12\n");
        assert_eq!(e, "zoo.cfg:2: malformed \\uXXXX escape");
        let e = err("foo=\\uD800\n");
        assert!(e.contains("surrogate"), "{e}");
    }

    #[test]
    fn unknown_keys_are_kept() {
        let c = ServerConfig::from_cfg_str(
            "autopurge.purgeInterval=1\nmetricsProvider.httpPort=7000\nstandaloneEnabled=false\n",
        )
        .unwrap();
        assert_eq!(c.raw.len(), 3);
        assert_eq!(c.raw["metricsProvider.httpPort"], "7000");
    }

    #[test]
    fn all_settings_from_file() {
        let digest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU=";
        let c = ServerConfig::from_cfg_str(&format!(
            "clientPortAddress=127.0.0.1\n\
             maxClientCnxns=0\n\
             jute.maxbuffer=0x400000\n\
             DigestAuthenticationProvider.superDigest={digest}\n\
             zookeeper.extendedTypesEnabled=true\n\
             znode.container.checkIntervalMs=1000\n\
             zookeeper.znode.container.maxPerMinute=50\n\
             admin.enableServer=false\n\
             admin.serverPort=9090\n\
             snapCount=1000\n\
             autopurge.snapRetainCount=5\n"
        ))
        .unwrap();
        assert_eq!(c.client_address, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(c.max_client_cnxns, 0);
        assert_eq!(c.jute_max_buffer, 0x40_0000);
        assert_eq!(c.super_digest.as_deref(), Some(digest));
        assert!(c.extended_types_enabled);
        assert_eq!(c.container_check_interval, ms(1000));
        assert_eq!(c.container_max_per_minute, 50);
        assert!(!c.admin_enabled);
        assert_eq!(c.admin_port, 9090);
        assert_eq!(c.snap_count, 1000);
        assert_eq!(c.autopurge_snap_retain_count, 5);

        let c =
            ServerConfig::from_cfg_str("autopurge.snapRetainCount=1\njute.maxbuffer=4096").unwrap();
        assert_eq!(c.autopurge_snap_retain_count, 3);
        assert_eq!(c.jute_max_buffer, 4096);
    }

    #[test]
    fn latest_alias_wins() {
        let c = ServerConfig::from_cfg_str(
            "zookeeper.jute.maxbuffer=100\njute.maxbuffer=200\nzookeeper.jute.maxbuffer=300\n",
        )
        .unwrap();
        assert_eq!(c.jute_max_buffer, 300);
        let c = ServerConfig::from_cfg_str("snapCount=5\nzookeeper.snapCount=7\n").unwrap();
        assert_eq!(c.snap_count, 7);
    }

    #[test]
    fn derived_session_timeouts() {
        let c = ServerConfig::from_cfg_str("tickTime=3000").unwrap();
        assert_eq!(c.min_session_timeout, ms(6000));
        assert_eq!(c.max_session_timeout, ms(60000));

        let c = ServerConfig::from_cfg_str("tickTime=3000\nminSessionTimeout=10000").unwrap();
        assert_eq!(c.min_session_timeout, ms(10000));
        assert_eq!(c.max_session_timeout, ms(60000));

        let c =
            ServerConfig::from_cfg_str("tickTime=1000\nminSessionTimeout=-1\nmaxSessionTimeout=-1")
                .unwrap();
        assert_eq!(c.min_session_timeout, ms(2000));
        assert_eq!(c.max_session_timeout, ms(20000));

        let e = err("minSessionTimeout=50000");
        assert_eq!(
            e,
            "inconsistent configuration: minSessionTimeout (50000 ms) must not be larger \
             than maxSessionTimeout (40000 ms)"
        );
        let e = err("maxSessionTimeout=3000");
        assert!(e.contains("(4000 ms)"), "{e}");
        let e = err("minSessionTimeout=-2");
        assert!(e.contains("or -1 for the default"), "{e}");
    }

    #[test]
    fn flag_overrides() {
        let dir = TempDir::new();
        let cfg = dir.write(
            "zoo.cfg",
            "tickTime=2000\nclientPort=2181\ndataDir=/var/lib/zookeeper\nmaxClientCnxns=10\n\
             4lw.commands.whitelist=ruok\nsuperDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n",
        );
        let cli = Cli::parse_from([
            "corral-server",
            "--config",
            cfg.to_str().unwrap(),
            "--address",
            "::1",
            "--port",
            "3181",
            "--data-dir",
            "/srv/corral",
            "--tick-time",
            "500",
            "--max-client-cnxns",
            "0",
            "--4lw-whitelist",
            "stat,mntr",
            "--jute-max-buffer",
            "4194304",
            "--super-digest",
            "admin:AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ]);
        let c = ServerConfig::load(&cli.args).unwrap();
        assert_eq!(c.client_address, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(c.client_port, 3181);
        assert_eq!(c.data_dir, PathBuf::from("/srv/corral"));
        assert_eq!(c.data_log_dir, PathBuf::from("/srv/corral"));
        assert_eq!(c.tick_time, ms(500));
        assert_eq!(c.min_session_timeout, ms(1000));
        assert_eq!(c.max_session_timeout, ms(10000));
        assert_eq!(c.max_client_cnxns, 0);
        assert!(c.four_letter_whitelist.allows("mntr"));
        assert!(!c.four_letter_whitelist.allows("ruok"));
        assert_eq!(c.jute_max_buffer, 4_194_304);
        assert_eq!(
            c.super_digest.as_deref(),
            Some("admin:AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        );
        assert_eq!(c.raw["clientPort"], "2181");

        let args = ServerArgs {
            config: Some(cfg.clone()),
            data_log_dir: Some("/fast/log".into()),
            min_session_timeout: Some(1000),
            max_session_timeout: Some(90000),
            ..ServerArgs::default()
        };
        let c = ServerConfig::load(&args).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/zookeeper"));
        assert_eq!(c.data_log_dir, PathBuf::from("/fast/log"));
        assert_eq!(c.min_session_timeout, ms(1000));
        assert_eq!(c.max_session_timeout, ms(90000));
        assert_eq!(c.max_client_cnxns, 10);

        let args = ServerArgs {
            tick_time: Some(0),
            ..ServerArgs::default()
        };
        let e = ServerConfig::load(&args).unwrap_err().to_string();
        assert_eq!(
            e,
            "--tick-time: invalid value \"0\" for tickTime: must be greater than 0"
        );
        let args = ServerArgs {
            super_digest: Some("nocolon".into()),
            ..ServerArgs::default()
        };
        let e = ServerConfig::load(&args).unwrap_err().to_string();
        assert!(e.starts_with("--super-digest: invalid value"), "{e}");
        let args = ServerArgs {
            min_session_timeout: Some(50_000),
            ..ServerArgs::default()
        };
        assert!(matches!(
            ServerConfig::load(&args),
            Err(ConfigError::Inconsistent { .. })
        ));
    }

    #[test]
    fn missing_config_file() {
        let args = ServerArgs {
            config: Some("/nonexistent/corral/zoo.cfg".into()),
            ..ServerArgs::default()
        };
        let e = ServerConfig::load(&args).unwrap_err();
        assert!(matches!(e, ConfigError::Io { .. }));
        assert!(
            e.to_string()
                .starts_with("cannot read /nonexistent/corral/zoo.cfg: "),
            "{e}"
        );
    }

    #[test]
    fn whitelist() {
        let w = FourLetterWhitelist::parse("ruok, stat  mntr,,conf\tcons");
        for cmd in ["ruok", "stat", "mntr", "conf", "cons", "srvr"] {
            assert!(w.allows(cmd), "{cmd}");
        }
        assert!(!w.allows("dump"));
        assert!(!w.allows("RUOK"));
        assert_eq!(FourLetterWhitelist::parse("*"), FourLetterWhitelist::All);
        assert_eq!(
            FourLetterWhitelist::parse("ruok, *"),
            FourLetterWhitelist::All
        );
        assert!(FourLetterWhitelist::All.allows("dump"));
        assert_eq!(
            FourLetterWhitelist::parse(""),
            FourLetterWhitelist::default()
        );

        let c = ServerConfig::from_cfg_str("zookeeper.4lw.commands.whitelist=*").unwrap();
        assert_eq!(c.four_letter_whitelist, FourLetterWhitelist::All);
        assert!(!c.read_only_mode);
        let c = ServerConfig::from_cfg_str("zookeeper.readonlymode.enabled=true").unwrap();
        assert!(c.read_only_mode);
        let dir = TempDir::new();
        let cfg = dir.write(
            "zoo.cfg",
            "4lw.commands.whitelist=ruok\nreadonlymode.enabled=true\n",
        );
        let c = ServerConfig::from_cfg_str(&fs::read_to_string(&cfg).unwrap()).unwrap();
        assert!(c.read_only_mode);
        let expected = ["isro", "ruok", "srvr"].map(String::from);
        assert_eq!(
            c.four_letter_whitelist,
            FourLetterWhitelist::Only(BTreeSet::from(expected))
        );
        let args = ServerArgs {
            config: Some(cfg),
            four_letter_whitelist: Some("stat".into()),
            ..ServerArgs::default()
        };
        let c = ServerConfig::load(&args).unwrap();
        let expected = ["isro", "srvr", "stat"].map(String::from);
        assert_eq!(
            c.four_letter_whitelist,
            FourLetterWhitelist::Only(BTreeSet::from(expected))
        );
    }

    #[test]
    fn server_lines() {
        let c = ServerConfig::from_cfg_str(
            "server.1=zk1.example.com:2888:3888\n\
             server.2=zk2.example.com:2888:3888:participant;2181\n\
             server.3=10.0.0.3:2888:3888:observer;10.0.0.3:2182\n\
             server.10=[fe80::1]:2888:3888:OBSERVER;[::1]:2183\n",
        )
        .unwrap();
        let ids: Vec<u64> = c.servers.iter().map(|p| p.id).collect();
        assert_eq!(ids, [1, 2, 3, 10]);
        assert_eq!(
            c.servers[0],
            PeerEntry {
                id: 1,
                host: "zk1.example.com".into(),
                peer_port: 2888,
                election_port: 3888,
                observer: false,
                client: None,
            }
        );
        assert_eq!(c.servers[1].client, Some(("0.0.0.0".into(), 2181)));
        assert!(!c.servers[1].observer);
        assert!(c.servers[2].observer);
        assert_eq!(c.servers[2].client, Some(("10.0.0.3".into(), 2182)));
        assert_eq!(c.servers[3].host, "fe80::1");
        assert!(c.servers[3].observer);
        assert_eq!(c.servers[3].client, Some(("::1".into(), 2183)));
        assert_eq!(
            c.servers[3].to_string(),
            "[fe80::1]:2888:3888:observer;[::1]:2183"
        );
        assert_eq!(
            c.servers[0].to_string(),
            "zk1.example.com:2888:3888:participant"
        );
    }

    #[test]
    fn bad_server_lines() {
        let e = err("tickTime=2000\nserver.1=zk1:2888\n");
        assert_eq!(
            e,
            format!("zoo.cfg:2: invalid value \"zk1:2888\" for server.1: {PEER_FORM}")
        );
        let e = err("server.x=zk1:2888:3888");
        assert!(
            e.ends_with("for server.x: the N of server.N must be a number"),
            "{e}"
        );
        let e = err("server.1=zk1:2888:3888:leader");
        assert!(e.contains("unknown peer type \"leader\""), "{e}");
        let e = err("server.1=zk1:2888:99999");
        assert!(
            e.contains("election port \"99999\" is not a port number"),
            "{e}"
        );
        let e = err("server.1=zk1:0:3888");
        assert!(e.contains("quorum port must be between 1 and 65535"), "{e}");
        let e = err("server.1=zk1:2888:3888;a:b:c");
        assert!(e.ends_with(PEER_FORM), "{e}");
        let e = err("server.1=zk1:2888:3888|zk1b:2888:3888");
        assert!(e.contains("not supported"), "{e}");
        let e = err("server.1=[::1:2888:3888");
        assert!(e.ends_with(PEER_FORM), "{e}");
    }

    #[test]
    fn invalid_values() {
        let cases = [
            (
                "tickTime=abc",
                "tickTime",
                "expected a number of milliseconds",
            ),
            ("tickTime=0", "tickTime", "must be greater than 0"),
            (
                "clientPort=70000",
                "clientPort",
                "expected a port number (0-65535)",
            ),
            (
                "clientPort=",
                "clientPort",
                "expected a port number (0-65535)",
            ),
            (
                "maxClientCnxns=-1",
                "maxClientCnxns",
                "expected a number of connections",
            ),
            ("initLimit=+-3", "initLimit", "expected a number of ticks"),
            (
                "jute.maxbuffer=0",
                "jute.maxbuffer",
                "must be greater than 0",
            ),
            (
                "jute.maxbuffer=0xZZ",
                "jute.maxbuffer",
                "expected a number of bytes",
            ),
            (
                "admin.enableServer=yes",
                "admin.enableServer",
                "expected true or false",
            ),
            ("dataDir=", "dataDir", "must not be empty"),
            ("snapCount=0", "snapCount", "must be greater than 0"),
            (
                "superDigest=super:short",
                "superDigest",
                "expected user:BASE64",
            ),
            (
                "clientPortAddress=no.such.host.invalid",
                "clientPortAddress",
                "neither an IP address nor a resolvable host name",
            ),
        ];
        for (text, key, reason) in cases {
            match ServerConfig::from_cfg_str(&format!("# header\n{text}\n")) {
                Err(e @ ConfigError::Invalid { .. }) => {
                    let msg = e.to_string();
                    assert!(msg.starts_with("zoo.cfg:2: invalid value"), "{msg}");
                    assert!(msg.contains(&format!(" for {key}: {reason}")), "{msg}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        assert_eq!(
            err("tickTime=abc"),
            "zoo.cfg:1: invalid value \"abc\" for tickTime: expected a number of milliseconds"
        );
        let e = err("server.1=a:1:2\ninitLimit=0");
        assert_eq!(
            e,
            "inconsistent configuration: initLimit must be greater than 0 in an ensemble"
        );
    }

    #[test]
    fn errors_name_the_file() {
        let dir = TempDir::new();
        let cfg = dir.write("zoo.cfg", "tickTime=2000\n\nclientPort=port\n");
        let args = ServerArgs {
            config: Some(cfg.clone()),
            ..ServerArgs::default()
        };
        let e = ServerConfig::load(&args).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}:3: invalid value \"port\" for clientPort: expected a port number (0-65535)",
                cfg.display()
            )
        );
    }

    #[test]
    fn ensemble_with_myid_and_dynamic_file() {
        let dir = TempDir::new();
        let data = dir.0.join("data");
        fs::create_dir_all(&data).unwrap();
        fs::write(data.join("myid"), "2\n").unwrap();
        dir.write(
            "zoo.cfg.dynamic",
            "server.2=zk2:2888:3888:participant;127.0.0.1:2182\n\
             server.3=zk3:2888:3888:observer;2183\n\
             version=100000000\n",
        );
        let cfg = dir.write(
            "zoo.cfg",
            &format!(
                "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\n\
                 server.1=zk1:2888:3888\ndynamicConfigFile=zoo.cfg.dynamic\n",
                data.display()
            ),
        );
        let args = ServerArgs {
            config: Some(cfg),
            ..ServerArgs::default()
        };
        let c = ServerConfig::load(&args).unwrap();
        assert_eq!(c.server_id, 2);
        assert_eq!(c.servers.len(), 3);
        assert!(c.servers[2].observer);
        assert_eq!(c.client_port, 2182);
        assert_eq!(c.client_address, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(c.raw["version"], "100000000");
        assert_eq!(c.raw["server.3"], "zk3:2888:3888:observer;2183");

        let lines = c.conf_lines();
        let get = |k: &str| lines.iter().find(|(key, _)| key == k).unwrap().1.clone();
        assert_eq!(get("serverId"), "2");
        assert_eq!(get("quorumPort"), "2888");
        assert_eq!(get("peerType"), "0");
        assert_eq!(get("server.3"), "zk3:2888:3888:observer;0.0.0.0:2183");

        let args = ServerArgs {
            config: args.config.clone(),
            port: Some(9999),
            ..ServerArgs::default()
        };
        assert_eq!(ServerConfig::load(&args).unwrap().client_port, 9999);

        fs::write(data.join("myid"), "7\n").unwrap();
        let e = ServerConfig::load(&args).unwrap_err().to_string();
        assert!(e.ends_with("myid: server id 7 has no server.7 line in the configuration"));
        fs::write(data.join("myid"), "two\n").unwrap();
        let e = ServerConfig::load(&args).unwrap_err().to_string();
        assert!(
            e.ends_with("myid: server id \"two\" is not a number"),
            "{e}"
        );
        fs::remove_file(data.join("myid")).unwrap();
        let e = ServerConfig::load(&args).unwrap_err().to_string();
        assert!(e.contains("myid: missing"), "{e}");
    }

    #[test]
    fn single_server_line_needs_no_myid() {
        let dir = TempDir::new();
        let cfg = dir.write(
            "zoo.cfg",
            &format!(
                "dataDir={}\nserver.5=localhost:2888:3888;2190\n",
                dir.0.display()
            ),
        );
        let args = ServerArgs {
            config: Some(cfg),
            ..ServerArgs::default()
        };
        let c = ServerConfig::load(&args).unwrap();
        assert_eq!(c.server_id, 5);
        assert_eq!(c.client_port, 2190);
    }

    #[test]
    fn missing_dynamic_file() {
        let dir = TempDir::new();
        let cfg = dir.write("zoo.cfg", "dynamicConfigFile=nope.dynamic\n");
        let args = ServerArgs {
            config: Some(cfg),
            ..ServerArgs::default()
        };
        match ServerConfig::load(&args) {
            Err(ConfigError::Io { path, .. }) => assert_eq!(path, dir.0.join("nope.dynamic")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn conf_lines_standalone() {
        let c = ServerConfig::from_cfg_str(DEBIAN_ZOO_CFG).unwrap();
        let lines = c.conf_lines();
        let keys: Vec<&str> = lines.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "clientPort",
                "secureClientPort",
                "dataDir",
                "dataLogDir",
                "tickTime",
                "maxClientCnxns",
                "minSessionTimeout",
                "maxSessionTimeout",
                "clientPortListenBacklog",
                "serverId",
            ]
        );
        let values: Vec<&str> = lines.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(
            values,
            [
                "2181",
                "-1",
                "/tmp/zookeeper",
                "/tmp/zookeeper",
                "2000",
                "60",
                "4000",
                "40000",
                "-1",
                "0"
            ]
        );
        let relative = ServerConfig::default().conf_lines();
        assert!(Path::new(&relative[2].1).is_absolute());
    }
}
