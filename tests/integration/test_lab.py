"""The namespace lab on real namespaces, veths, a bridge and iptables (root only): layout, each
stack running inside its node's namespace, faults and their healing seen on the wire, exec, the
state file read by a fresh process, and teardown that leaves nothing behind, even after a failed
`up`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.daemon import read_pidfile
from lab import host, plan
from lab.lab import Lab, wait_until
from lab.plan import LabError, LabSpec
from labs import leftovers, running_lab

pytestmark = [pytest.mark.lab,
              pytest.mark.skipif(os.geteuid() != 0, reason="the namespace lab needs root")]

SPEC = LabSpec(name="tlab", nodes=3, subnet="198.18.4.0/24")


@pytest.fixture(scope="module")
def lab():
    with running_lab(SPEC) as lab:
        yield lab


def pings(lab: Lab, src: str, dst: str) -> bool:
    done = lab.exec(src, ["ping", "-n", "-q", "-c", "1", "-W", "1", plan.address(lab.spec, dst)], capture=True)
    return done.returncode == 0


def test_layout(lab):
    spec = lab.spec
    for node in lab.nodes + ["client"]:
        ns = plan.namespace(spec, node)
        addrs = host.run(["ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "eth0"]).stdout
        assert f"{plan.address(spec, node)}/24" in addrs
        assert "default" not in host.run(["ip", "-n", ns, "route"]).stdout
        master = host.run(["ip", "-o", "link", "show", plan.host_veth(spec, node)]).stdout
        assert f"master {plan.bridge(spec)}" in master
    etc = lab.paths("node1").confdir
    assert oct(os.stat(os.path.join(etc, "authkeys")).st_mode & 0o777) == "0o600"
    keys = {open(os.path.join(lab.paths(n).confdir, "authkeys")).read() for n in lab.nodes}
    assert len(keys) == 1, "every node of a lab shares one key"


def test_every_stack_runs_inside_its_own_namespace(lab):
    for node in lab.nodes:
        ns_inode = host.netns_inode(plan.namespace(lab.spec, node))
        launcher = lab.pid(node)
        logd = read_pidfile(lab.paths(node).pidfile("logd"))
        assert launcher and logd and host.alive(logd)
        assert logd in host.descendants(launcher)
        assert host.process_netns_inode(launcher) == ns_inode
        assert host.process_netns_inode(logd) == ns_inode
        assert ns_inode != host.process_netns_inode(os.getpid())


def test_nodes_and_client_reach_each_other(lab):
    assert pings(lab, "node1", "node2") and pings(lab, "node3", "node1") and pings(lab, "client", "node3")


def test_partition_cuts_between_groups_only_and_heals(lab):
    lab.partition(["node1", "node2,node3"])
    try:
        assert not pings(lab, "node1", "node2") and not pings(lab, "node3", "node1")
        assert pings(lab, "node2", "node3") and pings(lab, "client", "node1")
        assert lab.status()["nodes"]["node1"]["cut_from"] == ["node2", "node3"]
    finally:
        assert lab.heal_all() == {"node1": ["partition"], "node2": ["partition"], "node3": ["partition"]}
    assert pings(lab, "node1", "node2")
    assert all(not lab.state.nodes[n].faults for n in lab.nodes)


def test_a_cut_from_the_client_leaves_the_cluster_links(lab):
    lab.cut("node2", "client")
    try:
        assert not pings(lab, "client", "node2") and not pings(lab, "node2", "client")
        assert pings(lab, "node2", "node1") and pings(lab, "client", "node1")
        assert lab.status()["nodes"]["node2"]["cut_from"] == ["client"]
    finally:
        assert lab.heal_all() == {"node2": ["partition"]}
    assert pings(lab, "client", "node2")


def test_fail_partition_isolates_one_node(lab):
    lab.fail("node2", "partition")
    try:
        assert not pings(lab, "node1", "node2") and pings(lab, "node1", "node3")
    finally:
        assert lab.heal("node2") == ["partition"]
    assert pings(lab, "node1", "node2")


def test_link_cut_and_heal(lab):
    lab.fail("node3", "link")
    try:
        assert not pings(lab, "node1", "node3") and not pings(lab, "client", "node3")
        with pytest.raises(LabError, match="already failed"):
            lab.fail("node3", "link")
    finally:
        lab.heal("node3")
    wait_until(lambda: pings(lab, "node1", "node3"), 5, "node3's link to come back")


def test_loss_installs_and_removes_statistic_rules(lab):
    from lab import network

    lab.set_loss("node2", 20)
    try:
        rules = network.current_rules(lab.spec, "node2")
        assert len(rules) == 2 and all("statistic" in r and "0.2" in r for r in rules)
    finally:
        lab.heal("node2")
    assert network.current_rules(lab.spec, "node2") == []


def test_hang_stops_the_whole_stack_and_heal_continues_it(lab):
    procs = lab.processes("node2")
    assert len(procs) >= 2  # launcher + logd at least
    lab.fail("node2", "hang")
    try:
        assert all(host.stopped(pid) for pid, _ in procs)
        assert lab.status()["nodes"]["node2"]["hung"]
    finally:
        lab.heal("node2")
    assert not any(host.stopped(pid) for pid, _ in procs) and all(host.alive(p, s) for p, s in procs)


def test_kill_and_heal_restarts_the_stack(lab):
    before = lab.processes("node3")
    lab.fail("node3", "kill")
    assert not any(host.alive(pid, start) for pid, start in before)
    assert lab.pid("node3") is None
    lab.heal("node3")
    assert lab.pid("node3") not in (None, before[0][0])
    assert lab.state.nodes["node3"].faults == []
    assert host.process_netns_inode(lab.pid("node3")) == host.netns_inode(plan.namespace(lab.spec, "node3"))


def test_exec_runs_in_the_node_with_its_paths(lab):
    done = lab.exec("node2", ["sh", "-c", "echo $PYHB_NODENAME $PYHB_RUNDIR; ip -4 -o addr show dev eth0"], capture=True)
    assert done.returncode == 0
    first, second = done.stdout.splitlines()[:2]
    assert first == f"node2 {lab.paths('node2').rundir}"
    assert plan.address(lab.spec, "node2") in second
    assert lab.exec("node1", ["false"]).returncode == 1


def test_a_fresh_process_finds_the_lab(lab):
    hb = [sys.executable, "-m", "core.cli"]
    done = subprocess.run(hb + ["lab", "status", "--json", "--name", lab.spec.name], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert [n for n, e in status["nodes"].items() if e["running"]] == lab.nodes
    done = subprocess.run(hb + ["lab", "exec", "--name", lab.spec.name, "client", "--", "ip", "-4", "-o", "addr"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and plan.address(lab.spec, "client") in done.stdout
    done = subprocess.run(hb + ["lab", "fail", "--name", lab.spec.name, "node9", "--how", "kill"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "no node 'node9'" in done.stderr


def test_second_lab_coexists_and_a_failed_up_leaves_nothing(lab):
    other = LabSpec(name="tlab2", nodes=2, subnet="198.18.5.0/24")
    assert not leftovers(other)
    with pytest.raises(LabError, match="exist already|is up already"):
        Lab.up(SPEC)  # same names as the running lab
    with pytest.raises(LabError, match="no_such_directive"):  # refused before anything exists
        Lab.up(LabSpec(name="tlab2", nodes=2, subnet="198.18.5.0/24", extra_hacf=("no_such_directive 1",)))
    assert not leftovers(other)
    # eth1 exists on no node: every launcher refuses its config after the namespaces exist
    with pytest.raises(LabError, match="unknown interface 'eth1'"):
        Lab.up(LabSpec(name="tlab2", nodes=2, subnet="198.18.5.0/24", extra_hacf=("bcast eth1",)))
    assert not leftovers(other)
    second = Lab.up(other)
    try:
        assert pings(second, "node1", "node2") and pings(lab, "node1", "node2")
    finally:
        assert second.down() == []
    assert not leftovers(other)


def test_down_without_a_state_file_sweeps_by_name():
    spec = LabSpec(name="tlab2", nodes=2, subnet="198.18.5.0/24")
    lab = Lab.up(spec)
    procs = [p for n in lab.nodes for p in lab.processes(n)]
    os.unlink(os.path.join(lab.spec.root, "state.json"))
    done = subprocess.run([sys.executable, "-m", "core.cli", "lab", "down", "--name", "tlab2"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "removed netns tlab2-node1" in done.stdout and "removed link tlab2br" in done.stdout
    assert not leftovers(spec)
    assert not any(host.alive(pid, start) for pid, start in procs)
    again = subprocess.run([sys.executable, "-m", "core.cli", "lab", "down", "--name", "tlab2"],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "nothing to remove" in again.stdout
