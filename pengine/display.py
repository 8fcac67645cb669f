"""Cluster status text in crm_mon's and crm_simulate's shape:

      * Node List:
        * Online: [ node1 node2 ]

      * Full List of Resources:
        * rsc1	(ocf:heartbeat:apache):	 Started node1
        * Resource Group: foo:
          * rsc3	(ocf:heartbeat:apache):	 FAILED node1

Both tools print resources with the same Pacemaker 2.1.5 functions (pe__resource_text,
pe__group_default, pe__clone_default), steered by "show options" (`pcmk_show_*` flags): crm_simulate
always lists inactive resources too (and pending actions in its current status), crm_mon only
active ones unless asked (`-r`), and per node with `-n`. `ShowOptions` carries those flags, so the
two tools share one implementation instead of drifting apart.

Role names are the current ones (Promoted/Unpromoted); Pacemaker 2.1.5 itself still prints
Master/Slave in crm_simulate and its regression runner rewrites them the same way.
"""

from __future__ import annotations

from core.ocfcodes import OCF_EXIT_TEXT
from pengine import model as m
from pengine.assign import current_node
from pengine.health import node_health
from pengine.model import PRIMITIVE, Node, Resource, WorkingSet
from pengine.values import is_true, numeric_key
from core.cib.status import history_key, int_attr, op_record, parse_op_key, strip_clone_suffix
from pengine.instances import configured_role, is_set_recursive, location_one, rsc_state
from pengine.status import mask_probe_failure

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional


class ShowOptions:
    """What a resource listing shows; each field is one of Pacemaker's pcmk_show_* flags.

    A plain class rather than a dataclass: `dataclasses` pulls in `inspect` and `ast`, several
    milliseconds of every `hb simulate` start-up.
    """

    __slots__ = ("inactive", "pending", "rsc_only", "clone_detail", "implicit", "by_node", "brief")

    def __init__(self, inactive: bool = True, pending: bool = False, rsc_only: bool = False,
                 clone_detail: bool = False, implicit: bool = False, by_node: bool = False,
                 brief: bool = False) -> None:
        self.inactive = inactive          # pcmk_show_inactive_rscs: stopped resources and instances too
        self.pending = pending            # pcmk_show_pending: "Starting", "(Monitoring)", ...
        self.rsc_only = rsc_only          # pcmk_show_rsc_only: no node names (listing is per node)
        self.clone_detail = clone_detail  # pcmk_show_clone_detail: every clone instance on its own line
        self.implicit = implicit          # pcmk_show_implicit_rscs: internal resources too
        self.by_node = by_node            # pcmk_show_rscs_by_node: active resources were listed per node
        self.brief = brief                # pcmk_show_brief: primitives counted per agent and node

    def replace(self, **changes: bool) -> "ShowOptions":
        fields = {name: getattr(self, name) for name in self.__slots__}
        fields.update(changes)
        return ShowOptions(**fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ShowOptions) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name) for name in self.__slots__))

    def __repr__(self) -> str:
        return "ShowOptions(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__) + ")"


# ------------------------------------------------------------------------------------------------
# nodes

def node_status_text(node: Node) -> str:
    if node.unclean:
        if node.online:
            return "UNCLEAN (online)"
        if node.pending:
            return "UNCLEAN (pending)"
        return "UNCLEAN (offline)"
    if node.pending:
        return "pending"
    if node.standby_onfail and node.online:
        return "standby (on-fail)"
    if node.standby:
        if node.online:
            return "standby (with active resources)" if node.running_rsc else "standby"
        return "OFFLINE (standby)"
    if node.maintenance:
        return "maintenance" if node.online else "OFFLINE (maintenance)"
    if node.online:
        return "online"
    return "OFFLINE"


def node_shown_alone(node: Node, health: int = 1, by_node: bool = False,
                     feature_set: bool = False) -> bool:
    """Whether node_list_text gives the node a line of its own instead of a place in the
    "Online: [ ... ]" / "OFFLINE: [ ... ]" summary lists."""
    return (node.unclean or node.pending or (node.standby_onfail and node.online)
            or node.standby or node.maintenance or by_node or feature_set or health <= 0)


def node_line(node: Node, name: Optional[str] = None, health: int = 1) -> str:
    """A node's own status line: "Node node1: standby" (with "(health is RED)" when bad)."""
    text = f"Node {name or node.uname}: {node_status_text(node)}"
    if health < 0:
        text += " (health is RED)"
    elif health == 0:
        text += " (health is YELLOW)"
    return text


