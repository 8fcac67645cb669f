"""fence-agents' fence_heuristics_ping in a fencing level before the lab's power switch: in a
two-node fence race the node that still reaches the clients' side wins.

Two nodes split (each keeps quorum: two_node) and each asks to fence the other. The lab's switch
alone decides the race by its static delay (fencing node2 waits 1 s, so node2 always survives),
whichever node the clients can still reach. Here node2 loses node1 *and* the client namespace
(its cluster link stays up, so it does not give up as an isolated node), and both levels start
with fence_heuristics_ping, pinging the client: node1's ping answers at once and its fencing of
node2 goes through, while node2's level waits on a ping that cannot answer (then fails), so node1
is never shot and the group stays where the clients reach it. With the
switch alone (the lab's default) node1 would be shot and the group would move to node2, which
no client reaches. The observer in the client namespace fails the test if two nodes ever answer
for the address.
"""

from __future__ import annotations

import os
import shutil

import pytest

import ciaware
from crmlab import BENCH_SVC, PORT, answer, fenced, wait_answer, wait_idle, watching
from labs import running_lab
from lab import plan
from lab.cibs import web_group_cib
from lab.lab import wait_until
from lab.plan import LabSpec

pytestmark = [pytest.mark.lab]
if os.geteuid() != 0:
    if os.environ.get("CI"):
        raise RuntimeError("CI runs as root: the namespace lab tests must run there")
    pytestmark.append(pytest.mark.skip(reason="the namespace lab needs root"))

HEURISTICS = shutil.which("fence_heuristics_ping", path="/usr/sbin:/sbin")
SUBNET = "198.18.90.0/24"


def need(what: bool, why: str) -> None:
    ciaware.need(what, f"{why} (CI installs it: .ci/run)")


def heuristics_cib(client: str) -> str:
    """The web group on node1 (location 100), and a level per node: the ping heuristic, then the
    lab's switch (`plan.with_stonith` adds it as `fence-lab`). One probe, one second at most:
    the agent's interval and timeout are whole seconds."""
    heuristic = (f'<primitive id="ping-gw" class="stonith" type="fence_heuristics_ping">'
                 f'<instance_attributes id="ping-gw-ia">'
                 f'<nvpair id="ping-gw-targets" name="ping_targets" value="{client}"/>'
                 f'<nvpair id="ping-gw-count" name="ping_count" value="1"/>'
                 f'<nvpair id="ping-gw-good" name="ping_good_count" value="1"/>'
                 f'<nvpair id="ping-gw-timeout" name="ping_timeout" value="1"/>'
                 f'<nvpair id="ping-gw-hosts" name="pcmk_host_list" value="node1,node2"/>'
                 f'</instance_attributes></primitive>')
    levels = "".join(f'<fencing-level id="level-{node}" target="{node}" index="1" devices="ping-gw,{plan.FENCE_DEVICE}"/>'
                     for node in ("node1", "node2"))
    text = web_group_cib({"no-quorum-policy": "stop", "stonith-timeout": "20s", "stonith-action": "off"},
                         monitor="2s", constraints='<rsc_location id="web-on-1" rsc="web" node="node1" score="100"/>',
                         extra_resources=heuristic)
    return text.replace("</constraints>", f"</constraints><fencing-topology>{levels}</fencing-topology>", 1)


def test_the_node_the_clients_still_reach_wins_the_fence_race(tmp_path):
    need(HEURISTICS is not None, "needs fence-agents' fence_heuristics_ping")
    cib_file = tmp_path / "cib.xml"
    spec = LabSpec(name="theur", nodes=2, subnet=SUBNET, crm=True, cib=str(cib_file), scripts=(BENCH_SVC,),
                   stonith="lab")
    cib_file.write_text(heuristics_cib(plan.address(spec, "client")))
    with running_lab(spec) as lab:
        with watching(lab):
            wait_answer(lab, "node1", 40)
            wait_idle(lab, ["node1", "node2"], 30)
            lab.cut("node2", "client")
            lab.partition(["node1", "node2"])
            # node1 fences node2 (its ping of the client answers); node2's fencing of node1 fails
            # at the heuristic, however often it tries
            wait_until(lambda: (lab.refresh() or "off" in lab.state.nodes["node2"].faults), 20,
                       "node1 to power node2 off")
            assert "off" not in lab.state.nodes["node1"].faults
            assert answer(lab, plan.vip(lab.spec), PORT) == "node1"
            # the switch powers node2 off before the agent returns and stonithd records the
            # fencing as done: wait for the record, not for the power
            wait_until(lambda: bool(fenced(lab, "node1", "node2")), 20,
                       "node1's stonithd to record node2's fencing as done")
            done = fenced(lab, "node1", "node2")
            assert [(r.get("origin"), r.get("executor")) for r in done] == [("node1", "node1")], done
            # node2 comes back and rejoins; the group never left node1
            lab.heal_all()
            wait_idle(lab, ["node1", "node2"], 40)
            assert answer(lab, plan.vip(lab.spec), PORT) == "node1"
