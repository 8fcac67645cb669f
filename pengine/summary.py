"""The "Transition Summary": one line per planned change, in crm_simulate's exact shape.

    * Move       rsc1    ( node1 -> node2 )
    * Restart    rsc5    (          node1 )  due to required rsc4 start

Which word (Start, Stop, Move, Recover, Restart, Promote, Demote, Re-promote, Reload, Migrate)
is chosen from the resource's current/next node and role and the flags of its start, stop,
promote and demote actions, as Pacemaker's LogActions does. Column widths depend on every line
(Pacemaker prints the list twice, the first time to its log, with growing static widths), so
lines are collected first and formatted at the end.
"""

from __future__ import annotations

from core.ctools import Record, field
from pengine import actions as act
from pengine import model as m
from pengine.assign import current_node
from pengine.model import A_OPTIONAL, A_RUNNABLE, Action, Node, Resource, WorkingSet

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional


class Item(Record):
    """One resource line of the summary: `change` (Start, Move, ...), `rsc` id, `details`,
    `reason` (or None). (A named tuple without `collections`: core/ctools.py says why.)"""

    __slots__ = ()
    _fields = ("change", "rsc", "details", "reason")

    def __new__(cls, change: str, rsc: str, details: str, reason: Optional[str]) -> "Item":
        return tuple.__new__(cls, (change, rsc, details, reason))

    change = field(0, "Start, Stop, Move, ...")
    rsc = field(1, "the resource's id")
    details = field(2, "where from and to")
    reason = field(3, "why (or None)")


class NodeItem(Record):
    """One node line of the summary (fencing, shutdown)."""

    __slots__ = ()
    _fields = ("text",)

    def __new__(cls, text: str) -> "NodeItem":
        return tuple.__new__(cls, (text,))

    text = field(0, "the line")


def _details(rsc: Resource, origin: Optional[Node], dest: Optional[Node]) -> str:
    need_role = rsc.role > m.ROLE_STARTED or rsc.next_role > m.ROLE_UNPROMOTED
    same_host = origin is not None and dest is not None and origin is dest
    same_role = rsc.role == rsc.next_role
    role, next_role = m.role2text(rsc.role), m.role2text(rsc.next_role)
    if need_role and origin is None:
        assert dest is not None
        return f"{role} -> {next_role} {dest.uname}"
    if origin is None:
        assert dest is not None
        return dest.uname
    if need_role and dest is None:
        return f"{role} {origin.uname}"
    if dest is None:
        return origin.uname
    if need_role and same_role and same_host:
        return f"{role} {origin.uname}"
    if same_role and same_host:
        return origin.uname
    if need_role and same_role:
        return f"{origin.uname} -> {dest.uname} {role}"
    if same_role:
        return f"{origin.uname} -> {dest.uname}"
    if same_host:
        return f"{role} -> {next_role} {origin.uname}"
    return f"{role} {origin.uname} -> {next_role} {dest.uname}"


def _item(out: list, change: str, rsc: Resource, origin: Optional[Node],
          dest: Optional[Node], action: Optional[Action], source: Optional[Action]) -> None:
    if source is None:
        source = action
    reason = None
    runnable = action is not None and bool(action.flags & A_RUNNABLE)
    src_reason = None if source is None else source.reason
    if src_reason and not runnable:
        reason = f"due to {src_reason} (blocked)"
    elif src_reason:
        reason = f"due to {src_reason}"
    elif not runnable:
        reason = "blocked"
    out.append(Item(change, rsc.id, _details(rsc, origin, dest), reason))


def _first(actions: list[Action]) -> Optional[Action]:
    return actions[0] if actions else None


