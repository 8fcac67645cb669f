"""Unit tests for the tier-3 parts the corpus does not pin down one by one: GLib's hash order,
template expansion, tag/template constraint rewriting, ticket loss policies and the capacity
arithmetic of placement strategies."""

from __future__ import annotations

import datetime as dt

from core.cib.xmltree import parse_xml
from pengine import capacity, glibhash, templates, tickets
from pengine.engine import schedule, unpack_cib
from pengine.model import Node
from pengine.unpack import find_rsc, unpack_constraints

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _cib(resources: str, constraints: str = "", status: str = "", nodes: str = "",
         options: str = "") -> str:
    nodes = nodes or ('<node id="1" uname="node1"/><node id="2" uname="node2"/>')
    states = "".join(
        f'<node_state id="{i}" uname="node{i}" in_ccm="true" crmd="online" join="member" '
        f'expected="member"/>' for i in (1, 2))
    return ('<cib have-quorum="1" epoch="1" num_updates="0" admin_epoch="0"><configuration>'
            '<crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" '
            f'value="false"/>{options}</cluster_property_set></crm_config><nodes>{nodes}</nodes>'
            f"<resources>{resources}</resources><constraints>{constraints}</constraints>"
            f"</configuration><status>{states}{status}</status></cib>")


# ---- GLib hash order (expected orders printed by libglib-2.0 2.74's own table) ------------

def test_glib_iteration_order_matches_libglib():
    keys = [str(i) for i in range(1, 13)]
    # Pacemaker's tables hash with pcmk__str_hash
    assert glibhash.iteration_order(keys) == "4 3 9 2 8 1 7 12 6 11 5 10".split()
    assert glibhash.iteration_order(["cpu", "mem"]) == ["cpu", "mem"]
    # GLib's own g_str_hash gives other orders, from the same table mechanics
    assert glibhash.iteration_order(keys, glibhash.str_hash) == \
        "4 12 3 9 2 8 1 7 11 6 10 5".split()
    assert glibhash.iteration_order(["cpu", "mem"], glibhash.str_hash) == ["mem", "cpu"]
    names = [f"node{i}" for i in range(1, 9)]
    assert glibhash.iteration_order(names) == \
        "node5 node4 node3 node2 node8 node1 node7 node6".split()
    # with no collisions the insertion order does not matter
    assert glibhash.iteration_order("3 1 2 8 6 5 7 4".split()) == "4 3 2 8 1 7 6 5".split()


def test_string_hashes_use_signed_chars():
    assert glibhash.str_hash("") == 5381
    assert glibhash.str_hash("a") == 5381 * 33 + 97
    assert glibhash.str_hash("\u00e9") == ((5381 * 33 - 61) * 33 - 87) & 0xFFFFFFFF
    assert glibhash.pcmk_str_hash("ab") == 97 * 31 + 98
    assert glibhash.pcmk_str_hash("\u00e9") == (-61 * 31 - 87) & 0xFFFFFFFF


# ---- templates ------------------------------------------------------------------------------

_TEMPLATE = ('<template id="t" class="ocf" provider="pacemaker" type="Dummy">'
             '<meta_attributes id="t-m"><nvpair id="t-m1" name="target-role" value="Stopped"/>'
             '</meta_attributes><operations><op id="t-mon" name="monitor" interval="10s"/>'
             '<op id="t-mon-p" name="monitor" interval="5s" role="Promoted"/>'
             '<op id="t-start" name="start" interval="0" timeout="30s"/></operations></template>')


def test_template_expansion_merges_operations_by_name_and_role():
    ws = unpack_cib(parse_xml(_cib(
        _TEMPLATE + '<primitive id="r" template="t"><operations>'
        '<op id="r-mon" name="monitor" interval="20s" role="Started"/></operations>'
        '</primitive>')), NOW)
    rsc = ws.rsc_by_id["r"]
    assert rsc.xml.get("type") == "Dummy" and rsc.xml.get("id") == "r"
    ops = [(op.get("id")) for op in rsc.ops_xml.children]
    # the primitive's monitor (role Started = any role) replaces the template's monitor; the
    # promoted monitor and the start are kept, after the primitive's own operations
    assert ops == ["r-mon", "t-mon-p", "t-start"]
    assert ws.template_rscs == {"t": ["r"]}