def node_list(ws: WorkingSet) -> list[str]:
    """node_list_text (not grouped by node) as crm_simulate shows it: the lines of the Node
    List, without bullets. Pacemaker Remote and guest nodes are not modelled by the engine (it
    reports them as unsupported), so every node is listed as a cluster node."""
    lines: list[str] = []
    online: list[str] = []
    offline: list[str] = []
    for node in ws.nodes:
        health = node_health(ws, node)
        if node_shown_alone(node, health):
            lines.append(node_line(node, health=health))
        elif node.online:
            online.append(node.uname)
        else:
            offline.append(node.uname)
    if online:
        lines.append(f"Online: [ {' '.join(online)} ]")
    if offline:
        lines.append(f"OFFLINE: [ {' '.join(offline)} ]")
    return lines


# ------------------------------------------------------------------------------------------------
# resource state

def is_disabled(rsc: Resource) -> bool:
    target = rsc.meta.get("target-role")
    if target is None:
        return False
    role = m.text2role(target)
    return role == m.ROLE_STOPPED or (role == m.ROLE_UNPROMOTED and rsc.top.promotable)


def rsc_active(rsc: Resource, all_: bool) -> bool:
    """rsc->fns->active."""
    return rsc.methods.active(rsc, all_)


def primitive_active(rsc: Resource, all_: bool) -> bool:
    for node in rsc.running_on:
        if node.unclean:
            return True
        if not node.online and rsc.managed:
            continue
        return True
    return False


def group_active(rsc: Resource, all_: bool) -> bool:
    c_any, c_all = False, True
    for child in rsc.children:
        if rsc_active(child, all_):
            c_any = True
        else:
            c_all = False
    if not c_any:
        return False
    return not (all_ and not c_all)


def displayable_role(rsc: Resource) -> int:
    role = rsc.role
    if role == m.ROLE_STARTED and rsc.top.promotable:
        role = m.ROLE_UNPROMOTED
    return role


_PENDING_STATE = {"start": "Starting", "stop": "Stopping", "migrate_to": "Migrating",
                  "migrate_from": "Migrating", "promote": "Promoting", "demote": "Demoting"}


def displayable_state(rsc: Resource, pending: bool) -> str:
    """native_displayable_state: the pending action's state word, else the role."""
    state = _PENDING_STATE.get(rsc.pending_task or "") if pending else None
    return state or m.role2text(displayable_role(rsc))


def pending_task_text(rsc: Resource) -> Optional[str]:
    """native_pending_task: only a pending recurring monitor has a word of its own."""
    return "Monitoring" if rsc.pending_task == "monitor" else None


def _failed_probe(ws: WorkingSet, rsc: Resource, node_name: Optional[str]) -> Optional[int]:
    for op, node, owner in ws.failed_ops:
        # Pacemaker matches the op's own on_node attribute (absent in older histories)
        target = op.get("on_node")
        if target is None or (node_name is not None and target.lower() != node_name.lower()):
            continue
        if not mask_probe_failure(op_record(op)):
            continue
        parsed = parse_op_key(history_key(op))
        if parsed is None:
            continue
        name = parsed[0]
        if name == rsc.id or name == (rsc.clone_name or "") or \
                name.split(":")[0] == rsc.xml.get("id"):
            return int_attr(op, "rc-code")
    return None


def _pending(ws: WorkingSet, opts: Optional[ShowOptions]) -> bool:
    return ws.show_pending if opts is None else opts.pending


