"""Helpers for the CIB status section, shared by the policy engine, crmd and tengine.

Operation keys (`rsc_monitor_10000`), transition keys/magic (`action:transition:target-rc:uuid`
and `op-status:rc;key`), fail-count attribute names and the resource-history entry written for a
finished action all have fixed formats that Pacemaker tools read; keeping them in one place keeps
the daemons and the engine agreeing on them.
"""

from __future__ import annotations

from core.cib.xmltree import XNode

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

FAKE_TE_ID = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"


def op_key(rsc_id: str, task: str, interval_ms: int) -> str:
    return f"{rsc_id}_{task}_{interval_ms}"


def parse_op_key(key: str) -> Optional[tuple[str, str, int]]:
    """`rsc_task_interval` -> (rsc, task, interval); handles '_' inside ids and notify keys."""
    head, sep, interval = key.rpartition("_")
    if not sep or not interval.isdigit():
        return None
    # notify keys: rsc_{pre,post}_notify_{task}_interval
    for marker in ("_pre_notify_", "_post_notify_"):
        idx = head.find(marker)
        if idx > 0:
            return head[:idx], head[idx + 1:], int(interval)
    rsc, sep, task = head.rpartition("_")
    if not sep or not rsc:
        return None
    for two_word in ("migrate_to", "migrate_from", "clear_failcount", "reload-agent"):
        if head.endswith("_" + two_word):
            rsc = head[: -len(two_word) - 1]
            task = two_word
            break
    return rsc, task, int(interval)


def transition_key(action_id: int, transition_id: int, target_rc: int,
                   uuid: str = FAKE_TE_ID) -> str:
    return f"{action_id}:{transition_id}:{target_rc}:{uuid}"


def parse_transition_key(key: Optional[str]) -> Optional[tuple[int, int, int, str]]:
    """(action id, transition id, target rc, te uuid) or None for a missing/corrupt key."""
    if not key:
        return None
    parts = key.split(":", 3)
    if len(parts) != 4:
        return None
    try:
        return int(parts[0]), int(parts[1]), int(parts[2]), parts[3]
    except ValueError:
        return None


def parse_transition_magic(magic: Optional[str]) -> Optional[tuple[int, int, str]]:
    """(op status, rc, transition key) from `status:rc;key`."""
    if not magic or ";" not in magic:
        return None
    head, key = magic.split(";", 1)
    try:
        status_s, rc_s = head.split(":", 1)
        return int(status_s), int(rc_s), key
    except ValueError:
        return None


def target_rc(op: XNode) -> int:
    """The result the action was expected to give (-1 when the key is missing or corrupt)."""
    parsed = parse_transition_key(op.get("transition-key"))
    return -1 if parsed is None else parsed[2]


def history_key(op: XNode) -> str:
    """pe__xe_history_key: operation_key, else the entry id."""
    return op.get("operation_key") or op.get("id") or ""


def int_attr(op: XNode, name: str, default: int = 0) -> int:
    return _to_int(op.get(name), default)


def is_probe(op: XNode) -> bool:
    return op.get("operation") == "monitor" and int_attr(op, "interval") == 0


def failcount_name(rsc_id: str, task: str, interval_ms: int) -> str:
    return f"fail-count-{rsc_id}#{task}_{interval_ms}"


def last_failure_name(rsc_id: str, task: str, interval_ms: int) -> str:
    return f"last-failure-{rsc_id}#{task}_{interval_ms}"


def strip_clone_suffix(rsc_id: str) -> str:
    """`rsc:3` -> `rsc` (clone_strip)."""
    head, sep, tail = rsc_id.rpartition(":")
    return head if sep and tail.isdigit() else rsc_id


def _to_int(value: Optional[str], default: int) -> int:
    """Pacemaker's crm_parse_int: the leading integer of the text ("30s" -> 30), else default."""
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        digits = ""
        for ch in value.strip():
            if ch.isdigit() or (not digits and ch in "+-"):
                digits += ch
            else:
                break
        try:
            return int(digits)
        except ValueError:
            return default


class OpRec:
    """The fields of one `lrm_rsc_op` history entry, parsed once (cached on the element)."""

    __slots__ = ("xml", "id", "task", "key", "rc", "status", "interval", "call_id",
                 "target_rc", "last_change", "magic")

    def __init__(self, op: XNode) -> None:
        get = op.idx.get
        vals = op.vals
        i = get("id")
        self.xml = op
        self.id = "" if i is None else vals[i]
        i = get("operation")
        self.task = None if i is None else vals[i]
        i = get("operation_key")
        self.key = self.id if i is None else vals[i]
        i = get("rc-code")
        self.rc = 0 if i is None else _to_int(vals[i], 0)
        i = get("op-status")
        self.status = 0 if i is None else _to_int(vals[i], 0)
        i = get("interval")
        self.interval = 0 if i is None else _to_int(vals[i], 0)
        i = get("call-id")
        self.call_id = -1 if i is None else _to_int(vals[i], -1)
        i = get("transition-key")
        parsed = None if i is None else parse_transition_key(vals[i])
        self.target_rc = -1 if parsed is None else parsed[2]
        i = get("last-rc-change")
        self.last_change = -1 if i is None else _to_int(vals[i], -1)
        i = get("transition-magic")
        self.magic = None if i is None else vals[i]

    @property
    def is_probe(self) -> bool:
        return self.task == "monitor" and self.interval == 0


def op_record(op: XNode) -> OpRec:
    rec = op.rec
    if rec is None:
        rec = op.rec = OpRec(op)
    return rec
