"""The transition engine's core on graphs the policy engine itself wrote: inputs before their
dependents, the batch limit, failures and aborts at the right priority, timers, nodes that leave,
and a new graph that waits for the old one's actions in flight."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

import pytest

from core.graph import INFINITY, parse_graph
from core.messages.common import Reply
from core.messages.te import (TeAbort, TeActionLost, TeCancel, TeDone, TeEvent, TeGraph, TeInvoke, TeNodeLost, TeRecall,
                              TeRecalled, TeSignOn)
from core.sansio import Recv, Send, Tick
from pengine.simulate import run as simulate
from tengine.machine import FIRED, TeMachine

CRMD = b"crmd-1"
CIB = """<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.0" have-quorum="1">
 <configuration>
  <crm_config><cluster_property_set id="o">
   <nvpair id="o1" name="stonith-enabled" value="false"/>{batch}
  </cluster_property_set></crm_config>
  <nodes><node id="node1" uname="node1"/><node id="node2" uname="node2"/></nodes>
  <resources>
   <group id="g">
    <primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/>
    <primitive id="b" class="ocf" provider="pacemaker" type="Dummy"/>
   </group>
  </resources>
  <constraints><rsc_location id="l" rsc="g" node="node1" score="100"/></constraints>
 </configuration>
 <status>
  <node_state id="node1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member"/>
  <node_state id="node2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>
 </status>
</cib>
"""


def graph_text(tmp_path: Path) -> str:
    """The policy engine's graph for starting the group (4 probes, 2 starts, pseudo actions)."""
    cib = tmp_path / "cib.xml"
    cib.write_text(CIB.replace("{batch}", ""))
    out = tmp_path / "graph.xml"
    assert simulate(["-x", str(cib), "-G", str(out), "-Q"], stdout=io.StringIO()) == 0
    return out.read_text()


class Engine:
    """A TeMachine with a crmd signed on, and what it sent."""

    def __init__(self) -> None:
        self.te = TeMachine(pid=7)
        self.now = 1000
        self.step(Recv(CRMD, TeSignOn(1, "crmd", 99)))

    def step(self, event: object) -> list[object]:
        return self.te.step(self.now, event)

    def graph(self, text: str, tid: int = 1) -> list[object]:
        text = text.replace('transition_id="0"', f'transition_id="{tid}"')  # as crmd numbers them
        return self.step(Recv(CRMD, TeGraph(tid, tid, text)))

    def result(self, tid: int, invoke: TeInvoke, rc: Optional[int] = None, status: int = 0) -> list[object]:
        action = invoke.action
        target = int(action["attrs"].get("CRM_meta_op_target_rc", "0"))
        return self.step(Recv(CRMD, TeEvent(tid, int(action["id"]), action.get("on_node") or "",
                                            target if rc is None else rc, status, target)))


def invokes(effects: list[object]) -> list[TeInvoke]:
    return [e.msg for e in effects if isinstance(e, Send) and isinstance(e.msg, TeInvoke)]


def done(effects: list[object]) -> Optional[TeDone]:
    return next((e.msg for e in effects if isinstance(e, Send) and isinstance(e.msg, TeDone)), None)


def keys(items: list[TeInvoke]) -> list[str]:
    return sorted(i.action["operation_key"] + "@" + (i.action.get("on_node") or "") for i in items)


def test_inputs_first_then_dependents_in_order_then_complete(tmp_path):
    e = Engine()
    first = invokes(e.graph(graph_text(tmp_path)))
    assert keys(first) == ["a_monitor_0@node1", "a_monitor_0@node2", "b_monitor_0@node1", "b_monitor_0@node2"]
    fired: list[TeInvoke] = []
    for inv in first:
        fired += invokes(e.result(1, inv))
    assert keys(fired) == ["a_start_0@node1"], "b waits for a (group order)"
    nxt = invokes(e.result(1, fired[0]))
    assert keys(nxt) == ["b_start_0@node1"]
    out = e.result(1, nxt[0])
    summary = done(out)
    assert summary is not None and (summary.status, summary.next) == ("complete", "done")
    assert e.te.graph is None


