"""The transition graph: the required, runnable actions (synapses) and what each waits for.

Synapses are created resource by resource (each resource's newest action first, group members
after their group), then the node-level actions (fencing, shutdown, cluster actions), exactly as
Pacemaker's graph producer walks them, so synapse and action ids are stable and comparable.
An input (prerequisite) is kept only if Pacemaker would keep it: disabled, optional-unrunnable,
anti-colocation/load orderings on different nodes etc. are dropped.
"""

from __future__ import annotations

from core.cib.dates import to_epoch
from core.cib.xmltree import escape_attr
from pengine import model as m
from pengine.digest import rsc_params
from pengine.model import (A_DEDUP, A_DUMPED, A_OPTIONAL, A_PRINT_ALWAYS, A_PSEUDO,
                           A_RUNNABLE, Action, Node, Resource, WorkingSet)
from pengine.notify import create_clone_notifications
from pengine.ordering import action_flags
from pengine.unpack import cluster_option

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional


class Synapse:
    """One graph entry: an action and the actions it waits for."""

    __slots__ = ("id", "action", "inputs", "priority")

    def __init__(self, ident: int, action: Action) -> None:
        self.id = ident
        self.action = action
        self.inputs: list[Action] = []
        self.priority = 0


class Graph:
    """The transition graph: synapses in id order and the graph element's attributes."""

    __slots__ = ("transition_id", "synapses", "attrs")

    def __init__(self, transition_id: int, synapses: list[Synapse], attrs: dict[str, str]) -> None:
        self.transition_id = transition_id
        self.synapses = synapses
        self.attrs = attrs

    def actions(self) -> list[Action]:
        return [s.action for s in self.synapses]


def _dedup_inputs(action: Action) -> None:
    if action.flags & A_DEDUP:
        return
    action.flags |= A_DEDUP
    if len(action.before) < 2:
        for wrapper in action.before:
            if len(wrapper) < 3:
                wrapper.append(False)
        return
    action.before.sort(key=lambda w: w[0].id)
    merged: list[list] = []
    for wrapper in action.before:
        if len(wrapper) < 3:
            wrapper.append(False)
        if merged and merged[-1][0] is wrapper[0]:
            merged[-1][1] |= wrapper[1]
            merged[-1][2] = merged[-1][2] or wrapper[2]
        else:
            merged.append(wrapper)
    action.before[:] = merged


def should_add_action(action: Action) -> bool:
    if not (action.flags & A_RUNNABLE):
        return False
    if (action.flags & A_OPTIONAL) and not (action.flags & A_PRINT_ALWAYS):
        return False
    rsc = action.rsc
    if rsc is not None and not rsc.managed and action.task != "monitor":
        interval = action.meta.get("interval")
        if interval is None or interval == "0":
            return False
    if action.flags & A_PSEUDO or action.task in ("stonith", "do_shutdown"):
        return True
    node = action.node
    if node is None:
        return False
    if action.flags & m.A_DC:
        return True
    if not node.online or node.unclean:
        return False
    return True


def should_add_input(action: Action, wrapper: list) -> bool:
    first: Action = wrapper[0]
    otype = wrapper[1]
    if len(wrapper) > 2 and wrapper[2]:
        return True
    if otype == m.O_NONE:
        return False
    if not (first.flags & A_RUNNABLE) and not (
            otype & ~(m.O_IMPLIES_FIRST_PRINTED | m.O_IMPLIES_THEN_PRINTED | m.O_OPTIONAL)):
        return False  # an unrunnable input whose ordering cannot change anything
    if not (first.flags & A_RUNNABLE) and (otype & m.O_ONE_OR_MORE):
        return False
    if (action.flags & A_PSEUDO) and (otype & m.O_STONITH_STOP):
        return False
    if (otype & m.O_IMPLIES_FIRST_MIGRATABLE) and not (first.flags & A_RUNNABLE):
        return False
    if (otype & m.O_APPLY_FIRST_NON_MIGRATABLE) and (first.flags & m.A_MIGRATE_RUNNABLE):
        return False
    if otype == m.O_OPTIONAL and (first.flags & m.A_MIGRATE_RUNNABLE) and \
            first.uuid.endswith("_stop_0"):
        return False
    if otype == m.O_LOAD:
        # load_stopped -> migrate_to: where the resource is assigned counts, not where the
        # migrate_to runs (the migration source)
        if action.rsc is not None and action.task == "migrate_to":
            if first.node is None or first.node is not action.rsc.allocated_to:
                wrapper[1] = m.O_NONE
                return False
        elif first.node is None or action.node is None or first.node is not action.node:
            wrapper[1] = m.O_NONE
            return False
        if first.flags & A_OPTIONAL:
            wrapper[1] = m.O_NONE
            return False
    elif otype == m.O_ANTI_COLOCATION:
        if first.node is not None and action.node is not None and first.node is not action.node:
            wrapper[1] = m.O_NONE
            return False
        if first.flags & A_OPTIONAL:
            wrapper[1] = m.O_NONE
            return False
    elif (first.rsc is not None and first.rsc is not action.rsc and first.rsc.failed
          and not first.rsc.managed and first.uuid.endswith("_stop_0")
          and action.rsc is not None and action.rsc.variant == m.CLONE):
        return False
    elif (first.flags & A_OPTIONAL) and not (first.flags & (A_PRINT_ALWAYS | A_DUMPED)) \
            and not should_add_action(first):
        return False
    return True


