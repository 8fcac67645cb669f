"""The group member-action index of the flag propagation (`ordering._member_actions`): each
member's newest action of a task, kept per run while `WorkingSet.action_changes` is unchanged.
These tests change, between two asks, each thing the look-up reads (a member's new action, an
indexed action's task, a member action's flags) and compare with the look-up done afresh."""

from __future__ import annotations

import datetime as _dt

from core.cib.xmltree import parse_xml
from pengine import actions as act
from pengine import engine
from pengine import ordering
from pengine.model import A_OPTIONAL, A_RUNNABLE
from pengine.rscactions import new_cancel_action

NOW = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)
CIB = """<cib epoch="1" have-quorum="1"><configuration><crm_config/>
<nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
<resources><group id="g">
<primitive id="a" class="ocf" provider="pacemaker" type="Dummy"><operations>
<op id="a-mon" name="monitor" interval="10s"/></operations></primitive>
<primitive id="b" class="ocf" provider="pacemaker" type="Dummy"/>
</group></resources>
</configuration><status>
<node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>
<node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
</status></cib>"""


def _setup():
    ws = engine.unpack_cib(parse_xml(CIB, "t"), NOW)
    group = ws.rsc_by_id["g"]
    a, b = group.children
    return ws, group, a, b, ws.nodes[0], ws.nodes[1]


def _afresh(group, task: str):
    """What find_first_action answers for each member now (no index kept)."""
    return tuple(act.find_first_action(member.actions, None, task, None)
                 for member in group.children)


def _kept(group, task: str, remap: bool):
    members = ordering._member_actions(group, task, remap)
    assert members is not None
    return members


def test_a_member_action_added_between_two_asks_is_found() -> None:
    ws, group, a, b, n1, n2 = _setup()
    act.start_action(ws, a, n1, True)
    act.start_action(ws, b, n1, True)
    assert _kept(group, "start", False) == _afresh(group, "start")
    newer = act.start_action(ws, a, n2, True)  # same key, another node: a new action
    assert _kept(group, "start", False) == _afresh(group, "start")
    assert _kept(group, "start", False)[0] is newer


def test_an_indexed_action_whose_task_changed_is_no_longer_found() -> None:
    ws, group, a, b, n1, _ = _setup()
    mon = act.custom_action(ws, a, "a_monitor_10000", "monitor", n1, True, True)
    assert _kept(group, "monitor", False)[0] is mon
    cancel = new_cancel_action(ws, a, "monitor", 10000, n1)
    assert cancel is mon and mon.task == "cancel"
    assert _kept(group, "monitor", False) == _afresh(group, "monitor") == (None, None)


def test_group_flags_follow_member_flags_and_actions_changed_between_asks() -> None:
    """group_action_flags through the index equals the look-up done member by member
    (`_group_action_flags_by_lookup`) after each change: a member's flags cleared (read live,
    never kept), a newer unrunnable member action added."""
    ws, group, a, b, n1, n2 = _setup()
    starts = [act.start_action(ws, a, n1, True), act.start_action(ws, b, n1, True)]
    running = act.custom_action(ws, group, "g_running_0", "running", None, True, True)

    def both() -> tuple[int, int, int, int]:
        saved = running.flags
        kept = ordering.group_action_flags(running, None)
        kept_own = running.flags
        running.flags = saved
        fresh = ordering._group_action_flags_by_lookup(running, None)
        return kept, kept_own, fresh, running.flags

    kept, kept_own, fresh, fresh_own = both()
    assert (kept, kept_own) == (fresh, fresh_own) and kept & A_RUNNABLE
    starts[1].flags &= ~A_OPTIONAL  # a flag changed between two asks
    kept, kept_own, fresh, fresh_own = both()
    assert (kept, kept_own) == (fresh, fresh_own) and not kept & A_OPTIONAL
    newer = act.start_action(ws, a, n2, False)
    newer.flags &= ~A_RUNNABLE  # the newest start of a cannot run: "running" cannot either
    kept, kept_own, fresh, fresh_own = both()
    assert (kept, kept_own) == (fresh, fresh_own) and not kept & A_RUNNABLE


def test_a_member_that_is_not_a_primitive_is_looked_up_as_before() -> None:
    ws, group, a, _, n1, _ = _setup()
    act.start_action(ws, a, n1, True)
    members = group.children
    group.children = [group]  # (a member of another variant: its own method answers)
    try:
        assert ordering._member_actions(group, "start", False) is None
    finally:
        group.children = members
