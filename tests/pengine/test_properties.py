"""Property tests of the policy engine on generated clusters (hypothesis).

Random clusters of 2-5 nodes (some offline, some in standby), primitives and groups, random
locations (including -INFINITY bans), colocations and orders, and a random current placement
recorded as resource history. For every one, whatever the engine decides:

- nothing is placed on an offline or standby node, nor where a -INFINITY location bans it;
- the members of a group are placed together, and a member runs only if the members before it
  do; in the graph each member starts after the previous member's start;
- whenever a resource is both stopped and started in the transition (a move or restart), its
  start waits for its stop;
- after the transition has run (simulated), the cluster is in the placed state;
- the same input gives the same graph.
"""

from __future__ import annotations

import datetime as _dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.cib.xmltree import parse_xml
from pengine import engine, simexec
from pengine.graph import graph_xml
from pengine.model import A_PSEUDO, GROUP, PRIMITIVE

NOW = _dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=_dt.timezone.utc)
DIGEST = "f2317cad3d54cec5d7d7aa7d0bf35cf8"  # parameter-less ocf:pacemaker:Dummy


@st.composite
def clusters(draw):
    n_nodes = draw(st.integers(2, 5))
    nodes = [f"node{i}" for i in range(1, n_nodes + 1)]
    online = draw(st.lists(st.booleans(), min_size=n_nodes, max_size=n_nodes))
    if not any(online):
        online[0] = True
    standby = draw(st.lists(st.booleans(), min_size=n_nodes, max_size=n_nodes))
    n_prims = draw(st.integers(1, 6))
    n_groups = draw(st.integers(0, 2))
    prims = [f"p{i}" for i in range(n_prims)]
    groups = {f"g{i}": [f"g{i}m{j}" for j in range(draw(st.integers(1, 3)))]
              for i in range(n_groups)}
    tops = prims + list(groups)
    members = [m for ms in groups.values() for m in ms]
    leaves = prims + members
    score = st.sampled_from(["-INFINITY", "-50", "0", "10", "100", "INFINITY"])
    locations = draw(st.lists(st.tuples(st.sampled_from(tops), st.sampled_from(nodes), score),
                              max_size=6))
    colocations = draw(st.lists(st.tuples(st.sampled_from(tops), st.sampled_from(tops),
                                          st.sampled_from(["-INFINITY", "INFINITY", "50"])),
                                max_size=3))
    orders = draw(st.lists(st.tuples(st.sampled_from(tops), st.sampled_from(tops),
                                     st.sampled_from(["Mandatory", "Optional"])), max_size=3))
    running = {leaf: draw(st.sampled_from([None] + nodes)) for leaf in leaves}
    stickiness = draw(st.sampled_from(["0", "50", "INFINITY"]))
    return dict(nodes=nodes, online=online, standby=standby, prims=prims, groups=groups,
                locations=locations, colocations=[c for c in colocations if c[0] != c[1]],
                # mandatory order loops deadlock by definition: keep orders acyclic
                orders=[o for o in orders if tops.index(o[0]) < tops.index(o[1])],
                running=running,
                stickiness=stickiness)


def _primitive(rid: str) -> str:
    return f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Dummy"/>'


def build_cib(c: dict) -> str:
    resources = "".join(_primitive(p) for p in c["prims"])
    for gid, members in c["groups"].items():
        resources += f'<group id="{gid}">' + "".join(_primitive(m) for m in members) + "</group>"
    cons = "".join(f'<rsc_location id="l{i}" rsc="{r}" node="{n}" score="{s}"/>'
                   for i, (r, n, s) in enumerate(c["locations"]))
    cons += "".join(f'<rsc_colocation id="c{i}" rsc="{a}" with-rsc="{b}" score="{s}"/>'
                    for i, (a, b, s) in enumerate(c["colocations"]))
    cons += "".join(f'<rsc_order id="o{i}" first="{a}" then="{b}" kind="{k}"/>'
                    for i, (a, b, k) in enumerate(c["orders"]))
    nodes_xml = ""
    states = ""
    for i, name in enumerate(c["nodes"], start=1):
        attrs = ('<instance_attributes id="n{0}-a"><nvpair id="n{0}-s" name="standby" '
                 'value="on"/></instance_attributes>'.format(i)) if c["standby"][i - 1] else ""
        nodes_xml += f'<node id="{i}" uname="{name}">{attrs}</node>'
        if not c["online"][i - 1]:
            continue
        history = ""
        for leaf, where in c["running"].items():
            if where == name:
                op = (f'<lrm_rsc_op id="{leaf}_last_0" operation_key="{leaf}_start_0" '
                      f'operation="start" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x"'
                      f' call-id="2" rc-code="0" op-status="0" interval="0" '
                      f'last-rc-change="1700000000" op-digest="{DIGEST}"/>')
            else:
                op = (f'<lrm_rsc_op id="{leaf}_last_0" operation_key="{leaf}_monitor_0" '
                      f'operation="monitor" transition-key="1:1:7:x" transition-magic="0:7;1:1:7:x"'
                      f' call-id="1" rc-code="7" op-status="0" interval="0" '
                      f'last-rc-change="1700000000" op-digest="{DIGEST}"/>')
            history += (f'<lrm_resource id="{leaf}" class="ocf" provider="pacemaker" '
                        f'type="Dummy">{op}</lrm_resource>')
        states += (f'<node_state id="{i}" uname="{name}" in_ccm="true" crmd="online" '
                   f'join="member" expected="member"><lrm id="{i}"><lrm_resources>{history}'
                   f'</lrm_resources></lrm></node_state>')
    return ('<cib admin_epoch="0" epoch="1" num_updates="0" have-quorum="1" '
            'validate-with="pacemaker-3.7"><configuration><crm_config>'
            '<cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/>'
            '<nvpair id="o2" name="no-quorum-policy" value="ignore"/></cluster_property_set>'
            f'</crm_config><nodes>{nodes_xml}</nodes><resources>{resources}</resources>'
            f'<constraints>{cons}</constraints><rsc_defaults><meta_attributes id="d">'
            f'<nvpair id="d1" name="resource-stickiness" value="{c["stickiness"]}"/>'
            f'</meta_attributes></rsc_defaults></configuration><status>{states}</status></cib>')


