"""The node's resource history as crmd rebuilds it from the lrmd (after either restarts)."""

from __future__ import annotations

from crmd.lrmstate import LocalLrm, params_digest


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