def primitive_text(ws: WorkingSet, rsc: Resource, name: str, node: Optional[Node],
                   rsc_only: bool = False, opts: Optional[ShowOptions] = None) -> str:
    """pcmk__native_output_string: "rsc\t(class:provider:type):\t Started node1 (flags)"."""
    pending = _pending(ws, opts)
    cls = rsc.xml.get("class") or "unknown"
    # pcmk_get_ra_caps compares the class case-insensitively: "Ocf" has providers too
    provider = rsc.xml.get("provider") if cls.lower() == "ocf" else None
    kind = rsc.xml.get("type") or "unknown"
    if node is None and rsc.lock_node is not None:
        node = rsc.lock_node
    if rsc_only or len(rsc.running_on) > 1:
        node = None
    out = f"{name}\t({cls}{':' + provider if provider else ''}:{kind}):\t"
    words: list[str] = []
    if rsc.orphan:
        words.append("ORPHANED")
    if rsc.failed:
        role = displayable_role(rsc)
        words.append("FAILED")
        if role > m.ROLE_UNPROMOTED:
            words.append(m.role2text(role))
    else:
        words.append(displayable_state(rsc, pending))
    if node is not None:
        words.append(node.uname)
    out += " " + " ".join(words)
    if displayable_role(rsc) == m.ROLE_STOPPED:
        rc = _failed_probe(ws, rsc, node.uname if node is not None else None)
        if rc is not None:
            out += f" ({OCF_EXIT_TEXT.get(rc, 'unknown')}) "
    flags: list[str] = []
    if node is not None and not node.online and node.unclean:
        flags.append("UNCLEAN")
    if node is not None and node is rsc.lock_node:
        flags.append("LOCKED")
    task = pending_task_text(rsc) if pending else None
    if task is not None:
        flags.append(task)
    target = rsc.meta.get("target-role")
    if target is not None:
        target_role = m.text2role(target)
        if target_role == m.ROLE_STOPPED:
            flags.append("disabled")
        elif rsc.top.promotable and target_role == m.ROLE_UNPROMOTED:
            flags.append("target-role:" + target)
    if rsc.blocked:
        flags.append("blocked")
    elif not rsc.managed:
        flags.append("unmanaged")
    if rsc.failure_ignored:
        flags.append("failure ignored")
    if flags:
        out += " (" + ", ".join(flags) + ")"
    if rsc_only or len(rsc.running_on) > 1:
        desc = rsc.xml.get("description")
        if desc:  # pcmk__add_word: a plain word, not in parentheses
            out += f" {desc}"
    if not rsc_only and len(rsc.running_on) > 1:
        out += " [ " + " ".join(n.uname for n in rsc.running_on) + " ]"
    return out


def printable_id(rsc: Resource) -> str:
    if not rsc.unique:
        return rsc.xml.get("id") or rsc.id
    return rsc.id


# ------------------------------------------------------------------------------------------------
# resources

def resource_lines(ws: WorkingSet, rsc: Resource, indent: int,
                   opts: Optional[ShowOptions] = None) -> list[str]:
    """The lines of one resource (primitive, group or clone) at `indent` spaces, each a
    "* " bullet. Without `opts`, crm_simulate's listing (inactive resources shown)."""
    if opts is None:
        opts = ShowOptions(inactive=True, pending=ws.show_pending)
    return rsc.methods.display(ws, rsc, indent, opts)  # rsc->fns->print


def primitive_lines(ws: WorkingSet, rsc: Resource, indent: int, opts: ShowOptions) -> list[str]:
    pad = " " * indent
    if is_true(rsc.meta.get("internal_rsc")) and not opts.implicit:
        return []
    node = current_node(rsc)
    if node is None:
        node = rsc.pending_node
    return [f"{pad}* {primitive_text(ws, rsc, printable_id(rsc), node, opts.rsc_only, opts)}"]


def _group_lines(ws: WorkingSet, rsc: Resource, indent: int, opts: ShowOptions) -> list[str]:
    """pe__group_default: members that are (partly) active, or all with inactive shown."""
    lines: list[str] = []
    n_inactive = 0
    if not rsc_active(rsc, True) and rsc_active(rsc, False):
        n_inactive = sum(1 for c in rsc.children if not rsc_active(c, True))
    attrs: list[str] = []
    if n_inactive > 0 and not opts.inactive:
        attrs.append(f"{n_inactive} member{'' if n_inactive == 1 else 's'} inactive")
    if not rsc.managed:
        attrs.append("unmanaged")
    if is_disabled(rsc):
        attrs.append("disabled")
    header = f"{' ' * indent}* Resource Group: {rsc.id}" + \
        (f" ({', '.join(attrs)})" if attrs else "") + ":"
    if opts.brief:
        if not rsc.children:
            return []
        return [header] + brief_lines(rsc.children, opts.replace(inactive=True), indent + 2)
    for child in rsc.children:
        if not (opts.inactive or rsc_active(child, False)):
            continue
        if not lines:
            lines.append(header)
        lines.extend(resource_lines(ws, child, indent + 2, opts))
    return lines


