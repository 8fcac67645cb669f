"""Cluster status text in crm_simulate's (crm_mon's) shape:

      * Node List:
        * Online: [ node1 node2 ]

      * Full List of Resources:
        * rsc1	(ocf:heartbeat:apache):	 Started node1
        * Resource Group: foo:
          * rsc3	(ocf:heartbeat:apache):	 FAILED node1

Role names are the current ones (Promoted/Unpromoted); Pacemaker 2.1.5 itself still prints
Master/Slave and its regression runner rewrites them the same way.
"""

from __future__ import annotations

from typing import Optional

from pengine import model as m
from pengine.assign import current_node
from pengine.model import CLONE, GROUP, PRIMITIVE, Node, Resource, WorkingSet
from pengine.unpack import is_true


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


def node_list(ws: WorkingSet) -> list[str]:
    lines: list[str] = []
    online: list[str] = []
    offline: list[str] = []
    for node in ws.nodes:
        if (node.unclean or node.pending or (node.standby_onfail and node.online)
                or node.standby or node.maintenance):
            lines.append(f"Node {node.uname}: {node_status_text(node)}")
        elif node.online:
            online.append(node.uname)
        else:
            offline.append(node.uname)
    if online:
        lines.append(f"Online: [ {' '.join(online)} ]")
    if offline:
        lines.append(f"OFFLINE: [ {' '.join(offline)} ]")
    return lines


def is_disabled(rsc: Resource) -> bool:
    target = rsc.meta.get("target-role")
    if target is None:
        return False
    role = m.text2role(target)
    return role == m.ROLE_STOPPED or (role == m.ROLE_UNPROMOTED and rsc.top.promotable)


def rsc_active(rsc: Resource, all_: bool) -> bool:
    if rsc.variant == PRIMITIVE:
        for node in rsc.running_on:
            if node.unclean:
                return True
            if not node.online and rsc.managed:
                continue
            return True
        return False
    if rsc.variant == CLONE:
        from pengine.clone import clone_active
        return clone_active(rsc, all_)
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


def _failed_probe(ws: WorkingSet, rsc: Resource, node_name: Optional[str]) -> Optional[int]:
    from core.cib.status import history_key, int_attr, op_record, parse_op_key
    from pengine.status import mask_probe_failure
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


_PENDING_STATE = {"start": "Starting", "stop": "Stopping", "migrate_to": "Migrating",
                  "migrate_from": "Migrating", "promote": "Promoting", "demote": "Demoting"}


def primitive_text(ws: WorkingSet, rsc: Resource, name: str, node: Optional[Node],
                   rsc_only: bool = False) -> str:
    cls = rsc.xml.get("class") or "unknown"
    provider = rsc.xml.get("provider") if cls == "ocf" else None
    kind = rsc.xml.get("type") or "unknown"
    if node is None and rsc.lock_node is not None:
        node = rsc.lock_node
    if rsc_only or len(rsc.running_on) > 1:
        node = None
    out = f"{name}\t({cls}{'::' if False else ''}{':' + provider if provider else ''}:{kind}):\t"
    words: list[str] = []
    if rsc.orphan:
        words.append("ORPHANED")
    if rsc.failed:
        role = displayable_role(rsc)
        words.append("FAILED")
        if role > m.ROLE_UNPROMOTED:
            words.append(m.role2text(role))
    else:
        # crm_simulate shows pending actions (record-pending): "Starting", "Stopping", ...
        pending = _PENDING_STATE.get(rsc.pending_task or "") if ws.show_pending else None
        words.append(pending or m.role2text(displayable_role(rsc)))
    if node is not None:
        words.append(node.uname)
    out += " " + " ".join(words)
    if displayable_role(rsc) == m.ROLE_STOPPED:
        rc = _failed_probe(ws, rsc, node.uname if node is not None else None)
        if rc is not None:
            out += f" ({m.OCF_EXIT_TEXT.get(rc, 'unknown')}) "
    flags: list[str] = []
    if node is not None and not node.online and node.unclean:
        flags.append("UNCLEAN")
    if node is not None and node is rsc.lock_node:
        flags.append("LOCKED")
    if ws.show_pending and rsc.pending_task == "monitor":
        flags.append("Monitoring")
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
        if desc:
            out += f" ({desc})"
    if not rsc_only and len(rsc.running_on) > 1:
        out += " [ " + " ".join(n.uname for n in rsc.running_on) + " ]"
    return out


def printable_id(rsc: Resource) -> str:
    if not rsc.unique:
        return rsc.xml.get("id") or rsc.id
    return rsc.id


def resource_lines(ws: WorkingSet, rsc: Resource, indent: int) -> list[str]:
    pad = " " * indent
    if rsc.variant == PRIMITIVE:
        if is_true(rsc.meta.get("internal_rsc")):
            return []
        node = current_node(rsc)
        if node is None:
            node = rsc.pending_node
        return [f"{pad}* {primitive_text(ws, rsc, printable_id(rsc), node)}"]
    if rsc.variant == GROUP:
        if not rsc.children:
            return []
        active = rsc_active(rsc, True)
        partial = rsc_active(rsc, False)
        attrs: list[str] = []
        n_inactive = 0
        if not active and partial:
            n_inactive = sum(1 for c in rsc.children if not rsc_active(c, True))
        del n_inactive  # only shown when inactive resources are hidden
        if not rsc.managed:
            attrs.append("unmanaged")
        if is_disabled(rsc):
            attrs.append("disabled")
        header = f"Resource Group: {rsc.id}" + (f" ({', '.join(attrs)})" if attrs else "")
        lines = [f"{pad}* {header}:"]
        for child in rsc.children:
            lines.extend(resource_lines(ws, child, indent + 2))
        return lines
    from pengine.clone import clone_lines
    return clone_lines(ws, rsc, indent)


def cluster_status(ws: WorkingSet, show_pending: bool = False) -> list[str]:
    """The lines of one status section (without its title). crm_simulate shows pending
    actions ("Starting", "(Monitoring)") in the current status only."""
    ws.show_pending = show_pending
    lines = ["  * Node List:"]
    lines.extend(f"    * {line}" for line in node_list(ws))
    lines.append("")
    lines.append("  * Full List of Resources:")
    printed = False
    for rsc in ws.resources:
        active = rsc_active(rsc, True)
        if rsc.orphan and not active:
            continue
        more = resource_lines(ws, rsc, 4)
        if more:
            printed = True
        lines.extend(more)
    if not printed:
        lines.append("    * No resources")
    return lines


def counts_line(ws: WorkingSet) -> Optional[str]:
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
    if disabled or blocked:
        return (f"{disabled} of {instances} resource instances DISABLED and {blocked} "
                "BLOCKED from further action due to failure")
    return None