def test_the_batch_limit_bounds_the_actions_in_flight(tmp_path):
    e = Engine()
    # (crmd hands the cluster option to the engine as a graph attribute)
    text = graph_text(tmp_path).replace("<transition_graph ", '<transition_graph batch-limit="1" ', 1)
    fired = invokes(e.graph(text))
    assert len(fired) == 1
    seen = 1
    while fired:
        fired = invokes(e.result(1, fired[0]))
        assert len(fired) <= 1 and e.te.in_flight() <= 1
        seen += len(fired)
    assert seen == 6


def test_a_failed_start_aborts_the_rest_and_asks_for_a_new_graph(tmp_path):
    e = Engine()
    fired: list[TeInvoke] = []
    for inv in invokes(e.graph(graph_text(tmp_path))):
        fired += invokes(e.result(1, inv))
    out = e.result(1, fired[0], rc=1)  # a_start_0 fails
    assert invokes(out) == [], "b is not started after a failed"
    summary = done(out)
    assert summary is not None and summary.next == "restart" and summary.status in ("terminated", "stopped")


def test_an_abort_at_infinity_fires_nothing_more_and_waits_for_what_runs(tmp_path):
    e = Engine()
    probes = invokes(e.graph(graph_text(tmp_path)))
    out = e.step(Recv(CRMD, TeAbort(INFINITY, "restart", "a node attribute changed")))
    assert done(out) is None, "four probes are still running"
    for inv in probes:
        out = e.result(1, inv)
        assert invokes(out) == []
    summary = done(out)
    assert summary is not None and (summary.status, summary.next) == ("terminated", "restart")


def test_an_action_that_never_reports_is_lost_after_its_timeout_and_the_cluster_delay(tmp_path):
    text = graph_text(tmp_path)
    e = Engine()
    probes = invokes(e.graph(text))
    graph = parse_graph(text)
    for inv in probes[1:]:
        e.result(1, inv)
    deadline = e.te.next_deadline_ms()
    assert deadline == 1000 + 20_000 + graph.cluster_delay_ms
    e.now = deadline - 1
    assert not [x for x in e.step(Tick()) if isinstance(x, Send) and isinstance(x.msg, TeActionLost)]
    e.now = deadline
    out = e.step(Tick())
    lost = [x.msg for x in out if isinstance(x, Send) and isinstance(x.msg, TeActionLost)]
    assert [m.action["id"] for m in lost] == [probes[0].action["id"]]
    assert done(out) is not None and done(out).next == "restart"


def test_actions_on_a_node_that_leaves_fail_at_once(tmp_path):
    e = Engine()
    probes = invokes(e.graph(graph_text(tmp_path)))
    for inv in probes:
        if inv.action["on_node"] == "node1":
            e.result(1, inv)
    out = e.step(Recv(CRMD, TeNodeLost("node2")))
    lost = [x.msg for x in out if isinstance(x, Send) and isinstance(x.msg, TeActionLost)]
    assert sorted(m.action["operation_key"] for m in lost) == ["a_monitor_0", "b_monitor_0"]
    assert done(out) is not None and done(out).next == "restart"


def test_a_new_graph_waits_for_the_old_ones_actions_in_flight(tmp_path):
    text = graph_text(tmp_path)
    e = Engine()
    probes = invokes(e.graph(text, tid=1))
    out = e.graph(text, tid=2)
    assert invokes(out) == [], "nothing of the new graph while the old one has actions in flight"
    reply = next(x.msg for x in out if isinstance(x, Send) and isinstance(x.msg, Reply))
    assert reply.ok and reply.result["after"] == 1
    for inv in probes[:-1]:
        assert invokes(e.result(1, inv)) == []
    out = e.result(1, probes[-1])
    assert done(out) is not None and done(out).transition_id == 1
    assert len(invokes(out)) == 4 and all(i.transition_id == 2 for i in invokes(out))


