"""The fault campaign's plan and figures (lab/ctsplan.py), without a lab."""

from __future__ import annotations

import pytest

from lab import ctsplan
from lab.ctsplan import Fault, FaultResult, PlanError


def test_the_same_seed_gives_the_same_faults_and_another_seed_others():
    a = ctsplan.make_plan(7, 60, "cib", 3)
    assert a == ctsplan.make_plan(7, 60, "cib", 3)
    assert a != ctsplan.make_plan(8, 60, "cib", 3)
    assert [f.index for f in a] == list(range(1, 61))


def test_every_kind_comes_once_before_any_comes_twice():
    kinds = ctsplan.kinds_for("cib", 3)
    plan = ctsplan.make_plan(3, len(kinds) + 5, "cib", 3)
    assert sorted(f.kind for f in plan[:len(kinds)]) == sorted(kinds)


def test_haresources_campaigns_leave_out_what_only_a_cib_has():
    kinds = ctsplan.kinds_for("haresources", 2)
    assert "stop-fail" not in kinds and "monitor-fail" not in kinds and "kill-stack" in kinds
    assert all(f.kind in kinds for f in ctsplan.make_plan(1, 50, "haresources", 2))


def test_amounts_are_in_their_ranges_and_resource_faults_hit_the_holder():
    for f in ctsplan.make_plan(5, 400, "cib", 3):
        if f.kind == "loss":
            assert 20 <= f.amount <= 50
        elif f.kind == "hang":
            assert 2 <= f.amount <= 4
        if f.kind in ("monitor-fail", "move"):
            assert f.where == ctsplan.HOLDER


@pytest.mark.parametrize("args, words", [
    (dict(kinds=["reboot-the-moon"]), "unknown fault kind"),
    (dict(kinds=["stop-fail"], mode="haresources"), "do not apply"),
    (dict(nodes=1), "at least 2 nodes"),
    (dict(mode="xml"), "--mode"),
    (dict(count=-1), "--faults"),
])
def test_plans_that_cannot_be_made_say_why(args, words):
    call = dict(seed=1, count=5, mode="cib", nodes=3)
    call.update(args)
    with pytest.raises(PlanError, match=words):
        ctsplan.make_plan(call["seed"], call["count"], call["mode"], call["nodes"], call.get("kinds"))


def result(kind: str, outage: float, violations=(), bound=None, back=None) -> FaultResult:
    r = FaultResult(Fault(1, kind, ctsplan.HOLDER, 0), "node1", "node1", "node2", outage_ms=outage,
                    settled_ms=1000.0, recovered_ms=back, bound_ms=bound, violations=list(violations))
    return r


def test_the_summary_counts_violations_outages_and_failovers_beyond_their_bound():
    rs = [result("link", 900.0, bound=800.0, back=790.0), result("link", 700.0, bound=800.0, back=801.0),
          result("kill-crmd", 0.0), result("move", 120.0, violations=["two nodes answered"])]
    s = ctsplan.summarize(rs, seed=4, wall_s=12.0)
    assert s["faults"] == 4 and s["violations"] == 1 and s["failovers_bounded"] == 2
    assert s["beyond_bound"] == 1  # back 801 ms with a bound of 800
    assert s["overhead_ms"]["max"] == 801.0 - 700.0
    assert s["kinds"]["link"]["outage_ms"]["median"] == 800.0
    assert s["kinds"]["kill-crmd"]["with_outage"] == 0
    text = ctsplan.format_summary(s)
    assert "VIOLATION" in text and "two nodes answered" in text


def test_percentiles_are_nearest_rank():
    assert ctsplan.percentile([5.0], 99) == 5.0
    assert ctsplan.percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert ctsplan.stats([]) == {"n": 0}


def test_a_failovers_timeline_splits_what_it_took_beyond_deadtime_into_its_segments():
    from lab.cts import timeline
    # fault at 1000; deadtime 500; fencing (delay 0 + device 60) completed at 1590, so asked at
    # 1530; starts at 1600 (ran 20), 1630 (ran 10), 1650 (ran 5); the observer's answer at 1665
    t = timeline(1000.0, 500.0, 1590.0, 60.0, [(1600.0, 20.0), (1630.0, 10.0), (1650.0, 5.0)], 1665.0)
    assert t == {"detect": 30.0, "fencing": 60.0, "to_first_start": 10.0, "between_starts": 20.0, "to_answer": 10.0}
    assert sum(t.values()) + 35.0 == 1665.0 - 1000.0 - 500.0  # plus the starts' own time
    r = result("link", 665.0, bound=695.0, back=665.0)
    r.timeline = t
    s = ctsplan.summarize([r], seed=1, wall_s=1.0)
    assert s["timeline_ms"]["between_starts"]["median"] == 20.0
    assert "between_starts 20.0/20.0/20.0" in ctsplan.format_summary(s)
