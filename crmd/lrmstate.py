"""A node's own resource history (its `<lrm>` section), as the crmd of that node keeps it.

Each node is authoritative for its own history: it is rebuilt from the lrmd (which outlives
crmd restarts) whenever crmd starts or the lrmd restarts, updated from every operation result,
sent whole in every join request and entry by entry to the DC afterwards.

Entries are `lrm_rsc_op` elements in Pacemaker's shape (pcmk__create_history_xml): `RSC_last_0`
for the newest non-recurring operation, `RSC_last_failure_0` for the newest failure, and the
operation key (`RSC_monitor_10000`) for each active recurring operation. A clone notification
has an entry of its own (`RSC_post_notify_start_0`, always recorded as a success, as Pacemaker
ignores notify errors) so it never hides the start or promote before it; a live migration step
keeps its own entry too (`RSC_migrate_to_0`, `RSC_migrate_from_0`, with `migrate_source` and
`migrate_target`), which is how the next transition learns that a migration completed or was
left half done. The transition key, the parameter digest and that hint travel with the
operation through the lrmd as its `user_data` (`key|digest|hint`), so a history rebuilt after a
restart still says which graph asked for what.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from core.cib.status import FAKE_TE_ID, op_key, parse_transition_key, transition_key
from core.cib.xmltree import XNode, to_xml

FEATURE_SET = "3.16.2"
PENDING_RC = 193  # PCMK_OCF_UNKNOWN: what a pending entry records as its rc
OP_STATUS = {"pending": -1, "done": 0, "cancelled": 1, "timeout": 2, "not_supported": 3, "error": 4}
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                         "'": "&apos;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
_NOT_DIGESTED = {"id", "crm_feature_set", "op-digest", "on_node", "on_node_uuid", "pcmk_external_ip"}


def params_digest(attrs: dict[str, str], interval_ms: int) -> str:
    """The op-digest of an action's parameters, as the policy engine recomputes it: every
    parameter but CRM_meta_* (except CRM_meta_timeout of a recurring op) as one sorted
    `<parameters .../>` element, MD5."""
    params = {k: v for k, v in attrs.items() if not k.startswith("CRM_meta_") and k not in _NOT_DIGESTED}
    if interval_ms and "CRM_meta_timeout" in attrs:
        params["CRM_meta_timeout"] = attrs["CRM_meta_timeout"]
    text = " <parameters" + "".join(f' {k}="{params[k].translate(_ESCAPE)}"' for k in sorted(params)) + "/>\n"
    return hashlib.md5(text.encode()).hexdigest()


def user_data(key: str, digest: str, hint: str = "") -> str:
    return f"{key}|{digest}|{hint}" if hint else f"{key}|{digest}"


def split_user_data(data: str, probe: bool) -> tuple[str, str]:
    """(transition key, digest); an operation no graph asked for (the lrmd's own probes after a
    restart, a tool's) gets a key of transition -1 whose target says what was expected."""
    key, _, rest = data.partition("|")
    digest = rest.partition("|")[0]
    if parse_transition_key(key) is None:
        key = transition_key(0, -1, 7 if probe else 0, FAKE_TE_ID)
    return key, digest


def history_hint(operation: str, meta: dict[str, str]) -> str:
    """What a notify or migration result needs to be recorded, from the action's meta:
    `notify_type:notify_operation`, or `migrate_source:migrate_target`."""
    if operation == "notify":
        return f"{meta.get('notify_type', '')}:{meta.get('notify_operation', '')}"
    if operation in ("migrate_to", "migrate_from"):
        return f"{meta.get('migrate_source', '')}:{meta.get('migrate_target', '')}"
    return ""


def hint_of(data: str) -> str:
    return data.split("|", 2)[2] if data.count("|") >= 2 else ""


@dataclass
class OpRecord:
    """What one operation's entry records."""

    rsc_id: str
    task: str
    interval_ms: int
    call_id: int
    rc: int
    op_status: int
    key: str
    digest: str
    last_rc_change_s: int
    exec_ms: int = 0
    queue_ms: int = 0
    exit_reason: str = ""
    migrate_source: str = ""
    migrate_target: str = ""

    @property
    def target_rc(self) -> int:
        parsed = parse_transition_key(self.key)
        return parsed[2] if parsed is not None else 0

    @property
    def failed(self) -> bool:
        if self.op_status != 0:
            return self.op_status != 1  # cancelled is not a failure
        if self.task == "monitor" and self.interval_ms == 0:
            return self.rc not in (0, 7, 8) and self.rc != self.target_rc
        return self.rc != self.target_rc

    def attrs(self, entry_id: str, node: str) -> dict[str, str]:
        out = {"id": entry_id, "operation_key": op_key(self.rsc_id, self.task, self.interval_ms),
               "operation": self.task, "crm-debug-origin": "do_update_resource",
               "crm_feature_set": FEATURE_SET, "transition-key": self.key,
               "transition-magic": f"{self.op_status}:{self.rc};{self.key}",
               "exit-reason": self.exit_reason, "on_node": node, "call-id": str(self.call_id),
               "rc-code": str(self.rc), "op-status": str(self.op_status), "interval": str(self.interval_ms),
               "last-rc-change": str(self.last_rc_change_s), "exec-time": str(self.exec_ms),
               "queue-time": str(self.queue_ms)}
        if self.digest and self.task not in ("stop", "cancel"):
            out["op-digest"] = self.digest
        if self.task in ("migrate_to", "migrate_from"):
            out["migrate_source"] = self.migrate_source
            out["migrate_target"] = self.migrate_target
        return out


@dataclass
class LrmResource:
    rsc_id: str
    rsc_class: str
    provider: str
    rsc_type: str
    entries: dict[str, OpRecord] = field(default_factory=dict)  # entry id -> record

    def element(self, node: str) -> XNode:
        attrs = {"id": self.rsc_id, "type": self.rsc_type, "class": self.rsc_class}
        if self.provider:
            attrs["provider"] = self.provider
        elem = XNode("lrm_resource", attrs)
        for entry_id in sorted(self.entries, key=lambda e: self.entries[e].call_id):
            elem.sub("lrm_rsc_op", self.entries[entry_id].attrs(entry_id, node))
        return elem


class LocalLrm:
    """The node's history: resources, and per resource its entries."""

    def __init__(self, node: str, node_id: str) -> None:
        self.node = node
        self.node_id = node_id
        self.resources: dict[str, LrmResource] = {}

    def resource(self, rsc_id: str, rsc_class: str, provider: str, rsc_type: str) -> LrmResource:
        rsc = self.resources.get(rsc_id)
        if rsc is None or (rsc.rsc_class, rsc.provider, rsc.rsc_type) != (rsc_class, provider, rsc_type):
            rsc = self.resources[rsc_id] = LrmResource(rsc_id, rsc_class, provider, rsc_type)
        return rsc

    def record(self, rsc: LrmResource, rec: OpRecord, hint: str = "") -> tuple[list[str], list[str]]:
        """Add one result (hint: see `history_hint`); returns (entry ids written, entry ids
        removed)."""
        written: list[str] = []
        removed: list[str] = []
        if rec.task == "notify":
            notify_type, _, operation = hint.partition(":")
            if not notify_type or not operation:
                return written, removed  # unknown notification: it says nothing about the state
            entry = f"{rec.rsc_id}_{notify_type}_notify_{operation}_0"
            if rec.op_status != OP_STATUS["pending"]:
                rec = replace(rec, rc=0, op_status=0, exit_reason="")
            rsc.entries[entry] = rec
            written.append(entry)
            return written, removed
        if rec.task in ("migrate_to", "migrate_from"):
            source, _, target = hint.partition(":")
            entry = op_key(rec.rsc_id, rec.task, 0)
            rsc.entries[entry] = replace(rec, migrate_source=source, migrate_target=target)
            written.append(entry)
            return written, removed
        if rec.interval_ms > 0:
            entry = op_key(rec.rsc_id, rec.task, rec.interval_ms)
            rsc.entries[entry] = rec
            written.append(entry)
        else:
            entry = f"{rec.rsc_id}_last_0"
            rsc.entries[entry] = rec
            written.append(entry)
        if rec.failed:
            failure = f"{rec.rsc_id}_last_failure_0"
            rsc.entries[failure] = rec
            written.append(failure)
        if rec.task == "stop" and not rec.failed:
            # a stopped resource has no recurring operations any more
            for entry_id in [e for e, r in rsc.entries.items() if r.interval_ms > 0]:
                del rsc.entries[entry_id]
                removed.append(entry_id)
        return written, removed

    def drop_recurring(self, rsc_id: str, task: str, interval_ms: int) -> Optional[str]:
        rsc = self.resources.get(rsc_id)
        entry = op_key(rsc_id, task, interval_ms)
        if rsc is not None and entry in rsc.entries:
            del rsc.entries[entry]
            return entry
        return None

    def forget(self, rsc_id: str) -> None:
        self.resources.pop(rsc_id, None)

    def element(self, pending: tuple[tuple[OpRecord, str, str, str], ...] = ()) -> XNode:
        """pending: (record, class, provider, type) of operations still running, shown as
        Pacemaker's record-pending entries (op-status -1): a DC that joins this node while it
        starts or stops something then takes the resource as active here, not as stopped."""
        resources_now = dict(self.resources)
        for rec, rsc_class, provider, rsc_type in pending:
            base = resources_now.get(rec.rsc_id)
            rsc = LrmResource(rec.rsc_id, rsc_class, provider, rsc_type,
                              dict(base.entries) if base is not None else {})
            last = max((r.call_id for r in rsc.entries.values()), default=0)
            # a migration step in flight has its own entry, as its result will (with its nodes:
            # a pending migrate_to on a node that is lost means the target must be stopped too)
            entry = op_key(rec.rsc_id, rec.task, 0) if rec.task in ("migrate_to", "migrate_from") \
                else f"{rec.rsc_id}_last_0"
            rsc.entries[entry] = OpRecord(
                rec.rsc_id, rec.task, 0, last + 1, PENDING_RC, OP_STATUS["pending"], rec.key, rec.digest,
                rec.last_rc_change_s, migrate_source=rec.migrate_source, migrate_target=rec.migrate_target)
            resources_now[rec.rsc_id] = rsc
        lrm = XNode("lrm", {"id": self.node_id})
        resources = lrm.sub("lrm_resources")
        for rsc_id in sorted(resources_now):
            resources.append(resources_now[rsc_id].element(self.node))
        return lrm

    def xml(self, pending: tuple[tuple[OpRecord, str, str, str], ...] = ()) -> str:
        return to_xml(self.element(pending), indent=None)

    def rebuild(self, listed: list[dict[str, Any]], history: dict[str, Any]) -> None:
        """From the lrmd's resource list and history (after a crmd or lrmd start)."""
        self.resources.clear()
        for item in listed:
            try:
                rsc = self.resource(str(item["rsc_id"]), str(item["rsc_class"]), str(item.get("provider") or ""),
                                    str(item["rsc_type"]))
            except (KeyError, TypeError):
                continue
            hist = history.get(rsc.rsc_id) or {}
            active = {(str(r.get("operation")), int(r.get("interval_ms") or 0)) for r in hist.get("recurring") or []}
            records = sorted((r for r in hist.get("last") or [] if isinstance(r, dict)),
                             key=lambda r: int(r.get("call_id") or 0))
            for r in records:
                task = str(r.get("operation") or "")
                interval = int(r.get("interval_ms") or 0)
                if not task or task == "meta-data" or r.get("status") == "cancelled":
                    continue
                if interval > 0 and (task, interval) not in active:
                    continue
                key, digest = split_user_data(str(r.get("user_data") or ""), task == "monitor" and interval == 0)
                if not digest and isinstance(item.get("params"), dict):
                    # the lrmd's own probe after its restart: the digest of what it ran with
                    digest = params_digest({str(k): str(v) for k, v in item["params"].items()}, interval)
                when = r.get("rc_changed_wall_s") if interval > 0 else r.get("started_wall_s")
                rec = OpRecord(rsc.rsc_id, task, interval, int(r.get("call_id") or 0), int(r.get("rc") or 0),
                               OP_STATUS.get(str(r.get("status")), 4), key, digest, int(float(when or 0)),
                               int(r.get("exec_ms") or 0), int(r.get("queue_ms") or 0), str(r.get("exit_reason") or ""))
                self.record(rsc, rec, hint_of(str(r.get("user_data") or "")))

    def active(self) -> list[str]:
        """Resources whose newest operation left them running here (for shutdown and logs)."""
        out = []
        for rsc_id, rsc in self.resources.items():
            last = rsc.entries.get(f"{rsc_id}_last_0")
            arrived = rsc.entries.get(op_key(rsc_id, "migrate_from", 0))
            if arrived is not None and not arrived.failed and (last is None or arrived.call_id > last.call_id):
                last = arrived  # migrated here: running since, though no start was recorded
            if last is None:
                continue
            if last.task == "stop" and not last.failed:
                continue
            if last.task == "monitor" and last.interval_ms == 0 and last.rc == 7:
                continue
            if last.task in ("start", "promote", "demote", "migrate_from", "monitor", "notify", "reload") \
                    and not (last.task == "start" and last.failed and last.rc == 7):
                out.append(rsc_id)
            elif last.task == "stop" and last.failed:
                out.append(rsc_id)
        return sorted(out)
