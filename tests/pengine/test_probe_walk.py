"""schedule_probes walks, on each node probed, only the resources that can have a probe on one
of those nodes (`probes._may_probe`): a primitive known on every node probed, and a group made
only of such, are left out. This compares the actions and orderings of a run with those of the
walk over every resource, on a cluster with such resources, others known on some nodes only,
a group with one member of each kind, a clone, and a node whose probe_complete is false."""

from __future__ import annotations

import datetime as _dt

from core.cib.xmltree import parse_xml
from pengine import engine, probes

NOW = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)
NODES = ("n1", "n2", "n3", "n4")


def _primitive(rid: str) -> str:
    return (f'<primitive id="{rid}" class="ocf" provider="pacemaker" type="Dummy"><operations>'
            f'<op id="{rid}-mon" name="monitor" interval="10s"/></operations></primitive>')


def _entry(rid: str, node: str, rc: int) -> str:
    return (f'<lrm_resource id="{rid}" class="ocf" provider="pacemaker" type="Dummy">'
            f'<lrm_rsc_op id="{rid}_last_0" operation_key="{rid}_monitor_0" operation="monitor" '
            f'crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" '
            f'transition-key="1:1:7:x" transition-magic="0:{rc};1:1:7:x" call-id="1" '
            f'rc-code="{rc}" op-status="0" interval="0" last-rc-change="1" exec-time="1" '
            f'queue-time="0" op-digest="x" on_node="{node}"/></lrm_resource>')


KNOWN = {  # resource -> nodes where its history says it is known (n1 runs "all" and "g-a")
    "all": NODES[:3], "some": NODES[:1], "g-a": NODES[:3], "g-b": NODES[:1],
    "g2-a": NODES[:3], "c": NODES[:3]}


def _cib() -> str:
    nodes = "".join(f'<node id="{n}" uname="{n}"/>' for n in NODES)
    nodes = nodes.replace('<node id="n3" uname="n3"/>',
                          '<node id="n3" uname="n3"><instance_attributes id="n3-a"><nvpair '
                          'id="n3-p" name="probe_complete" value="false"/></instance_attributes>'
                          '</node>')
    resources = (_primitive("all") + _primitive("some") + _primitive("new")
                 + f'<group id="g">{_primitive("g-a")}{_primitive("g-b")}</group>'
                 + f'<group id="g2">{_primitive("g2-a")}</group>'
                 + f'<clone id="cl">{_primitive("c")}</clone>')
    states = []
    for node in NODES[:3]:  # n4 is offline
        entries = "".join(_entry(rid if rid != "c" else "c:0", node,
                                 0 if node == "n1" and rid in ("all", "g-a") else 7)
                          for rid, known in KNOWN.items() if node in known)
        states.append(f'<node_state id="{node}" uname="{node}" in_ccm="true" crmd="online" '
                      f'join="member" expected="member"><lrm id="{node}"><lrm_resources>'
                      f'{entries}</lrm_resources></lrm></node_state>')
    return (f'<cib epoch="1" have-quorum="1"><configuration><crm_config><cluster_property_set '
            f'id="o"><nvpair id="o-s" name="stonith-enabled" value="false"/>'
            f'</cluster_property_set></crm_config><nodes>{nodes}</nodes>'
            f'<resources>{resources}</resources><constraints/></configuration>'
            f'<status>{"".join(states)}</status></cib>')


def _run() -> list:
    ws = engine.schedule(parse_xml(_cib(), "t"), NOW)
    return [(a.id, a.uuid, a.task, a.node and a.node.uname, a.flags,
             sorted((b[0].id, b[1]) for b in a.before)) for a in ws.actions]


def test_the_probes_are_those_of_the_walk_over_every_resource(monkeypatch) -> None:
    walked = []
    may_probe = probes._may_probe

    def counted(rsc, nodes):
        answer = may_probe(rsc, nodes)
        walked.append((rsc.id, answer))
        return answer

    monkeypatch.setattr(probes, "_may_probe", counted)
    ours = _run()
    assert ("all", False) in walked and ("g2", False) in walked  # left out of the walk
    assert ("some", True) in walked and ("g", True) in walked and ("cl", True) in walked
    monkeypatch.setattr(probes, "_may_probe", lambda rsc, nodes: True)
    every = _run()
    assert ours == every
    assert any(task == "probe_again" for _, _, task, _, _, _ in ours)
    assert any(uuid == "new_monitor_0" for _, uuid, _, _, _, _ in ours)
