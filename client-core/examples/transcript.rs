//! A fixed scenario run through corral-client, printed as a transcript: one
//! JSON object per line, `{"step": name, "ok": value}` or
//! `{"step": name, "error": "NONODE"}` (ZooKeeper's code names).
//!
//! ```text
//! cargo run -p corral-client --example transcript -- 127.0.0.1:2181 /rust
//! ```
//!
//! `tests/python/test_client_vs_kazoo.py` runs the same scenario with kazoo
//! against the same server and compares the two transcripts. Paths are
//! printed as the server returns them (absolute, under ROOT); stats carry
//! czxid / mzxid / pzxid as raw numbers (the test keeps only their relative
//! order), no ctime / mtime, and `ephemeralOwner` as the session that owns
//! the node: "A" (the first client), "B" (the second) or "none".
//!
//! Sessions: A does most of the work and authenticates as digest `u1`; B
//! has no credentials, watches (one-shot), and makes the changes A's
//! persistent watches see.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::Duration;

use base64::Engine as _;
use corral_client::protocol::ErrorCode;
use corral_client::{
    perms, Acl, AddWatchMode, Client, CreateOptions, Error, Id, Op, OpResult, PersistentWatch,
    Stat, Watch, WatchedEvent,
};
use futures::StreamExt;
use sha1::Digest as _;

/// How long a watch event may take to arrive.
const EVENT_WAIT: Duration = Duration::from_secs(5);
/// After a sync, how long to wait for events that should not come.
const QUIET_WAIT: Duration = Duration::from_millis(200);

/// A JSON value, printed by hand (the crate does not depend on serde).
enum J {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
}

impl fmt::Display for J {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            J::Null => f.write_str("null"),
            J::Bool(b) => write!(f, "{b}"),
            J::Int(i) => write!(f, "{i}"),
            J::Str(s) => {
                f.write_char('"')?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\r' => f.write_str("\\r")?,
                        '\t' => f.write_str("\\t")?,
                        c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
                        c => f.write_char(c)?,
                    }
                }
                f.write_char('"')
            }
            J::Arr(items) => {
                f.write_char('[')?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_char(']')
            }
            J::Obj(fields) => {
                f.write_char('{')?;
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {v}", J::Str((*k).to_owned()))?;
                }
                f.write_char('}')
            }
        }
    }
}

fn s(v: impl Into<String>) -> J {
    J::Str(v.into())
}

fn data(d: &[u8]) -> J {
    J::Str(String::from_utf8_lossy(d).into_owned())
}

fn strings(mut v: Vec<String>) -> J {
    v.sort();
    J::Arr(v.into_iter().map(J::Str).collect())
}

/// ZooKeeper's name for an error's code ("NONODE", ...).
fn error_name(e: &Error) -> String {
    match e {
        Error::Timeout => "TIMEOUT".to_owned(),
        e => match ErrorCode::from_i32(e.code()) {
            Some(c) => c.name().to_owned(),
            None => format!("CODE{}", e.code()),
        },
    }
}

fn event(e: &WatchedEvent) -> J {
    J::Obj(vec![
        ("type", s(format!("{:?}", e.event_type))),
        ("state", s(format!("{:?}", e.state))),
        ("path", s(e.path.clone())),
    ])
}

fn acls(list: &[Acl]) -> J {
    J::Arr(
        list.iter()
            .map(|a| {
                J::Arr(vec![
                    J::Int(a.perms.into()),
                    s(a.id.scheme.clone()),
                    s(a.id.id.clone()),
                ])
            })
            .collect(),
    )
}

/// Writes the transcript; knows the sessions (for `ephemeralOwner`).
struct Out {
    sessions: BTreeMap<i64, &'static str>,
}

impl Out {
    fn stat(&self, st: &Stat) -> J {
        let owner = match st.ephemeral_owner {
            0 => "none",
            id => self.sessions.get(&id).copied().unwrap_or("unknown"),
        };
        J::Obj(vec![
            ("czxid", J::Int(st.czxid)),
            ("mzxid", J::Int(st.mzxid)),
            ("pzxid", J::Int(st.pzxid)),
            ("version", J::Int(st.version.into())),
            ("cversion", J::Int(st.cversion.into())),
            ("aversion", J::Int(st.aversion.into())),
            ("dataLength", J::Int(st.data_length.into())),
            ("numChildren", J::Int(st.num_children.into())),
            ("ephemeralOwner", s(owner)),
        ])
    }

