//! The interactive shell driven through a pseudo-terminal: commands and
//! their output and errors, watch events as they arrive, history, tab
//! completion of commands and of znode paths, the state in the prompt.

mod support;

use std::process::Command;
use std::time::Duration;

use expectrl::{Eof, Regex, Session};
use support::{corral_bin, ok, TestServer};

fn shell(server: &TestServer, history: &std::path::Path) -> Session {
    let mut cmd = Command::new(corral_bin());
    cmd.args(["-s", &server.hosts(), "--timeout", "5"])
        .env("CORRAL_HISTORY", history)
        .env("TERM", "xterm");
    let mut p = Session::spawn(cmd).unwrap();
    p.set_expect_timeout(Some(Duration::from_secs(10)));
    p
}

/// Waits for the prompt with command number `n`.
fn prompt(p: &mut Session, server: &TestServer, n: usize) {
    let want = format!("[zk: {}(CONNECTED) {n}] ", server.hosts());
    p.expect(want.as_str())
        .unwrap_or_else(|e| panic!("no prompt {want:?}: {e}"));
}

/// Sends a line and returns what came before the next prompt.
fn run(p: &mut Session, server: &TestServer, line: &str, n: usize) -> String {
    p.send_line(line).unwrap();
    let want = format!("[zk: {}(CONNECTED) {n}] ", server.hosts());
    let found = p
        .expect(want.as_str())
        .unwrap_or_else(|e| panic!("no prompt after {line:?}: {e}"));
    let text = plain(found.before());
    // The echo of the line comes first.
    match text.find(line) {
        Some(i) => text[i + line.len()..].trim().to_owned(),
        None => text,
    }
}

/// Terminal output without escape sequences and carriage returns.
fn plain(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                // CSI: ESC [ params final-byte; other escapes: one more char.
                if chars.next_if_eq(&'[').is_some() {
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() || c == '~' {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

#[test]
fn commands_output_errors_and_watches() {
    let s = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut p = shell(&s, &dir.path().join("history"));
    prompt(&mut p, &s, 0);
    assert!(run(&mut p, &s, "create /demo hello", 1).contains("Created /demo"));
    assert!(run(&mut p, &s, "get /demo", 2).contains("hello"));
    let stat = run(&mut p, &s, "get -s /demo", 3);
    assert!(
        stat.contains("dataVersion = 0") && stat.contains("dataLength = 5"),
        "{stat}"
    );
    assert!(run(&mut p, &s, "ls /", 4).contains("[demo, zookeeper]"));
    assert!(run(&mut p, &s, "get /nothing", 5).contains("Node does not exist: /nothing"));
    assert!(run(&mut p, &s, "create /demo", 6).contains("Node already exists: /demo"));
    assert!(run(&mut p, &s, "frob", 7).contains("Command not found: frob"));
    assert!(run(&mut p, &s, "getAcl /demo", 8).contains("'world,'anyone"));
    assert!(run(&mut p, &s, "whoami", 9).contains("Auth scheme: User"));
    assert!(run(&mut p, &s, "addWatch -m PERSISTENT /demo", 10).is_empty());

    // A one-shot watch and a persistent one fire when another client
    // changes the node; the events are printed while the shell waits.
    assert!(run(&mut p, &s, "get -w /demo", 11).contains("hello"));
    ok(&s, &["set", "/demo", "changed"]);
    p.expect("WatchedEvent state:SyncConnected type:NodeDataChanged path:/demo")
        .unwrap();
    p.expect("WatchedEvent state:SyncConnected type:NodeDataChanged path:/demo")
        .unwrap();
    // The persistent watch is left: removing it tells its stream.
    let removed = run(&mut p, &s, "removewatches /demo", 12);
    assert!(!removed.contains("No watcher"), "{removed}");
    if !removed.contains("type:PersistentWatchRemoved path:/demo") {
        p.expect("type:PersistentWatchRemoved path:/demo").unwrap();
    }
    assert!(run(&mut p, &s, "removewatches /demo", 13).contains("No watcher found: /demo"));
    assert!(run(&mut p, &s, "set -v 0 /demo again", 14).contains("version No is not valid"));
    let history = run(&mut p, &s, "history", 15);
    assert!(history.contains("13 - set -v 0 /demo again"), "{history}");
    assert!(history.contains("14 - history"), "{history}");
    p.send_line("quit").unwrap();
    p.expect(Eof).unwrap();
    let saved = std::fs::read_to_string(dir.path().join("history")).unwrap();
    assert!(saved.contains("create /demo hello"), "{saved}");
}

#[test]
fn tab_completes_commands_and_paths() {
    let s = TestServer::start();
    for p in ["/completion", "/completion/alpha", "/completion/beta"] {
        ok(&s, &["create", p]);
    }
    ok(&s, &["create", "/completion/alpha/leaf", "leafdata"]);
    let dir = tempfile::tempdir().unwrap();
    let mut p = shell(&s, &dir.path().join("history"));
    prompt(&mut p, &s, 0);
    // A unique command, then a unique path at each level: the command
    // runs with the completed path.
    p.send("getAllC\t/comp\t/al\t\r").unwrap();
    let out = p.expect("(CONNECTED) 1] ").unwrap();
    let out = plain(out.before());
    assert!(
        out.contains("getAllChildrenNumber /completion/alpha"),
        "{out:?}"
    );
    assert!(out.contains("/completion/alpha\n1\n"), "{out:?}");
    p.send("get /comp\t/al\t/l\t\r").unwrap();
    p.expect("leafdata").unwrap();
    prompt(&mut p, &s, 2);
    // Two candidates: the second Tab lists them.
    p.send("ls /completion/\t\t").unwrap();
    p.expect(Regex("alpha\\s+beta")).unwrap();
    p.send("\x15quit\r").unwrap();
    p.expect(Eof).unwrap();
}

#[test]
fn session_and_tree_commands() {
    let s = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut p = shell(&s, &dir.path().join("history"));
    prompt(&mut p, &s, 0);
    let lines = [
        ("create /t", "Created /t"),
        ("create -e /t/eph e", "Created /t/eph"),
        ("create -s /t/seq- x", "Created /t/seq-0000000001"),
        ("getEphemerals /t", "[/t/eph]"),
        ("getAllChildrenNumber /t", "2"),
        ("ls -R /t", "/t\n/t/eph\n/t/seq-0000000001"),
        ("stat /t", "numChildren = 2"),
        ("sync /t", "Sync is OK"),
        ("addauth digest alice:secret", ""),
        ("whoami", "digest: alice"),
        ("setAcl /t auth::cdrwa", ""),
        ("getAcl /t", "'digest,'alice:"),
        ("delete /t", "Node not empty: /t"),
        ("delete /t/eph", ""),
        ("deleteall /t", ""),
        ("stat /t", "Node does not exist: /t"),
        ("ls", "usage: ls [-s] [-w] [-R] path"),
        ("get -x /t", "unknown option -x"),
    ];
    for (i, (line, want)) in lines.iter().enumerate() {
        let out = run(&mut p, &s, line, i + 1);
        if want.is_empty() {
            assert!(out.is_empty(), "{line}: {out:?}");
        } else {
            assert!(out.contains(want), "{line}: {out:?} lacks {want:?}");
        }
    }
    p.send_line("quit").unwrap();
    p.expect(Eof).unwrap();
}