def clone_lines(ws: WorkingSet, rsc: Resource, indent: int, opts: ShowOptions) -> list[str]:
    """pe__clone_default: instances that need a line of their own (unique, failed, unmanaged,
    pending, ...) in full, the others as "Promoted/Unpromoted/Started: [ nodes ]" and, with
    inactive resources shown, "Stopped: [ nodes ]"."""
    lines: list[str] = []
    shown = [False]

    def header() -> None:
        if shown[0]:
            return
        shown[0] = True
        attrs = []
        if rsc.promotable:
            attrs.append("promotable")
        if rsc.unique:
            attrs.append("unique")
        if not rsc.managed:  # 2.1.5 has no separate "maintenance" word here
            attrs.append("unmanaged")
        if is_disabled(rsc):
            attrs.append("disabled")
        child_id = rsc.clone_child_xml.get("id") if rsc.clone_child_xml is not None else ""
        text = f"Clone Set: {rsc.id} [{child_id}]"
        if attrs:
            text += f" ({', '.join(attrs)})"
        lines.insert(0, f"{' ' * indent}* {text}:")

    stopped: Optional[dict[str, str]] = None
    promoted_list: list[Node] = []
    started_list: list[Node] = []
    for child in rsc.children:
        print_full = opts.clone_detail
        partially = rsc_active(child, False)
        if partially and not child.running_on:
            # pcmk__rsc_filtered_by_node: an instance active only through a member that is
            # unmanaged on an offline node was never added to the instance's running_on (as
            # for a top-level collective in resource_list), so it is not shown, nor stopped
            continue
        if rsc.unique:
            if partially or not rsc.orphan:
                print_full = True
        elif opts.pending and child.pending_task is not None and child.pending_task != "probe":
            print_full = True
        elif not partially:
            if not child.orphan and not opts.clone_detail and opts.inactive:
                if stopped is None:
                    stopped = {}
                stopped[child.id] = "Stopped"
        elif (is_set_recursive(child, "orphan", True)
              or not is_set_recursive(child, "managed", False)
              or is_set_recursive(child, "failed", True)):
            print_full = True
        elif rsc_active(child, True):
            location = location_one(child, 1)
            if location is not None:
                if not location.online and location.unclean:
                    print_full = True
                elif rsc_state(child, True) > m.ROLE_UNPROMOTED:
                    promoted_list.append(location)
                else:
                    started_list.append(location)
            else:
                print_full = True  # a group instance spread over nodes
        else:
            print_full = True
        if print_full:
            header()
            lines.extend(resource_lines(ws, child, indent + 2, opts))
    if opts.clone_detail:
        return lines
    inner = " " * (indent + 2)
    active_instances = 0
    words = [n.uname for n in sorted(promoted_list, key=lambda n: n.sort_key)]
    active_instances += len(words)
    if words:
        header()
        lines.append(f"{inner}* Promoted: [ {' '.join(words)} ]")
    words = [n.uname for n in sorted(started_list, key=lambda n: n.sort_key)]
    active_instances += len(words)
    if words:
        header()
        if rsc.promotable:
            label = ("Unpromoted (target-role)" if configured_role(rsc) == m.ROLE_UNPROMOTED
                     else "Unpromoted")
        else:
            label = "Started"
        lines.append(f"{inner}* {label}: [ {' '.join(words)} ]")
    if not opts.inactive:
        return lines
    if not rsc.unique and rsc.clone_max > active_instances:
        stopped = None
        nodes = list(rsc.allowed) or list(rsc.known_on)
        for node in sorted(nodes, key=lambda n: n.sort_key):
            if node in rsc.running_on:
                continue
            state = ("Stopped (disabled)" if configured_role(rsc) == m.ROLE_STOPPED
                     else "Stopped")
            if stopped is None:
                stopped = {}
            rc = _failed_probe_rc(ws, rsc, node.uname)
            if rc is not None:
                stopped[node.uname] = f"Stopped ({OCF_EXIT_TEXT.get(rc, 'unknown')})"
            else:
                stopped[node.uname] = state
    if stopped is not None:
        header()
        for status in sorted(set(stopped.values())):
            names = sorted((k for k, v in stopped.items() if v == status), key=numeric_key)
            if names:
                lines.append(f"{inner}* {status}: [ {' '.join(names)} ]")
    elif active_instances == 0:
        header()
    return lines


