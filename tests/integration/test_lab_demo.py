"""`hb demo` end to end. In namespaces (root): heartbeat's story, the group on node1, node1's cable
cut, the group on node2 with the client's outage printed and no moment of two nodes answering,
node1 back and the group with it. On loopback (any user): the membership part, nodes active, one
frozen and declared dead, thawed and active again. Nothing is left behind either way."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from core.stack import module_present
from lab import host

pytestmark = pytest.mark.skipif(not module_present("messaging.daemon"), reason="no messaging daemon in this build")


@pytest.mark.parametrize("mode", [
    "loopback",
    pytest.param("netns", marks=[pytest.mark.lab, pytest.mark.skipif(os.geteuid() != 0 and not os.environ.get("CI"),
                                                                      reason="needs root")]),
])
def test_demo(mode):
    done = subprocess.run([sys.executable, "-m", "core.cli", "demo", "--mode", mode, "--name", "tdemo",
                           "--subnet", "198.18.9.0/24"], capture_output=True, text=True, timeout=120)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    if mode == "netns":
        served = out.split("=== The client is served by node2:")
        assert len(served) == 2, out
        assert re.search(r"the client saw no answer for \d+ ms \(deadtime 500 ms\); 0 moments with two nodes", out), out
        assert "WARN: node node1: is dead" in out and "Taking over resource group" in out
        assert "node1 was fenced (reboot) by stonith_host-1 on node2" in out
        assert re.search(r"tcpsvc\t\(heartbeat:tcpsvc\):\t Started node2", served[1]), out
        back = out.split("=== Reconnecting node1")[1]
        assert "    node1 198.18.9.11" in back and re.search(r"tcpsvc\t\(heartbeat:tcpsvc\):\t Started node1", back)
    else:
        assert out.count("    active") >= 4  # cl_status nodestatus for node1..3, then node3 again after the heal
        assert "declared node3 dead" in out and "WARN: node node3: is dead" in out
        assert "    dead" in out and "node3 is active again on every node" in out
    assert out.rstrip().endswith("done.")
    assert not os.path.exists("/tmp/pyhb-lab-tdemo")
    assert not [ns for ns in host.netns_list() if ns.startswith("tdemo-")]
