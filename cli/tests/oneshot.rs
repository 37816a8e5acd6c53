//! One-shot commands (`corral -s HOST get /path`), their `--json` output
//! and exit codes; `tree`; `dump` / `load` of a 1,000-node tree.

mod support;

use std::process::Command;

use corral_client::{Client, CreateOptions};
use support::{corral, corral_bin, json, ok, TestServer};

#[test]
fn commands_and_exit_codes() {
    let s = TestServer::start();
    assert_eq!(ok(&s, &["create", "/app", "hello"]), "Created /app\n");
    assert_eq!(ok(&s, &["create", "/app/child"]), "Created /app/child\n");
    assert_eq!(ok(&s, &["get", "/app"]), "hello\n");
    assert_eq!(ok(&s, &["ls", "/app"]), "[child]\n");
    assert_eq!(ok(&s, &["ls", "/"]), "[app, zookeeper]\n");
    let stat = ok(&s, &["stat", "/app"]);
    assert!(stat.contains("dataLength = 5\nnumChildren = 1\n"), "{stat}");
    assert_eq!(ok(&s, &["set", "/app", "bye"]), "");
    let v = json(&s, &["get", "/app"]);
    assert_eq!(v["data"], "bye");
    assert_eq!(v["stat"]["version"], 1);
    assert_eq!(json(&s, &["ls", "-s", "/app"])["stat"]["numChildren"], 1);
    // --json may also follow the command.
    assert_eq!(
        ok(&s, &["ls", "/app", "--json"]).trim(),
        r#"{"children":["child"],"path":"/app"}"#
    );
    assert_eq!(ok(&s, &["getAllChildrenNumber", "/app"]), "1\n");
    assert_eq!(ok(&s, &["getAcl", "/app"]), "'world,'anyone\n: cdrwa\n");
    assert_eq!(ok(&s, &["sync", "/app"]), "Sync is OK\n");
    let seq = json(&s, &["create", "-s", "/app/seq-", "x"]);
    assert_eq!(seq["path"], "/app/seq-0000000001");
    assert!(ok(&s, &["whoami"]).starts_with("Auth scheme: User\nip: 127.0.0.1"));
    assert_eq!(ok(&s, &["getEphemerals", "/"]), "[]\n");
    let ttl = ok(&s, &["create", "-t", "60000", "/ttl", "x"]);
    assert_eq!(ttl, "Created /ttl\n");

    // No node: exit code 3, zkCli's message, or a JSON error on stdout.
    let out = corral(&s, &["get", "/missing"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Node does not exist: /missing\n"
    );
    let out = corral(&s, &["--json", "delete", "/missing"]);
    assert_eq!(out.status.code(), Some(3));
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"], "NONODE");
    assert_eq!(err["code"], -101);
    assert_eq!(err["path"], "/missing");
    // Other ZooKeeper errors: 1.
    let out = corral(&s, &["create", "/app"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Node already exists: /app\n"
    );
    let out = corral(&s, &["delete", "/app"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Node not empty: /app\n"
    );
    let out = corral(&s, &["set", "-v", "7", "/app", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "version No is not valid: /app\n"
    );
    // Usage errors: 2.
    assert_eq!(corral(&s, &["get"]).status.code(), Some(2));
    assert_eq!(corral(&s, &["frobnicate", "/"]).status.code(), Some(2));
    assert_eq!(corral(&s, &["get", "-q", "/app"]).status.code(), Some(2));

    ok(&s, &["deleteall", "/app"]);
    assert_eq!(corral(&s, &["stat", "/app"]).status.code(), Some(3));
}

#[test]
fn connection_errors_have_their_own_exit_code() {
    let port = support::free_port();
    let out = Command::new(corral_bin())
        .args(["-s", &format!("127.0.0.1:{port}"), "--timeout", "1"])
        .args(["--json", "get", "/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["exit_code"], 4);
    assert_eq!(err["error"], "CONNECTION");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("cannot connect to 127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn tree_prints_a_subtree() {
    let s = TestServer::start();
    for p in ["/t", "/t/a", "/t/a/x", "/t/a/y", "/t/b"] {
        ok(&s, &["create", p]);
    }
    assert_eq!(
        ok(&s, &["tree", "/t"]),
        "/t\n├── a\n│   ├── x\n│   └── y\n└── b\n"
    );
    let v = json(&s, &["tree", "/t"]);
    assert_eq!(v["children"][0]["children"][1]["path"], "/t/a/y");
    assert_eq!(
        ok(&s, &["ls", "-R", "/t"]),
        "/t\n/t/a\n/t/b\n/t/a/x\n/t/a/y\n"
    );
}

#[test]
fn dump_and_load_round_trip_a_thousand_nodes() {
    let s = TestServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = runtime.block_on(Client::connect(&s.hosts())).unwrap();
    // 1 + 10 + 10 * 99 = 1,001 nodes; text, binary and empty data; an
    // ACL; an ephemeral that must be skipped.
    runtime.block_on(async {
        let opts = CreateOptions::default();
        client.create("/src", b"root", &opts).await.unwrap();
        for i in 0..10 {
            let parent = format!("/src/p{i}");
            client
                .create(&parent, &[0xff, i as u8, 0], &opts)
                .await
                .unwrap();
            for j in 0..99 {
                let data = if j % 3 == 0 {
                    Vec::new()
                } else {
                    format!("v{i}-{j}").into_bytes()
                };
                client
                    .create(&format!("{parent}/n{j:02}"), &data, &opts)
                    .await
                    .unwrap();
            }
        }
        let acl = corral_client::Acl {
            perms: corral_client::perms::READ | corral_client::perms::ADMIN,
            id: corral_client::Id::new("world", "anyone"),
        };
        client.set_acl("/src/p3", &[acl], None).await.unwrap();
        client
            .create("/src/p1/eph", b"e", &CreateOptions::ephemeral())
            .await
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dump.json");
    let file = file.to_str().unwrap();
    let out = corral(&s, &["dump", "/src", "-o", file]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/src/p1/eph"),
        "the skipped ephemeral is noted: {out:?}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(doc["nodes"].as_array().unwrap().len(), 1001);
    assert_eq!(doc["skipped_ephemerals"][0], "/src/p1/eph");
    assert_eq!(doc["nodes"][1]["path"], "/src/p0");
    assert_eq!(doc["nodes"][1]["data_base64"], "/wAA");

    let loaded = ok(&s, &["load", file, "--to", "/copy/of"]);
    assert_eq!(loaded, "loaded 1001 node(s): 1001 created, 0 updated\n");
    // A second load without --overwrite finds the nodes there.
    assert_eq!(
        corral(&s, &["load", file, "--to", "/copy/of"])
            .status
            .code(),
        Some(1)
    );
    ok(&s, &["load", file, "--to", "/copy/of", "--overwrite"]);

    // Same tree, data and ACLs under the new root.
    runtime.block_on(async {
        let original = support_walk(&client, "/src").await;
        let copy = support_walk(&client, "/copy/of").await;
        assert_eq!(original.len(), 1002, "with the ephemeral");
        assert_eq!(copy.len(), 1001);
        let copy: std::collections::HashMap<String, _> = copy.into_iter().collect();
        for (path, (data, acl)) in original {
            if path == "/src/p1/eph" {
                continue;
            }
            let moved = path.replacen("/src", "/copy/of", 1);
            assert_eq!(copy.get(&moved), Some(&(data, acl)), "{path}");
        }
    });
    runtime.block_on(client.close());
}

/// Every node under `root`: path -> (data, ACL).
async fn support_walk(
    client: &Client,
    root: &str,
) -> Vec<(String, (Vec<u8>, Vec<corral_client::Acl>))> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(p) = stack.pop() {
        let (data, _) = client.get_data(&p).await.unwrap();
        let (acl, _) = client.get_acl(&p).await.unwrap();
        for c in client.get_children(&p).await.unwrap() {
            stack.push(format!("{p}/{c}"));
        }
        out.push((p, (data, acl)));
    }
    out
}
