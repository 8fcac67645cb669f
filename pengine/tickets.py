"""Tickets: multi-site permissions that resources depend on (`rsc_ticket`), as the scheduler
sees them.

A ticket is granted to this site or not, and may be in standby; the state comes from the
status section's `<tickets><ticket_state .../></tickets>` (crm_ticket writes it). Resources
that depend on a ticket it does not hold (or holds in standby) may not run, and when it is
lost while they run, the constraint's loss-policy says what happens: stop (ban everywhere),
demote (ban the promoted role only), fence (ban, and fence the nodes they run on) or freeze
(leave them where they are, unmanaged). A port of Pacemaker 2.1.5's unpack_ticket_state
(lib/pengine/unpack.c) and lib/pacemaker/pcmk_sched_tickets.c.
"""

from __future__ import annotations

from core.cib.scores import INFINITY
from core.cib.xmltree import XNode
from pengine import actions as act
from pengine import model as m
from pengine import templates
from pengine.model import Resource, WorkingSet
from pengine.unpack import find_rsc, resource_location, to_bool

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

LOSS_STOP = "stop"
LOSS_DEMOTE = "demote"
LOSS_FENCE = "fence"
LOSS_FREEZE = "freeze"


class Ticket:
    """pe_ticket_t: what the scheduler knows of one ticket."""

    __slots__ = ("id", "granted", "standby", "last_granted", "state")

    def __init__(self, ident: str) -> None:
        self.id = ident
        self.granted = False
        self.standby = False
        self.last_granted = -1
        self.state: dict[str, str] = {}  # every attribute of its ticket_state, for display


class RscTicket:
    """rsc_ticket_t: one resource's dependency on a ticket."""

    __slots__ = ("id", "rsc", "ticket", "loss_policy", "role")

    def __init__(self, ident: str, rsc: Resource, ticket: Ticket, loss_policy: str,
                 role: int) -> None:
        self.id = ident
        self.rsc = rsc
        self.ticket = ticket
        self.loss_policy = loss_policy
        self.role = role


def ticket_new(ws: WorkingSet, ident: str) -> Ticket:
    """ticket_new: a ticket nobody granted yet."""
    ticket = ws.tickets.get(ident)
    if ticket is None:
        ticket = ws.tickets[ident] = Ticket(ident)
    return ticket


def _leading_int(text: str) -> int:
    """pcmk__scan_ll with a default of 0: the leading integer, 0 when there is none."""
    digits = ""
    for i, ch in enumerate(text.strip()):
        if ch.isdigit() or (i == 0 and ch in "+-"):
            digits += ch
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0


def unpack_tickets_state(ws: WorkingSet, tickets: XNode) -> None:
    """unpack_tickets_state / unpack_ticket_state: the status section's ticket states."""
    for xml in tickets.children:
        if xml.tag != "ticket_state":
            continue
        ident = xml.get("id")
        if not ident:
            continue
        ticket = ticket_new(ws, ident)
        for name, value in zip(xml.keys, xml.vals):
            if name != "id":
                ticket.state[name] = value
        ticket.granted = to_bool(ticket.state.get("granted")) is True
        if "last-granted" in ticket.state:
            ticket.last_granted = _leading_int(ticket.state["last-granted"])
        ticket.standby = to_bool(ticket.state.get("standby")) is True


def _role_matches(rsc: Resource, dep: RscTicket) -> bool:
    """ticket_role_matches: the constraint has no role, or the resource is in it now."""
    return dep.role == m.ROLE_UNKNOWN or dep.role == rsc.role


def constraints_for_ticket(ws: WorkingSet, rsc: Resource, dep: RscTicket) -> None:
    """constraints_for_ticket: what a ticket not held (or in standby) means for `rsc`."""
    ticket = dep.ticket
    if ticket.granted and not ticket.standby:
        return
    if rsc.children:
        for child in rsc.children:
            constraints_for_ticket(ws, child, dep)
        return
    if not ticket.granted and rsc.running_on:
        if dep.loss_policy == LOSS_STOP:
            resource_location(ws, rsc, None, -INFINITY, "__loss_of_ticket__")
        elif dep.loss_policy == LOSS_DEMOTE:
            # the promoted role itself is banned by require_promotion_tickets
            if dep.role != m.ROLE_PROMOTED:
                resource_location(ws, rsc, None, -INFINITY, "__loss_of_ticket__")
        elif dep.loss_policy == LOSS_FENCE:
            if not _role_matches(rsc, dep):
                return
            resource_location(ws, rsc, None, -INFINITY, "__loss_of_ticket__")
            for node in list(rsc.running_on):
                act.fence_node(ws, node, "deadman ticket was lost", False)
        elif dep.loss_policy == LOSS_FREEZE:
            if not _role_matches(rsc, dep):
                return
            rsc.managed = False
            rsc.blocked = True
    elif not ticket.granted or ticket.standby:
        if dep.role != m.ROLE_PROMOTED or dep.loss_policy == LOSS_STOP:
            tag = "__no_ticket__" if not ticket.granted else "__ticket_standby__"
            resource_location(ws, rsc, None, -INFINITY, tag)