def rsc_action(out: list, rsc: Resource, current: Optional[Node], nxt: Optional[Node]) -> None:
    if not rsc.managed or (current is None and nxt is None):
        return
    moving = current is not None and nxt is not None and current.id != nxt.id
    start = _first(act.resource_actions(rsc, nxt, "start", False))
    start_node = current if (start is not None and start.flags & A_RUNNABLE) else None
    stop = _first(act.resource_actions(rsc, start_node, "stop", False))
    if stop is None and rsc.stop_unexpected:
        stop = _first(act.resource_actions(rsc, None, "stop", False))
    promote = _first(act.resource_actions(rsc, nxt, "promote", False))
    demote = _first(act.resource_actions(rsc, nxt, "demote", False))
    if rsc.role == rsc.next_role:
        migrate = _first(act.resource_actions(rsc, nxt, "migrate_from", False))
        if nxt is None:
            return
        if migrate is not None and current is not None and migrate.flags & A_RUNNABLE:
            _item(out, "Migrate", rsc, current, nxt, start, None)
        elif rsc.reload:
            _item(out, "Reload", rsc, current, nxt, start, None)
        elif start is None or start.flags & A_OPTIONAL:
            if demote is not None and promote is not None and \
                    not (demote.flags & A_OPTIONAL) and not (promote.flags & A_OPTIONAL):
                _item(out, "Re-promote", rsc, current, nxt, promote, demote)
        elif not (start.flags & A_RUNNABLE):
            _item(out, "Stop", rsc, current, None, stop,
                  stop if (stop is not None and stop.reason) else start)
        elif moving and current is not None:
            _item(out, "Recover" if rsc.failed else "Move", rsc, current, nxt, stop, None)
        elif rsc.failed:
            _item(out, "Recover", rsc, current, None, stop, None)
        else:
            _item(out, "Restart", rsc, current, nxt, start, None)
        return
    if stop is not None and (rsc.next_role == m.ROLE_STOPPED or
                             (start is not None and not (start.flags & A_RUNNABLE))):
        key = f"{rsc.id}_stop_0"
        for node in rsc.running_on:
            stop_op = _first(act.find_actions(rsc.actions, key, node))
            _item(out, "Stop", rsc, node, None, stop_op,
                  stop_op if (stop_op is not None and stop_op.reason) else start)
    elif stop is not None and rsc.failed and rsc.stop_flag:
        _item(out, "Recover", rsc, current, nxt, stop, start)
    elif moving:
        _item(out, "Move", rsc, current, nxt, stop, None)
    elif rsc.reload:
        _item(out, "Reload", rsc, current, nxt, start, None)
    elif stop is not None and not (stop.flags & A_OPTIONAL):
        _item(out, "Restart", rsc, current, nxt, start, None)
    elif rsc.role == m.ROLE_PROMOTED:
        _item(out, "Demote", rsc, current, nxt, demote, None)
    elif rsc.next_role == m.ROLE_PROMOTED:
        _item(out, "Promote", rsc, current, nxt, promote, None)
    elif rsc.role == m.ROLE_STOPPED and rsc.next_role > m.ROLE_STOPPED:
        _item(out, "Start", rsc, current, nxt, start, None)


def log_actions(out: list, rsc: Resource) -> None:
    if rsc.children:
        for child in rsc.children:
            log_actions(out, child)
        return
    nxt = rsc.allocated_to
    current = None
    if rsc.running_on:
        current = current_node(rsc)
        if rsc.role == m.ROLE_STOPPED:
            rsc.role = m.ROLE_STARTED
    if current is None and rsc.orphan:
        return
    rsc_action(out, rsc, current, nxt)


def collect(ws: WorkingSet) -> list:
    items: list = []
    for action in reversed(ws.actions):
        if action.rsc is not None or action.flags & A_OPTIONAL:
            continue
        if action.task == "do_shutdown":
            task = "Shutdown"
        elif action.task == "stonith":
            task = f"Fence ({action.meta.get('stonith_action')})"
        else:
            continue
        if action.reason:
            name = action.node.uname if action.node is not None else ""
            items.append(NodeItem(f"{task} {name} '{action.reason}'"))
    for rsc in ws.resources:
        log_actions(items, rsc)
    return items


def format_items(items: list) -> list[str]:
    rsc_width = 5
    detail_width = 5
    for item in items:
        if isinstance(item, Item):
            if len(item.rsc) > rsc_width:
                rsc_width = len(item.rsc) + 2
            if len(item.details) > detail_width:
                detail_width = len(item.details)
    lines = []
    for item in items:
        if isinstance(item, NodeItem):
            lines.append(item.text)
            continue
        text = f"{item.change:<8}   {item.rsc:<{rsc_width}}   ( {item.details:>{detail_width}} )"
        if item.reason:
            text += "  " + item.reason
        lines.append(text)
    return lines


def transition_summary(ws: WorkingSet) -> list[str]:
    """The Transition Summary's lines. A scheduled working set keeps the items it logged
    before making its graph: collected again after it, as crm_simulate does, they are the same
    (making the graph adds notifications only, which no summary look-up matches)."""
    items = ws.summary_items if ws.summary_items is not None else collect(ws)
    return format_items(items)