def test_a_cancelled_graph_fires_nothing_more(tmp_path):
    e = Engine()
    probes = invokes(e.graph(graph_text(tmp_path)))
    e.step(Recv(CRMD, TeCancel(1)))
    for inv in probes:
        assert invokes(e.result(1, inv)) == []
    assert e.te.graph is None


ORPHAN_GRAPH = """<transition_graph cluster-delay="60s" stonith-timeout="20s" failed-stop-offset="INFINITY"
 failed-start-offset="INFINITY" transition_id="0">
  <synapse id="0"><action_set>
    <rsc_op id="20" operation="stop" operation_key="base-d_stop_0" on_node="node3" on_node_uuid="node3">
      <primitive id="base-d" class="ocf" provider="pacemaker" type="Dummy"/>
      <attributes CRM_meta_timeout="20000"/></rsc_op></action_set>
    <inputs><trigger><pseudo_event id="24" operation="stop" operation_key="base_stop_0"/></trigger></inputs>
  </synapse>
  <synapse id="1"><action_set>
    <pseudo_event id="24" operation="stop" operation_key="base_stop_0"><attributes CRM_meta_timeout="20000"/></pseudo_event>
    </action_set>
    <inputs><trigger><pseudo_event id="17" operation="stopped" operation_key="web_stopped_0"/></trigger></inputs>
  </synapse>
  <synapse id="2"><action_set>
    <rsc_op id="26" operation="stop" operation_key="flaky_stop_0" on_node="node3" on_node_uuid="node3">
      <primitive id="flaky" class="ocf" provider="pacemaker" type="Dummy"/>
      <attributes CRM_meta_timeout="20000"/></rsc_op></action_set>
    <inputs/>
  </synapse>
</transition_graph>
"""


def test_actions_after_an_action_the_graph_does_not_hold_never_fire_and_the_rest_completes():
    """Pacemaker's scheduler orders after actions it did not schedule (here web_stopped_0: the
    group's stops on an unclean node of a partition without quorum are blocked), and crm_simulate
    writes the same graph. Refusing it (as we did) left the partition running what it must stop;
    its graph consumer runs the rest and never fires those synapses."""
    e = Engine()
    fired = invokes(e.graph(ORPHAN_GRAPH))
    assert keys(fired) == ["flaky_stop_0@node3"]
    summary = done(e.result(1, fired[0]))
    assert summary is not None and (summary.status, summary.next) == ("complete", "done")
    assert e.te.counters.get("unreachable_synapses") == 1


def test_an_action_sent_with_op_no_wait_is_confirmed_as_it_is_sent(tmp_path):
    # a node whose probe_complete attribute is false gets `probe_again` (op_no_wait) instead of
    # probes; nobody reports on it, and the graph completes without it
    cib = tmp_path / "cib.xml"
    cib.write_text(CIB.replace("{batch}", "").replace(
        '<node_state id="node2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>',
        '<node_state id="node2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">'
        '<transient_attributes id="node2"><instance_attributes id="s2">'
        '<nvpair id="s2-p" name="probe_complete" value="false"/>'
        '</instance_attributes></transient_attributes></node_state>'))
    out = tmp_path / "graph.xml"
    assert simulate(["-x", str(cib), "-G", str(out), "-Q"], stdout=io.StringIO()) == 0
    e = Engine()
    first = invokes(e.graph(out.read_text()))
    assert keys(first) == ["a_monitor_0@node1", "b_monitor_0@node1", "probe_again-node2@node2"]
    # the two probes, and a's start, which waits only for a's probe on node1 and goes with it (a
    # chain: node1 starts a if the probe finds it stopped); probe_again is not waited for
    assert [[t["action"]["operation_key"] for t in inv.then] for inv in first] == [["a_start_0"], [], []]
    assert e.te.in_flight() == 3
    fired: list[TeInvoke] = []
    for inv in first:
        if inv.action["operation"] != "probe_again":
            fired += invokes(e.result(1, inv))
    assert fired == [], "b's start waits for a's start, which node1 runs on its own"
    a_start = TeInvoke(1, first[0].then[0]["action"])
    fired = invokes(e.result(1, a_start))
    assert keys(fired) == ["b_start_0@node1"]
    summary = done(e.result(1, fired[0]))
    assert summary is not None and (summary.status, summary.next) == ("complete", "done")


