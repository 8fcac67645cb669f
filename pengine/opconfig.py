"""Operation configuration (Pacemaker's unpack_operation / pcmk__find_action_config): the `<op>`
entry for an action key and what it sets (timeout, on-fail, requires, start delay, interval).

Below actions.py and digest.py, which both need it: an action gets its failure handling and
timeout from here, and a parameter digest includes the op's configured values."""

from __future__ import annotations

from core.cib.dates import DateError, parse_date, to_epoch
from core.cib.durations import interval_ms as parse_interval_ms
from core.cib.durations import msec as parse_msec
from core.cib.rules import RuleContext, unpack_nvpairs
from core.cib.status import op_key
from core.cib.xmltree import XNode
from pengine import model as m
from pengine.model import Resource, WorkingSet
from pengine.values import to_bool

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

# cached per resource/key because it does not depend on the node


class OpConfig:
    __slots__ = ("op_entry", "meta", "on_fail", "fail_role", "needs", "digests")

    def __init__(self, op_entry: Optional[XNode], meta: dict[str, str], on_fail: int,
                 fail_role: int, needs: int) -> None:
        self.op_entry = op_entry
        self.meta = meta
        self.on_fail = on_fail
        self.fail_role = fail_role
        self.needs = needs
        # pengine/digest.py's parameter sets of this action, by the resource's parameters
        # (kept with this object: see digest._digest_params)
        self.digests: Optional[dict[tuple, tuple]] = None


class OpEntries:
    """The `<op>` children of one `<operations>` element, each as (element, name, interval in
    ms, disabled), kept on the element (`XNode.rec`) while its child list is the same object of
    the same length. Why: an action's op entry is looked up several times per resource and
    transition (its actions, its recurring operations, digests), and each look-up parsed every
    op's interval again; a warm daemon reuses the configuration's elements (inputcache.py), so
    this is parsed once per configuration text. It depends on the element's children only."""

    __slots__ = ("children", "length", "ops", "configs", "recurring", "odd_case")

    def __init__(self, ops: XNode) -> None:
        self.children = ops.children
        self.length = len(ops.children)
        # op_config's results that depend on nothing but these elements and the stamp they
        # are keyed by (see op_config)
        self.configs: dict[tuple, OpConfig] = {}
        # each resource's recurring-operation plan by its id: (its history name, the plan or
        # None where building it met a duplicate op) (pengine/rscactions.py's _recurring_plan)
        self.recurring: dict[str, tuple[Optional[str], Optional[tuple]]] = {}
        self.ops: tuple[tuple[XNode, Optional[str], int, bool], ...] = tuple(
            (op, op.get("name"), parse_interval_ms(op.get("interval")),
             to_bool(op.get("enabled")) is False)
            for op in ops.children if op.tag == "op")
        # whether an op's name is not in lower case (name="Monitor": see op_names_odd_case)
        self.odd_case = any(name is not None and name != name.lower()
                            for _, name, _, _ in self.ops)

    def valid_for(self, ops: XNode) -> bool:
        return self.children is ops.children and self.length == len(ops.children)


def _op_index(ops: XNode) -> OpEntries:
    index = ops.rec
    if index.__class__ is not OpEntries or not index.valid_for(ops):
        index = ops.rec = OpEntries(ops)
    return index


def recurring_plans(ops: XNode) -> dict[str, tuple[Optional[str], Optional[tuple]]]:
    """The recurring-operation plans kept with `ops` (see rscactions._recurring_plan)."""
    return _op_index(ops).recurring


def op_entries(ops: XNode) -> tuple[tuple[XNode, Optional[str], int, bool], ...]:
    """(element, name, interval_ms, disabled) of each `<op>` under `ops`, in document order."""
    return _op_index(ops).ops


def op_names_odd_case(ops: XNode) -> bool:
    """Whether an `<op>` under `ops` has a name not in lower case (its actions are then found
    case-insensitively: WorkingSet.odd_case_actions), read from the kept entries instead of
    their names, once per resource and transition."""
    return _op_index(ops).odd_case


def find_op_entry(rsc: Resource, key: str, include_disabled: bool = True) -> Optional[XNode]:
    """find_rsc_op_entry_helper: the configured <op> whose key matches (migrate/notify fallback)."""
    ops = rsc.ops_xml
    if ops is None:
        return None
    entries = op_entries(ops)
    for attempt in range(2):
        wanted = key.lower()  # keys compare case-insensitively (pcmk__str_casei): name="Monitor"
        for op, name, interval, disabled in entries:
            if disabled and not include_disabled:
                continue
            mine = op_key(rsc.id, name or "", interval)
            if key == mine or wanted == mine.lower():
                return op
            if rsc.clone_name:
                mine = op_key(rsc.clone_name, name or "", interval)
                if key == mine or wanted == mine.lower():
                    return op
        if attempt == 0:
            if "migrate" in key:
                key = op_key(rsc.id, "migrate", 0)
            elif "_notify_" in key:
                key = op_key(rsc.id, "notify", 0)
            else:
                return None
    return None


