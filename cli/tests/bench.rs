//! `corral bench` against a real server: the watch fan-out workload and
//! `--plot`. (The other workloads are unit-tested against a fake server.)

mod support;

use std::process::Command;

use support::{corral_bin, TestServer};

fn bench(server: &TestServer, args: &[&str]) -> std::process::Output {
    Command::new(corral_bin())
        .args(["bench", "--server", &server.hosts()])
        .args(["--duration", "500ms", "--warmup", "100ms"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn watch_fan_out_reports_rounds_and_notifications() {
    let s = TestServer::start();
    let out = bench(&s, &["--workload", "watch", "--sessions", "4", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["workload"], "watch");
    let rounds = v["by_op"]["watch"]["ops"].as_u64().unwrap();
    assert!(rounds > 0, "{v}");
    assert_eq!(v["by_op"]["notify"]["ops"].as_u64(), Some(rounds * 4));
    assert_eq!(v["ops"].as_u64(), Some(rounds));
    assert_eq!(v["error_total"], 0);
    // Nothing but the JSON line on stdout (the progress bar is on stderr,
    // and hidden when that is not a terminal).
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn plot_writes_an_svg() {
    let s = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("latency.svg");
    let out = bench(
        &s,
        &[
            "--sessions",
            "2",
            "--in-flight",
            "2",
            "--znodes",
            "20",
            "--plot",
            svg.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"), "{text:.100}");
    assert!(text.contains("getData") && text.contains("setData") && text.contains("p99.9"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ops/s"));
}