MIGRATING = """<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.0" have-quorum="1">
 <configuration>
  <crm_config><cluster_property_set id="o">
   <nvpair id="o1" name="stonith-enabled" value="false"/>{limit}
  </cluster_property_set></crm_config>
  <nodes><node id="node1" uname="node1"/><node id="node2" uname="node2"/></nodes>
  <resources>{vms}</resources>
  <constraints>{locs}</constraints>
 </configuration>
 <status>{states}</status>
</cib>
"""


def migration_graph(tmp_path: Path, limit: str) -> str:
    """Three migratable resources running on node1 that must all move to node2."""
    vms = locs = ""
    history = {"node1": "", "node2": ""}
    for n in range(3):
        vms += (f'<primitive id="vm{n}" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes '
                f'id="vm{n}-m"><nvpair id="vm{n}-am" name="allow-migrate" value="true"/></meta_attributes>'
                '</primitive>')
        locs += f'<rsc_location id="l{n}" rsc="vm{n}" node="node2" score="100"/>'
        for node, (task, rc) in (("node1", ("start", 0)), ("node2", ("monitor", 7))):
            history[node] += (
                f'<lrm_resource id="vm{n}" class="ocf" provider="pacemaker" type="Dummy"><lrm_rsc_op '
                f'id="vm{n}_last_0" operation_key="vm{n}_{task}_0" operation="{task}" call-id="{n + 1}" '
                f'rc-code="{rc}" op-status="0" interval="0" transition-key="1:1:{rc}:x" '
                f'transition-magic="0:{rc};1:1:{rc}:x" on_node="{node}"/></lrm_resource>')
    states = "".join(f'<node_state id="{node}" uname="{node}" in_ccm="true" crmd="online" join="member" '
                     f'expected="member"><lrm id="{node}"><lrm_resources>{h}</lrm_resources></lrm></node_state>'
                     for node, h in history.items())
    cib = tmp_path / "migrating.xml"
    cib.write_text(MIGRATING.format(vms=vms, locs=locs, states=states, limit=limit))
    out = tmp_path / "migrating-graph.xml"
    assert simulate(["-x", str(cib), "-G", str(out), "-Q"], stdout=io.StringIO()) == 0
    return out.read_text()


def _run_counting_migrations(e: Engine, text: str) -> int:
    fired = invokes(e.graph(text))
    most = 0
    for _ in range(100):  # bounded
        if not fired:
            break
        busy = sum(1 for i in fired if i.action["operation"] in ("migrate_to", "migrate_from"))
        most = max(most, sum(1 for st in e.te.by_synapse if st.state == FIRED and
                             st.synapse.action.operation in ("migrate_to", "migrate_from")), busy)
        inv, fired = fired[0], fired[1:]
        fired += invokes(e.result(1, inv))
    assert e.te.graph is None, "the graph completed"
    return most


def test_migration_limit_bounds_the_live_migrations_in_flight_per_node(tmp_path):
    text = migration_graph(tmp_path, '<nvpair id="o2" name="migration-limit" value="1"/>')
    graph = parse_graph(text)
    assert graph.migration_limit == 1
    assert sum(1 for syn in graph.synapses if syn.action.operation == "migrate_to") == 3
    assert _run_counting_migrations(Engine(), text) == 1
    unlimited = migration_graph(tmp_path, "")
    assert _run_counting_migrations(Engine(), unlimited) == 3