def _inputs_closure(action) -> set[int]:
    """ids of every action this one (transitively) waits for in the graph."""
    seen: set[int] = set()
    stack = [action]
    while stack:
        current = stack.pop()
        for wrapper in current.before:
            first = wrapper[0]
            if len(wrapper) > 2 and wrapper[2] and first.id not in seen:
                seen.add(first.id)
                stack.append(first)
    return seen


def _banned(c: dict, rsc_id: str, node: str, group_of: dict) -> bool:
    for rid, where, s in c["locations"]:
        if where == node and s == "-INFINITY" and rid in (rsc_id, group_of.get(rsc_id)):
            return True
    return False


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters())
def test_scheduler_properties(c):
    text = build_cib(c)
    cib = parse_xml(text)
    ws = engine.schedule(cib, NOW)
    group_of = {m: g for g, ms in c["groups"].items() for m in ms}
    down = {name for name, up in zip(c["nodes"], c["online"]) if not up}
    standby = {name for name, sb in zip(c["nodes"], c["standby"]) if sb}

    # 1. placement respects node state and bans
    for rsc in ws.rsc_by_id.values():
        if rsc.variant != PRIMITIVE or rsc.allocated_to is None:
            continue
        where = rsc.allocated_to.uname
        assert where not in down, f"{rsc.id} placed on offline {where}"
        assert where not in standby, f"{rsc.id} placed on standby {where}"
        assert not _banned(c, rsc.id, where, group_of), f"{rsc.id} placed on banned {where}"

    # 2. groups: together, a prefix of members running, starts chained in order
    for gid, members in c["groups"].items():
        group = ws.rsc_by_id[gid]
        assert group.variant == GROUP
        placed = [ws.rsc_by_id[m].allocated_to for m in members]
        seen_stopped = False
        for node in placed:
            if node is None:
                seen_stopped = True
            else:
                assert not seen_stopped, f"{gid}: a member runs after a stopped one"
                assert node is placed[0], f"{gid}: members on different nodes"
        synapse_actions = {s.action.uuid: s.action for s in ws.graph.synapses}
        for before, after in zip(members, members[1:]):
            start_after = synapse_actions.get(f"{after}_start_0")
            start_before = synapse_actions.get(f"{before}_start_0")
            if start_after is not None and start_before is not None:
                assert start_before.id in _inputs_closure(start_after), \
                    f"{after} may start before {before}"

    # 3. a start waits for the stop of the same resource
    starts = {}
    stops = {}
    for syn in ws.graph.synapses:
        action = syn.action
        if action.rsc is None or action.flags & A_PSEUDO:
            continue
        if action.task == "start":
            starts[action.rsc.id] = action
        elif action.task == "stop":
            stops.setdefault(action.rsc.id, []).append(action)
    for rid, start in starts.items():
        for stop in stops.get(rid, []):
            assert stop.id in _inputs_closure(start), f"{rid} starts before it stops"

    # 4. the simulated transition leaves each resource where its actions say: started where a
    #    start ran, stopped where only a stop ran, untouched otherwise; a resource that will
    #    not be placed anywhere but runs is stopped
    before = {rid: [n.uname for n in r.running_on if n.online]
              for rid, r in ws.rsc_by_id.items() if r.variant == PRIMITIVE}
    started = {a.rsc.id: a.node.uname for a in (syn.action for syn in ws.graph.synapses)
               if a.rsc is not None and a.task == "start" and not a.flags & A_PSEUDO}
    for rid, where in before.items():
        rsc = ws.rsc_by_id[rid]
        if rsc.allocated_to is None and where:
            assert rid in stops, f"{rid} runs on {where} but is not placed and not stopped"
    simexec.execute_graph(ws, ws.graph, cib, int(NOW.timestamp()), [])
    revised = engine.unpack_cib(cib, NOW)
    for rid, was in before.items():
        after = [n.uname for n in revised.rsc_by_id[rid].running_on if n.online]
        if rid in started:
            assert after == [started[rid]], f"{rid} runs on {after}, started on {started[rid]}"
            assert started[rid] == ws.rsc_by_id[rid].allocated_to.uname
        elif rid in stops:
            assert after == [], f"{rid} still runs on {after} after its stop"
        else:
            assert after == was, f"{rid} moved from {was} to {after} without actions"

    # 5. deterministic
    again = engine.schedule(parse_xml(text), NOW)
    assert graph_xml(again, again.graph) == graph_xml(ws, ws.graph)