def _min_interval_monitor(rsc: Resource) -> Optional[XNode]:
    best = None
    best_interval = 0
    if rsc.ops_xml is None:
        return None
    for op, name, interval, disabled in op_entries(rsc.ops_xml):
        if (name or "").lower() != "monitor" or disabled:  # pcmk__str_casei, as find_op_entry
            continue
        if interval > 0 and (best is None or interval < best_interval):
            best, best_interval = op, interval
    return best


def op_config(ws: WorkingSet, rsc: Resource, key: str, task: str, interval_ms: int) -> OpConfig:
    """unpack_operation for one action key of a resource: cached for the run, and kept on the
    resource's `<operations>` element (OpEntries.configs) when it depends on nothing else.

    Why: a transition asks for a few hundred of them at 3 nodes / 100 resources (about 3 us
    each: a third of create_actions), and a warm daemon reuses the configuration's elements
    from one input to the next (pengine/inputcache.py). What a result depends on besides those
    elements (the same `<operations>` element means the same configuration tree, so the same
    op_defaults) is in the key it is kept under: the resource's id and history name, the
    action, what the resource requires, stonith-enabled and default-action-timeout (cluster
    options that rules may change with the time). A result that evaluated a meta_attributes
    set (rules, id-refs into the document), used interval-origin (the time) or added a
    warning is not kept."""
    cache = ws.op_configs
    cache_key = (id(rsc), key, task)
    cfg = cache.get(cache_key)
    if cfg is not None:
        return cfg
    ops = rsc.ops_xml
    if ops is None:
        cfg = _new_op_config(ws, rsc, key, task, interval_ms)[0]
    else:
        kept = _op_index(ops).configs
        stamp = (rsc.id, rsc.clone_name, key, task, interval_ms, rsc.needs_fencing,
                 rsc.needs_quorum, ws.stonith_enabled, ws.config.get("default-action-timeout"),
                 rsc.container is not None)
        cfg = kept.get(stamp)
        if cfg is None:
            cfg, pure = _new_op_config(ws, rsc, key, task, interval_ms)
            if pure:
                kept[stamp] = cfg
    cache[cache_key] = cfg
    return cfg


def _new_op_config(ws: WorkingSet, rsc: Resource, key: str, task: str,
                   interval_ms: int) -> tuple[OpConfig, bool]:
    """(the OpConfig, whether it depends only on the resource's ops and op_config's stamp)."""
    warnings_before = len(ws.warnings)
    op_entry = find_op_entry(rsc, key)
    meta: dict[str, str] = {}
    defaults = ws.op_defaults
    if defaults is not None and defaults.find("meta_attributes") is None:
        defaults = None
    entry_sets = op_entry is not None and op_entry.find("meta_attributes") is not None
    if defaults is not None or entry_sets:
        # (built only for sets to evaluate: most ops and most clusters have none)
        ctx = RuleContext(now=ws.now, next_change=ws.next_change, rsc_known=True,
                          rsc_class=rsc.xml.get("class"),
                          rsc_provider=rsc.xml.get("provider"), rsc_type=rsc.xml.get("type"),
                          op_name=task, op_interval_ms=interval_ms)
        if defaults is not None:
            unpack_nvpairs(defaults, "meta_attributes", ctx, ws.ids, into=meta)
        if entry_sets:
            unpack_nvpairs(op_entry, "meta_attributes", ctx, ws.ids, into=meta, overwrite=True)
    if op_entry is not None:
        meta.update(zip(op_entry.idx, op_entry.vals))
    meta.pop("id", None)
    if interval_ms > 0:
        meta["interval"] = str(interval_ms)
    else:
        meta.pop("interval", None)
    # timeout: probes use the shortest recurring monitor's timeout when not configured
    if interval_ms == 0 and task == "monitor" and (op_entry is None
                                                   or op_entry.get("timeout") is None):
        mon = _min_interval_monitor(rsc)
        if mon is not None and mon.get("timeout") is not None:
            meta["timeout"] = mon.get("timeout")  # type: ignore[assignment]
    if "timeout" not in meta:
        meta["timeout"] = ws.config.get("default-action-timeout", "20s")
    timeout = parse_msec(meta["timeout"])
    meta["timeout"] = str(timeout if timeout is not None and timeout >= 0 else 20000)
    # what a start requires
    if task not in ("start", "promote"):
        needs = m.NEEDS_NOTHING
    elif rsc.needs_fencing:
        needs = m.NEEDS_FENCING
    elif rsc.needs_quorum:
        needs = m.NEEDS_QUORUM
    else:
        needs = m.NEEDS_NOTHING
    # on-fail
    on_fail, fail_role = m.F_RECOVER, m.ROLE_UNKNOWN
    value = _configured_on_fail(ws, rsc, task, meta.get("on-fail"), op_entry)
    chosen: Optional[str] = None
    if value is not None:
        low = value.lower()
        chosen = low
        if low == "block":
            # unpack_operation writes block back into the action's meta, so the graph carries
            # it even when it came from elsewhere (a demote takes its promoted monitor's)
            on_fail = m.F_BLOCK
            meta["on-fail"] = "block"
        elif low == "fence":
            on_fail = m.F_FENCE
            if not ws.stonith_enabled:
                on_fail, fail_role = m.F_STOP, m.ROLE_STOPPED
        elif low == "standby":
            on_fail = m.F_STANDBY
        elif low in ("ignore", "nothing"):
            on_fail = m.F_IGNORE
        elif low == "migrate":
            on_fail = m.F_MIGRATE
        elif low == "stop":
            on_fail, fail_role = m.F_STOP, m.ROLE_STOPPED
        elif low == "restart":
            on_fail = m.F_RECOVER
        elif low == "demote":
            on_fail = m.F_DEMOTE
        elif low == "restart-container":
            # only for a resource inside a container; otherwise the default, unreported
            if rsc.container is not None:
                on_fail = m.F_RESTART_CONTAINER
            else:
                chosen = None
        else:
            ws.warnings.append(f"resource {rsc.id}: unknown failure type ({value})")
            chosen = None
    if chosen is None:
        if rsc.container is not None:
            on_fail = m.F_RESTART_CONTAINER
        elif task == "stop":
            on_fail = m.F_FENCE if ws.stonith_enabled else m.F_BLOCK
        else:
            on_fail = m.F_RECOVER
    role_after = meta.get("role_after_failure") if op_entry is not None else None
    if role_after is not None and fail_role == m.ROLE_UNKNOWN:
        fail_role = m.text2role(role_after)
    if fail_role == m.ROLE_UNKNOWN:
        fail_role = m.ROLE_UNPROMOTED if task == "promote" else m.ROLE_STARTED
    _start_delay(ws, rsc, meta, interval_ms)
    pure = (defaults is None and not entry_sets and "interval-origin" not in meta
            and len(ws.warnings) == warnings_before)
    return OpConfig(op_entry, meta, on_fail, fail_role, needs), pure


