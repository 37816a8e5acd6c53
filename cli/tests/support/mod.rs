//! Test support: a corral-server running inside the test process on a
//! free loopback port (stopped, and its directory removed, on drop), and
//! the `corral` binary under test.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

use corral_server::{Server, ServerConfig};

pub struct TestServer {
    pub port: u16,
    pub admin_port: Option<u16>,
    runtime: Option<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TestServer {
    pub fn start() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let cfg = format!(
            "tickTime=200\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             admin.enableServer=false\nextendedTypesEnabled=true\n",
            dir.path().display()
        );
        let config = ServerConfig::from_cfg_str(&cfg).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            let server = Server::start(config).await.unwrap();
            tokio::spawn(server.serve(listener, std::future::pending()));
        });
        TestServer {
            port,
            admin_port: None,
            runtime: Some(runtime),
            _dir: dir,
        }
    }

    pub fn hosts(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

pub fn corral_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_corral"))
}

/// `corral -s <server> --timeout 5 <args>`.
pub fn corral(server: &TestServer, args: &[&str]) -> Output {
    Command::new(corral_bin())
        .args(["-s", &server.hosts(), "--timeout", "5"])
        .args(args)
        .output()
        .unwrap()
}

/// Runs and checks it succeeded; its stdout.
pub fn ok(server: &TestServer, args: &[&str]) -> String {
    let out = corral(server, args);
    assert!(
        out.status.success(),
        "corral {args:?} failed ({:?}): {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn json(server: &TestServer, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(ok(server, &all).trim()).unwrap()
}
