"""The DC's actions in flight on a member are confirmed by whatever way their result arrives.

The fault campaign (`hb cts`, 30 % loss on the group's node, fault #71 of bench/campaign.py's
run) left a DC waiting in its transition for over a minute: the member's stop had finished and its
result was in the DC's CIB, but it had arrived as part of a whole history (sent again after the
member's join), which the DC recorded without telling its transition engine. The engine waited
for the action timer (timeout + cluster-delay)."""

from __future__ import annotations

from core.cib.status import transition_key
from core import wire
from core.messages.hbapi import SendCluster
from core.messages.te import TeEvent
from crmd.cib import Cib, empty_cib
from crmd.machine import CrmdConfig, CrmdMachine, View
from sim.cluster import SubRng


def dc_with_action_in_flight() -> tuple[CrmdMachine, str]:
    m = CrmdMachine(CrmdConfig(node="node1", nodes=("node1", "node2"), pid=1, cib=Cib(empty_cib())), SubRng(7))
    m.role = "dc"
    m.view = View(392, ("node1", "node2"), True)
    m.joined_nodes["node2"] = 1
    m.te_running = 39
    m.inflight["node2"] = {(39, 14): 0}
    return m, transition_key(14, 39, 0, m.te_uuid)


def history(key: str, call_id: int = 12, rc: int = 0, status: int = 0) -> str:
    return ('<lrm id="node2"><lrm_resources><lrm_resource id="svc" class="ocf" provider="heartbeat" type="Dummy">'
            f'<lrm_rsc_op id="svc_last_0" operation="stop" call-id="{call_id}" rc-code="{rc}" op-status="{status}" '
            f'interval="0" transition-key="{key}" on_node="node2"/></lrm_resource></lrm_resources></lrm>')


def events(effects: list[object]) -> list[TeEvent]:
    return [e.msg for e in effects if type(getattr(e, "msg", None)) is TeEvent]  # type: ignore[attr-defined]


def test_a_result_in_a_history_sent_again_confirms_the_action():
    m, key = dc_with_action_in_flight()
    out: list[object] = []
    m._dc_lrm_replace(1000, "node2", history(key), out)
    ev = events(out)
    assert [(e.transition_id, e.action_id, e.node, e.rc, e.op_status) for e in ev] == [(39, 14, "node2", 0, 0)]
    assert m.inflight["node2"] == {}
    # the same history again confirms nothing twice
    out = []
    m._dc_lrm_replace(1100, "node2", history(key), out)
    assert events(out) == []


def test_a_failed_result_reaches_the_engine_as_failed():
    m, key = dc_with_action_in_flight()
    out: list[object] = []
    m._dc_lrm_replace(1000, "node2", history(key, rc=1, status=4), out)
    assert [(e.rc, e.op_status) for e in events(out)] == [(1, 4)]


def test_a_pending_record_or_another_dcs_key_confirms_nothing():
    m, key = dc_with_action_in_flight()
    for text in (history(key, call_id=-1), history(key, status=-1),
                 history(transition_key(14, 39, 0, "0fd8b2d4-0000-0000-0000-000000000000"))):
        out: list[object] = []
        m._dc_lrm_replace(1000, "node2", text, out)
        assert events(out) == []
    assert m.inflight["node2"] == {(39, 14): 0}


def test_a_member_that_drops_a_held_action_tells_its_dc():
    """A member stalled while its DC's action was on the way holds it until ccm confirms the
    view; if the view changed meanwhile the action is dropped. Its DC's engine waits for it
    until the action timer unless the member says so."""
    from core.graph import GraphAction
    from core.messages.crm import ActionDone

    m = CrmdMachine(CrmdConfig(node="node2", nodes=("node1", "node2"), pid=1, cib=Cib(empty_cib())), SubRng(3))
    m.view = View(392, ("node1", "node2"), True)
    action = GraphAction(id=15, kind="rsc_op", operation="stop", operation_key="vip_stop_0", on_node="node2",
                         rsc_id="vip", rsc_class="ocf", rsc_provider="heartbeat", rsc_type="IPaddr2")
    key = "15:39:0:6b2028fe-97cf-9086-9644-ea26d265a311"
    out: list[object] = []
    m._held_action_void("run", (39, key, action.to_wire()), out)
    sent = [(e.msg.dest, wire.decode(e.msg.payload)) for e in out
            if type(getattr(e, "msg", None)) is SendCluster]
    assert [(dest, type(msg)) for dest, msg in sent] == [("node1", ActionDone)]
    done = sent[0][1]
    assert (done.node, done.transition_id, done.action_id, done.key, done.ok) == ("node2", 39, 15, key, False)


def test_a_tool_request_the_lost_dc_never_answered_fails_at_once_when_this_node_becomes_dc():
    """A member forwards a tool's change to its DC; the DC dies and this node becomes the DC.
    The tool gets an error with the new view, not silence until its own timeout (10 s)."""
    from core.messages.ccm import MembershipEvent
    from core.messages.common import Reply
    from core.sansio import Recv, Send

    for me, survivors in (("node2", ["node2", "node3"]), ("node3", ["node2", "node3"])):
        m = CrmdMachine(CrmdConfig(node=me, nodes=("node1", "node2", "node3"), pid=1, cib=Cib(empty_cib())),
                        SubRng(5))
        m.view = View(10, ("node1", "node2", "node3"), True)
        m.role, m.joined = "member", True
        m.messaging.connected(0, 1)
        out: list[object] = []
        m._request(0, "cleanup", {"rsc": "flaky"}, out, (b"tool", 77))
        assert [e for e in out if type(getattr(e, "msg", None)) is SendCluster and e.msg.dest == "node1"]
        out = m.step(100, Recv("ccm", MembershipEvent("view", 11, survivors, [1, 1], "node2", True, me)))
        replies = [e.msg for e in out if isinstance(e, Send) and e.dest == b"tool"]
        assert len(replies) == 1 and isinstance(replies[0], Reply), (me, out)
        assert not replies[0].ok and "DC changed" in (replies[0].error or "")