def brief_lines(rscs: list[Resource], opts: ShowOptions, indent: int) -> list[str]:
    """pe__rscs_brief_output: the primitives among `rscs` counted per agent ("2/3\t(ocf:
    heartbeat:IPaddr2):\tActive node1"), agents in byte order, nodes in name order."""
    totals: dict[str, int] = {}
    active: dict[str, dict[str, int]] = {}
    for rsc in rscs:
        if rsc.variant != PRIMITIVE:
            continue
        cls = rsc.xml.get("class") or ""
        provider = rsc.xml.get("provider") if cls.lower() == "ocf" else None
        agent = f"{cls}{':' + provider if provider is not None else ''}:{rsc.xml.get('type')}"
        totals[agent] = totals.get(agent, 0) + 1
        for node in rsc.running_on:
            if not node.unclean and not node.online and rsc.managed:
                continue
            per_node = active.setdefault(node.uname, {})
            per_node[agent] = per_node.get(agent, 0) + 1
    pad = " " * indent
    lines = []
    for agent in sorted(totals, key=lambda a: a.encode()):
        seen = 0
        for name in sorted(active, key=numeric_key):
            count = active[name].get(agent, 0)
            if count == 0:
                continue
            seen += count
            where = "" if opts.rsc_only else name
            if opts.inactive:
                lines.append(f"{pad}* {count}/{totals[agent]}\t({agent}):\tActive {where}")
            else:
                lines.append(f"{pad}* {count}\t({agent}):\tActive {where}")
        if opts.inactive and seen == 0:
            lines.append(f"{pad}* 0/{totals[agent]}\t({agent}):\tActive")
    return lines


def resource_list(ws: WorkingSet, opts: ShowOptions, indent: int) -> list[str]:
    """resource_list's body: the top-level resources worth a line with these options
    (inactive orphans never; active ones not again when they were listed per node; with brief
    output, primitives only as counts)."""
    lines: list[str] = []
    if opts.brief and not opts.by_node:
        lines.extend(brief_lines(ws.resources, opts, indent))
    for rsc in ws.resources:
        active = rsc_active(rsc, True)
        if rsc.orphan and not active:
            continue
        if opts.by_node:
            if active:
                continue
        elif opts.brief and rsc.variant == PRIMITIVE:
            continue
        elif not opts.inactive and not rsc_active(rsc, False):
            continue
        elif not rsc.running_on and rsc_active(rsc, False):
            # pe__rsc_running_on_any: a collective whose only active member is unmanaged on
            # an offline node is never added to the collective's running_on, so the
            # collective is not shown at all
            continue
        lines.extend(resource_lines(ws, rsc, indent, opts))
    return lines


def cluster_status(ws: WorkingSet, show_pending: bool = False) -> list[str]:
    """crm_simulate's status section (without its title). It shows pending actions
    ("Starting", "(Monitoring)") in the current status only."""
    ws.show_pending = show_pending
    opts = ShowOptions(inactive=True, pending=show_pending)
    lines = ["  * Node List:"]
    lines.extend(f"    * {line}" for line in node_list(ws))
    lines.append("")
    lines.append("  * Full List of Resources:")
    lines.extend(resource_list(ws, opts, 4) or ["    * No resources"])
    return lines


def resource_counts(ws: WorkingSet) -> tuple[int, int, int]:
    """pe__count_common over all resources: (instances, disabled, blocked)."""
    instances = disabled = blocked = 0

    def count(rsc: Resource) -> None:
        nonlocal instances, disabled, blocked
        if rsc.children:
            for child in rsc.children:
                count(child)
        elif not rsc.orphan or rsc.role > m.ROLE_STOPPED:
            instances += 1
            if is_disabled(rsc):
                disabled += 1
            if rsc.blocked:
                blocked += 1
    for rsc in ws.resources:
        count(rsc)
    return instances, disabled, blocked


def counts_line(ws: WorkingSet) -> Optional[str]:
    instances, disabled, blocked = resource_counts(ws)
    if disabled or blocked:
        return (f"{disabled} of {instances} resource instances DISABLED and {blocked} "
                "BLOCKED from further action due to failure")
    return None


def _failed_probe_rc(ws: WorkingSet, clone: Resource, node_name: str) -> Optional[int]:
    """pe__failed_probe_for_rsc for a clone: the history's resource name is matched against
    pe__clone_child_id, the id of the primitive or group the clone copies (not the clone's)."""
    child = clone.clone_child_xml
    ident = child.get("id") if child is not None else strip_clone_suffix(clone.id)
    for op, node, _ in ws.failed_ops:
        if not mask_probe_failure(op_record(op)):
            continue
        target = op.get("on_node")  # the op's own attribute, as Pacemaker reads it
        if target is None or target.lower() != node_name.lower():
            continue
        parsed = parse_op_key(history_key(op))
        if parsed is None or parsed[0] != ident:
            continue
        return int_attr(op, "rc-code")
    return None
