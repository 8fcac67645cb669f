"""`crm_mon --output-as json`: this project's own, versioned status document.

Pacemaker's crm_mon has no JSON output; this one exists for scripts that would rather not parse
XML. It is made from the same `MonStatus` as the XML output, so the two always agree. Changes
that remove or re-type a field bump `format_version`; new fields may appear without a bump.

Format version 1 (every key is always present; "null" where a value does not apply)::

    {
      "format_version": 1,
      "last_update": 1700000000,          # epoch seconds when this was produced
      "summary": {
        "stack": "corosync",              # cluster-infrastructure property, "unknown" if unset
        "dc": {"name": "node1", "id": "1", "version": "2.1.5"} | null,
        "quorum": true,                   # the partition has quorum (have-quorum)
        "last_change": {"time": str|null, "user": str|null, "client": str|null,
                        "origin": str|null},          # who wrote the CIB last, verbatim
        "counts": {"nodes": 2, "resource_instances": 3, "disabled": 0, "blocked": 0},
        "options": {"stonith_enabled": bool, "symmetric_cluster": bool,
                    "no_quorum_policy": "stop"|"freeze"|"ignore"|"demote"|"suicide",
                    "maintenance_mode": bool, "stop_all_resources": bool,
                    "stonith_timeout_ms": int, "priority_fencing_delay_ms": int}
      },
      "nodes": [{
        "name": "node1", "id": "1", "type": "member"|"remote"|"ping",
        "online": bool, "standby": bool, "standby_onfail": bool, "maintenance": bool,
        "pending": bool, "unclean": bool, "shutdown": bool, "expected_up": bool,
        "is_dc": bool,
        "health": "green"|"yellow"|"red",
        "status": "online",               # crm_mon's word: "standby", "UNCLEAN (offline)", ...
        "resources_running": 1,           # primitives active on the node
        "resources": ["rsc1"],            # their ids, in the node's order
        "attributes": {"name": "value"}   # as crm_mon -A lists them; online nodes only
      }],
      "resources": [RESOURCE],            # top-level resources, as the XML lists them
      "failures": [{                      # failed actions ("Failed Resource Actions")
        "op_key": "rsc1_monitor_10000"|null, "id": str|null, "resource": "rsc1"|null,
        "node": "node1", "task": "monitor"|null, "interval_ms": 10000,
        "exit_code": 1, "exit_status": "error", "exit_reason": str|null,
        "status": "complete",             # execution status: complete, Timed Out, Error, ...
        "call_id": "6"|null, "last_rc_change": epoch|null,
        "queued_ms": "0"|null, "exec_ms": "10"|null        # verbatim from the history
      }],
      "fail_counts": [{                   # resources with a fail count, per node
        "node": "node1", "resource": "rsc1", "history_id": "rsc1",
        "fail_count": 1, "migration_threshold": 1000000, "last_failure": epoch|null
      }],
      "history": [{                       # each online node's operation history
        "node": "node1",
        "resources": [{"resource": "rsc1", "history_id": "rsc1", "orphan": bool,
                       "migration_threshold": int, "fail_count": int,
                       "last_failure": epoch|null,
                       "operations": [{"call_id": "5"|null, "task": "start",
                                       "rc": 0, "rc_text": "ok",
                                       "interval_ms": int,
                                       "last_rc_change": epoch|null,
                                       "exec_ms": "10"|null, "queue_ms": "0"|null}]}]
      }],
      "bans": [{"id": str, "resource": str, "node": str, "score": int,
                "promoted_only": bool}]   # negative location constraints
    }

RESOURCE is one of::

    {"id": "rsc1", "type": "primitive", "agent": "ocf:heartbeat:Dummy",
     "role": "Started",          # displayed state: Started, Stopped, Promoted, Unpromoted,
                                 # Starting, Stopping, Migrating, Promoting, Demoting
     "target_role": str|null, "active": bool, "failed": bool, "managed": bool,
     "blocked": bool, "orphaned": bool, "failure_ignored": bool,
     "pending": "Monitoring"|null, "locked_to": str|null,
     "nodes": ["node1"]}         # where it is active
    {"id": "grp", "type": "group", "managed": bool, "disabled": bool,
     "members": [RESOURCE, ...]}             # primitives, in group order
    {"id": "cl", "type": "clone", "promotable": bool, "unique": bool, "managed": bool,
     "disabled": bool, "failed": bool, "failure_ignored": bool, "target_role": str|null,
     "members": [RESOURCE, ...]}             # its instances (primitives or groups)
"""

from __future__ import annotations

import json
from typing import Any, Optional

from tools.monstatus import (AnyResource, CloneStatus, GroupStatus, MonStatus, NodeStatus,
                             PrimitiveStatus)

FORMAT_VERSION = 1


def _epoch(value: Optional[int]) -> Optional[int]:
    return value if value else None