def _add_action(ws: WorkingSet, action: Action, synapses: list[Synapse]) -> None:
    if not (action.flags & A_DEDUP):  # (once per action; asked twice for each)
        _dedup_inputs(action)
    if action.flags & A_DUMPED or not should_add_action(action):
        return
    action.flags |= A_DUMPED
    syn = Synapse(len(synapses), action)
    if action.rsc is not None:
        syn.priority = action.rsc.priority
    if action.priority > syn.priority:
        syn.priority = action.priority
    action.synapse = syn.id
    for wrapper in action.before:
        if should_add_input(action, wrapper):
            wrapper[2] = True
            syn.inputs.append(wrapper[0])
    synapses.append(syn)


def _expand(ws: WorkingSet, rsc: Resource, synapses: list[Synapse]) -> None:
    """rsc->cmds->expand."""
    rsc.methods.expand(ws, rsc, synapses)


def clone_expand(ws: WorkingSet, rsc: Resource, synapses: list[Synapse]) -> None:
    """clone_expand: the instances' actions come first."""
    for action in reversed(rsc.actions):
        action_flags(action, None)
    create_clone_notifications(ws, rsc)
    for child in rsc.children:
        _expand(ws, child, synapses)
    expand_actions(ws, rsc, synapses)


def expand_actions(ws: WorkingSet, rsc: Resource, synapses: list[Synapse]) -> None:
    """A primitive's or group's expand: its actions, then its members'."""
    for action in reversed(rsc.actions):
        _add_action(ws, action, synapses)
    for child in rsc.children:
        _expand(ws, child, synapses)


def create_graph(ws: WorkingSet) -> Graph:
    synapses: list[Synapse] = []
    if ws.next_change:
        # pe__unpack_dataset_nvpairs and lifetimes: each asks for a recheck by the time its
        # rules' outcome changes; the earliest of them is what remains
        ws.update_recheck(to_epoch(min(ws.next_change)))
    for rsc in ws.resources:
        _expand(ws, rsc, synapses)
    for action in reversed(ws.actions):
        _add_action(ws, action, synapses)
    attrs = {
        "cluster-delay": cluster_option(ws, "cluster-delay"),  # validated, as pe_pref gives it
        "stonith-timeout": cluster_option(ws, "stonith-timeout"),
        "failed-stop-offset": "INFINITY",
        "failed-start-offset": "INFINITY" if ws.start_failure_fatal else "1",
        "transition_id": str(ws.transition_id),
    }
    limit = ws.config.get("migration-limit")
    if limit is not None and limit.lstrip("-").isdigit() and int(limit) > 0:
        attrs["migration-limit"] = limit
    if ws.recheck_by > 0:
        attrs["recheck-by"] = str(ws.recheck_by)
    return Graph(ws.transition_id, synapses, attrs)


# ------------------------------------------------------------------------------------------------
# XML

