"""The lrmd core: queues, concurrency, recurring monitors, timeouts, cancellation, history."""

from __future__ import annotations

import pytest

from lrmd import machine as m
from lrmd.ocf import AgentExit

C = b"crmd"


def effects(out, kind):
    return [e for e in out if isinstance(e, kind)]


class Harness:
    def __init__(self, **kw):
        self.core = m.LrmMachine(**kw)
        self.now = 0
        self.rid = 0
        self.log: list = []

    def step(self, event):
        out = self.core.step(self.now, event)
        self.log.extend(out)
        return out

    def register(self, rsc_id, rsc_class="ocf", provider="heartbeat", rsc_type="Dummy", **params):
        self.rid += 1
        out = self.step(m.Register(C, self.rid, rsc_id, rsc_class, rsc_type, provider,
                                   tuple(sorted(params.items()))))
        (reply,) = effects(out, m.Reply)
        return reply

    def execute(self, rsc_id, op, **kw):
        self.rid += 1
        out = self.step(m.Execute(C, self.rid, rsc_id, op, **kw))
        reply = effects(out, m.Reply)[0]
        return reply, effects(out, m.RunAgent), out

    def exit(self, run_id, code=0, **kw):
        out = self.step(m.AgentExited(run_id, AgentExit(exit_code=code, **kw)))
        return out

    def advance(self, ms):
        self.now += ms
        return self.step(m.Tick())

    def running(self):
        return sorted(self.core.runs)


def test_register_rejects_bad_definitions_and_accepts_good_ones():
    h = Harness()
    assert h.register("r1").error is None
    assert "class" in h.register("r2", rsc_class="nope").error
    assert "provider" in h.register("r3", provider="").error
    assert "reserved" in h.register("r4", CRM_meta_x="1").error
    assert "positional" in h.register("r5", rsc_class="heartbeat", rsc_type="IPaddr", ip="1").error
    assert h.register("r6", rsc_class="heartbeat", rsc_type="IPaddr", **{"1": "10.0.0.1"}).error is None
    assert [r["rsc_id"] for r in h.core.describe_resources()] == ["r1", "r6"]
    assert any(isinstance(e, m.SaveResources) for e in h.log)


def test_one_operation_at_a_time_per_resource_in_order():
    h = Harness()
    h.register("r1")
    _, runs1, _ = h.execute("r1", "start")
    _, runs2, _ = h.execute("r1", "monitor")
    _, runs3, _ = h.execute("r1", "stop")
    assert [r.operation for r in runs1] == ["start"] and not runs2 and not runs3
    out = h.exit(runs1[0].run_id, 0)
    assert [r.operation for r in effects(out, m.RunAgent)] == ["monitor"]
    out = h.exit(effects(out, m.RunAgent)[0].run_id, 0)
    assert [r.operation for r in effects(out, m.RunAgent)] == ["stop"]


def test_global_max_children_caps_concurrency_and_serves_in_queue_order():
    h = Harness(max_children=2)
    for i in range(5):
        h.register(f"r{i}")
    started = []
    for i in range(5):
        _, runs, _ = h.execute(f"r{i}", "start")
        started += runs
    assert [r.rsc_id for r in started] == ["r0", "r1"]
    out = h.exit(started[0].run_id)
    assert [r.rsc_id for r in effects(out, m.RunAgent)] == ["r2"]
    assert h.core.running_count() == 2


def test_one_shot_results_go_to_requester_and_subscribers():
    h = Harness()
    h.step(m.SignOn(b"watcher", 1, "crmd"))
    h.register("r1")
    reply, runs, _ = h.execute("r1", "start")
    h.now = 30
    out = h.exit(runs[0].run_id, 0, stdout="hello")
    (pub,) = effects(out, m.Publish)
    assert set(pub.clients) == {C, b"watcher"}
    assert pub.result.rc == 0 and pub.result.status == "done" and pub.result.exec_ms == 30
    assert pub.result.call_id == reply.result["call_id"] and pub.result.output == "hello"


def test_recurring_monitor_reports_changes_and_each_failure_only():
    h = Harness()
    h.register("r1")
    _, runs, _ = h.execute("r1", "monitor", interval_ms=1000)
    published = []
    codes = [0, 0, 0, 7, 7, 0, 0]
    run = runs[0]
    for code in codes:
        out = h.exit(run.run_id, code)
        published += [p.result.rc for p in effects(out, m.Publish)]
        assert h.core.next_deadline_ms() == h.now + 1000
        out = h.advance(1000)
        (run,) = effects(out, m.RunAgent)
        assert run.interval_ms == 1000
    # first result, the change to 7, every failure (7 != expected 0), the change back to 0
    assert published == [0, 7, 7, 0]


