"""`hb demo` end to end, on loopback (any user) and in namespaces (root): nodes active, one cut
off and declared dead by the others, healed and active again, nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.stack import module_present
from lab import host

pytestmark = pytest.mark.skipif(not module_present("messaging.daemon"), reason="no messaging daemon in this build")


@pytest.mark.parametrize("mode", [
    "loopback",
    pytest.param("netns", marks=[pytest.mark.lab, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]),
])
def test_demo(mode):
    done = subprocess.run([sys.executable, "-m", "core.cli", "demo", "--mode", mode, "--name", "tdemo",
                           "--subnet", "198.18.9.0/24"], capture_output=True, text=True, timeout=120)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert out.count("    active") >= 4  # cl_status nodestatus for node1..3, then node3 again after the heal
    assert "declared node3 dead" in out and "WARN: node node3: is dead" in out
    assert "    dead" in out and "node3 is active again on every node" in out
    assert out.rstrip().endswith("done.")
    assert not os.path.exists("/tmp/pyhb-lab-tdemo")
    assert not [ns for ns in host.netns_list() if ns.startswith("tdemo-")]