    fn line(&self, step: &str, fields: Vec<(&'static str, J)>) {
        let mut all = vec![("step", s(step))];
        all.extend(fields);
        println!("{}", J::Obj(all));
    }

    /// Prints the step; returns the value on success.
    fn step<T>(
        &self,
        step: &str,
        r: Result<T, Error>,
        show: impl FnOnce(&Self, &T) -> J,
    ) -> Option<T> {
        match r {
            Ok(v) => {
                self.line(step, vec![("ok", show(self, &v))]);
                Some(v)
            }
            Err(e) => {
                self.line(step, vec![("error", s(error_name(&e)))]);
                None
            }
        }
    }

    fn unit(&self, step: &str, r: Result<(), Error>) {
        self.step(step, r, |_, _| J::Null);
    }

    fn path(&self, step: &str, r: Result<String, Error>) -> Option<String> {
        self.step(step, r, |_, p| s(p.clone()))
    }

    fn path_stat(&self, step: &str, r: Result<(String, Stat), Error>) {
        self.step(step, r, |o, (p, st)| J::Arr(vec![s(p.clone()), o.stat(st)]));
    }

    fn stat_step(&self, step: &str, r: Result<Stat, Error>) {
        self.step(step, r, |o, st| o.stat(st));
    }

    fn data_stat(&self, step: &str, r: Result<(Vec<u8>, Stat), Error>) {
        self.step(step, r, |o, (d, st)| J::Arr(vec![data(d), o.stat(st)]));
    }

    fn exists(&self, step: &str, r: Result<Option<Stat>, Error>) {
        self.step(step, r, |o, st| {
            st.as_ref().map_or(J::Null, |st| o.stat(st))
        });
    }

    fn acl_stat(&self, step: &str, r: Result<(Vec<Acl>, Stat), Error>) {
        self.step(step, r, |o, (a, st)| J::Arr(vec![acls(a), o.stat(st)]));
    }

    fn children_stat(&self, step: &str, r: Result<(Vec<String>, Stat), Error>) {
        self.step(step, r, |o, (c, st)| {
            J::Arr(vec![strings(c.clone()), o.stat(st)])
        });
    }

    fn multi(&self, step: &str, n_ops: usize, r: Result<Vec<OpResult>, Error>) {
        match r {
            Ok(results) => {
                let v = results
                    .iter()
                    .map(|r| match r {
                        OpResult::Create { path, .. } => s(path.clone()),
                        OpResult::SetData(st) => self.stat(st),
                        OpResult::Delete | OpResult::Check => J::Bool(true),
                        other => s(format!("{other:?}")),
                    })
                    .collect();
                self.line(step, vec![("ok", J::Arr(v))]);
            }
            Err(Error::Multi { index, error }) => {
                // Per op, as the server reports them: the ops before the
                // failing one OK (rolled back), the failing one its error,
                // the ones after it RUNTIMEINCONSISTENCY (not tried).
                let results = (0..n_ops)
                    .map(|i| match i.cmp(&index) {
                        std::cmp::Ordering::Less => s("OK"),
                        std::cmp::Ordering::Equal => s(error_name(&error)),
                        std::cmp::Ordering::Greater => s("RUNTIMEINCONSISTENCY"),
                    })
                    .collect();
                self.line(
                    step,
                    vec![
                        ("error", s(error_name(&error))),
                        ("index", J::Int(index as i64)),
                        ("results", J::Arr(results)),
                    ],
                );
            }
            Err(e) => self.line(step, vec![("error", s(error_name(&e)))]),
        }
    }

    /// Waits for a one-shot watch.
    async fn watch_event(&self, step: &str, w: Option<Watch>) {
        let Some(w) = w else {
            return self.line(step, vec![("error", s("NOWATCH"))]);
        };
        match tokio::time::timeout(EVENT_WAIT, w).await {
            Ok(ev) => self.line(step, vec![("ok", event(&ev))]),
            Err(_) => self.line(step, vec![("error", s("TIMEOUT"))]),
        }
    }
}

/// Every event the stream has now (call after a sync on its session), then
/// whatever else comes within `QUIET_WAIT`.
async fn drain(stream: &mut PersistentWatch) -> J {
    let mut events = Vec::new();
    while let Ok(Some(ev)) = tokio::time::timeout(QUIET_WAIT, stream.next()).await {
        events.push(event(&ev));
    }
    J::Arr(events)
}

fn digest_id(user: &str, password: &str) -> String {
    let hash = sha1::Sha1::digest(format!("{user}:{password}").as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(hosts), Some(root)) = (args.next(), args.next()) else {
        eprintln!("usage: transcript HOST:PORT ROOT");
        std::process::exit(2);
    };
    if let Err(e) = run(&hosts, &root).await {
        eprintln!("transcript: {e}");
        std::process::exit(1);
    }
}

async fn run(hosts: &str, root: &str) -> Result<(), Error> {
    let p = |rel: &str| format!("{root}{rel}");
    let a = Client::connect(hosts).await?;
    let mut out = Out {
        sessions: BTreeMap::new(),
    };
    out.sessions.insert(a.session_id(), "A");
    out.line("connect_a", vec![("ok", J::Bool(true))]);
    let persistent = CreateOptions::default();

    // -- creates
    out.path_stat("create_root", a.create2(root, b"root", &persistent).await);
    out.path(
        "create_persistent",
        a.create(&p("/p"), b"p0", &persistent).await,
    );
    out.path_stat(
        "create_ephemeral",
        a.create2(&p("/e"), b"eph", &CreateOptions::ephemeral())
            .await,
    );
    let seq1 = out.path(
        "create_sequential",
        a.create(&p("/s-"), b"s", &CreateOptions::sequential())
            .await,
    );
    let seq2 = out.path(
        "create_sequential_2",
        a.create(&p("/s-"), b"s", &CreateOptions::sequential())
            .await,
    );
    out.path_stat(
        "create_ephemeral_sequential",
        a.create2(&p("/es-"), b"", &CreateOptions::ephemeral_sequential())
            .await,
    );
    out.path_stat(
        "create_container",
        a.create2(&p("/c"), b"cont", &CreateOptions::container())
            .await,
    );
    out.path(
        "create_existing",
        a.create(&p("/p"), b"", &persistent).await,
    );
    out.path(
        "create_no_parent",
        a.create(&p("/none/x"), b"", &persistent).await,
    );
    out.path(
        "create_under_ephemeral",
        a.create(&p("/e/x"), b"", &persistent).await,
    );

    // -- data, versions
    out.data_stat("get_data", a.get_data(&p("/p")).await);
    out.stat_step(
        "set_data_bad_version",
        a.set_data(&p("/p"), b"p1", Some(5)).await,
    );
    out.stat_step("set_data", a.set_data(&p("/p"), b"p1", Some(0)).await);
    out.stat_step("set_data_any", a.set_data(&p("/p"), b"p-two", None).await);
    out.data_stat("get_data_after_set", a.get_data(&p("/p")).await);
    out.stat_step(
        "set_data_no_node",
        a.set_data(&p("/none"), b"x", None).await,
    );
    out.data_stat("get_data_no_node", a.get_data(&p("/none")).await);

    // -- exists, children
    out.exists("exists_present", a.exists(&p("/p")).await);
    out.exists("exists_absent", a.exists(&p("/none")).await);
    out.step("get_children", a.get_children(root).await, |_, c| {
        strings(c.clone())
    });
    out.children_stat("get_children2", a.get_children2(root).await);
    out.step(
        "get_children_no_node",
        a.get_children(&p("/none")).await,
        |_, c| strings(c.clone()),
    );

    // -- deletes
    out.unit("delete_not_empty", a.delete(root, None).await);
    out.unit("delete_no_node", a.delete(&p("/none"), None).await);
    out.unit("delete_bad_version", a.delete(&p("/p"), Some(0)).await);
    let seq1 = seq1.unwrap_or_default();
    out.unit("delete_sequential", a.delete(&seq1, Some(0)).await);
    out.step(
        "get_children_after_delete",
        a.get_children(root).await,
        |_, c| strings(c.clone()),
    );

    // -- ACLs and a second session
    let secret_acl = vec![Acl::new(
        perms::ALL,
        Id::new("digest", &digest_id("u1", "pw1")),
    )];
    out.unit("add_auth", a.add_auth("digest", b"u1:pw1").await);
    out.path_stat(
        "create_acl",
        a.create2(
            &p("/acl"),
            b"secret",
            &CreateOptions::default().with_acl(secret_acl.clone()),
        )
        .await,
    );
    out.acl_stat("get_acl", a.get_acl(&p("/acl")).await);
    out.data_stat("get_data_with_auth", a.get_data(&p("/acl")).await);
    let b = Client::connect(hosts).await?;
    out.sessions.insert(b.session_id(), "B");
    out.line("connect_b", vec![("ok", J::Bool(true))]);
    out.data_stat("get_data_noauth", b.get_data(&p("/acl")).await);
    out.stat_step("set_data_noauth", b.set_data(&p("/acl"), b"x", None).await);
    out.stat_step(
        "set_acl_noauth",
        b.set_acl(&p("/acl"), &Acl::open_unsafe(), None).await,
    );
    out.exists("exists_noauth", b.exists(&p("/acl")).await);
    let mut readable = secret_acl.clone();
    readable.push(Acl::new(perms::READ, Id::anyone()));
    out.stat_step(
        "set_acl_bad_version",
        a.set_acl(&p("/acl"), &readable, Some(3)).await,
    );
    out.stat_step("set_acl", a.set_acl(&p("/acl"), &readable, Some(0)).await);
    out.acl_stat("get_acl_after_set", a.get_acl(&p("/acl")).await);
    out.data_stat("get_data_world_read", b.get_data(&p("/acl")).await);
    out.stat_step(
        "set_data_still_noauth",
        b.set_data(&p("/acl"), b"x", None).await,
    );
    out.path(
        "create_child_noauth",
        b.create(&p("/acl/x"), b"", &persistent).await,
    );
    out.stat_step("set_acl_empty", a.set_acl(&p("/acl"), &[], None).await);

    // -- transactions
    let seq2 = seq2.unwrap_or_default();
    let ops = vec![
        Op::create(p("/m1"), b"m".to_vec(), CreateOptions::default()),
        Op::set_data(p("/p"), b"p3".to_vec(), Some(2)),
        Op::check(p("/p"), Some(3)),
        Op::delete(seq2.clone(), None),
        Op::create(p("/ms-"), b"".to_vec(), CreateOptions::sequential()),
    ];
    out.multi("multi_ok", ops.len(), a.multi(ops).await);
    let ops = vec![
        Op::create(p("/m2"), b"".to_vec(), CreateOptions::default()),
        Op::check(p("/p"), Some(99)),
        Op::delete(p("/m1"), None),
        Op::set_data(p("/none"), b"".to_vec(), None),
    ];
    out.multi("multi_fail_check", ops.len(), a.multi(ops).await);
    let ops = vec![Op::delete(p("/m1"), None), Op::delete(p("/m1"), None)];
    out.multi("multi_fail_last", ops.len(), a.multi(ops).await);
    let ops = vec![
        Op::set_data(p("/p"), b"x".to_vec(), None),
        Op::create(p("/p"), b"".to_vec(), CreateOptions::default()),
    ];
    out.multi("multi_fail_exists", ops.len(), a.multi(ops).await);
    out.exists("exists_after_failed_multi", a.exists(&p("/m2")).await);
    out.data_stat("get_data_after_multis", a.get_data(&p("/p")).await);
    out.path("sync", a.sync(root).await);
    out.path("sync_no_node", a.sync(&p("/none")).await);

    // -- one-shot watches (B watches, A changes)
    let (tx, mut data_events) = tokio::sync::mpsc::unbounded_channel();
    out.data_stat(
        "watch_data_register",
        b.get_data_cb(&p("/p"), move |ev| {
            let _ = tx.send(ev);
        })
        .await,
    );
    let exists_w = out
        .step(
            "watch_exists_register",
            b.exists_w(&p("/w")).await,
            |o, (st, _)| st.as_ref().map_or(J::Null, |st| o.stat(st)),
        )
        .map(|(_, w)| w);
    let child_w = out
        .step(
            "watch_child_register",
            b.get_children_w(root).await,
            |o, (c, st, _)| J::Arr(vec![strings(c.clone()), o.stat(st)]),
        )
        .map(|(_, _, w)| w);
    out.stat_step("trigger_data", a.set_data(&p("/p"), b"p4", None).await);
    match tokio::time::timeout(EVENT_WAIT, data_events.recv()).await {
        Ok(Some(ev)) => out.line("watch_data_event", vec![("ok", event(&ev))]),
        _ => out.line("watch_data_event", vec![("error", s("TIMEOUT"))]),
    }
    out.stat_step(
        "trigger_data_again",
        a.set_data(&p("/p"), b"p5", None).await,
    );
    out.path("sync_b", b.sync(root).await);
    tokio::time::sleep(QUIET_WAIT).await;
    let mut more = Vec::new();
    while let Ok(ev) = data_events.try_recv() {
        more.push(event(&ev));
    }
    out.line("watch_data_no_second_event", vec![("ok", J::Arr(more))]);
    out.path(
        "trigger_exists_child",
        a.create(&p("/w"), b"w", &persistent).await,
    );
    out.watch_event("watch_exists_event", exists_w).await;
    out.watch_event("watch_child_event", child_w).await;
    // Two watches of one session on one node; a delete fires data and child
    // watches.
    let data_w = out
        .step(
            "watch_m1_data",
            b.get_data_w(&p("/m1")).await,
            |o, (d, st, _)| J::Arr(vec![data(d), o.stat(st)]),
        )
        .map(|(_, _, w)| w);
    let exists_w = out
        .step(
            "watch_m1_exists",
            b.exists_w(&p("/m1")).await,
            |o, (st, _)| st.as_ref().map_or(J::Null, |st| o.stat(st)),
        )
        .map(|(_, w)| w);
    let child_w = out
        .step(
            "watch_m1_children",
            b.get_children_w(&p("/m1")).await,
            |o, (c, st, _)| J::Arr(vec![strings(c.clone()), o.stat(st)]),
        )
        .map(|(_, _, w)| w);
    out.unit("trigger_delete", a.delete(&p("/m1"), None).await);
    out.watch_event("watch_m1_data_event", data_w).await;
    out.watch_event("watch_m1_exists_event", exists_w).await;
    out.watch_event("watch_m1_children_event", child_w).await;

    // -- persistent watches (A watches, B changes)
    let mut pw = out.step(
        "add_watch_persistent",
        a.add_watch(&p("/pw"), AddWatchMode::Persistent).await,
        |_, _| J::Null,
    );
    let mut rw = out.step(
        "add_watch_recursive",
        a.add_watch(&p("/rw"), AddWatchMode::PersistentRecursive)
            .await,
        |_, _| J::Null,
    );
    out.path("pw_create", b.create(&p("/pw"), b"1", &persistent).await);
    out.stat_step("pw_set", b.set_data(&p("/pw"), b"2", None).await);
    out.path(
        "pw_create_child",
        b.create(&p("/pw/k"), b"", &persistent).await,
    );
    out.stat_step("pw_set_child", b.set_data(&p("/pw/k"), b"3", None).await);
    out.unit("pw_delete_child", b.delete(&p("/pw/k"), None).await);
    out.unit("pw_delete", b.delete(&p("/pw"), None).await);
    out.path("rw_create", b.create(&p("/rw"), b"", &persistent).await);
    out.path(
        "rw_create_child",
        b.create(&p("/rw/a"), b"", &persistent).await,
    );
    out.stat_step("rw_set_child", b.set_data(&p("/rw/a"), b"4", None).await);
    out.path(
        "rw_create_grandchild",
        b.create(&p("/rw/a/b"), b"", &CreateOptions::ephemeral())
            .await,
    );
    out.unit("rw_delete_grandchild", b.delete(&p("/rw/a/b"), None).await);
    out.unit("rw_delete_child", b.delete(&p("/rw/a"), None).await);
    out.stat_step("rw_set", b.set_data(&p("/rw"), b"5", None).await);
    out.path("sync_a", a.sync(root).await);
    let events = match pw.as_mut() {
        Some(w) => drain(w).await,
        None => J::Null,
    };
    out.line("persistent_events", vec![("ok", events)]);
    let events = match rw.as_mut() {
        Some(w) => drain(w).await,
        None => J::Null,
    };
    out.line("recursive_events", vec![("ok", events)]);
    // Forget the streams locally: their Closed session event is not part of
    // what kazoo would show.
    drop((pw, rw));

    // -- close: A's ephemerals go, B is told
    let exists_w = out
        .step(
            "watch_ephemeral_register",
            b.exists_w(&p("/e")).await,
            |o, (st, _)| st.as_ref().map_or(J::Null, |st| o.stat(st)),
        )
        .map(|(_, w)| w);
    let child_w = out
        .step(
            "watch_children_before_close",
            b.get_children_w(root).await,
            |o, (c, st, _)| J::Arr(vec![strings(c.clone()), o.stat(st)]),
        )
        .map(|(_, _, w)| w);
    a.close().await;
    out.line("close_a", vec![("ok", J::Null)]);
    out.data_stat("get_data_after_close", a.get_data(&p("/p")).await);
    out.watch_event("watch_ephemeral_event", exists_w).await;
    out.watch_event("watch_children_close_event", child_w).await;
    out.exists("exists_ephemeral_after_close", b.exists(&p("/e")).await);
    out.children_stat("get_children_after_close", b.get_children2(root).await);
    b.close().await;
    out.line("close_b", vec![("ok", J::Null)]);
    Ok(())
}
