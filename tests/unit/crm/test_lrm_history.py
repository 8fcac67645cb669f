"""The node's resource history as crmd rebuilds it from the lrmd (after either restarts)."""

from __future__ import annotations

from crmd.lrmstate import LocalLrm, OpRecord, params_digest


def test_a_restarted_lrmds_own_probe_is_recorded_with_the_digest_of_what_it_ran_with():
    """A restarted lrmd probes what it knew; those probes carry no transition data. Without an
    op-digest the policy engine takes the definition as changed and restarts the resource (the
    fault campaign found a fence device restarted after `kill -9` of an lrmd)."""
    params = {"ip": "198.18.0.100", "cidr_netmask": "24"}
    listed = [{"rsc_id": "vip", "rsc_class": "ocf", "provider": "pyheartbeat", "rsc_type": "IPaddr2",
               "params": params}]
    history = {"vip": {"last": [{"operation": "monitor", "interval_ms": 0, "call_id": 1, "rc": 0,
                                 "status": "done", "user_data": "", "started_wall_s": 1000}],
                       "recurring": []}}
    lrm = LocalLrm("node1", "node1")
    lrm.rebuild(listed, history)
    attrs = lrm.resources["vip"].entries["vip_last_0"].attrs("vip_last_0", "node1")
    assert attrs["op-digest"] == params_digest(params, 0)
    assert attrs["transition-key"].split(":")[1] == "-1"  # no graph asked for it


def test_an_operation_a_graph_asked_for_keeps_the_digest_it_was_sent_with():
    listed = [{"rsc_id": "d", "rsc_class": "ocf", "provider": "pyheartbeat", "rsc_type": "Dummy", "params": {}}]
    key = "3:7:0:ef92a9f7-e3ee-3515-480b-1c5a6f3bb98d"
    history = {"d": {"last": [{"operation": "start", "interval_ms": 0, "call_id": 4, "rc": 0, "status": "done",
                               "user_data": f"{key}|abc123", "started_wall_s": 1000}], "recurring": []}}
    lrm = LocalLrm("node1", "node1")
    lrm.rebuild(listed, history)
    attrs = lrm.resources["d"].entries["d_last_0"].attrs("d_last_0", "node1")
    assert attrs["op-digest"] == "abc123" and attrs["transition-key"] == key


KEY = "3:7:0:ef92a9f7-e3ee-3515-480b-1c5a6f3bb98d"
LISTED = [{"rsc_id": "d", "rsc_class": "ocf", "provider": "pyheartbeat", "rsc_type": "Dummy", "params": {}}]


def _op(task: str, call_id: int, rc: int = 0, hint: str = "") -> dict:
    return {"operation": task, "interval_ms": 0, "call_id": call_id, "rc": rc, "status": "done",
            "user_data": f"{KEY}|abc123" + (f"|{hint}" if hint else ""), "started_wall_s": 1000}


def test_a_notification_has_its_own_entry_never_a_failure_and_hides_nothing():
    history = {"d": {"last": [_op("start", 4), _op("notify", 5, rc=1, hint="post:start")], "recurring": []}}
    lrm = LocalLrm("node1", "node1")
    lrm.rebuild(LISTED, history)
    entries = lrm.resources["d"].entries
    assert entries["d_last_0"].task == "start", "the notify did not replace the start"
    note = entries["d_post_notify_start_0"].attrs("d_post_notify_start_0", "node1")
    assert (note["operation"], note["rc-code"], note["op-status"]) == ("notify", "0", "0")
    assert "d_last_failure_0" not in entries
    assert lrm.active() == ["d"]


def test_a_notification_without_its_type_is_not_recorded():
    history = {"d": {"last": [_op("start", 4), _op("notify", 5)], "recurring": []}}
    lrm = LocalLrm("node1", "node1")
    lrm.rebuild(LISTED, history)
    assert sorted(lrm.resources["d"].entries) == ["d_last_0"]


def test_migration_steps_keep_their_own_entries_with_their_nodes():
    history = {"d": {"last": [_op("start", 4), _op("migrate_to", 5, hint="node1:node2")], "recurring": []}}
    source = LocalLrm("node1", "node1")
    source.rebuild(LISTED, history)
    entries = source.resources["d"].entries
    assert entries["d_last_0"].task == "start"
    attrs = entries["d_migrate_to_0"].attrs("d_migrate_to_0", "node1")
    assert (attrs["migrate_source"], attrs["migrate_target"]) == ("node1", "node2")
    assert source.active() == ["d"], "still running on the source until its stop"
    target = LocalLrm("node2", "node2")
    target.rebuild(LISTED, {"d": {"last": [_op("migrate_from", 2, hint="node1:node2")], "recurring": []}})
    assert sorted(target.resources["d"].entries) == ["d_migrate_from_0"]
    assert target.active() == ["d"], "migrated here: running without a start"
    failed = LocalLrm("node2", "node2")
    failed.rebuild(LISTED, {"d": {"last": [_op("migrate_from", 2, rc=1, hint="node1:node2")], "recurring": []}})
    assert sorted(failed.resources["d"].entries) == ["d_migrate_from_0"]
    assert failed.active() == []


def test_a_migration_step_in_flight_shows_as_pending_under_its_own_entry():
    lrm = LocalLrm("node1", "node1")
    lrm.rebuild(LISTED, {"d": {"last": [_op("start", 4)], "recurring": []}})
    pending = OpRecord("d", "migrate_to", 0, 0, 0, 0, KEY, "", 1000,
                       migrate_source="node1", migrate_target="node2")
    elem = lrm.element(((pending, "ocf", "pyheartbeat", "Dummy"),))
    ops = {op.get("id"): op for op in elem.iter("lrm_rsc_op")}
    assert ops["d_last_0"].get("operation") == "start"
    assert ops["d_migrate_to_0"].get("op-status") == "-1"
    assert ops["d_migrate_to_0"].get("migrate_target") == "node2"