def test_template_meta_loses_to_the_primitive_own_set():
    ws = unpack_cib(parse_xml(_cib(
        _TEMPLATE + '<primitive id="r" template="t"><meta_attributes id="r-m"><nvpair '
        'id="r-m1" name="target-role" value="Started"/></meta_attributes></primitive>')), NOW)
    assert ws.rsc_by_id["r"].meta["target-role"] == "Started"


def test_missing_template_ignores_the_primitive_with_a_warning():
    ws = unpack_cib(parse_xml(_cib('<primitive id="r" template="nope"/>')), NOW)
    assert "r" not in ws.rsc_by_id
    assert any("no template named 'nope'" in w for w in ws.warnings)
    assert not ws.unsupported


def test_constraint_naming_a_tag_becomes_a_set():
    cib = _cib('<primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/>'
               '<primitive id="b" class="ocf" provider="pacemaker" type="Dummy"/>'
               '<primitive id="c" class="ocf" provider="pacemaker" type="Dummy"/>')
    cib = cib.replace("</constraints>", '</constraints><tags><tag id="tg"><obj_ref id="a"/>'
                      '<obj_ref id="b"/></tag></tags>')
    ws = unpack_cib(parse_xml(cib), NOW)
    xml = parse_xml('<rsc_colocation id="x" rsc="tg" rsc-role="Started" with-rsc="c" '
                    'score="INFINITY"/>')
    out = templates.expand_constraint(ws, xml, find_rsc)
    assert out is not xml and out.get("rsc") is None and out.get("rsc-role") is None
    sets = out.findall("resource_set")
    assert [s.get("id") for s in sets] == ["tg", "c"]
    assert [r.get("id") for r in sets[0].children] == ["a", "b"]
    assert sets[0].get("sequential") == "false" and sets[0].get("role") == "Started"
    # two tags cannot be colocated: the constraint is ignored
    both = parse_xml('<rsc_colocation id="y" rsc="tg" with-rsc="tg" score="10"/>')
    assert templates.expand_constraint(ws, both, find_rsc) is None


# ---- tickets --------------------------------------------------------------------------------

_PRIM = '<primitive id="r" class="ocf" provider="pacemaker" type="Dummy"/>'
_RUNNING = ('<node_state id="1" uname="node1"><lrm id="1"><lrm_resources><lrm_resource id="r" '
            'class="ocf" provider="pacemaker" type="Dummy"><lrm_rsc_op id="r_last_0" '
            'operation_key="r_start_0" operation="start" call-id="2" rc-code="0" op-status="0" '
            'interval="0" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x"/>'
            '</lrm_resource></lrm_resources></lrm></node_state>')


def _ticket_run(policy: str, granted: str, options: str = ""):
    cib = _cib(_PRIM, f'<rsc_ticket id="d" rsc="r" ticket="T" loss-policy="{policy}"/>',
               options=options)
    cib = cib.replace('<node_state id="1" uname="node1" in_ccm="true" crmd="online" '
                      'join="member" expected="member"/>',
                      _RUNNING.replace('<node_state id="1" uname="node1">',
                                       '<node_state id="1" uname="node1" in_ccm="true" '
                                       'crmd="online" join="member" expected="member">'))
    cib = cib.replace("</status>", f'<tickets><ticket_state id="T" granted="{granted}"/>'
                      "</tickets></status>")
    return schedule(parse_xml(cib), NOW)


def test_ticket_granted_changes_nothing_and_revoked_stops():
    ws = _ticket_run("stop", "true")
    assert ws.rsc_by_id["r"].allocated_to is not None
    assert not ws.unsupported
    ws = _ticket_run("stop", "false")
    assert ws.rsc_by_id["r"].allocated_to is None


def test_ticket_freeze_leaves_the_resource_unmanaged_where_it_is():
    ws = _ticket_run("freeze", "false")
    rsc = ws.rsc_by_id["r"]
    assert not rsc.managed and rsc.blocked
    assert rsc.allocated_to is not None and rsc.allocated_to.uname == "node1"


def test_ticket_fence_without_fencing_falls_back_to_stop():
    ws = _ticket_run("fence", "false")
    assert ws.rsc_by_id["r"].allocated_to is None
    assert any("to 'stop' because fencing is not configured" in w for w in ws.warnings)
    assert not any(a.task == "stonith" for a in ws.actions)


