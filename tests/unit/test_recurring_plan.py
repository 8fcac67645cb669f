"""pengine/rscactions.py's recurring-operation plan: each `<op>`'s role and recurring key, kept
with the resource's `<operations>` element by the resource's id and history name. A kept plan
must be what deciding each op afresh gives, for every resource that shares the element and
whatever history name it was found under; and an op with a duplicate must warn on every
transition of a warm core, as it does when nothing is kept."""

from __future__ import annotations

import pytest

from core.cib import dates
from core.cib.xmltree import parse_xml
from pengine import engine
from pengine.opconfig import op_entries, recurring_plans
from pengine.rscactions import _checked_recurring_key, _recurring_plan

NOW = dates.from_epoch(1_700_000_000)

# "a": its disabled x_mon op answers to a's key through the history name "a_x" alone
# (find_op_entry compares keys under both names); "d": one <operations> element for every
# instance of the clone
PLAN_CIB = """<cib epoch="1" have-quorum="1"><configuration><crm_config>
<cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="false"/>
</cluster_property_set></crm_config>
<nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
<resources>
<primitive id="a" class="ocf" provider="pacemaker" type="Dummy"><operations>
<op id="a-x" name="x_mon" interval="10" enabled="false"/>
<op id="a-m" name="mon" interval="10"/>
<op id="a-s" name="monitor" interval="20" role="Stopped"/>
<op id="a-0" name="start" interval="0"/></operations></primitive>
<clone id="c"><meta_attributes id="c-m"><nvpair id="c-u" name="globally-unique" value="true"/>
</meta_attributes><primitive id="d" class="ocf" provider="pacemaker" type="Dummy">
<operations><op id="d-m" name="monitor" interval="10"/>
<op id="d-s" name="monitor" interval="30" role="Stopped"/></operations></primitive></clone>
</resources><constraints/></configuration><status/></cib>"""


def _reference(rsc) -> list[tuple]:
    """The plan decided op by op, nothing kept."""
    out = []
    for op, _, _, _ in op_entries(rsc.ops_xml):
        got, warning = _checked_recurring_key(rsc, op)
        assert warning is None
        role = op.get("role")
        out.append((op.get("id"), role, got))
    return out


def _plan(rsc) -> list[tuple]:
    plan = _recurring_plan(rsc)
    assert plan is not None
    return [(op.get("id"), op.get("role"), got) for op, role, got in plan]


def test_a_kept_plan_is_the_one_decided_afresh_for_each_id_and_history_name() -> None:
    ws = engine.unpack_cib(parse_xml(PLAN_CIB, "t"), NOW)
    a = ws.rsc_by_id["a"]
    seen = []
    for clone_name in (None, "a_x", None, "a_x"):
        a.clone_name = clone_name
        assert _plan(a) == _reference(a)
        seen.append(_reference(a))
    assert seen[0] != seen[1]  # the history name matters (x_mon is found through it)
    instances = [ws.rsc_by_id["d:0"], ws.rsc_by_id["d:1"]]
    assert instances[0].ops_xml is instances[1].ops_xml  # one element, two ids
    refs = []
    for rsc in instances + instances[::-1]:
        assert _plan(rsc) == _reference(rsc)
        refs.append(_reference(rsc))
    assert refs[0] != refs[1]  # the id matters
    # kept with the element by id, one entry per resource (another history name replaces it)
    assert set(recurring_plans(instances[0].ops_xml)) == {"d:0", "d:1"}
    assert set(recurring_plans(a.ops_xml)) == {"a"}
    assert recurring_plans(a.ops_xml)["a"][0] == "a_x"


DUP_CIB = """<cib epoch="1" have-quorum="1"><configuration><crm_config>
<cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="false"/>
</cluster_property_set></crm_config>
<nodes><node id="1" uname="n1"/></nodes>
<resources><primitive id="p" class="ocf" provider="pacemaker" type="Dummy"><operations>
<op id="p-m1" name="monitor" interval="10"/><op id="p-m2" name="monitor" interval="10s"/>
<op id="p-m3" name="monitor" interval="20"/></operations></primitive></resources>
<constraints/></configuration><status><node_state id="1" uname="n1" in_ccm="true"
crmd="online" join="member" expected="member"/></status></cib>"""


@pytest.mark.parametrize("runs", [2, 3])
def test_a_duplicate_op_warns_on_every_transition_of_a_reused_configuration(runs: int) -> None:
    fresh = parse_xml(DUP_CIB, "t")
    expected = engine.schedule(fresh, NOW).warnings
    assert "Operation p-m2 is duplicate of p-m1" in expected  # (once per op deciding it)
    cib = parse_xml(DUP_CIB, "t")
    for _ in range(runs):
        ws = engine.schedule(cib, NOW, ws=engine.unpack_cib(cib, NOW, keep_derived=True))
        assert ws.warnings == expected
        assert "p_monitor_20000" in {a.uuid for a in ws.actions}
    ops = next(cib.iter("operations"))
    assert recurring_plans(ops) == {"p": (None, None)}  # no plan: it warns
