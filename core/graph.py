"""Transition graphs as the transition engine reads them: Pacemaker's `<transition_graph>` XML.

The policy engine writes a graph (`pengine.graph.graph_xml`); the transition engine executes one.
Between them is only this public format, so a graph from `hb simulate -G` or from crm_simulate
runs the same way. Parsing keeps what execution needs:

- the graph's attributes (transition_id, cluster-delay, batch-limit, failed-*-offset, ...);
- synapses: id, priority, the action, the ids of the actions it waits for;
- actions: id, kind (`rsc_op`, `crm_event`, `pseudo_event`), operation, operation_key, on_node,
  the resource (id, long-id, class, provider, type), the `<attributes>` (resource parameters and
  `CRM_meta_*`), and for fencing and shutdowns the nodes it takes down (`<downed>`).

Malformed graphs raise `GraphError` (the engine refuses them whole rather than running part).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from core.cib.durations import msec
from core.cib.xmltree import XNode, parse_xml
from core.errors import ConfigError

INFINITY = 1_000_000
DEFAULT_TIMEOUT_MS = 20_000
DEFAULT_CLUSTER_DELAY_MS = 60_000


class GraphError(Exception):
    pass


@dataclass(frozen=True)
class GraphAction:
    id: int
    kind: str  # rsc_op | crm_event | pseudo_event
    operation: str
    operation_key: str
    on_node: Optional[str] = None
    on_node_uuid: Optional[str] = None
    router_node: Optional[str] = None
    rsc_id: Optional[str] = None
    rsc_long_id: Optional[str] = None
    rsc_class: Optional[str] = None
    rsc_provider: Optional[str] = None
    rsc_type: Optional[str] = None
    attrs: dict[str, str] = field(default_factory=dict)
    downed: tuple[str, ...] = ()

    @property
    def pseudo(self) -> bool:
        return self.kind == "pseudo_event"

    @property
    def interval_ms(self) -> int:
        return _ms(self.attrs.get("CRM_meta_interval"), 0)

    @property
    def timeout_ms(self) -> int:
        return _ms(self.attrs.get("CRM_meta_timeout"), DEFAULT_TIMEOUT_MS)

    @property
    def start_delay_ms(self) -> int:
        return _ms(self.attrs.get("CRM_meta_start_delay"), 0)

    @property
    def target_rc(self) -> int:
        try:
            return int(self.attrs.get("CRM_meta_op_target_rc", "0"))
        except ValueError:
            return 0

    @property
    def on_fail(self) -> str:
        return self.attrs.get("CRM_meta_on_fail", "")

    def params(self) -> dict[str, str]:
        """The resource parameters the agent gets (CRM_meta_* excluded)."""
        return {k: v for k, v in self.attrs.items() if not k.startswith("CRM_meta_")}

    def meta(self) -> dict[str, str]:
        """CRM_meta_* without the prefix (the agent sees OCF_RESKEY_CRM_meta_*)."""
        return {k[len("CRM_meta_"):]: v for k, v in self.attrs.items() if k.startswith("CRM_meta_")}

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "operation": self.operation,
                "operation_key": self.operation_key, "on_node": self.on_node, "on_node_uuid": self.on_node_uuid,
                "router_node": self.router_node, "rsc_id": self.rsc_id, "rsc_long_id": self.rsc_long_id,
                "rsc_class": self.rsc_class, "rsc_provider": self.rsc_provider, "rsc_type": self.rsc_type,
                "attrs": dict(self.attrs), "downed": list(self.downed)}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> "GraphAction":
        try:
            return cls(id=int(data["id"]), kind=str(data["kind"]), operation=str(data["operation"]),
                       operation_key=str(data["operation_key"]), on_node=data.get("on_node"),
                       on_node_uuid=data.get("on_node_uuid"), router_node=data.get("router_node"),
                       rsc_id=data.get("rsc_id"), rsc_long_id=data.get("rsc_long_id"),
                       rsc_class=data.get("rsc_class"), rsc_provider=data.get("rsc_provider"),
                       rsc_type=data.get("rsc_type"),
                       attrs={str(k): str(v) for k, v in dict(data.get("attrs") or {}).items()},
                       downed=tuple(str(d) for d in data.get("downed") or ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise GraphError(f"malformed action: {exc}") from None


@dataclass(frozen=True)
class Synapse:
    id: int
    priority: int
    action: GraphAction
    inputs: tuple[int, ...]


@dataclass(frozen=True)
class Graph:
    transition_id: int
    attrs: dict[str, str]
    synapses: tuple[Synapse, ...]

    @property
    def cluster_delay_ms(self) -> int:
        return _ms(self.attrs.get("cluster-delay"), DEFAULT_CLUSTER_DELAY_MS)

    @property
    def stonith_timeout_ms(self) -> int:
        """How long a fencing action may take (the graph's `stonith-timeout`, 60 s by default)."""
        return _ms(self.attrs.get("stonith-timeout"), 60_000)

    @property
    def batch_limit(self) -> int:
        try:
            return int(self.attrs.get("batch-limit", "0"))
        except ValueError:
            return 0

    @property
    def migration_limit(self) -> int:
        """How many live migrations (migrate_to/migrate_from) may run at once per node; 0 or
        less: no limit (the graph's `migration-limit`, from the cluster option)."""
        try:
            return int(self.attrs.get("migration-limit", "-1"))
        except ValueError:
            return -1


# Operations a node may run as part of a chain (see `chainable`): those its lrmd executes and
# reports one result for. Cancels, deletions, fencing and cluster events are the DC's own or
# answered otherwise; migration steps count against migration-limit when they fire.
CHAIN_OPS = frozenset(("start", "stop", "monitor", "promote", "demote", "notify", "reload", "reload-agent",
                       "meta-data", "validate-all"))


def chainable(action: GraphAction) -> bool:
    """May the engine hand this action to its node ahead of its inputs' results (a chain, see
    tengine/machine.py)? A resource operation its lrmd executes, on a node, that someone waits for."""
    return (action.kind == "rsc_op" and action.operation in CHAIN_OPS and bool(action.rsc_id)
            and bool(action.router_node or action.on_node)
            and action.attrs.get("CRM_meta_op_no_wait", "").strip().lower() not in ("true", "on", "yes", "y", "1"))


def result_confirms(on_fail: str, rc: int, op_status: int, target_rc: int) -> bool:
    """Does a result confirm its action (the engine goes on with what waits for it)? The rc it
    was to give with a completed operation, or anything when its on-fail is `ignore`. The
    engine and a node running a chain must judge alike."""
    return (op_status == 0 and rc == target_rc) or on_fail == "ignore"


def _ms(text: Optional[str], default: int) -> int:
    if text is None or text == "":
        return default
    if text.isdigit():
        return int(text)
    value = msec(text)
    return default if value is None else value


def _action(elem: XNode) -> GraphAction:
    if elem.tag not in ("rsc_op", "crm_event", "pseudo_event"):
        raise GraphError(f"line {elem.line}: unknown action element <{elem.tag}>")
    try:
        ident = int(elem.get("id") or "")
    except ValueError:
        raise GraphError(f"line {elem.line}: action without a numeric id") from None
    operation = elem.get("operation") or ""
    if not operation:
        raise GraphError(f"line {elem.line}: action {ident} without an operation")
    rsc = elem.find("primitive")
    attrs_elem = elem.find("attributes")
    downed = elem.find("downed")
    return GraphAction(
        id=ident, kind=elem.tag, operation=operation, operation_key=elem.get("operation_key") or operation,
        on_node=elem.get("on_node"), on_node_uuid=elem.get("on_node_uuid"), router_node=elem.get("router_node"),
        rsc_id=rsc.get("id") if rsc is not None else None,
        rsc_long_id=rsc.get("long-id") if rsc is not None else None,
        rsc_class=rsc.get("class") if rsc is not None else None,
        rsc_provider=rsc.get("provider") if rsc is not None else None,
        rsc_type=rsc.get("type") if rsc is not None else None,
        attrs={_param_name(k): v for k, v in attrs_elem.attrs().items()} if attrs_elem is not None else {},
        downed=tuple(n.get("id") or "" for n in downed.findall("node")) if downed is not None else ())


def _param_name(name: str) -> str:
    """Positional arguments of heartbeat-class scripts (1, 2, ...) are written _1, _2, ... in a
    graph, as an XML name cannot start with a digit."""
    return name[1:] if name[:1] == "_" and name[1:].isdigit() else name


def parse_graph(text: str) -> Graph:
    try:
        root = parse_xml(text, "<transition_graph>")
    except ConfigError as exc:
        raise GraphError(str(exc)) from None
    if root.tag != "transition_graph":
        raise GraphError(f"not a transition graph: <{root.tag}>")
    try:
        transition_id = int(root.get("transition_id") or "0")
    except ValueError:
        raise GraphError("transition_id is not a number") from None
    synapses: list[Synapse] = []
    seen: set[int] = set()
    for syn in root.findall("synapse"):
        try:
            sid = int(syn.get("id") or "")
            priority = int(syn.get("priority") or "0")
        except ValueError:
            raise GraphError(f"line {syn.line}: synapse id or priority is not a number") from None
        action_set = syn.find("action_set")
        if action_set is None or len(action_set.children) != 1:
            raise GraphError(f"line {syn.line}: synapse {sid} must hold exactly one action")
        action = _action(action_set.children[0])
        if action.id in seen:
            raise GraphError(f"line {syn.line}: action {action.id} appears twice")
        seen.add(action.id)
        inputs: list[int] = []
        inputs_elem = syn.find("inputs")
        for trigger in inputs_elem.findall("trigger") if inputs_elem is not None else []:
            for elem in trigger.children:
                try:
                    inputs.append(int(elem.get("id") or ""))
                except ValueError:
                    raise GraphError(f"line {elem.line}: trigger without a numeric id") from None
        synapses.append(Synapse(sid, min(priority, INFINITY), action, tuple(inputs)))
    # an input that is no action of the graph is allowed: Pacemaker's scheduler writes one when
    # the action it orders after was not scheduled (a blocked stop of an unclean node without
    # quorum, say), and its graph consumer simply never fires the synapse (see tengine/machine.py)
    return Graph(transition_id, root.attrs(), tuple(synapses))
