"""Unit tests for colocation score rules of Pacemaker 2.1.5 that the corpus pins only through
whole cases: how a group's node scores are merged into a resource it is colocated with
(pcmk__add_colocated_node_scores, init_group_colocated_nodes) and which weight an unmanaged
resource's assigned node carries (pcmk__primitive_assign -> pcmk__finalize_assignment).

Every expected score below was printed by Pacemaker 2.1.5's `crm_simulate -s` on the same CIB;
the comments say which rule gives it."""

from __future__ import annotations

import datetime as dt

from core.cib.xmltree import parse_xml
from pengine.engine import schedule
from pengine.model import WorkingSet

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _prim(rid: str, agent: str = "Dummy") -> str:
    return f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="{agent}"/>'


def _cib(resources: str, constraints: str, status: str = "", node1: str = "") -> str:
    nodes = f'<node id="1" uname="node1"{node1}/><node id="2" uname="node2"/>'
    status = status or "".join(
        f'<node_state id="{i}" uname="node{i}" in_ccm="true" crmd="online" join="member" '
        f'expected="member"/>' for i in (1, 2))
    return ('<cib have-quorum="1" epoch="1" num_updates="0" admin_epoch="0"><configuration>'
            '<crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" '
            f'value="false"/></cluster_property_set></crm_config><nodes>{nodes}</nodes>'
            f"<resources>{resources}</resources><constraints>{constraints}</constraints>"
            f"</configuration><status>{status}</status></cib>")


def _run(cib: str) -> WorkingSet:
    return schedule(parse_xml(cib), NOW, show_scores=True)


def _scores(ws: WorkingSet, function: str, rsc: str) -> dict[str, str]:
    prefix = f"{function}: {rsc} allocation score on "
    return dict(line[len(prefix):].split(": ") for line in ws.score_lines
                if line.startswith(prefix))


def _placed(ws: WorkingSet, rsc: str) -> str | None:
    node = ws.rsc_by_id[rsc].allocated_to
    return None if node is None else node.uname


# ---- a group merged into the resource it is colocated with ---------------------------------

_GROUP = '<group id="G">' + _prim("m1") + _prim("m2") + "</group>"
_GROUP_CONS = ('<rsc_colocation id="c1" rsc="G" with-rsc="P" score="INFINITY"/>'
               '<rsc_colocation id="c2" rsc="X" with-rsc="G" score="INFINITY"/>'
               '<rsc_location id="l1" rsc="X" node="node2" score="100"/>')


def test_group_not_yet_assigned_brings_only_its_members_scores():
    # P is assigned before G: "X with G" is still on G itself (expand_group_colocations has
    # not moved it to the last member), and init_group_colocated_nodes merges G through its
    # first member, then the last member's "with this" colocations: X is never reached
    ws = _run(_cib(_prim("P") + _GROUP + _prim("X"), _GROUP_CONS))
    assert _scores(ws, "pcmk__primitive_assign", "P") == {"node1": "0", "node2": "0"}
    assert _scores(ws, "pcmk__primitive_assign", "X") == {"node1": "0", "node2": "-INFINITY"}
    assert [_placed(ws, r) for r in ("P", "m1", "m2", "X")] == ["node1"] * 4


def test_assigned_group_brings_its_last_members_dependents_through_both_paths():
    # G is assigned first, so "X with G" now is "X with m2": merging G into P walks m1 -> m2
    # -> X (the internal colocations at full strength) and then, at the group's level, the
    # last member's "with this" colocations again -> X: X's 100 counts twice
    ws = _run(_cib(_GROUP + _prim("P") + _prim("X"), _GROUP_CONS))
    assert _scores(ws, "pcmk__primitive_assign", "P") == {"node1": "0", "node2": "200"}
    assert _scores(ws, "pcmk__primitive_assign", "m2") == {"node1": "-INFINITY",
                                                           "node2": "100"}
    assert [_placed(ws, r) for r in ("P", "m1", "m2", "X")] == ["node2"] * 4


# ---- an unmanaged promotable instance as the primary of a mandatory role colocation ---------

_UNMANAGED_CLONE = (
    '<clone id="PC"><meta_attributes id="PC-m"><nvpair id="PC-m1" name="promotable" '
    'value="true"/><nvpair id="PC-m2" name="clone-max" value="1"/><nvpair id="PC-m3" '
    'name="is-managed" value="false"/></meta_attributes>' + _prim("S", "Stateful") + "</clone>")


