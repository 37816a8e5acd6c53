"""Four-letter words: structure, not exact values. On an ensemble, words
about clients are asked of the member the client is connected to."""

import re

import pytest

import servers as S
from conftest import wait_until


def kv_lines(text, sep):
    out = {}
    for line in text.splitlines():
        if sep in line:
            k, v = line.split(sep, 1)
            out[k.strip()] = v.strip()
    return out


def test_ruok(server):
    assert server.four_letter("ruok") == "imok"


def test_isro(server):
    assert server.four_letter("isro") == "rw"


def test_srvr(server, zk, root):
    server = server.member_of(zk)
    text = server.four_letter("srvr")
    fields = kv_lines(text, ":")
    assert fields["Mode"] in server.serving_modes
    assert re.match(r"^Zookeeper version: \d+\.\d+\.\d+", text), text
    assert re.match(r"^\d+/[\d.]+/\d+$", fields["Latency min/avg/max"])
    for key in ("Received", "Sent", "Connections", "Outstanding", "Node count"):
        assert int(fields[key]) >= 0, key
    assert int(fields["Connections"]) >= 1
    assert re.match(r"^0x[0-9a-f]+$", fields["Zxid"])
    zk.create(root + "/n")
    assert int(kv_lines(server.four_letter("srvr"), ":")["Zxid"], 16) >= 1


def test_stat_lists_clients(server, zk):
    server = server.member_of(zk)
    text = server.four_letter("stat")
    assert "Clients:" in text
    assert kv_lines(text, ":")["Mode"] in server.serving_modes
    assert re.search(r"/127\.0\.0\.1:\d+\[\d+\]\(queued=\d+,recved=\d+,sent=\d+", text), text


def test_mntr(server, zk, root):
    server = server.member_of(zk)
    zk.create(root + "/m")
    text = server.four_letter("mntr")
    fields = {}
    for line in text.splitlines():
        parts = line.split("\t")
        assert len(parts) == 2, "mntr line not tab separated: %r" % line
        fields[parts[0]] = parts[1]
    for key in ("zk_version", "zk_avg_latency", "zk_max_latency", "zk_min_latency",
                "zk_packets_received", "zk_packets_sent", "zk_num_alive_connections",
                "zk_outstanding_requests", "zk_server_state", "zk_znode_count",
                "zk_watch_count", "zk_ephemerals_count", "zk_approximate_data_size",
                "zk_open_file_descriptor_count", "zk_max_file_descriptor_count"):
        assert key in fields, key
    assert fields["zk_server_state"] in server.serving_modes
    assert int(fields["zk_num_alive_connections"]) >= 1
    assert int(fields["zk_znode_count"]) >= 3


def test_mntr_counts_follow_the_tree(server, zk_factory, root):
    zk = zk_factory()
    server = server.member_of(zk)

    def counts():
        f = dict(l.split("\t", 1) for l in server.four_letter("mntr").splitlines() if "\t" in l)
        return int(f["zk_znode_count"]), int(f["zk_ephemerals_count"]), int(f["zk_watch_count"])

    n0, e0, w0 = counts()
    zk.create(root + "/a")
    zk.create(root + "/b", ephemeral=True)
    zk.get(root + "/a", watch=lambda e: None)
    n1, e1, w1 = counts()
    assert n1 == n0 + 2
    assert e1 == e0 + 1
    assert w1 == w0 + 1


def test_conf(server):
    fields = kv_lines(server.four_letter("conf"), "=")
    assert fields["clientPort"] == str(server.port)
    assert fields["tickTime"] == "200"
    assert fields["minSessionTimeout"] == "400"
    assert fields["maxSessionTimeout"] == "4000"
    assert fields["dataDir"].startswith(server.data_dir)
    assert "maxClientCnxns" in fields
    assert "serverId" in fields


def test_cons(server, zk):
    text = server.member_of(zk).four_letter("cons")
    sid = "0x%x" % zk.client_id[0]
    assert re.search(r"sid=%s\b" % sid, text), text
    assert "to=4000" in text


def test_clients_are_spread_over_every_server(server, zk_factory):
    """Each client is listed by `cons` of the server it is connected to and
    of no other; the suite's clients sit on every member of an ensemble."""
    servers = server.all_servers()
    clients = [zk_factory() for _ in range(2 * len(servers))]
    held = set()
    for c in clients:
        mine = server.member_of(c)
        held.add(mine.port)
        sid = re.compile(r"sid=0x%x\b" % c.client_id[0])
        for srv in servers:
            listed = sid.search(srv.four_letter("cons")) is not None
            assert listed == (srv is mine), (srv, mine)
    assert held == {srv.port for srv in servers}


def test_envi(server):
    text = server.four_letter("envi")
    assert text.startswith("Environment:")
    fields = kv_lines(text, "=")
    assert "zookeeper.version" in fields
    assert "host.name" in fields
    assert "os.name" in fields


def test_dirs(server, zk, root):
    zk.create(root + "/d")
    fields = kv_lines(server.member_of(zk).four_letter("dirs"), ":")
    assert int(fields["datadir_size"]) > 0
    assert int(fields["logdir_size"]) > 0


def test_watch_words(server, zk_factory, root):
    """wchs/wchc/wchp describe data watches (ZooKeeper leaves child watches
    out of these three; mntr's zk_watch_count has both)."""
    zk = zk_factory()
    zk.create(root + "/w1")
    zk.create(root + "/w2")
    zk.get(root + "/w1", watch=lambda e: None)
    zk.exists(root + "/w2", watch=lambda e: None)
    sid = "0x%x" % zk.client_id[0]
    server = server.member_of(zk)

    wchs = server.four_letter("wchs")
    m = re.search(r"(\d+) connections watching (\d+) paths\s+Total watches:\s*(\d+)", wchs)
    assert m, wchs
    assert int(m.group(1)) >= 1 and int(m.group(2)) >= 2 and int(m.group(3)) >= 2

    # wchc: session id, then its watched paths, tab-indented
    wchc = server.four_letter("wchc")
    assert sid + "\n" in wchc
    block = wchc.split(sid + "\n", 1)[1].split("\n\n", 1)[0]
    assert sorted(l for l in block.splitlines() if l.startswith("\t" + root)) == [
        "\t" + root + "/w1", "\t" + root + "/w2"]

    # wchp: path, then the watching sessions, tab-indented
    wchp = server.four_letter("wchp")
    for p in (root + "/w1", root + "/w2"):
        block = wchp.split(p + "\n", 1)[1]
        assert block.startswith("\t" + sid)


def test_dump(server, zk_factory, root):
    zk = zk_factory()
    zk.create(root + "/eph", ephemeral=True)
    text = server.member_of(zk).four_letter("dump")
    assert "Sessions with Ephemerals" in text
    sid = "0x%x" % zk.client_id[0]
    assert sid in text
    assert root + "/eph" in text.split(sid, 1)[1] or root + "/eph" in text


def test_unknown_word_gets_empty_answer(server):
    assert server.four_letter("zzzz") == ""


def test_crst_and_srst(server):
    assert "reset" in server.four_letter("crst").lower()
    assert "reset" in server.four_letter("srst").lower()


def test_four_letter_word_does_not_disturb_sessions(server, zk, root):
    zk.create(root + "/x")
    for cmd in ("ruok", "srvr", "mntr", "cons", "wchs", "dump"):
        server.four_letter(cmd)
    assert zk.exists(root + "/x") is not None
