"""Membership daemons on loopback (no root): a 3-node lab of whole stacks on 127.0.0.x. A node whose
messaging daemon is killed (and restarted by its launcher) comes back as a new ccm incarnation; a
hung node is dropped and rejoins; the CLIs fail plainly when no ccm runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from core.daemon import read_pidfile
from lab import host
from lab.lab import Lab, wait_until
from lab.plan import LabSpec
import labs
from labs import ccm_view, running_lab

SPEC = LabSpec(name="ccml", nodes=3, mode="loopback", media="ucast", realtime=False)
ALL = ["node1", "node2", "node3"]
WAIT_S = 30.0


@pytest.fixture(scope="module")
def lab():
    with running_lab(SPEC) as lab:
        yield lab


def wait_agreed(lab: Lab, nodes: list[str], members: list[str], quorum: bool = True) -> None:
    labs.wait_agreed(lab, nodes, members, quorum, WAIT_S)


def incarnation(lab: Lab, observer: str, node: str) -> int:
    v = ccm_view(lab, observer)
    return dict(zip(v["members"], v["incarnations"]))[node]


def test_messaging_restart_makes_a_new_incarnation(lab):
    wait_agreed(lab, ALL, ALL)
    before = incarnation(lab, "node1", "node3")
    pid = read_pidfile(lab.paths("node3").pidfile("messaging"))
    assert pid and host.alive(pid)
    os.kill(pid, signal.SIGKILL)  # the node's launcher restarts it
    def back() -> bool:
        v = ccm_view(lab, "node1")  # one view per check: node3 may leave it between two queries
        return v.get("members") == ALL and dict(zip(v["members"], v["incarnations"]))["node3"] > before
    wait_until(back, WAIT_S, "node3 back as a new incarnation", lambda: ccm_view(lab, "node1"))
    wait_agreed(lab, ALL, ALL)


def test_hung_node_is_dropped_and_rejoins(lab):
    wait_agreed(lab, ALL, ALL)
    lab.fail("node2", "hang")
    try:
        wait_agreed(lab, ["node1", "node3"], ["node1", "node3"])
    finally:
        lab.heal("node2")
    wait_agreed(lab, ALL, ALL)


def test_clis_fail_plainly_without_a_ccm(tmp_path):
    env = dict(os.environ, PYHB_RUNDIR=str(tmp_path), PYHB_CONFDIR=str(tmp_path), PYHB_NODENAME="node1")
    for argv in (["-m", "core.cli", "membership", "--json"], ["-c", "from ccm.cli import crm_node_main; "
                                                             "raise SystemExit(crm_node_main(['-q']))"]):
        done = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 1 and "not running" in done.stderr, done
