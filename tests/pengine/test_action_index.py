"""A resource's actions are found through its `ActionList` indexes (by key, by task, by key and
node). `find_actions` and `find_first_action` answer from an index's list without matching
again what the index guarantees; these tests pin the two facts that shortcut relies on."""

from __future__ import annotations

import datetime as _dt

from core.cib.xmltree import parse_xml
from pengine import actions as act
from pengine import engine
from pengine.opconfig import op_names_odd_case
from pengine.rscactions import new_cancel_action

NOW = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)
CIB = """<cib epoch="1" have-quorum="1"><configuration><crm_config/>
<nodes><node id="1" uname="a"/></nodes>
<resources><primitive id="r" class="ocf" provider="pacemaker" type="Dummy"><operations>
<op id="r-mon" name="monitor" interval="10s"/></operations></primitive></resources>
</configuration><status><node_state id="1" uname="a" in_ccm="true" crmd="online" join="member"
expected="member"/></status></cib>"""


def _setup():
    ws = engine.unpack_cib(parse_xml(CIB, "t"), NOW)
    return ws, ws.rsc_by_id["r"], ws.nodes[0]


def test_an_action_whose_task_changed_is_not_found_by_its_old_task() -> None:
    """A cancel asked for with the key of an existing recurring action takes that action and
    changes its task after it was indexed under "monitor": a search by task must not answer
    with it (the task index's list is checked again, unlike the key index's)."""
    ws, rsc, node = _setup()
    mon = act.custom_action(ws, rsc, "r_monitor_10000", "monitor", node, True, True)
    assert act.find_first_action(rsc.actions, None, "monitor", node) is mon
    assert act.find_first_action(rsc.actions, None, "monitor", None) is mon
    cancel = new_cancel_action(ws, rsc, "monitor", 10000, node)
    assert cancel is mon and mon.task == "cancel"
    assert act.find_first_action(rsc.actions, None, "monitor", node) is None
    assert act.find_first_action(rsc.actions, None, "monitor", None) is None
    # by key it is still there (a key never changes)
    assert act.find_first_action(rsc.actions, "r_monitor_10000", None, node) is mon
    assert act.find_first_action(rsc.actions, "r_monitor_10000", "cancel", None) is mon
    assert act.find_first_action(rsc.actions, "r_monitor_10000", "monitor", None) is None


def test_found_actions_are_a_copy_of_the_index() -> None:
    """Callers iterate and extend what find_actions returns (orderings are added while they
    run); the key index itself must not change with it."""
    ws, rsc, node = _setup()
    first = act.start_action(ws, rsc, node, True)
    found = act.find_actions(rsc.actions, "r_start_0", None)
    assert found == [first]
    found.append(first)
    assert act.find_actions(rsc.actions, "r_start_0", None) == [first]
    assert rsc.actions.by_key["r_start_0"] == [first]


def test_the_newest_match_is_found_first() -> None:
    """Pacemaker prepends to its lists: the newest action with the key (or task) comes first,
    on the node asked for or any node."""
    ws, rsc, node = _setup()
    floating = act.custom_action(ws, rsc, "r_stop_0", "stop", None, True, False)
    assert floating.id == -1  # not saved: the list holds saved actions only
    older = act.stop_action(ws, rsc, node, True)
    other = act.custom_action(ws, rsc, "r_monitor_0", "monitor", node, True, True)
    assert act.find_first_action(rsc.actions, None, "stop", None) is older
    assert act.find_first_action(rsc.actions, None, "monitor", node) is other
    assert act.find_first_action(rsc.actions, "r_stop_0", None, None) is older
    assert act.find_first_action(rsc.actions, "r_nothing_0", None, None) is None
    assert act.find_first_action(rsc.actions, None, "promote", node) is None


def test_the_first_found_is_find_actions_first_with_its_effect() -> None:
    """custom_action reads only the first of find_actions' answer (`_first_found`, without
    the copy): the same action, and the same node-less actions given the node, as
    find_actions on the same history; by key alone, on a node, and with node-less ones."""
    answers = []
    for first_of in (lambda actions, key, node: (act.find_actions(actions, key, node) or
                                                 [None])[0],
                     act._first_found):
        ws, rsc, node = _setup()
        other = act.custom_action(ws, rsc, "r_start_0", "start", node, True, True)
        floating = act.custom_action(ws, rsc, "r_stop_0", "stop", None, True, True)
        act.custom_action(ws, rsc, "r_stop_0", "stop", None, True, False)  # not saved
        asked = [first_of(rsc.actions, key, where)
                 for key, where in (("r_start_0", None), ("r_start_0", node),
                                    ("r_stop_0", None), ("r_stop_0", node),
                                    ("r_stop_0", node), ("r_none_0", node), ("r_none_0", None))]
        answers.append(([None if a is None else (a.id, a.uuid) for a in asked],
                        floating.node is node, other.node is node,
                        sorted((k, n is None) for k, n in rsc.actions.by_key_node
                               if rsc.actions.by_key_node[(k, n)])))
    assert answers[0] == answers[1]
    assert answers[1][1]  # the node-less stop was given the node, as find_actions gives it


def test_whether_an_op_name_is_in_odd_case_follows_the_ops_element() -> None:
    """The ops element keeps whether one of its op names is not in lower case (OpEntries,
    valid while its child list is the same): a changed list is read again."""
    ops = parse_xml('<operations><op id="m" name="monitor" interval="10s"/></operations>', "t")
    assert op_names_odd_case(ops) is False
    ops.children = ops.children + [parse_xml('<op id="M" name="Monitor" interval="20s"/>', "t")]
    assert op_names_odd_case(ops) is True
    ops.children = ops.children[:1]
    assert op_names_odd_case(ops) is False
