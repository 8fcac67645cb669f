"""The lab without namespaces (what `make demo` falls back to without root): nodes on 127.0.0.x
with ucast and bind_address, hang and kill work by PID, link and partition refuse plainly, and
`down` leaves no process or directory behind. Needs no root."""

from __future__ import annotations

import os

import pytest

from lab import host, plan
from lab.plan import LabError, LabSpec
from labs import running_lab

SPEC = LabSpec(name="tlo", nodes=2, mode="loopback", media="ucast", realtime=False)


@pytest.fixture(scope="module")
def lab():
    with running_lab(SPEC) as lab:
        yield lab


def test_nodes_get_loopback_addresses_and_their_own_port(lab):
    for node in lab.nodes:
        text = open(os.path.join(lab.paths(node).confdir, "ha.cf")).read()
        assert f"bind_address {plan.address(lab.spec, node)}" in text
        assert f"udpport {lab.spec.udpport}" in text and lab.spec.udpport > 1024
    assert plan.address(lab.spec, "node2") == "127.0.0.12"


def test_link_and_partition_say_they_need_namespaces(lab):
    for how in ("link", "partition"):
        with pytest.raises(LabError, match="needs namespaces"):
            lab.fail("node1", how)
    with pytest.raises(LabError, match="needs namespaces"):
        lab.partition(["node1", "node2"])
    assert lab.state.nodes["node1"].faults == []


def test_hang_and_heal(lab):
    procs = lab.processes("node1")
    lab.fail("node1", "hang")
    assert all(host.stopped(pid) for pid, _ in procs)
    lab.heal("node1")
    assert not any(host.stopped(pid) for pid, _ in procs)


def test_kill_and_heal(lab):
    old = lab.pid("node2")
    lab.fail("node2", "kill")
    assert lab.pid("node2") is None and not host.alive(old)
    assert lab.heal("node2") == ["kill"]
    assert lab.pid("node2") not in (None, old)


def test_exec_has_the_node_environment_and_no_client(lab):
    done = lab.exec("node2", ["sh", "-c", "echo $PYHB_CONFDIR"], capture=True)
    assert done.stdout.strip() == lab.paths("node2").confdir
    with pytest.raises(LabError, match="no client"):
        lab.exec("client", ["true"])
