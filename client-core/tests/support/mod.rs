//! Test support: start corral-server or Apache ZooKeeper 3.8 (Debian
//! package) from a generated zoo.cfg on a free loopback port, a 3-node
//! ZooKeeper ensemble, and a TCP proxy that can cut or black-hole the
//! client's connections. Every process is killed and every directory
//! removed on drop, including when a test panics.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corral_client::{Client, SessionState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Corral,
    ZooKeeper,
}

pub const TICK_MS: u64 = 200;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let dir = std::env::temp_dir().join(format!(
        "corral-client-{tag}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    dir
}

pub fn corral_binary() -> PathBuf {
    if let Ok(p) = std::env::var("CORRAL_SERVER") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/corral-server");
    if !p.is_file() {
        panic!(
            "corral-server binary not found at {}: build it first with \
             `cargo build -p corral-server` (or set CORRAL_SERVER)",
            p.display()
        );
    }
    p
}

fn zookeeper_classpath() -> String {
    let mut jars: Vec<String> = Vec::new();
    for jar in [
        "zookeeper.jar",
        "zookeeper-jute.jar",
        "slf4j-log4j12.jar",
        "log4j-1.2.jar",
    ] {
        let p = Path::new("/usr/share/java").join(jar);
        if p.is_file() {
            jars.push(p.display().to_string());
        }
    }
    if !jars.iter().any(|j| j.ends_with("/zookeeper.jar")) {
        panic!(
            "ZooKeeper jars not found in /usr/share/java: install the Debian package `zookeeper`"
        );
    }
    jars.join(":")
}

const LOG4J: &str = "log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
";

/// One server process (standalone, or a member of an [`Ensemble`]).
pub struct Server {
    pub kind: Kind,
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
    quorum: bool,
    stopped: bool,
    /// Extra `-D...` flags of a ZooKeeper server's JVM.
    jvm_flags: Vec<String>,
}

impl Server {
    /// A standalone server of `kind`, ready to serve.
    pub fn start(kind: Kind) -> Server {
        Self::start_with(kind, &[])
    }

    pub fn start_with(kind: Kind, extra_cfg: &[&str]) -> Server {
        let port = free_port();
        let dir = temp_dir(match kind {
            Kind::Corral => "corral",
            Kind::ZooKeeper => "zk",
        });
        let mut cfg = base_cfg(&dir, port);
        cfg.extend(extra_cfg.iter().map(|s| s.to_string()));
        std::fs::write(dir.join("zoo.cfg"), cfg.join("\n") + "\n").unwrap();
        let mut s = Server {
            kind,
            port,
            dir,
            child: None,
            quorum: false,
            stopped: false,
            jvm_flags: Vec::new(),
        };
        s.spawn();
        s.wait_ready(Duration::from_secs(60));
        s
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .unwrap();
        let cfg = self.dir.join("zoo.cfg");
        let mut cmd = match self.kind {
            Kind::Corral => {
                let mut c = Command::new(corral_binary());
                c.arg("--config").arg(&cfg);
                c
            }
            Kind::ZooKeeper => {
                std::fs::write(self.dir.join("log4j.properties"), LOG4J).unwrap();
                let mut c = Command::new(std::env::var("JAVA").unwrap_or_else(|_| "java".into()));
                c.args([
                    "-Xmx256m",
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-Xshare:auto",
                    "-Djava.net.preferIPv4Stack=true",
                    "-Dzookeeper.jmx.log4j.disable=true",
                    "-Dzookeeper.extendedTypesEnabled=true",
                    "-Dzookeeper.admin.enableServer=false",
                    "-Dzookeeper.4lw.commands.whitelist=*",
                ])
                .args(&self.jvm_flags)
                .arg(format!(
                    "-Dlog4j.configuration=file:{}",
                    self.dir.join("log4j.properties").display()
                ))
                .arg("-cp")
                .arg(zookeeper_classpath())
                .arg(if self.quorum {
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain"
                } else {
                    "org.apache.zookeeper.server.ZooKeeperServerMain"
                })
                .arg(&cfg);
                c
            }
        };
        // If the test process dies without running destructors (SIGKILL,
        // abort), take the server down with it.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        cmd.current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.child = Some(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("spawn {:?}: {e}", self.kind)),
        );
        self.stopped = false;
    }

    pub fn hosts(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Sends a four-letter word; the answer (empty on error).
    pub fn four_letter(&self, word: &str) -> String {
        four_letter(self.port, word)
    }

    /// Waits until the server answers `ruok` and serves requests.
    pub fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "{:?} exited ({status}) before it was ready; log:\n{}",
                    self.kind,
                    self.log_tail()
                );
            }
            if self.four_letter("ruok") == "imok" {
                let srvr = self.four_letter("srvr");
                let serving = !srvr.is_empty() && !srvr.contains("not currently serving");
                if serving && (!self.quorum || srvr.contains("Mode: ")) {
                    return;
                }
            }
            if Instant::now() > deadline {
                panic!("{:?} not ready; log:\n{}", self.kind, self.log_tail());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `Mode: leader` / `follower` / `standalone` from `srvr`.
    pub fn mode(&self) -> String {
        self.four_letter("srvr")
            .lines()
            .find_map(|l| l.strip_prefix("Mode: ").map(str::to_owned))
            .unwrap_or_default()
    }

    /// Starts the server again after [`Server::kill9`] and waits until it
    /// answers.
    pub fn start_again(&mut self) {
        self.spawn();
        self.wait_ready(Duration::from_secs(60));
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            if self.stopped {
                signal(c.id(), "CONT");
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP: the process stays, silent (connections open, no answers).
    pub fn pause(&mut self) {
        signal(self.pid(), "STOP");
        self.stopped = true;
    }

    /// SIGCONT after [`Server::pause`].
    pub fn resume(&mut self) {
        signal(self.pid(), "CONT");
        self.stopped = false;
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -{sig} {pid} failed");
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        if std::env::var_os("CORRAL_KEEP_TMP").is_some() || std::thread::panicking() {
            eprintln!("{:?} server dir kept: {}", self.kind, self.dir.display());
            if std::thread::panicking() {
                eprintln!("log tail:\n{}", self.log_tail());
            }
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn base_cfg(dir: &Path, port: u16) -> Vec<String> {
    vec![
        format!("tickTime={TICK_MS}"),
        "initLimit=10".into(),
        "syncLimit=5".into(),
        format!("dataDir={}", dir.join("data").display()),
        format!("clientPort={port}"),
        "clientPortAddress=127.0.0.1".into(),
        "4lw.commands.whitelist=*".into(),
        "extendedTypesEnabled=true".into(),
        "admin.enableServer=false".into(),
        "znode.container.checkIntervalMs=500".into(),
    ]
}

pub fn four_letter(port: u16, word: &str) -> String {
    let Ok(mut s) = TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_secs(1),
    ) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(word.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// A 3-node ZooKeeper (or corral) ensemble.
pub struct Ensemble {
    pub servers: Vec<Server>,
}

impl Ensemble {
    pub fn start(extra_cfg: &[&str]) -> Ensemble {
        Self::start_kind(Kind::ZooKeeper, extra_cfg, &[])
    }

    /// `jvm_flags`: `-D...` system properties of ZooKeeper servers.
    pub fn start_kind(kind: Kind, extra_cfg: &[&str], jvm_flags: &[&str]) -> Ensemble {
        let ports: Vec<(u16, u16, u16)> = (0..3)
            .map(|_| (free_port(), free_port(), free_port()))
            .collect();
        let mut servers = Vec::new();
        for (i, (client, _, _)) in ports.iter().enumerate() {
            let dir = temp_dir(match kind {
                Kind::Corral => "corral-ensemble",
                Kind::ZooKeeper => "zk-ensemble",
            });
            std::fs::write(dir.join("data/myid"), format!("{}\n", i + 1)).unwrap();
            let mut cfg = base_cfg(&dir, *client);
            cfg.push("reconfigEnabled=false".into());
            for (j, (_, peer, election)) in ports.iter().enumerate() {
                cfg.push(format!("server.{}=127.0.0.1:{peer}:{election}", j + 1));
            }
            cfg.extend(extra_cfg.iter().map(|s| s.to_string()));
            std::fs::write(dir.join("zoo.cfg"), cfg.join("\n") + "\n").unwrap();
            let mut s = Server {
                kind,
                port: *client,
                dir,
                child: None,
                quorum: true,
                stopped: false,
                jvm_flags: jvm_flags.iter().map(|f| f.to_string()).collect(),
            };
            s.spawn();
            servers.push(s);
        }
        for s in &mut servers {
            s.wait_ready(Duration::from_secs(90));
        }
        Ensemble { servers }
    }

    pub fn hosts(&self) -> String {
        self.servers
            .iter()
            .map(Server::hosts)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A TCP proxy to a server. `cut()` closes every proxied connection and
/// refuses new ones (accept + close) until `restore()`; `black_hole()`
/// keeps connections open but forwards nothing in either direction.
pub struct Proxy {
    pub port: u16,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct ProxyState {
    refusing: AtomicBool,
    black_hole: AtomicBool,
    conns: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Proxy {
    pub async fn start(target_port: u16) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(ProxyState::default());
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if st.refusing.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let st2 = st.clone();
                let h = tokio::spawn(async move {
                    let Ok(server) =
                        tokio::net::TcpStream::connect(("127.0.0.1", target_port)).await
                    else {
                        return;
                    };
                    pump(client, server, st2).await;
                });
                st.conns.lock().unwrap().push(h);
            }
        });
        Proxy { port, state, task }
    }

    pub fn hosts(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Closes the proxied connections and refuses new ones.
    pub fn cut(&self) {
        self.state.refusing.store(true, Ordering::SeqCst);
        for h in self.state.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }

    /// Refuses new connections; the current ones stay up.
    pub fn refuse(&self) {
        self.state.refusing.store(true, Ordering::SeqCst);
    }

    /// Forwards again (after `cut`, `refuse` or `black_hole`).
    pub fn restore(&self) {
        self.state.black_hole.store(false, Ordering::SeqCst);
        self.state.refusing.store(false, Ordering::SeqCst);
    }

    /// Connections stay open but nothing is forwarded.
    pub fn black_hole(&self) {
        self.state.black_hole.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        for h in self.state.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }
}

async fn pump(client: tokio::net::TcpStream, server: tokio::net::TcpStream, st: Arc<ProxyState>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let st2 = st.clone();
    let up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if st.black_hole.load(Ordering::SeqCst) {
                continue;
            }
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if st2.black_hole.load(Ordering::SeqCst) {
                continue;
            }
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

/// Polls `f` every 20 ms until it is true or `timeout` passes.
pub async fn wait_until<F, Fut>(timeout: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if f().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for the client to reach `state`.
pub async fn wait_state(client: &Client, state: SessionState, timeout: Duration) {
    let ok = wait_until(timeout, || async { client.state() == state }).await;
    assert!(
        ok,
        "state {:?} not reached (now {:?})",
        state,
        client.state()
    );
}

/// Installs a tracing subscriber once (RUST_LOG=corral_client=debug).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A future with a deadline: panics with `what` if it takes too long, so a
/// hang fails the test instead of blocking it.
pub async fn within<T>(d: Duration, what: &str, f: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(d, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {d:?}: {what}"),
    }
}

pub const KINDS: [Kind; 2] = [Kind::Corral, Kind::ZooKeeper];
