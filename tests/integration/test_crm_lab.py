"""Resources with real processes: heartbeat's story in haresources mode on a 2-node namespace lab,
and a 3-node CIB-mode cluster whose placements must equal the policy engine's for its own CIB.
A client-side observer watches the floating address throughout and fails the test if it is ever
answered by two nodes at once.

Haresources story (auto_failback on): node1 alone takes the group (address, then a TCP service);
node2 joins and nothing moves; node1's link is cut and node2 takes the group, address first; the
link comes back and the group returns (stopped on node2 in reverse order first); hb_standby and
hb_takeover move it away and back; a killed service is restarted in place by its monitor and the
group moves after migration-threshold failures. With auto_failback off the group stays where it
went."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from crmlab import (BENCH_SVC, PORT, answer, cib, kill_service, ops, wait_answer, wait_idle, watching)
from labs import running_lab
from lab import plan
from lab.cibs import web_group_cib
from lab.lab import Lab, wait_until
from lab.plan import LabSpec
from tools import crmclient

pytestmark = [pytest.mark.lab]
ROOT = os.geteuid() == 0
if not ROOT:
    if os.environ.get("CI"):
        raise RuntimeError("CI runs as root: the namespace lab tests must run there")
    pytestmark.append(pytest.mark.skip(reason="the namespace lab needs root"))

GROUP = ["node1 IPaddr2::{vip}/24/eth0 tcpsvc::%d" % PORT]
IP = "IPaddr2_198_18_70_100"


def spec(name: str, subnet: str, auto_failback: str = "on") -> LabSpec:
    return LabSpec(name=name, nodes=2, subnet=subnet, haresources=tuple(GROUP), scripts=(BENCH_SVC,),
                   auto_failback=auto_failback, run_stack=False)


def call_order(lab: Lab, node: str, operation: str, since: int = 0) -> list[str]:
    return [rsc for call, rsc, op, rc in ops(lab, node, node) if op == operation and call > since and rc == 0]


def recorded_order(lab: Lab, node: str, operation: str, count: int, since: int = 0) -> list[str]:
    """call_order once `count` such operations are recorded: the service may answer a moment
    before its start's result has reached the CIB."""
    wait_until(lambda: len(call_order(lab, node, operation, since)) >= count, 5,
               f"{count} {operation} results of {node} in the CIB", lambda: call_order(lab, node, operation, since))
    return call_order(lab, node, operation, since)


def last_call(lab: Lab, node: str) -> int:
    calls = [c for c, _, _, _ in ops(lab, node, node)]
    return max(calls) if calls else 0


def hb_tool(lab: Lab, node: str, tool: str, which: str = "all") -> None:
    """hb_standby / hb_takeover as an integrator runs them on a node."""
    crmclient.standby(lab.paths(node), which, takeover=(tool == "hb_takeover"))


def set_meta(lab: Lab, node: str) -> None:
    """Monitors every second and a migration threshold of 2, as an administrator would set them."""
    root = cib(lab, node)
    assert root is not None
    for op in root.iter("op"):
        crmclient.update_cib(lab.paths(node), "modify",
                             f'<op id="{op.get("id")}" interval="1s" timeout="20s"/>', "resources")
    crmclient.update_cib(lab.paths(node), "modify",
                         '<rsc_defaults><meta_attributes id="rsc-options"><nvpair id="rsc-options-mt" '
                         'name="migration-threshold" value="2"/></meta_attributes></rsc_defaults>', "rsc_defaults")


def test_heartbeat_story_in_haresources_mode():
    with running_lab(spec("tcrm", "198.18.70.0/24")) as lab:
        lab.start_node("node1")
        with watching(lab) as watch:
            wait_answer(lab, "node1", 30)  # after initdead: node2 is not there
            assert recorded_order(lab, "node1", "start", 2) == [IP, "tcpsvc"]

            lab.start_node("node2")
            wait_idle(lab, ["node1", "node2"], 30)
            assert answer(lab, plan.vip(lab.spec)) == "node1"
            assert call_order(lab, "node2", "start") == [], "nothing moved when node2 joined"

            before = last_call(lab, "node2")
            lab.fail("node1", "link")
            wait_answer(lab, "node2", 10)
            assert recorded_order(lab, "node2", "start", 2, before) == [IP, "tcpsvc"], "address first, then service"

            before = last_call(lab, "node2")
            lab.heal("node1")
            wait_answer(lab, "node1", 20)  # auto_failback on
            wait_idle(lab, ["node1", "node2"])
            assert call_order(lab, "node2", "stop", before) == ["tcpsvc", IP], "stopped in reverse order"

            hb_tool(lab, "node1", "hb_standby")
            wait_answer(lab, "node2", 10)
            hb_tool(lab, "node1", "hb_takeover")
            wait_answer(lab, "node1", 10)
            wait_idle(lab, ["node1", "node2"])

            set_meta(lab, "node2")
            wait_idle(lab, ["node1", "node2"])
            before = last_call(lab, "node1")
            kill_service(lab, "node1")
            wait_until(lambda: "tcpsvc" in call_order(lab, "node1", "start", before), 10,
                       "the monitor to restart the service in place")
            wait_answer(lab, "node1", 10)
            kill_service(lab, "node1")
            wait_answer(lab, "node2", 15)  # the second failure reaches migration-threshold 2
            summary = watch.events()
        assert any(e.get("ev") == "tcp_up" for e in summary)
        lab.stop_node("node2")
        lab.stop_node("node1")