def test_default_loss_policy_depends_on_the_role():
    ws = unpack_cib(parse_xml(_cib(_PRIM)), NOW)
    ticket = tickets.ticket_new(ws, "T")
    assert tickets._loss_policy(ws, ticket, None, tickets.m.ROLE_PROMOTED) == "demote"
    assert tickets._loss_policy(ws, ticket, "bogus", tickets.m.ROLE_UNKNOWN) == "stop"
    assert tickets._loss_policy(ws, ticket, "FREEZE", tickets.m.ROLE_UNKNOWN) == "freeze"


def test_ticket_state_attributes():
    ws = unpack_cib(parse_xml(_cib(_PRIM, status='<tickets><ticket_state id="T" granted="yes" '
                                   'standby="1" last-granted="1700000000x"/></tickets>')), NOW)
    ticket = ws.tickets["T"]
    assert ticket.granted and ticket.standby and ticket.last_granted == 1700000000
    unpack_constraints(ws)


# ---- capacity -------------------------------------------------------------------------------

def _node(name: str, **util: str) -> Node:
    node = Node(name, name)
    node.utilization = dict(util)
    return node


def test_utilization_values_and_capacity_comparison():
    assert capacity.utilization_value("12abc") == 12
    assert capacity.utilization_value("junk") == 0
    assert capacity.utilization_value(None) == 0
    big, small = _node("a", cpu="4", mem="100"), _node("b", cpu="2", mem="100")
    assert capacity.compare_node_capacities(big, small) == -1
    assert capacity.compare_node_capacities(small, big) == 1
    # an attribute only one node has counts against the other (which has 0 of it)
    assert capacity.compare_node_capacities(_node("c"), _node("d", disk="5")) == 1


def test_balanced_placement_prefers_free_capacity_over_resource_count():
    nodes = ('<node id="1" uname="node1"><utilization id="u1"><nvpair id="u1c" name="cpu" '
             'value="2"/></utilization></node><node id="2" uname="node2"><utilization id="u2">'
             '<nvpair id="u2c" name="cpu" value="8"/></utilization></node>')
    rscs = "".join(f'<primitive id="r{i}" class="ocf" provider="pacemaker" type="Dummy">'
                   f'<utilization id="r{i}u"><nvpair id="r{i}uc" name="cpu" value="1"/>'
                   "</utilization></primitive>" for i in range(4))
    opt = '<nvpair id="o2" name="placement-strategy" value="balanced"/>'
    ws = schedule(parse_xml(_cib(rscs, nodes=nodes, options=opt)), NOW)
    placed = sorted(ws.rsc_by_id[f"r{i}"].allocated_to.uname for i in range(4))
    assert placed == ["node2", "node2", "node2", "node2"]
    assert ws.node_by_uname["node2"].utilization["cpu"] == "4"
    # the same with "utilization": capacity is only a limit, so resources spread by count
    ws = schedule(parse_xml(_cib(rscs, nodes=nodes, options=opt.replace("balanced",
                                                                          "utilization"))), NOW)
    placed = sorted(ws.rsc_by_id[f"r{i}"].allocated_to.uname for i in range(4))
    assert placed == ["node1", "node1", "node2", "node2"]


def test_show_utilization_lines(tmp_path):
    """crm_simulate -U: capacities before and after assignment, each assignment's usage (the
    expected lines are crm_simulate 2.1.5's for this CIB)."""
    import io

    from pengine.simulate import run
    nodes = ('<node id="1" uname="node1"><utilization id="u1"><nvpair id="u1c" name="cpu" '
             'value="2"/><nvpair id="u1m" name="mem" value="64"/></utilization></node>'
             '<node id="2" uname="node2"/>')
    rsc = ('<primitive id="r" class="ocf" provider="pacemaker" type="Dummy"><utilization '
           'id="ru"><nvpair id="ruc" name="cpu" value="1"/></utilization></primitive>')
    opt = '<nvpair id="o2" name="placement-strategy" value="utilization"/>'
    path = tmp_path / "cib.xml"
    path.write_text(_cib(rsc, nodes=nodes, options=opt))
    out = io.StringIO()
    assert run(["-x", str(path), "-U"], stdout=out) == 0
    lines = [line for line in out.getvalue().splitlines() if "capacity" in line
             or "utilization on" in line]
    assert lines == ["Original: node1 capacity: cpu=2 mem=64",
                     "Original: node2 capacity:",
                     "pcmk__finalize_assignment: r utilization on node1: cpu=1",
                     "Remaining: node1 capacity: cpu=1 mem=64",
                     "Remaining: node2 capacity:"]
