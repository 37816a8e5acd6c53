use super::builder::PEER_FORM;
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

    let c = ServerConfig::from_cfg_str("autopurge.snapRetainCount=1\njute.maxbuffer=4096").unwrap();
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

    let c = ServerConfig::from_cfg_str("tickTime=1000\nminSessionTimeout=-1\nmaxSessionTimeout=-1")
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