def _unmanaged_case(probe_rc: int, role: str, node1: str = "") -> str:
    probe = ('<lrm_rsc_op id="S_last_0" operation_key="S_monitor_0" operation="monitor" '
             f'transition-key="1:1:7:x" transition-magic="0:{probe_rc};1:1:7:x" call-id="1" '
             f'rc-code="{probe_rc}" op-status="0" interval="0" last-rc-change="1700000000"/>')
    status = ('<node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" '
              'expected="member"><lrm id="1"><lrm_resources><lrm_resource id="S" class="ocf" '
              f'provider="pacemaker" type="Stateful">{probe}</lrm_resource></lrm_resources>'
              '</lrm></node_state><node_state id="2" uname="node2" in_ccm="true" crmd="online" '
              'join="member" expected="member"/>')
    cons = ('<rsc_location id="l1" rsc="PC" node="node1" score="-INFINITY"/>'
            f'<rsc_colocation id="c1" rsc="D" with-rsc="PC" with-rsc-role="{role}" '
            'score="INFINITY"/>')
    return _cib(_UNMANAGED_CLONE + _prim("D"), cons, status, node1)


def test_unmanaged_instance_banned_from_its_node_does_not_ban_its_dependent():
    # the unmanaged instance stays on node1 although its allowed score there is -INFINITY;
    # pcmk__finalize_assignment copies pe__current_node's node, whose weight (0) is what
    # node_list_exclude adds to D there
    for probe_rc, role in ((0, "Unpromoted"), (8, "Promoted")):
        ws = _run(_unmanaged_case(probe_rc, role))
        assert _scores(ws, "pcmk__primitive_assign", "S:0") == {"node1": "-INFINITY",
                                                                "node2": "0"}
        assert _placed(ws, "S:0") == "node1"
        assert _scores(ws, "pcmk__primitive_assign", "D") == {"node1": "0",
                                                              "node2": "-INFINITY"}, role
        assert _placed(ws, "D") == "node1"


def test_unmanaged_instance_passes_on_the_nodes_own_weight():
    # node1's score="7" is both D's starting score there and the assigned node's weight
    ws = _run(_unmanaged_case(0, "Unpromoted", node1=' score="7"'))
    assert _scores(ws, "pcmk__primitive_assign", "D") == {"node1": "14", "node2": "-INFINITY"}


# ---- interleave between clones of different clone-node-max -------------------------------------

def test_clones_of_different_configured_node_max_do_not_interleave():
    # c0 (interleave=true, clone-node-max 1) with the anonymous c5 (clone-node-max=2, capped to
    # 1 when unpacked): copies_per_node reads the configured 2, so the colocation is applied
    # with every instance of c5 (node1 and node2: +100 each), not with one paired instance.
    # crm_simulate 2.1.5 -s: node1 100, node2 150 (50 from the location), node3 0
    status = "".join(
        f'<node_state id="{i}" uname="node{i}" in_ccm="true" crmd="online" join="member" '
        f'expected="member"><lrm id="{i}"><lrm_resources><lrm_resource id="c5p" class="ocf" '
        f'provider="pacemaker" type="Dummy"><lrm_rsc_op id="c5p_last_0" '
        f'operation_key="c5p_start_0" operation="start" crm-debug-origin="x" '
        f'crm_feature_set="3.0.14" transition-key="{i}:1:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" '
        f'transition-magic="0:0;{i}:1:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" call-id="2" '
        f'rc-code="0" op-status="0" interval="0" last-rc-change="1699999000" exec-time="1" '
        f'queue-time="0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>'
        f'</lrm_resources></lrm></node_state>' for i in (1, 2))
    status += ('<node_state id="3" uname="node3" in_ccm="true" crmd="online" join="member" '
               'expected="member"/>')
    resources = ('<clone id="c5"><meta_attributes id="c5-m"><nvpair id="c5-m1" name="clone-max" '
                 'value="2"/><nvpair id="c5-m2" name="clone-node-max" value="2"/>'
                 '</meta_attributes>' + _prim("c5p") + '</clone>'
                 '<clone id="c0"><meta_attributes id="c0-m"><nvpair id="c0-m1" name="clone-max" '
                 'value="1"/><nvpair id="c0-m2" name="interleave" value="true"/>'
                 '</meta_attributes>' + _prim("c0p") + '</clone>')
    constraints = ('<rsc_location id="l1" rsc="c5" node="node3" score="-INFINITY"/>'
                   '<rsc_location id="l2" rsc="c0" node="node2" score="50"/>'
                   '<rsc_colocation id="col" rsc="c0" with-rsc="c5" score="100"/>')
    cib = _cib(resources, constraints, status).replace(
        '<node id="2" uname="node2"/>', '<node id="2" uname="node2"/><node id="3" uname="node3"/>')
    ws = _run(cib)
    assert _scores(ws, "pcmk__primitive_assign", "c0p:0") == {"node1": "100", "node2": "150",
                                                              "node3": "0"}
    assert _placed(ws, "c0p:0") == "node2"