# -- chains ------------------------------------------------------------------------------------------

def chained_start(tmp_path: Path) -> tuple[Engine, TeInvoke]:
    """The group's graph with b's probes answered first: a's start fires with b's in its chain."""
    e = Engine()
    probes = invokes(e.graph(graph_text(tmp_path)))
    fired: list[TeInvoke] = []
    for inv in sorted(probes, key=lambda i: i.action["operation_key"], reverse=True):  # b's probes first
        fired += invokes(e.result(1, inv))
    assert keys(fired) == ["a_start_0@node1"]
    return e, fired[0]


def test_a_chain_goes_with_its_first_action_and_runs_without_new_invokes(tmp_path):
    e, a = chained_start(tmp_path)
    assert [(t["action"]["operation_key"], t["after"]) for t in a.then] == [("b_start_0", [int(a.action["id"])])]
    b = TeInvoke(1, a.then[0]["action"])
    assert e.te.in_flight() == 2
    # b's timer starts when a's would end: it may wait that long on its node
    a_state, b_state = e.te.states[int(a.action["id"])], e.te.states[int(b.action["id"])]
    assert b_state.deadline_ms == a_state.deadline_ms + 20000
    assert invokes(e.result(1, a)) == []
    summary = done(e.result(1, b))
    assert summary is not None and (summary.status, summary.next) == ("complete", "done")


def test_a_failed_action_drops_what_its_chain_holds_behind_it(tmp_path):
    # the node drops b when a fails there; the engine does the same without waiting to hear it
    e, a = chained_start(tmp_path)
    out = e.result(1, a, rc=1)
    summary = done(out)
    assert summary is not None and summary.next == "restart" and e.te.graph is None
    assert e.te.counters.get("chained_dropped") == 1


def test_an_abort_recalls_chained_actions_and_waits_for_the_nodes_answer(tmp_path):
    e, a = chained_start(tmp_path)
    b_id = int(a.then[0]["action"]["id"])
    out = e.step(Recv(CRMD, TeAbort(INFINITY, "restart", "a node attribute changed")))
    recalls = [x.msg for x in out if isinstance(x, Send) and isinstance(x.msg, TeRecall)]
    assert [(r.transition_id, r.action_ids) for r in recalls] == [(1, (b_id,))]
    assert done(e.result(1, a)) is None, "b may have begun on its node: the engine waits for the answer"
    summary = done(e.step(Recv(CRMD, TeRecalled(1, (b_id,)))))
    assert summary is not None and (summary.status, summary.next) == ("terminated", "restart")
    assert e.te.counters.get("chained_recalled") == 1


def test_a_recalled_action_that_had_begun_reports_as_usual(tmp_path):
    e, a = chained_start(tmp_path)
    e.step(Recv(CRMD, TeAbort(INFINITY, "restart", "a node attribute changed")))
    assert done(e.result(1, a)) is None
    summary = done(e.result(1, TeInvoke(1, a.then[0]["action"])))  # the node had begun it: no recall answer
    assert summary is not None and summary.status == "terminated"


def test_a_node_that_leaves_fails_its_chained_actions_too(tmp_path):
    e, a = chained_start(tmp_path)
    out = e.step(Recv(CRMD, TeNodeLost("node1")))
    lost = [x.msg for x in out if isinstance(x, Send) and isinstance(x.msg, TeActionLost)]
    assert sorted(m.action["operation_key"] for m in lost) == ["a_start_0", "b_start_0"]
    assert done(out) is not None


def test_chains_stay_within_the_batch_limit(tmp_path):
    e = Engine()
    text = graph_text(tmp_path).replace("<transition_graph ", '<transition_graph batch-limit="2" ', 1)
    probes = invokes(e.graph(text))
    while probes:
        nxt: list[TeInvoke] = []
        for inv in probes:
            nxt += invokes(e.result(1, inv))
            assert e.te.in_flight() <= 2
        probes = nxt
