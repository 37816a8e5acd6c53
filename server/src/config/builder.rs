//! Reading zoo.cfg and the flags into a [`ServerConfig`]: the keys Corral
//! knows (with their `zookeeper.*` spellings), the values' checks, and the
//! settings derived once both sources are applied.

use super::*;

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
pub(super) const PEER_FORM: &str =
    "expected host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]";

/// A configuration being assembled; `None`/`false` marks what is still to be
/// derived once the file and the flags are both applied.
#[derive(Default)]
pub(super) struct Builder {
    pub(super) config: ServerConfig,
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
    pub(super) fn from_text(text: &str, path: Option<&Path>) -> Result<Builder, ConfigError> {
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

    pub(super) fn apply_flags(&mut self, args: &ServerArgs) -> Result<(), ConfigError> {
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
    pub(super) fn read_my_id(&mut self) -> Result<(), ConfigError> {
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

    pub(super) fn finish(self) -> Result<ServerConfig, ConfigError> {
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

    pub(super) fn positive_millis(&self) -> Result<Duration, ConfigError> {
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