def _action_params(ws: WorkingSet, action: Action, target: Optional[Node],
                   memo: Optional[_Memo] = None) -> dict[str, str]:
    """add_action_attributes: the resource's instance attributes (evaluated for the action's
    node) whenever the action has a resource and a node, whatever its task and even when it is
    a pseudo action; a primitive's action without a node gets them unevaluated for a node."""
    params: dict[str, str] = dict(action.extra)  # the operation's instance attributes
    rsc = action.rsc
    if rsc is not None and (action.node is not None or rsc.variant == m.PRIMITIVE):
        params.update(rsc_params(ws, rsc, action.node))
    names = memo.meta_names if memo is not None else _MetaNames()
    _add_meta(params, action.meta, names)
    parent = rsc
    while parent is not None:  # each resource's add_graph_meta, innermost first
        parent.methods.add_graph_meta(parent, params)
        parent = parent.parent
    if target is not None:
        params["CRM_meta_on_node"] = target.uname
        params["CRM_meta_on_node_uuid"] = target.id
    if rsc is None and action.task == "stonith" and action.node is not None:
        # the fencing target's node attributes, as meta-attributes (add_action_attributes)
        _add_meta(params, action.node.attrs, names)
    return params


class _MetaNames(dict):
    """A meta-attribute's name -> its graph parameter name (`CRM_meta_<name>`, dashes as
    underscores), or "" for the cluster-generated names holding '#' or ':' that are left out.
    Computed once per name and graph: the same few names (timeout, interval, name) recur on
    nearly every action."""

    __slots__ = ()

    def __missing__(self, key: str) -> str:
        name = "" if "#" in key or ":" in key else f"CRM_meta_{key.replace('-', '_')}"
        self[key] = name
        return name


def _add_meta(params: dict[str, str], values: dict[str, str],
              names: Optional[_MetaNames] = None) -> None:
    """hash2metafield: `CRM_meta_<name>` with dashes as underscores, leaving out the
    cluster-generated names holding '#' or ':' (#uname, fail-count-..., last-failure-...)."""
    if names is None:
        names = _MetaNames()
    for key, value in values.items():
        name = names[key]
        if name:
            params[name] = value


def _downed_nodes(action: Action) -> list[str]:
    """add_downed_nodes: a shutdown downs its node, a fencing action whose stonith_action is a
    fencing one (off, reboot, poweroff; not unfencing's `on`) downs its target."""
    if action.node is None:
        return []
    if action.task == "do_shutdown":
        return [action.node.id]
    if action.task == "stonith" and \
            action.meta.get("stonith_action") in ("off", "reboot", "poweroff"):
        return [action.node.id]
    return []


def primitive_add_graph_meta(rsc: Resource, params: dict[str, str]) -> None:
    """pcmk__primitive_add_graph_meta: what an agent learns of its clone instance
    (OCF_RESKEY_CRM_meta_clone)."""
    if rsc.incarnation is not None:
        params["CRM_meta_clone"] = rsc.incarnation
    parent: Optional[Resource] = rsc
    while parent is not None:  # the outermost container named wins
        if parent.container is not None:
            params["CRM_meta_container"] = parent.container.id
        parent = parent.parent


def group_add_graph_meta(rsc: Resource, params: dict[str, str]) -> None:
    """A group adds nothing of its own."""


def clone_add_graph_meta(rsc: Resource, params: dict[str, str]) -> None:
    """clone_append_meta: what an agent learns of its clone (OCF_RESKEY_CRM_meta_clone_max,
    _notify, _promoted_max, ...)."""
    params["CRM_meta_globally_unique"] = "true" if rsc.unique else "false"
    params["CRM_meta_notify"] = "true" if rsc.notify else "false"
    params["CRM_meta_clone_max"] = str(rsc.clone_max)
    params["CRM_meta_clone_node_max"] = str(rsc.clone_node_max)
    if rsc.promotable:
        for name in ("promoted_max", "master_max"):  # master_*: for agents before 2.0
            params[f"CRM_meta_{name}"] = str(rsc.promoted_max)
        for name in ("promoted_node_max", "master_node_max"):
            params[f"CRM_meta_{name}"] = str(rsc.promoted_node_max)


class _Escaped(dict):
    """An attribute value -> its escaped text, computed once per graph: node names, operation
    keys and timeouts recur on many of a graph's lines."""

    __slots__ = ()

    def __missing__(self, value: str) -> str:
        text = self[value] = escape_attr(value)
        return text


