"""Membership with real processes: a 5-node namespace lab (`lab`, iptables partitions), every
node running its whole stack (messaging + ccm). A 3+2 partition leaves the 3 side with a new
quorate view and the 2 side without quorum; healing merges one view of 5; a killed node leaves
the view of the 4 others and rejoins as a new incarnation. The CLIs (`hb membership --json`,
`crm_node`) are run inside the nodes' namespaces. Timing figures are bench/membership.py's job."""

from __future__ import annotations

import json
import os

import pytest

from lab.lab import Lab
from lab.plan import LabSpec
import labs
from labs import ccm_view, running_lab

pytestmark = [pytest.mark.lab, pytest.mark.skipif(os.geteuid() != 0, reason="the namespace lab needs root")]

SPEC = LabSpec(name="ccmt", nodes=5, subnet="198.18.30.0/24")
ALL = ["node1", "node2", "node3", "node4", "node5"]
WAIT_S = 20.0


@pytest.fixture(scope="module")
def lab():
    with running_lab(SPEC) as lab:
        yield lab


def wait_agreed(lab: Lab, nodes: list[str], members: list[str], quorum: bool) -> None:
    labs.wait_agreed(lab, nodes, members, quorum, WAIT_S)


@pytest.fixture
def merged(lab):
    lab.heal_all()
    wait_agreed(lab, ALL, ALL, True)
    return lab


def run_in(lab: Lab, node: str, *argv: str) -> str:
    done = lab.exec(node, list(argv), capture=True, timeout_s=20)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_five_nodes_agree_and_the_clis_say_so(merged):
    lab = merged
    as_json = json.loads(run_in(lab, "node3", "hb", "membership", "--json"))
    assert as_json == {"instance": ccm_view(lab, "node1")["instance"], "members": ALL, "quorum": True}
    assert run_in(lab, "node2", "crm_node", "-q").strip() == "1"
    assert run_in(lab, "node2", "crm_node", "-p").split() == ALL
    assert run_in(lab, "node4", "crm_node", "-l").splitlines() == [f"{i} node{i} member" for i in range(1, 6)]
    human = run_in(lab, "node5", "hb", "membership")
    assert "quorum yes (5 of 5 votes, 3 needed)" in human and "(this node, uuid " in human


def test_partition_three_two_then_heal(merged):
    lab = merged
    before = ccm_view(lab, "node1")["instance"]
    lab.partition(["node1,node2,node3", "node4,node5"])
    wait_agreed(lab, ["node1", "node2", "node3"], ["node1", "node2", "node3"], True)
    wait_agreed(lab, ["node4", "node5"], ["node4", "node5"], False)
    three, two = ccm_view(lab, "node1")["instance"], ccm_view(lab, "node4")["instance"]
    assert three > before and two > before and three != two
    assert run_in(lab, "node4", "crm_node", "-q").strip() == "0"
    lab.heal_all()
    wait_agreed(lab, ALL, ALL, True)
    assert ccm_view(lab, "node1")["instance"] > max(three, two)


def test_killed_node_leaves_and_rejoins_as_a_new_incarnation(merged):
    lab = merged
    old = dict(zip(ccm_view(lab, "node1")["members"], ccm_view(lab, "node1")["incarnations"]))["node5"]
    lab.fail("node5", "kill")
    wait_agreed(lab, ALL[:4], ALL[:4], True)
    lab.heal("node5")  # restarts node5's stack
    wait_agreed(lab, ALL, ALL, True)
    new = dict(zip(ccm_view(lab, "node1")["members"], ccm_view(lab, "node1")["incarnations"]))["node5"]
    assert new > old
