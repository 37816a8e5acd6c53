"""node-zookeeper-client (npm) against the server: tests/node/zk_client_check.js.

The script does the checking (create modes, watches, versions, children,
transactions, remove) and exits non-zero with a "FAIL: ..." line on the first
mismatch; this test runs it against each server kind and shows that line.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NODE_DIR = REPO / "tests" / "node"
SCRIPT = NODE_DIR / "zk_client_check.js"


def test_node_zookeeper_client(server):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: run `bash tests/setup.sh`")
    if not (NODE_DIR / "node_modules" / "node-zookeeper-client").is_dir():
        pytest.fail("tests/node/node_modules is missing: run `bash tests/setup.sh`")

    try:
        proc = subprocess.run(
            [node, str(SCRIPT), server.hosts],
            cwd=NODE_DIR,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=90,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"zk_client_check.js against {server.kind} hung for 90 s; output so far:\n{e.stdout}\n{e.stderr}")

    failure = [line for line in proc.stderr.splitlines() if line.startswith("FAIL:")]
    assert proc.returncode == 0, (
        f"zk_client_check.js against {server.kind} ({server.hosts}) exited {proc.returncode}: "
        f"{failure[0] if failure else '(no FAIL line)'}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )
    assert "OK:" in proc.stdout, proc.stdout