class _AttrHeads(dict):
    """A parameter's name -> ` name="` as the attributes element writes it (graph_attr_name),
    computed once per graph."""

    __slots__ = ()

    def __missing__(self, name: str) -> str:
        text = self[name] = f' {graph_attr_name(name)}="'
        return text


class _Memo:
    """What one graph's writing computes once and uses on many lines: escaped values, attribute
    heads, meta-attribute names and each resource's `<primitive .../>` line. Lives for one
    graph_xml call, so it holds only what that graph names (not per action: at 32 nodes /
    10,000 resources a graph has 100,000 actions)."""

    __slots__ = ("esc", "attr_heads", "meta_names", "prims")

    def __init__(self) -> None:
        self.esc = _Escaped()
        self.attr_heads = _AttrHeads()
        self.meta_names = _MetaNames()
        self.prims: dict[int, str] = {}  # id(resource) -> its primitive line


def _action_head(action: Action, memo: _Memo) -> tuple[str, str]:
    """(element name, start tag without its end) of an action (create_graph_action): fencing a
    crm_event, or a pseudo_event when it is a pseudo action; shutdown, fail-count clearing and
    CIB-only history deletion crm_events; other pseudo actions pseudo_events (without the node);
    everything else an rsc_op, `probe_again` included."""
    esc = memo.esc
    pseudo = action.flags & A_PSEUDO
    task = action.task
    needs_node_info = True
    mode = None
    if task == "stonith":
        tag = "pseudo_event" if pseudo else "crm_event"
    elif task in ("do_shutdown", "clear_failcount"):
        tag = "crm_event"
    elif task == "lrm_delete":
        tag = "crm_event"
        mode = "cib"
    elif pseudo:
        tag = "pseudo_event"
        needs_node_info = False
    else:
        tag = "rsc_op"
    key = graph_operation_key(action)
    head = f'<{tag} id="{action.id}" operation="{esc[task]}" operation_key="{esc[key]}"'
    if key != action.uuid:
        head += f' internal_operation_key="{esc[action.uuid]}"'
    if mode is not None:
        head += f' mode="{mode}"'
    node = action.node if needs_node_info else None
    if node is not None:
        head += f' on_node="{esc[node.uname]}" on_node_uuid="{esc[node.id]}"'
    return tag, head


def _primitive_line(rsc: Resource, memo: _Memo) -> str:
    """add_resource_details: the resource's ids and agent, as a line at depth 4."""
    line = memo.prims.get(id(rsc))
    if line is not None:
        return line
    esc = memo.esc
    ident, long_id = graph_resource_ids(rsc)
    prim = [f'{_PAD[4]}<{rsc.xml.tag} id="{esc[ident]}"']  # crm_element_name(rsc->xml)
    if long_id is not None:
        prim.append(f' long-id="{esc[long_id]}"')
    for name in ("class", "provider", "type"):
        value = rsc.xml.get(name)
        if value is not None:
            prim.append(f' {name}="{esc[value]}"')
    prim.append("/>")
    line = memo.prims[id(rsc)] = "".join(prim)
    return line


def action_element(ws: WorkingSet, action: Action, as_input: bool,
                   memo: Optional[_Memo] = None) -> str:
    """create_graph_action, as text at its depth in the graph (a trigger's action at 4, a
    synapse's own action at 3): the element (see _action_head), the node for all but plain
    pseudo actions, the resource for real resource actions, the attributes and the nodes the
    action takes down."""
    if memo is None:
        memo = _Memo()
    tag, head = _action_head(action, memo)
    if as_input:
        return f"{_PAD[4]}{head}/>"
    pseudo = action.flags & A_PSEUDO
    rsc = action.rsc
    if rsc is not None and not pseudo and _locks_rsc_to_node(action):
        head += f' shutdown-lock="{rsc.lock_time}"'
    lines = [f"{_PAD[3]}{head}>"]
    if rsc is not None and not pseudo:
        lines.append(_primitive_line(rsc, memo))
    node = action.node if tag != "pseudo_event" or action.task == "stonith" else None
    params = _action_params(ws, action, node, memo)
    esc, attr_heads = memo.esc, memo.attr_heads
    lines.append(f"{_PAD[4]}<attributes"
                 + "".join([f'{attr_heads[k]}{esc[params[k]]}"' for k in sorted(params)])
                 + "/>")
    downed_ids = _downed_nodes(action) if node is not None else []
    if downed_ids:
        lines.append(f"{_PAD[4]}<downed>")
        lines.extend(f'{_PAD[5]}<node id="{esc[ident]}"/>' for ident in downed_ids)
        lines.append(f"{_PAD[4]}</downed>")
    lines.append(f"{_PAD[3]}</{tag}>")
    return "\n".join(lines)


