"""The `corral` command against both kinds of server, next to ZooKeeper's
own zkCli.sh: a tree written by one is read the same by the other; and
corral-server's admin HTTP server as started by the binary.
"""

import json
import os
import re
import subprocess
import urllib.request
import uuid

import pytest

import servers
from servers import Server, free_port
from test_zkcli import zkcli


def corral_cli():
    env = os.environ.get("CORRAL_CLI")
    if env:
        return env
    path = os.path.join(os.path.dirname(servers.corral_binary()), "corral")
    if not os.access(path, os.X_OK):
        pytest.fail(f"corral not found at {path}: build it with `cargo build -p corral-cli`")
    return path


def corral(server, *args, check=True):
    proc = subprocess.run(
        [corral_cli(), "-s", server.hosts, "--timeout", "10", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check:
        assert proc.returncode == 0, f"corral {args} exited {proc.returncode}: {proc.stdout}{proc.stderr}"
    return proc


def corral_json(server, *args):
    return json.loads(corral(server, "--json", *args).stdout)


@pytest.fixture
def root():
    return f"/cli-{uuid.uuid4().hex[:10]}"


def test_zkcli_sees_the_tree_corral_loaded(server, root, tmp_path):
    nodes = [
        {"path": root, "data": "top"},
        {"path": f"{root}/a", "data": "alpha"},
        {"path": f"{root}/a/x", "data": ""},
        {"path": f"{root}/b", "data": "beta"},
        {"path": f"{root}/b/y", "data": "why", "acl": [
            {"scheme": "world", "id": "anyone", "perms": "r"}]},
    ]
    dump = tmp_path / "tree.json"
    dump.write_text(json.dumps({"format": "corral-dump/1", "root": root, "nodes": nodes}))
    out = corral(server, "load", str(dump)).stdout
    assert out == "loaded 5 node(s): 5 created, 0 updated\n"

    run = zkcli(server, [f"ls -R {root}", f"get {root}/a", f"get {root}/b/y", f"getAcl {root}/b/y"])
    zk_paths = [line for line in run.out(0).splitlines() if line.startswith("/")]
    # Both breadth first; siblings in the server's order for zkCli.
    ours = corral(server, "ls", "-R", root).stdout.split()
    assert ours == [root, f"{root}/a", f"{root}/b", f"{root}/a/x", f"{root}/b/y"]
    assert sorted(zk_paths) == sorted(ours)
    assert run.out(1) == "alpha"
    assert run.out(2) == "why"
    assert "'world,'anyone\n: r" in run.out(3)
    assert corral(server, "getAcl", f"{root}/b/y").stdout == "'world,'anyone\n: r\n"

    # And dumped again, the tree is what was loaded.
    again = json.loads(corral(server, "dump", root).stdout)
    assert [n["path"] for n in again["nodes"]] == [n["path"] for n in nodes]
    assert [n.get("data") for n in again["nodes"]] == [n["data"] for n in nodes]
    corral(server, "deleteall", root)


def test_corral_sees_the_tree_zkcli_made(server, root):
    zkcli(server, [
        f"create {root} r",
        f"create {root}/one 1",
        f"create {root}/one/deep d",
        f"create {root}/two 2",
        f"create -e {root}/eph e",
    ])
    # The ephemeral left with zkCli's session.
    tree = corral_json(server, "tree", root)
    assert tree == {"path": root, "children": [
        {"path": f"{root}/one", "children": [{"path": f"{root}/one/deep", "children": []}]},
        {"path": f"{root}/two", "children": []},
    ]}
    got = corral_json(server, "get", f"{root}/one/deep")
    assert got["data"] == "d"
    assert got["stat"]["numChildren"] == 0
    run = zkcli(server, [f"get -s {root}/one"])
    zk_stat = dict(re.findall(r"^(\w+) = (.*)$", run.out(0), re.M))
    ours = dict(re.findall(r"^(\w+) = (.*)$", corral(server, "stat", f"{root}/one").stdout, re.M))
    assert ours["cZxid"] == zk_stat["cZxid"]
    assert ours["dataVersion"] == zk_stat["dataVersion"]
    assert ours["numChildren"] == zk_stat["numChildren"] == "1"
    # Exit codes: no node (3) is not a connection error (4).
    missing = corral(server, "get", f"{root}/nope", check=False)
    assert missing.returncode == 3
    assert missing.stderr == f"Node does not exist: {root}/nope\n"
    corral(server, "deleteall", root)


def test_admin_server_of_the_binary(server_factory):
    port = free_port()
    srv = server_factory("corral", extra_cfg=["admin.enableServer=true", f"admin.serverPort={port}"])
    base = f"http://127.0.0.1:{port}"
    with urllib.request.urlopen(f"{base}/commands/mntr", timeout=10) as r:
        mntr = json.load(r)
    words = {line.split("\t")[0][len("zk_"):] for line in srv.four_letter("mntr").splitlines() if line}
    assert set(mntr) - {"command", "error"} == words
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    assert re.search(r'^corral_server_role\{role="standalone"\} 1$', text, re.M)
    assert re.search(r"^corral_znode_count \d+$", text, re.M)