def _loss_policy(ws: WorkingSet, ticket: Ticket, text: Optional[str], role: int) -> str:
    """rsc_ticket_new's choice: fence only with fencing enabled; an absent or unknown policy
    means demote for a promoted-role dependency and stop otherwise."""
    low = (text or "").lower()
    if low == LOSS_FENCE:
        if ws.stonith_enabled:
            return LOSS_FENCE
        ws.warnings.append(f"Resetting 'loss-policy' for ticket '{ticket.id}' to 'stop' "
                           "because fencing is not configured")
        return LOSS_STOP
    if low in (LOSS_FREEZE, LOSS_DEMOTE, LOSS_STOP):
        return low
    return LOSS_DEMOTE if role == m.ROLE_PROMOTED else LOSS_STOP


def rsc_ticket_new(ws: WorkingSet, ident: str, rsc: Resource, ticket: Ticket,
                   state: Optional[str], loss_policy: Optional[str]) -> None:
    """rsc_ticket_new: record the dependency and apply it at once if the ticket is not held."""
    if state is None or state.lower() == "started":
        role = m.ROLE_UNKNOWN
    else:
        role = m.text2role(state)
    dep = RscTicket(ident, rsc, ticket, _loss_policy(ws, ticket, loss_policy, role), role)
    rsc.rsc_tickets.append(dep)
    ws.ticket_constraints.append(dep)
    if not ticket.granted or ticket.standby:
        constraints_for_ticket(ws, rsc, dep)


def _unpack_ticket_set(ws: WorkingSet, rset: XNode, ticket: Ticket,
                       loss_policy: Optional[str]) -> bool:
    """unpack_rsc_ticket_set: each resource of a set depends on the ticket; an unknown
    resource stops the constraint's remaining sets (those before it stay applied)."""
    set_id = rset.get("id")
    if set_id is None:
        ws.warnings.append(f"ignoring <resource_set> without id (line {rset.line})")
        return False
    role = rset.get("role")
    for ref in rset.findall("resource_ref"):
        rsc = find_rsc(ws, ref.get("id"))
        if rsc is None:
            ws.warnings.append(f"{set_id}: No resource found for {ref.get('id')}")
            return False
        rsc_ticket_new(ws, set_id, rsc, ticket, role, loss_policy)
    return True


def _unpack_simple(ws: WorkingSet, xml: XNode, ident: str, ticket: Ticket,
                   loss_policy: Optional[str]) -> None:
    """unpack_simple_rsc_ticket (without the deprecated rsc-instance)."""
    rsc_id = xml.get("rsc")
    if rsc_id is None:
        ws.warnings.append(f"Ignoring constraint '{ident}' without resource")
        return
    rsc = find_rsc(ws, rsc_id)
    if rsc is None:
        ws.warnings.append(f"Ignoring constraint '{ident}' because resource '{rsc_id}' "
                           "does not exist")
        return
    if xml.get("rsc-instance") is not None:
        ws.unsupported_feature(f"ticket constraint on a clone instance number ({ident})")
        return
    rsc_ticket_new(ws, ident, rsc, ticket, xml.get("rsc-role"), loss_policy)


def unpack_rsc_ticket(ws: WorkingSet, xml: XNode) -> None:
    """pcmk__unpack_rsc_ticket: one rsc_ticket constraint (simple or with resource sets,
    templates and tags already allowed for)."""
    ident = xml.get("id") or ""
    ticket_id = xml.get("ticket")
    loss_policy = xml.get("loss-policy")
    if ticket_id is None:
        ws.warnings.append(f"Ignoring constraint '{ident}' without ticket (line {xml.line})")
        return
    ticket = ticket_new(ws, ticket_id)
    expanded = templates.expand_constraint(ws, xml, find_rsc)
    if expanded is None:
        return
    sets = expanded.findall("resource_set")
    for rset in sets:
        if not _unpack_ticket_set(ws, ws.ids.resolve(rset), ticket, loss_policy):
            return
    if not sets:
        _unpack_simple(ws, xml, ident, ticket, loss_policy)


def require_promotion_tickets(rsc: Resource) -> None:
    """pcmk__require_promotion_tickets: a promotable clone whose promoted role needs a
    ticket not held (or in standby) may be promoted nowhere."""
    for dep in rsc.rsc_tickets:
        if dep.role == m.ROLE_PROMOTED and (not dep.ticket.granted or dep.ticket.standby):
            resource_location(rsc.ws, rsc, None, -INFINITY, "__stateful_without_ticket__")