def test_auto_failback_off_leaves_the_group_where_it_went():
    with running_lab(spec("tcrmo", "198.18.71.0/24", auto_failback="off")) as lab:
        lab.start_node("node1")
        lab.start_node("node2")
        with watching(lab):
            wait_answer(lab, "node1", 30)
            wait_idle(lab, ["node1", "node2"], 30)
            before = last_call(lab, "node1")
            lab.fail("node1", "link")
            wait_answer(lab, "node2", 10)
            lab.heal("node1")
            wait_idle(lab, ["node1", "node2"], 20)
            # (the client may need a moment: its neighbour entry ignores a new owner's gratuitous
            # ARP within a second of the previous update, and the cut came right after the start)
            wait_answer(lab, "node2", 5)  # auto_failback off: the group stays
            assert call_order(lab, "node1", "start", before) == [], "node1 took nothing back"
        status = crmclient.status(lab.paths("node1"))
        assert status["role"] == "dc"


# -- CIB mode: three nodes, constraints, and the policy engine's own placement ------------------------
CIB = web_group_cib(
    {"stonith-enabled": "false", "no-quorum-policy": "stop"}, monitor="2s", stickiness=50,
    extra_resources="""
   <primitive id="db" class="ocf" provider="pyheartbeat" type="Dummy">
    <operations><op id="db-mon" name="monitor" interval="2s" timeout="20s"/></operations>
   </primitive>
   <primitive id="mail" class="ocf" provider="pyheartbeat" type="Dummy">
    <operations><op id="mail-mon" name="monitor" interval="2s" timeout="20s"/></operations>
   </primitive>""",
    constraints="""
   <rsc_location id="web-on-1" rsc="web" node="node1" score="100"/>
   <rsc_location id="db-on-2" rsc="db" node="node2" score="50"/>
   <rsc_location id="db-not-3" rsc="db" node="node3" score="-INFINITY"/>
   <rsc_colocation id="mail-with-db" rsc="mail" with-rsc="db" score="INFINITY"/>
   <rsc_order id="db-then-mail" first="db" then="mail"/>""")


def engine_agrees(lab: Lab, observer: str, tmp_dir: str) -> tuple[bool, object]:
    """(the policy engine schedules nothing more for the CIB the cluster holds, its placement)"""
    root = crmclient.query_cib(lab.paths(observer))["xml"]
    path = os.path.join(tmp_dir, "cib-now.xml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(root)
    out = subprocess.run([sys.executable, "-m", "pengine.simulate", "-x", path, "--json"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    return not data["actions"], data["placement"]


def test_cib_mode_placement_is_the_policy_engines(tmp_path):
    cib_file = tmp_path / "cib.xml"
    cib_file.write_text(CIB)
    lab_spec = LabSpec(name="tcib", nodes=3, subnet="198.18.72.0/24", crm=True, cib=str(cib_file),
                       scripts=(BENCH_SVC,))
    with running_lab(lab_spec) as lab:
        nodes = ["node1", "node2", "node3"]
        with watching(lab):
            wait_answer(lab, "node1", 30)
            wait_idle(lab, nodes, 30)
            done, placement = engine_agrees(lab, "node3", str(tmp_path))
            assert done and placement == {"vip": "node1", "svc": "node1", "db": "node2", "mail": "node2"}, placement

            lab.fail("node2", "kill")  # db (and mail with it) must go to node1: never node3
            wait_until(lambda: engine_agrees(lab, "node1", str(tmp_path))[0] and
                       engine_agrees(lab, "node1", str(tmp_path))[1].get("db") == "node1", 20,
                       "db and mail to move to node1")
            assert engine_agrees(lab, "node1", str(tmp_path))[1]["mail"] == "node1"

            lab.heal("node2")
            wait_idle(lab, nodes, 30)
            # (idle between two transitions is possible: the rejoined node's history may still
            # be on its way; what counts is that the cluster comes to rest where the engine says)
            wait_until(lambda: engine_agrees(lab, "node2", str(tmp_path))[0], 10, "the cluster to rest",
                       lambda: engine_agrees(lab, "node2", str(tmp_path)))
            done, placement = engine_agrees(lab, "node2", str(tmp_path))
            assert placement["db"] == placement["mail"] != "node3", placement

            lab.fail("node1", "link")
            wait_answer(lab, "node2", 15)
            wait_idle(lab, ["node2", "node3"], 20)
            done, placement = engine_agrees(lab, "node3", str(tmp_path))
            assert done and placement["db"] == "node2" and placement["vip"] == "node2", placement
            # an operator changes the configuration on both sides (crm_attribute --lifetime
            # forever): node1, alone and without quorum, answers that its change may be lost;
            # the majority's answer is plain, and its change is the one that stays
            alone = crmclient.node_attr(lab.paths("node1"), "node1", "lab-alone", "1", "forever")
            majority = crmclient.node_attr(lab.paths("node2"), "node2", "lab-majority", "1", "forever")
            assert "majority" in (alone.get("warning") or ""), alone
            assert not majority.get("warning"), majority
            lab.heal("node1")
            wait_idle(lab, nodes, 30)
            assert engine_agrees(lab, "node1", str(tmp_path))[0]
            names = {nv.get("name") for node in cib(lab, "node1").iter("node") for nv in node.iter("nvpair")}
            assert "lab-majority" in names and "lab-alone" not in names, names