def _locks_rsc_to_node(action: Action) -> bool:
    """pcmk__action_locks_rsc_to_node: an action on its resource's shutdown-lock node carries
    the lock (so the controller keeps it), except that on a node shutting down only stops do
    (another action, a demote say, would make the controller clear the lock)."""
    rsc = action.rsc
    if rsc is None or rsc.lock_node is None or action.node is None \
            or action.node is not rsc.lock_node:
        return False
    return not (action.node.shutdown and action.task != "stop")


def graph_attr_name(name: str) -> str:
    """A parameter as an attribute name of the graph: heartbeat-class scripts take positional
    arguments named 1, 2, ..., which cannot be XML names; they are written _1, _2, ...
    (`core.graph` reads them back)."""
    return f"_{name}" if name[:1].isdigit() else name


def graph_operation_key(action: Action) -> str:
    """The action key the graph shows: for an instance known by another name in history (an
    anonymous clone instance), that name (clone_op_key)."""
    rsc = action.rsc
    if rsc is None or rsc.clone_name is None:
        return action.uuid
    if action.task == "notify":
        return (f"{rsc.clone_name}_{action.meta.get('notify_type')}_notify_"
                f"{action.meta.get('notify_operation')}_0")
    interval = action.interval_ms
    if action.cancel_task:
        return f"{rsc.clone_name}_{action.cancel_task}_{interval}"
    return f"{rsc.clone_name}_{action.task}_{interval}"


def graph_resource_ids(rsc: Resource) -> tuple[str, Optional[str]]:
    """(id, long-id) of a resource in a graph action (add_resource_details): an anonymous
    clone instance goes by its configured name, which is what its history uses."""
    if rsc.orphan and rsc.clone_name is not None:
        return rsc.clone_name, rsc.id
    if not rsc.unique:
        xml_id = rsc.xml.get("id") or rsc.id
        if rsc.clone_name is not None and rsc.clone_name != xml_id:
            return xml_id, rsc.clone_name
        return xml_id, rsc.id
    return rsc.id, None


_PAD = tuple("  " * depth for depth in range(6))
_esc = escape_attr


def graph_xml(ws: WorkingSet, graph: Graph) -> str:
    """The transition graph as Pacemaker writes it (one element per line, two-space indent).

    Written as text directly, not as a tree then serialized: at 8 nodes / 1,000 resources the
    graph has 80,000 elements, and the tree cost the daemon half of its time per transition.
    An action is an input of many synapses: its trigger element is written once.
    """
    memo = _Memo()
    esc = memo.esc
    out = ["<transition_graph"
           + "".join(f' {k}="{esc[v]}"' for k, v in graph.attrs.items())
           + ("/>" if not graph.synapses else ">")]
    append = out.append
    triggers: dict[int, str] = {}
    for syn in graph.synapses:
        append(f'  <synapse id="{syn.id}" priority="{syn.priority}">' if syn.priority
               else f'  <synapse id="{syn.id}">')
        append("    <action_set>")
        append(action_element(ws, syn.action, False, memo))
        append("    </action_set>")
        if not syn.inputs:
            append("    <inputs/>")
        else:
            append("    <inputs>")
            for first in syn.inputs:
                text = triggers.get(id(first))
                if text is None:
                    text = triggers[id(first)] = \
                        f"      <trigger>\n{action_element(ws, first, True, memo)}\n      </trigger>"
                append(text)
            append("    </inputs>")
        append("  </synapse>")
    if graph.synapses:
        append("</transition_graph>")
    return "\n".join(out) + "\n"


def graph_json(graph: Graph) -> list[dict]:
    out = []
    for syn in graph.synapses:
        a = syn.action
        out.append({"id": a.id, "task": a.task, "key": a.uuid,
                    "rsc": None if a.rsc is None else a.rsc.id,
                    "node": None if a.node is None else a.node.uname,
                    "pseudo": bool(a.flags & A_PSEUDO),
                    "inputs": [i.id for i in syn.inputs]})
    return out