def test_recurring_monitor_waits_for_interval_after_completion_not_start():
    h = Harness()
    h.register("r1")
    _, runs, _ = h.execute("r1", "monitor", interval_ms=1000)
    h.now += 700  # the run took 700 ms
    h.exit(runs[0].run_id)
    assert h.core.next_deadline_ms() == 1700


def test_cancel_recurring_removes_it_and_reports_cancelled():
    h = Harness()
    h.register("r1")
    _, runs, _ = h.execute("r1", "monitor", interval_ms=1000)
    h.exit(runs[0].run_id, 0)
    h.rid += 1
    out = h.step(m.Cancel(C, h.rid, "r1", "monitor", 1000))
    assert effects(out, m.Reply)[0].error is None
    (pub,) = effects(out, m.Publish)
    assert pub.result.status == "cancelled"
    assert effects(h.advance(5000), m.RunAgent) == []
    h.rid += 1
    assert effects(h.step(m.Cancel(C, h.rid, "r1", "monitor", 1000)), m.Reply)[0].error


def test_cancel_while_running_reports_cancelled_when_it_ends_and_does_not_repeat():
    h = Harness()
    h.register("r1")
    _, runs, _ = h.execute("r1", "monitor", interval_ms=1000)
    h.rid += 1
    out = h.step(m.Cancel(C, h.rid, "r1", "monitor", 1000))
    assert effects(out, m.Publish) == []
    out = h.exit(runs[0].run_id, 0)
    assert [p.result.status for p in effects(out, m.Publish)] == ["cancelled"]
    assert h.core.next_deadline_ms() is None


def test_reissuing_a_recurring_op_replaces_the_old_one():
    h = Harness()
    h.register("r1")
    _, runs, _ = h.execute("r1", "monitor", interval_ms=1000)
    h.exit(runs[0].run_id)
    _, runs2, out = h.execute("r1", "monitor", interval_ms=1000)
    assert [p.result.status for p in effects(out, m.Publish)] == ["cancelled"]
    h.exit(runs2[0].run_id)
    assert len(h.core.resources["r1"].recurring) == 1


def test_timeout_terms_then_kills_the_group_and_reports_timeout():
    h = Harness(kill_grace_ms=5000)
    h.register("r1")
    _, runs, _ = h.execute("r1", "start", timeout_ms=2000)
    assert h.core.next_deadline_ms() == 2000
    out = h.advance(2000)
    assert effects(out, m.SignalAgent) == [m.SignalAgent(runs[0].run_id, "TERM")]
    out = h.advance(5000)
    assert effects(out, m.SignalAgent) == [m.SignalAgent(runs[0].run_id, "KILL")]
    out = h.exit(runs[0].run_id, code=None, signal=9)
    (pub,) = effects(out, m.Publish)
    assert pub.result.status == "timeout" and pub.result.rc == 1


def test_agent_exiting_on_term_is_still_a_timeout_and_its_group_is_killed():
    h = Harness()
    h.register("r1")
    _, runs, _ = h.execute("r1", "monitor", timeout_ms=100)
    h.advance(100)
    out = h.exit(runs[0].run_id, code=0)
    assert m.SignalAgent(runs[0].run_id, "KILL") in out
    assert effects(out, m.Publish)[0].result.status == "timeout"


def test_an_unkillable_agent_is_abandoned_and_the_queue_moves_on():
    h = Harness(kill_grace_ms=1000)
    h.register("r1")
    _, runs, _ = h.execute("r1", "start", timeout_ms=1000)
    h.execute("r1", "stop")
    h.advance(1000)
    h.advance(1000)
    out = h.advance(1000)
    assert effects(out, m.Publish)[0].result.status == "timeout"
    assert [r.operation for r in effects(out, m.RunAgent)] == ["stop"]
    assert effects(h.exit(runs[0].run_id), m.Publish) == []  # the late exit is ignored
    assert h.core.counters["stray_exits"] == 1


def test_exec_errors_map_to_clear_failed_results():
    h = Harness()
    h.register("r1")
    _, runs, _ = h.execute("r1", "start")
    out = h.step(m.AgentExited(runs[0].run_id, AgentExit(exec_error="x: not installed",
                                                         exec_errno_class="missing")))
    res = effects(out, m.Publish)[0].result
    assert (res.rc, res.status) == (5, "error") and "not installed" in res.exit_reason
    _, runs, _ = h.execute("r1", "monitor")
    res = effects(h.exit(runs[0].run_id, code=42), m.Publish)[0].result
    assert (res.rc, res.status, res.exit_code) == (1, "error", 42)
    assert "42" in res.exit_reason


def test_start_delay_postpones_the_first_run():
    h = Harness()
    h.register("r1")
    _, runs, _ = h.execute("r1", "monitor", interval_ms=1000, start_delay_ms=300)
    assert runs == []
    assert effects(h.advance(299), m.RunAgent) == []
    assert len(effects(h.advance(1), m.RunAgent)) == 1