def resource_json(rsc: AnyResource) -> dict[str, Any]:
    if isinstance(rsc, PrimitiveStatus):
        return {"id": rsc.id, "type": "primitive", "agent": rsc.agent, "role": rsc.role,
                "target_role": rsc.target_role, "active": rsc.active, "failed": rsc.failed,
                "managed": rsc.managed, "blocked": rsc.blocked, "orphaned": rsc.orphaned,
                "failure_ignored": rsc.failure_ignored, "pending": rsc.pending,
                "locked_to": rsc.locked_to, "nodes": [ref.name for ref in rsc.nodes]}
    if isinstance(rsc, GroupStatus):
        return {"id": rsc.id, "type": "group", "managed": rsc.managed,
                "disabled": rsc.disabled, "members": [resource_json(m) for m in rsc.members]}
    assert isinstance(rsc, CloneStatus)
    return {"id": rsc.id, "type": "clone", "promotable": rsc.multi_state,
            "unique": rsc.unique, "managed": rsc.managed, "disabled": rsc.disabled,
            "failed": rsc.failed, "failure_ignored": rsc.failure_ignored,
            "target_role": rsc.target_role,
            "members": [resource_json(m) for m in rsc.instances]}


def node_json(n: NodeStatus) -> dict[str, Any]:
    return {"name": n.name, "id": n.id, "type": n.type, "online": n.online,
            "standby": n.standby, "standby_onfail": n.standby_onfail,
            "maintenance": n.maintenance, "pending": n.pending, "unclean": n.unclean,
            "shutdown": n.shutdown, "expected_up": n.expected_up, "is_dc": n.is_dc,
            "health": n.health_text, "status": n.status_text,
            "resources_running": n.resources_running, "resources": [p.id for p in n.running],
            "attributes": {a.name: a.value for a in n.attributes}}


def status_json(st: MonStatus, now: int) -> dict[str, Any]:
    s = st.summary
    o = s.options
    history = []
    fail_counts = []
    for node in st.history or []:
        entries = []
        for entry in node.resources:
            entries.append({
                "resource": entry.id, "history_id": entry.history_id, "orphan": entry.orphan,
                "migration_threshold": entry.migration_threshold,
                "fail_count": entry.fail_count, "last_failure": _epoch(entry.last_failure),
                "operations": [{"call_id": op.call, "task": op.task, "rc": op.rc,
                                "rc_text": op.rc_text,
                                "interval_ms": int(op.interval_ms)
                                if (op.interval_ms or "").isdigit() else 0,
                                "last_rc_change": op.last_rc_change,
                                "exec_ms": op.exec_time, "queue_ms": op.queue_time}
                               for op in entry.operations]})
            if entry.fail_count > 0:
                fail_counts.append({"node": node.node, "resource": entry.id,
                                    "history_id": entry.history_id,
                                    "fail_count": entry.fail_count,
                                    "migration_threshold": entry.migration_threshold,
                                    "last_failure": _epoch(entry.last_failure)})
        history.append({"node": node.node, "resources": entries})
    return {
        "format_version": FORMAT_VERSION,
        "last_update": now,
        "summary": {
            "stack": s.stack,
            "dc": None if s.dc is None else {"name": s.dc.name, "id": s.dc.id,
                                             "version": s.dc.version},
            "quorum": s.have_quorum,
            "last_change": {"time": s.last_change.time, "user": s.last_change.user,
                            "client": s.last_change.client,
                            "origin": s.last_change.origin},
            "counts": {"nodes": s.nodes_configured,
                       "resource_instances": s.resources_configured,
                       "disabled": s.resources_disabled, "blocked": s.resources_blocked},
            "options": {"stonith_enabled": o.stonith_enabled,
                        "symmetric_cluster": o.symmetric_cluster,
                        "no_quorum_policy": o.no_quorum_policy,
                        "maintenance_mode": o.maintenance_mode,
                        "stop_all_resources": o.stop_all_resources,
                        "stonith_timeout_ms": o.stonith_timeout_ms,
                        "priority_fencing_delay_ms": o.priority_fencing_delay_ms},
        },
        "nodes": [node_json(n) for n in st.nodes],
        "resources": [resource_json(r) for r in st.resources],
        "failures": [{"op_key": f.op_key, "id": f.id, "resource": f.resource,
                      "node": f.node, "task": f.task, "interval_ms": f.interval_ms,
                      "exit_code": f.rc, "exit_status": f.rc_text,
                      "exit_reason": f.exit_reason, "status": f.status_text,
                      "call_id": f.call, "last_rc_change": f.last_rc_change,
                      "queued_ms": f.queued, "exec_ms": f.exec_time}
                     for f in st.failures],
        "fail_counts": fail_counts,
        "history": history,
        "bans": [{"id": b.id, "resource": b.resource, "node": b.node, "score": b.weight,
                  "promoted_only": b.promoted_only} for b in st.bans],
    }


def render(st: MonStatus, now: int) -> str:
    return json.dumps(status_json(st, now), indent=2) + "\n"
