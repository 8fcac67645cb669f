"""crm_mon's view of a cluster as plain data: what its XML and JSON outputs both render.

`build_status` reads an unpacked `WorkingSet` (the policy engine's status, never re-derived here)
plus the few raw CIB facts crm_mon prints as they are (times, operation history entries) into
these dataclasses. The XML writer (`tools.monxml`) and the JSON writer (`tools.monjson`) only
format them, so the two can never disagree; the text writer takes its summary, attributes,
history and failures from here too and its resource lines from `pengine.display`.

Values keep Pacemaker's meaning: `role` is the displayed state ("Started", "Unpromoted",
"Starting" for a pending start), times are epoch seconds (None when absent), raw CIB strings
stay strings where crm_mon prints them verbatim (call ids, exec/queue times).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cmp_to_key
from typing import Callable, Optional, Union

from core.cib.scores import INFINITY, parse_score
from core.cib.status import op_record, parse_op_key
from core.cib.xmltree import XNode
from pengine import display
from pengine import model as m
from pengine.model import CLONE, GROUP, PRIMITIVE, Node, Resource, WorkingSet
from pengine.unpack import is_true
from tools import ctext

NO_QUORUM_POLICY = {m.NQ_FREEZE: "freeze", m.NQ_STOP: "stop", m.NQ_IGNORE: "ignore",
                    m.NQ_SUICIDE: "suicide", m.NQ_DEMOTE: "demote"}

# node attributes crm_mon never lists (name prefixes)
HIDDEN_ATTRIBUTE_PREFIXES = ("fail-count-", "last-failure-", "shutdown", "terminate", "standby",
                             "#")


@dataclass
class ClusterOptions:
    stonith_enabled: bool
    symmetric_cluster: bool
    no_quorum_policy: str
    maintenance_mode: bool
    stop_all_resources: bool
    stonith_timeout_ms: int
    priority_fencing_delay_ms: int


@dataclass
class DcInfo:
    name: str
    id: str
    version: Optional[str]      # the dc-version property, None when unset
    mixed_version: bool         # nodes report different feature sets


@dataclass
class LastChange:
    time: Optional[str]         # cib-last-written, verbatim
    user: Optional[str]
    client: Optional[str]
    origin: Optional[str]


@dataclass
class Summary:
    stack: str                  # cluster-infrastructure property, "unknown" when unset
    dc: Optional[DcInfo]
    have_quorum: bool
    last_change: LastChange
    nodes_configured: int
    resources_configured: int
    resources_disabled: int
    resources_blocked: int
    options: ClusterOptions


@dataclass
class NodeAttribute:
    name: str
    value: Optional[str]
    expected: Optional[int] = None   # ping connectivity: the score all hosts reachable give


@dataclass
class NodeStatus:
    name: str
    id: str
    type: str                   # member, remote or ping
    online: bool
    standby: bool
    standby_onfail: bool
    maintenance: bool
    pending: bool
    unclean: bool
    shutdown: bool
    expected_up: bool
    is_dc: bool
    health: int                 # <0 red, 0 yellow, >0 green
    feature_set: Optional[str]  # online cluster nodes only; "<3.15.1" when not reported
    resources_running: int
    status_text: str            # "online", "standby", "UNCLEAN (offline)", ...
    attributes: list[NodeAttribute]   # as crm_mon lists them (online nodes only)
    running: list["PrimitiveStatus"] = field(default_factory=list)  # primitives active here

    @property
    def health_text(self) -> str:
        return "red" if self.health < 0 else "yellow" if self.health == 0 else "green"


@dataclass
class NodeRef:
    name: str
    id: str
    cached: bool                # Pacemaker's name: the node is online


@dataclass
class PrimitiveStatus:
    id: str                     # printable id (anonymous clone instances: the base name)
    agent: str                  # class[:provider]:type
    role: str                   # displayed state: Started, Stopped, Promoted, Starting, ...
    target_role: Optional[str]
    active: bool
    orphaned: bool
    blocked: bool
    managed: bool
    failed: bool
    failure_ignored: bool
    nodes_running_on: int
    pending: Optional[str]      # "Monitoring" while a recurring monitor is pending
    locked_to: Optional[str]
    nodes: list[NodeRef]
    kind: str = "primitive"


@dataclass
class GroupStatus:
    id: str
    number_resources: int
    managed: bool
    disabled: bool
    members: list[PrimitiveStatus]
    kind: str = "group"


@dataclass
class CloneStatus:
    id: str
    multi_state: bool
    unique: bool
    managed: bool
    disabled: bool
    failed: bool
    failure_ignored: bool
    target_role: Optional[str]
    instances: list[Union[PrimitiveStatus, GroupStatus]]
    kind: str = "clone"


AnyResource = Union[PrimitiveStatus, GroupStatus, CloneStatus]


@dataclass
class OperationStatus:
    call: Optional[str]
    task: str                   # 0-interval monitors are "probe"
    rc: int
    interval_ms: Optional[str]  # verbatim; None or "0" for one-shot operations
    last_rc_change: Optional[int]
    exec_time: Optional[str]
    queue_time: Optional[str]

    @property
    def rc_text(self) -> str:
        return ctext.ocf_exit_text(self.rc)


@dataclass
class ResourceHistory:
    history_id: str             # the lrm_resource id ("rsc:0")
    id: str                     # printable id of the resource it belongs to
    orphan: bool
    migration_threshold: int
    fail_count: int
    last_failure: int           # epoch, 0 if none
    operations: list[OperationStatus]


@dataclass
class NodeHistory:
    node: str
    resources: list[ResourceHistory]


@dataclass
class FailedAction:
    op_key: Optional[str]
    id: Optional[str]
    node: str
    resource: Optional[str]     # from the operation key
    task: Optional[str]
    interval_ms: int
    rc: int
    status: int
    exit_reason: Optional[str]
    call: Optional[str]
    last_rc_change: Optional[int]
    queued: Optional[str]
    exec_time: Optional[str]

    @property
    def rc_text(self) -> str:
        return ctext.ocf_exit_text(self.rc)

    @property
    def status_text(self) -> str:
        return ctext.exec_status_text(self.status)


@dataclass
class Ban:
    id: str
    resource: str
    node: str
    weight: int
    promoted_only: bool


@dataclass
class MonStatus:
    summary: Summary
    nodes: list[NodeStatus]
    resources: list[AnyResource]
    history: Optional[list[NodeHistory]]   # None: no node status at all in the CIB
    failures: list[FailedAction]
    bans: list[Ban]


# ------------------------------------------------------------------------------------------------
# helpers

def first_nvpair_value(cib: XNode, name: str) -> Optional[str]:
    """The value of the first <nvpair name=...> anywhere in the CIB (crm_mon's xpath lookup)."""
    for pair in cib.iter("nvpair"):
        if pair.get("name") == name:
            return pair.get("value")
    return None


def agent_name(rsc: Resource) -> str:
    cls = rsc.xml.get("class")
    provider = rsc.xml.get("provider")
    kind = rsc.xml.get("type")
    return f"{cls}{'' if provider is None else ':' + provider}:{kind}"


def node_feature_set(node: Node) -> Optional[str]:
    if not node.online or node.type == "remote":
        return None
    return node.attrs.get("#feature-set") or "<3.15.1"


def node_health(ws: WorkingSet, node: Node) -> int:
    """pe__node_health: <0 when any #health attribute is red, 0 when one is yellow, else 1."""
    strategy = (ws.node_health_strategy or "none").lower()
    if strategy == "none":
        return 1
    if strategy == "migrate-on-red":
        red, yellow, green = -INFINITY, 0, 0
    elif strategy == "only-green":
        red, yellow, green = -INFINITY, -INFINITY, 0
    else:
        red = parse_score(ws.config.get("node-health-red", "-INFINITY"))
        yellow = parse_score(ws.config.get("node-health-yellow", "0"))
        green = parse_score(ws.config.get("node-health-green", "0"))
    result = 1
    for name, value in node.attrs.items():
        if not name.startswith("#health"):
            continue
        low = (value or "").lower()
        if low == "red":
            return -1
        if low == "yellow":
            result = 0
            continue
        score = parse_score(value, red, yellow, green)
        if score <= red:
            return -1
        if score <= yellow and yellow != green:
            result = 0
    return result


def _ping_expected(ws: WorkingSet, node: Node, attr: str) -> Optional[int]:
    """add_extra_info: the score a ping resource running here gives when all its hosts answer,
    if `attr` is the attribute it maintains."""
    from pengine.digest import rsc_params

    def visit(rscs: list[Resource]) -> Optional[int]:
        for rsc in rscs:
            if rsc.children:
                found = visit(rsc.children)
                if found is not None:
                    return found
            kind = rsc.meta.get("type")
            if kind is None or kind.lower() not in ("ping", "pingd"):
                continue
            params = rsc_params(ws, rsc, node)
            name = params.get("name") or "pingd"
            if name.lower() != attr.lower():
                continue
            hosts = params.get("host_list")
            count = len(hosts.split(" ")) if hosts else 0
            multiplier = ctext.strtoll(params.get("multiplier"))
            if multiplier is None or multiplier > ctext.INT_MAX:
                multiplier = 1  # the agent's default, also for garbage
            return count * max(multiplier, ctext.INT_MIN)
        return None
    return visit(node.running_rsc)


def node_attributes(ws: WorkingSet, node: Node) -> list[NodeAttribute]:
    if not node.online:
        return []
    names = sorted(name for name in node.attrs
                   if not name.startswith(HIDDEN_ATTRIBUTE_PREFIXES))
    out = []
    for name in names:
        out.append(NodeAttribute(name, node.attrs.get(name), _ping_expected(ws, node, name)))
    return out


# ------------------------------------------------------------------------------------------------
# resources

def primitive_status(ws: WorkingSet, rsc: Resource, pending: bool = True) -> PrimitiveStatus:
    return PrimitiveStatus(
        id=display.printable_id(rsc),
        agent=agent_name(rsc),
        role=display.displayable_state(rsc, pending),
        target_role=rsc.meta.get("target-role"),
        active=display.rsc_active(rsc, True),
        orphaned=rsc.orphan,
        blocked=rsc.blocked,
        managed=rsc.managed,
        failed=rsc.failed,
        failure_ignored=rsc.failure_ignored,
        nodes_running_on=len(rsc.running_on),
        pending=display.pending_task_text(rsc) if pending else None,
        locked_to=rsc.lock_node.uname if rsc.lock_node is not None else None,
        nodes=[NodeRef(n.uname, n.id, n.online) for n in rsc.running_on])


def resource_status(ws: WorkingSet, rsc: Resource) -> Optional[AnyResource]:
    """One top-level (or member) resource as crm_mon's XML shows it (everything, inactive too);
    None for bundles, which the engine does not model. Groups and clones without members are
    kept (with none): crm_mon prints nothing for them but still opens its resource list."""
    if rsc.variant == PRIMITIVE:
        return primitive_status(ws, rsc)
    if rsc.variant == GROUP:
        return GroupStatus(rsc.id, len(rsc.children), rsc.managed, display.is_disabled(rsc),
                           [primitive_status(ws, c) for c in rsc.children])
    if rsc.variant == CLONE:
        # the clone's own target-role, else its first instance's (configured_role_str)
        target = rsc.meta.get("target-role")
        if target is None and rsc.children:
            target = rsc.children[0].meta.get("target-role")
        instances = [s for s in (resource_status(ws, c) for c in rsc.children) if s is not None]
        return CloneStatus(rsc.id, rsc.promotable, rsc.unique, rsc.managed,
                           display.is_disabled(rsc), rsc.failed, rsc.failure_ignored, target,
                           instances)  # type: ignore[arg-type]
    return None


def fully_active(rsc: AnyResource) -> bool:
    """rsc->fns->active(rsc, TRUE) from the listed state: every member/instance active."""
    if isinstance(rsc, PrimitiveStatus):
        return rsc.active
    if isinstance(rsc, GroupStatus):
        return bool(rsc.members) and all(fully_active(m) for m in rsc.members)
    return all(fully_active(i) for i in rsc.instances)


# ------------------------------------------------------------------------------------------------
# history and failures

def first_resource(ws: WorkingSet, matches: Callable[[Resource], bool]) -> Optional[Resource]:
    """The first resource, depth first through the top-level ones, that `matches`."""
    def visit(rsc: Resource) -> Optional[Resource]:
        if matches(rsc):
            return rsc
        for child in rsc.children:
            found = visit(child)
            if found is not None:
                return found
        return None
    for top in ws.resources:
        found = visit(top)
        if found is not None:
            return found
    return None


def named(rsc: Resource, name: str) -> bool:
    """By id, or by the name the history knows an instance under."""
    return rsc.id == name or (rsc.clone_name is not None and rsc.clone_name == name)


def find_resource(ws: WorkingSet, rsc_id: str) -> Optional[Resource]:
    """pe_find_resource."""
    return first_resource(ws, lambda rsc: named(rsc, rsc_id))


def _operations(entry: XNode) -> list[OperationStatus]:
    """get_operation_list: the entry's operations by call id, without notifications and
    without probes that found the resource stopped."""
    from pengine.status import _cmp_ops
    ops = []
    for op in entry.children:
        if op.tag != "lrm_rsc_op":
            continue
        task = op.get("operation")
        interval = op.get("interval")
        rc = ctext.scan_min_int(op.get("rc-code"), 0)
        if task is not None and task.lower() == "monitor" and interval in (None, "0"):
            task = "probe"
        if task is not None and (task.lower() == "notify"
                                 or (task.lower() == "probe" and rc == 7)):
            continue
        ops.append(op)
    ops.sort(key=cmp_to_key(lambda a, b: _cmp_ops(op_record(a), op_record(b))))
    out = []
    for op in ops:
        task = op.get("operation") or ""
        interval = op.get("interval")
        if task.lower() == "monitor" and interval in (None, "0"):
            task = "probe"
        out.append(OperationStatus(
            call=op.get("call-id"), task=task, rc=ctext.scan_min_int(op.get("rc-code"), 0),
            interval_ms=interval, last_rc_change=ctext.scan_ll(op.get("last-rc-change")),
            exec_time=op.get("exec-time"), queue_time=op.get("queue-time")))
    return out


def node_history(ws: WorkingSet) -> Optional[list[NodeHistory]]:
    """node_summary/node-history-list: per online node (in status order) each resource's
    fail count and operations, in the order the node's history lists them."""
    from pengine.status import get_failcount
    status = ws.cib.find("status")
    if status is None or not status.children:
        return None
    out = []
    for state in status.children:
        if state.tag != "node_state":
            continue
        node = ws.node_by_id.get(state.get("id") or "")
        if node is None or not node.online:
            continue
        entries: list[ResourceHistory] = []
        lrm = state.find("lrm")
        rscs = lrm.find("lrm_resources") if lrm is not None else None
        for entry in (rscs.children if rscs is not None else []):
            if entry.tag != "lrm_resource":
                continue
            history_id = entry.get("id") or ""
            rsc = find_resource(ws, history_id)
            if rsc is None:
                entries.append(ResourceHistory(history_id, history_id, True, 0, 0, 0,
                                               _operations(entry)))
                continue
            count, last = get_failcount(ws, node, rsc, effective=False)
            entries.append(ResourceHistory(history_id, display.printable_id(rsc), False,
                                           rsc.migration_threshold, count, last,
                                           _operations(entry)))
        out.append(NodeHistory(node.uname, entries))
    return out


def failed_actions(ws: WorkingSet) -> list[FailedAction]:
    """data_set->failed as crm_mon lists it: each failed operation once per node (online nodes
    only), probes masked as "not installed" left out."""
    from pengine.status import mask_probe_failure
    seen: set[tuple[Optional[str], str]] = set()
    out = []
    for op, node, _rsc in ws.failed_ops:
        if not node.online:
            continue
        op_key = op.get("operation_key")
        key = (None if op_key is None else op_key.lower(), node.uname.lower())
        if key in seen:
            continue
        seen.add(key)
        if mask_probe_failure(op_record(op)):
            continue
        parsed = parse_op_key(op_key if op_key is not None else (op.get("id") or ""))
        if parsed is None:
            continue
        out.append(FailedAction(
            op_key=op_key, id=op.get("id"), node=node.uname, resource=parsed[0],
            task=op.get("operation"), interval_ms=ctext.element_ms(op.get("interval")),
            rc=ctext.scan_min_int(op.get("rc-code"), 0),
            status=ctext.scan_min_int(op.get("op-status"), 0),
            exit_reason=op.get("exit-reason"), call=op.get("call-id"),
            last_rc_change=ctext.scan_ll(op.get("last-rc-change")),
            queued=op.get("queue-time"), exec_time=op.get("exec-time")))
    return out


def bans(ws: WorkingSet) -> list[Ban]:
    """Negative location constraints (Pacemaker shows each node with a negative score)."""
    from pengine.unpack import unpack_constraints
    if not getattr(ws, "_mon_constraints", False):
        unpack_constraints(ws)
        ws._mon_constraints = True  # type: ignore[attr-defined]
    # A location rule with boolean-op "and" (the default) starts from a copy of the node list
    # that Pacemaker builds by prepending, so its nodes are listed last node first.
    and_rules: set[str] = set()
    constraints = ws.cib.find("configuration")
    constraints = constraints.find("constraints") if constraints is not None else None
    for rule in (constraints.iter("rule") if constraints is not None else ()):
        if (rule.get("boolean-op") or "and").lower() != "or" and rule.get("id"):
            and_rules.add(rule.get("id") or "")
    out = []
    for location in reversed(ws.locations):  # Pacemaker prepends each new one to its list
        nodes = location.nodes
        if location.id in and_rules:
            nodes = sorted(nodes, key=lambda pair: -pair[0].index)
        for node, weight in nodes:
            if weight < 0:
                out.append(Ban(location.id, location.rsc.id, node.uname, weight,
                               location.role_filter == m.ROLE_PROMOTED))
    return out


# ------------------------------------------------------------------------------------------------
# the whole view

def summary(ws: WorkingSet) -> Summary:
    cib = ws.cib
    instances, disabled, blocked = display.resource_counts(ws)
    feature_sets = {fs for fs in (node_feature_set(n) for n in ws.nodes) if fs is not None}
    dc = None
    if ws.dc_node is not None:
        dc = DcInfo(ws.dc_node.uname, ws.dc_node.id, first_nvpair_value(cib, "dc-version"),
                    len(feature_sets) > 1)
    from core.cib.durations import interval_ms
    options = ClusterOptions(
        stonith_enabled=ws.stonith_enabled, symmetric_cluster=ws.symmetric,
        no_quorum_policy=NO_QUORUM_POLICY.get(ws.no_quorum_policy, "stop"),
        maintenance_mode=ws.maintenance_mode, stop_all_resources=ws.stop_everything,
        stonith_timeout_ms=interval_ms(ws.stonith_timeout),
        priority_fencing_delay_ms=ws.priority_fencing_delay * 1000)
    return Summary(
        stack=first_nvpair_value(cib, "cluster-infrastructure") or "unknown",
        dc=dc, have_quorum=is_true(cib.get("have-quorum")),
        last_change=LastChange(cib.get("cib-last-written"), cib.get("update-user"),
                               cib.get("update-client"), cib.get("update-origin")),
        nodes_configured=len(ws.nodes), resources_configured=instances,
        resources_disabled=disabled, resources_blocked=blocked, options=options)


def node_status(ws: WorkingSet, node: Node) -> NodeStatus:
    return NodeStatus(
        name=node.uname, id=node.id, type=node.type, online=node.online,
        standby=node.standby, standby_onfail=node.standby_onfail,
        maintenance=node.maintenance, pending=node.pending, unclean=node.unclean,
        shutdown=node.shutdown, expected_up=node.expected_up, is_dc=node.is_dc,
        health=node_health(ws, node), feature_set=node_feature_set(node),
        resources_running=len(node.running_rsc), status_text=display.node_status_text(node),
        attributes=node_attributes(ws, node),
        running=[primitive_status(ws, r) for r in node.running_rsc])


def build_status(ws: WorkingSet, with_bans: bool = True) -> MonStatus:
    resources = []
    for rsc in ws.resources:
        if rsc.orphan and not display.rsc_active(rsc, True):
            continue
        shown = resource_status(ws, rsc)
        if shown is not None:
            resources.append(shown)
    return MonStatus(
        summary=summary(ws),
        nodes=[node_status(ws, n) for n in ws.nodes],
        resources=resources,
        history=node_history(ws),
        failures=failed_actions(ws),
        bans=bans(ws) if with_bans else [])
