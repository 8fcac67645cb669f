"""The real Heartbeat 3.0.6 (Debian package `heartbeat`) runs a resource group in our lab, the way
bench/failover.py measures it: two nodes of a lab that runs no stack of ours (LabSpec(run_stack=
False)), each node's heartbeat isolated by lab/heartbeat306.py, the group `IPaddr2 tcpsvc` starts
on node1, and a link cut of node1 moves it to node2, as seen by the client through the VIP.
Afterwards nothing is left: no process, mount namespace, mount, network namespace, link or
directory, and the host's /etc/ha.d and /var/lib/heartbeat are as they were.

Under CI (`CI` set) a missing package or privilege fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import socket
from typing import Iterator

import pytest

from labs import leftovers
from lab import heartbeat306, host, plan
from lab.heartbeat306 import Heartbeat306Cluster
from lab.lab import Lab, sweep, wait_until
from lab.plan import LabSpec

pytestmark = [pytest.mark.compat, pytest.mark.lab, pytest.mark.slow]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICE = os.path.join(REPO, "bench", "svc", "tcpsvc")
PORT = 8080
SPEC = LabSpec(name="thb", nodes=2, subnet="198.18.50.0/24", keepalive_ms=100, deadtime_ms=500, warntime_ms=300,
               initdead_ms=2000, run_stack=False)
VIP = str(plan.network(SPEC).network_address + 100)


def require() -> None:
    """Skip when this machine cannot run Heartbeat 3.0.6 nodes; under CI, fail (CI installs the
    packages and runs as root, so a skip there would hide a broken set-up)."""
    problems = heartbeat306.missing(resources=True)
    if problems:
        if os.environ.get("CI"):
            pytest.fail("CI must be able to run Heartbeat 3.0.6: " + "; ".join(problems))
        pytest.skip("; ".join(problems))


def snapshot(top: str) -> dict[str, tuple[int, int, int, int, int]]:
    """Every entry under top with mode, owner, size and mtime: what "untouched" means here."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            out[os.path.relpath(path, top)] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns)
    return out


def processes_in_mntns(inodes: set[int]) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}/ns/mnt").st_ino in inodes:
                    found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.fixture
def hb_lab() -> Iterator[tuple[Lab, Heartbeat306Cluster]]:
    require()
    before = {top: snapshot(top) for top in (heartbeat306.HOST_HA_DIR, heartbeat306.HOST_LIB_DIR)}
    hostname = socket.gethostname()
    sweep(SPEC.name)  # what a killed earlier run left behind
    lab = Lab.up(SPEC)
    cluster = None
    procs: list[tuple[int, int]] = []
    mntns: set[int] = set()
    try:
        cluster = heartbeat306.cluster_for_lab(lab, f"node1 IPaddr2::{VIP}/24/eth0 tcpsvc::{PORT}\n",
                                               {"tcpsvc": SERVICE})
        yield lab, cluster
    finally:
        problems = []
        if cluster is not None:
            procs = [p for node in cluster.nodes for p in node.processes()]
            mntns = {node.mntns for node in cluster.nodes if node.mntns is not None}
            problems += cluster.cleanup()
        problems += lab.down()
        assert problems == []
        assert not leftovers(lab.spec)
        assert not any(host.alive(pid, start) for pid, start in procs)
        assert not processes_in_mntns(mntns), "a process still holds a node's mount namespace"
        with open("/proc/self/mountinfo", encoding="utf-8") as handle:
            assert lab.spec.root not in handle.read()
        assert {top: snapshot(top) for top in before} == before, "the host's heartbeat directories changed"
        assert socket.gethostname() == hostname


def answer(lab: Lab) -> str:
    """One TCP connection from the client to the VIP: the line tcpsvc sends ('' when none)."""
    done = lab.exec("client", ["socat", "-T", "0.5", "-", f"TCP:{VIP}:{PORT},connect-timeout=0.05"],
                    capture=True, timeout_s=5)
    return done.stdout.strip()


def vip_on(lab: Lab, node: str) -> bool:
    done = host.run(["ip", "-n", plan.namespace(lab.spec, node), "-4", "-o", "addr", "show", "dev", "eth0"])
    return f" {VIP}/" in done.stdout


def test_heartbeat306_group_moves_to_node2_when_node1_is_cut_off(hb_lab):
    lab, cluster = hb_lab
    node1, node2 = plan.address(lab.spec, "node1"), plan.address(lab.spec, "node2")
    cluster.start()
    for node in cluster.nodes:  # isolated as the anchor does it: own hostname, own /etc/ha.d
        pid = str(node.master_pid())
        assert host.run(["nsenter", "-t", pid, "-u", "hostname"]).stdout.strip() == node.name
        assert "tcpsvc::8080" in host.run(["nsenter", "-t", pid, "-m", "cat", "/etc/ha.d/haresources"]).stdout
    cluster.wait_active(timeout_s=30)
    assert cluster.view("node2") == {"node1": "active", "node2": "active"}

    # Heartbeat 3.0.6 acquires resources about 10 s after both nodes are active
    wait_until(lambda: answer(lab) == f"node1 {node1}", 60, "node1 to answer through the VIP",
               lambda: answer(lab))
    assert vip_on(lab, "node1") and not vip_on(lab, "node2")

    lab.fail("node1", "link")
    wait_until(lambda: answer(lab) == f"node2 {node2}", 10, "node2 to answer through the VIP",
               lambda: (answer(lab), cluster.view("node2")))
    assert vip_on(lab, "node2")
    assert cluster.node("node2").status_of("node1") == "dead"
    assert "node1: is dead" in cluster.node("node2").log()