def _start_delay(ws: WorkingSet, rsc: Resource, meta: dict[str, str], interval_ms: int) -> None:
    """unpack_operation's tail: a configured start-delay becomes milliseconds
    (unpack_start_delay; negative or invalid is 0); without one, a recurring operation's
    interval-origin becomes the delay until the next multiple of the interval after the origin
    (unpack_interval_origin, with C's remainder, which keeps the dividend's sign)."""
    value = meta.get("start-delay")
    if value is not None:
        delay = parse_msec(value)
        meta["start-delay"] = str(delay if delay is not None and delay > 0 else 0)
        return
    origin_text = meta.get("interval-origin")
    interval_s = interval_ms // 1000
    if origin_text is None or interval_ms == 0 or interval_s == 0:
        return
    try:
        origin = to_epoch(parse_date(origin_text))
    except DateError:
        ws.warnings.append(f"Ignoring 'interval-origin' for operation of {rsc.id} "
                           f"because '{origin_text}' is not valid")
        return
    since = ws.now_epoch - origin
    remainder = abs(since) % interval_s
    if since < 0:
        remainder = -remainder
    meta["start-delay"] = str(((0 if remainder <= 0 else interval_s) - remainder) * 1000)


def _is_promoted_monitor(op: Optional[XNode]) -> bool:
    """A recurring monitor for the promoted role (either spelling of the role)."""
    if op is None or (op.get("name") or "").lower() != "monitor":
        return False
    if (op.get("role") or "").lower() not in ("promoted", "master"):
        return False
    return (parse_interval_ms(op.get("interval") or "0") or 0) > 0


def _configured_on_fail(ws: WorkingSet, rsc: Resource, task: str, value: Optional[str],
                        op_entry: Optional[XNode]) -> Optional[str]:
    """unpack_operation_on_fail: the on-fail text that applies, None for the default.

    A stop may not be answered by standby, demote or stop; a demote without its own on-fail
    takes the one of the first enabled promoted-role recurring monitor that has one (other than
    demote); a history clean-up is never a failure; on-fail=demote is only meant for promote
    and promoted-role recurring monitors. Rejected values fall back to the default with a
    configuration warning, as Pacemaker does.
    """
    low = None if value is None else value.lower()
    if task == "stop" and low in ("standby", "demote", "stop"):
        ws.warnings.append(f"resetting on-fail for {rsc.id} stop action to the default: "
                           f"'{value}' is not allowed for stop")
        return None
    if task == "demote" and value is None:
        ops = rsc.ops_xml.children if rsc.ops_xml is not None else []
        for op in ops:
            if op.tag != "op" or op.get("on-fail") is None:
                continue
            if to_bool(op.get("enabled")) is False:
                continue
            if not _is_promoted_monitor(op) or (op.get("on-fail") or "").lower() == "demote":
                continue
            return op.get("on-fail")
        return None
    if task == "lrm_delete":
        return "ignore"
    if low == "demote":
        name = (op_entry.get("name") or "").lower() if op_entry is not None else ""
        if name != "promote" and not _is_promoted_monitor(op_entry):
            ws.warnings.append(f"resetting on-fail for {rsc.id} {name} action to the default: "
                               "'demote' is not allowed for it")
            return None
    return value