def test_unregister_with_running_op_is_late_and_cancels_the_rest():
    h = Harness()
    h.register("r1")
    _, runs, _ = h.execute("r1", "start")
    h.execute("r1", "monitor", interval_ms=1000)
    h.rid += 1
    out = h.step(m.Unregister(C, h.rid, "r1"))
    assert effects(out, m.Reply)[0].result == {"removed": "r1", "late": True}
    assert [p.result.status for p in effects(out, m.Publish)] == ["cancelled"]
    assert "r1" not in [r["rsc_id"] for r in h.core.describe_resources()]
    h.exit(runs[0].run_id)
    assert "r1" not in h.core.resources
    _, _, out = h.execute("r1", "start")
    assert effects(out, m.Reply)[0].error


def test_registering_again_while_a_removal_waits_keeps_the_resource():
    """crm_resource --cleanup forgets a resource whose probe is still running, and the next
    probe registers it again at once: the lrmd keeps it (the campaign found every operation on
    a fence device refused with 'no such resource' until the old probe ended)."""
    h = Harness()
    h.register("r1")
    _, runs, _ = h.execute("r1", "start")
    h.rid += 1
    assert effects(h.step(m.Unregister(C, h.rid, "r1")), m.Reply)[0].result["late"] is True
    h.register("r1")
    assert "r1" in [r["rsc_id"] for r in h.core.describe_resources()]
    h.exit(runs[0].run_id)
    assert "r1" in h.core.resources
    _, runs, out = h.execute("r1", "monitor")
    assert not effects(out, m.Reply)[0].error and len(runs) == 1


def test_history_keeps_last_result_per_op_key_and_recent_reported_results():
    h = Harness()
    h.register("r1")
    _, runs, _ = h.execute("r1", "start")
    h.exit(runs[0].run_id, 0)
    _, runs, _ = h.execute("r1", "monitor", interval_ms=1000)
    h.exit(runs[0].run_id, 0)
    for _ in range(5):
        (run,) = effects(h.advance(1000), m.RunAgent)
        h.exit(run.run_id, 0)
    hist = h.core.history("r1")["r1"]
    last = {(r["operation"], r["interval_ms"]): r for r in hist["last"]}
    assert last[("monitor", 1000)]["runs"] == 6
    assert last[("monitor", 1000)]["rc_changed_ms"] == 0
    assert [r["operation"] for r in hist["recent"]] == ["start", "monitor"]
    assert hist["recurring"][0]["interval_ms"] == 1000


def test_metadata_is_run_once_and_then_cached():
    h = Harness()
    out = h.step(m.GetMetadata(C, 1, "ocf", "heartbeat", "Dummy"))
    (run,) = effects(out, m.RunAgent)
    assert run.operation == "meta-data"
    assert effects(h.step(m.GetMetadata(b"other", 2, "ocf", "heartbeat", "Dummy")), m.RunAgent) == []
    out = h.exit(run.run_id, 0, stdout="<resource-agent/>")
    assert sorted(r.request_id for r in effects(out, m.Reply)) == [1, 2]
    out = h.step(m.GetMetadata(C, 3, "ocf", "heartbeat", "Dummy"))
    assert effects(out, m.Reply)[0].result == "<resource-agent/>" and not effects(out, m.RunAgent)


def test_failed_metadata_is_an_error_reply_and_not_cached():
    h = Harness()
    (run,) = effects(h.step(m.GetMetadata(C, 1, "ocf", "heartbeat", "Nope")), m.RunAgent)
    out = h.step(m.AgentExited(run.run_id, AgentExit(exec_error="missing", exec_errno_class="missing")))
    assert effects(out, m.Reply)[0].error
    assert effects(h.step(m.GetMetadata(C, 2, "ocf", "heartbeat", "Nope")), m.RunAgent)


@pytest.mark.parametrize("kw", [{"interval_ms": -1}, {"timeout_ms": 0}, {"notify": "sometimes"}])
def test_bad_execute_requests_get_errors(kw):
    h = Harness()
    h.register("r1")
    reply, runs, _ = h.execute("r1", "start", **kw)
    assert reply.error and not runs


def test_many_resources_with_recurring_monitors_never_exceed_the_cap():
    h = Harness(max_children=3)
    for i in range(50):
        h.register(f"r{i}")
        h.execute(f"r{i}", "monitor", interval_ms=100 + i)
    runs_done = 0
    for _ in range(2000):
        assert h.core.running_count() <= 3
        if h.core.runs:
            run_id = min(h.core.runs)
            h.now += 1
            h.exit(run_id, 0)
            runs_done += 1
        else:
            deadline = h.core.next_deadline_ms()
            h.now = max(h.now, deadline)
            h.step(m.Tick())
        for rsc in h.core.resources.values():
            assert len(rsc.queue) <= 1
    assert runs_done > 500
