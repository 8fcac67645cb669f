"""hb_standby / hb_takeover, `cl_status rscstatus`, and heartbeat's resource log lines.

CIB mode (`crm yes`): hb_standby makes the node standby (node attribute `standby=on`, lifetime
reboot); hb_takeover takes that back. Only `all` has a meaning there.

haresources mode (`crm off`), heartbeat's meaning: a node's *local* groups are the haresources
lines that name it, the others are *foreign* to it.
- `hb_standby [all|foreign|local]` on node N moves that set of groups away from N, once: the DC
  adds a location constraint `hb-standby-<group>-<N>` (-INFINITY on N) per group and makes the
  group sticky (`resource-stickiness=INFINITY` in its meta attributes `<group>-hb-standby`), so
  that the node it moves to keeps it. Once the group runs elsewhere the constraint is lifted: if
  that node fails later, N takes the group back, as heartbeat would.
- `hb_takeover [all|foreign|local]` on N makes every other node give up the complement (all <->
  all, local <-> foreign), as heartbeat asked its peer to.
- The stickiness lasts until the group's own node (re)joins, or a node leaves the cluster: then
  auto_failback decides again, as at heartbeat's node join. The DC lifts it at those events.

`rscstatus` (what `cl_status rscstatus` prints) is which groups this node holds: none, local,
foreign or all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.cib.xmltree import XNode, to_xml
from core.messages import crm
from core.sansio import Log
from crmd import requests as rq
from crmd.cib import CibError, Edit, resolve

if TYPE_CHECKING:
    from crmd.machine import CrmdMachine

PREFIX = "hb-standby-"
COMPLEMENT = {"all": "all", "local": "foreign", "foreign": "local"}


def _groups(m: "CrmdMachine", node: str, which: str) -> list[str]:
    """Group ids that `which` means for `node` (haresources mode)."""
    out = []
    for group, home, _text, _members in m.config.groups:
        if which == "all" or (which == "local") == (home == node):
            out.append(group)
    return out


def _bans(m: "CrmdMachine") -> list[XNode]:
    constraints = m.cib.section("constraints")
    return [c for c in constraints.findall("rsc_location") if (c.get("id") or "").startswith(PREFIX)]


def lift(m: "CrmdMachine", node: str = "", sticky_home: str = "", all_sticky: bool = False) -> list[Edit]:
    """Edits removing the hb_standby constraints on `node` (every node when empty), and the
    stickiness of the groups whose home is `sticky_home` (of all groups with all_sticky)."""
    edits: list[Edit] = []
    for con in _bans(m):
        if not node or con.get("node") == node:
            edits.append(("del", rq.CONFIG + (("constraints", None), ("rsc_location", con.get("id")))))
    for group, home, _text, _members in m.config.groups:
        if all_sticky or (sticky_home and home == sticky_home):
            if _sticky(m, group):
                edits.append(("del", _group_path(group) + (("meta_attributes", sticky_id(group)),)))
    return edits


def lift_moved(m: "CrmdMachine") -> list[Edit]:
    """Constraints whose group no longer runs on the node they name: their job is done."""
    edits: list[Edit] = []
    members = {g: mem for g, _h, _t, mem in m.config.groups}
    for con in _bans(m):
        node, group = con.get("node") or "", con.get("rsc") or ""
        if not set(members.get(group, ())) & active_on(m, node):
            edits.append(("del", rq.CONFIG + (("constraints", None), ("rsc_location", con.get("id")))))
    return edits


def _ban(group: str, node: str) -> Edit:
    ident = f"{PREFIX}{group}-{node}"
    elem = XNode("rsc_location", {"id": ident, "rsc": group, "node": node, "score": "-INFINITY"})
    return ("put", rq.CONFIG + (("constraints", None), ("rsc_location", ident)), to_xml(elem, indent=None))


def _group_path(group: str) -> tuple:
    return rq.CONFIG + (("resources", None), ("group", group))


def sticky_id(group: str) -> str:
    """The id of the meta attributes that make `group` sticky after an hb_standby."""
    return f"{group}-{PREFIX[:-1]}"


def _sticky(m: "CrmdMachine", group: str) -> bool:
    return resolve(m.cib.root, _group_path(group) + (("meta_attributes", sticky_id(group)),)) is not None


def _stick(group: str) -> Edit:
    meta = XNode("meta_attributes", {"id": sticky_id(group)})
    meta.sub("nvpair", {"id": f"{group}-{PREFIX[:-1]}-stickiness", "name": "resource-stickiness", "value": "INFINITY"})
    return ("put", _group_path(group) + (("meta_attributes", meta.get("id")),), to_xml(meta, indent=None))


def edits(m: "CrmdMachine", node: str, which: str, takeover: bool) -> tuple[list[Edit], str]:
    if which not in COMPLEMENT:
        raise CibError(f"want all, foreign or local, not {which!r}")
    if m.view is not None and node not in m.view.members:
        raise CibError(f"{node} is not a member of the cluster")
    if not m.haresources:
        if which != "all":
            raise CibError(f"'{which}' has a meaning only with haresources (crm off); use all")
        ids = rq.node_ids(m.cib)
        nid = ids.get(node, node)
        if takeover:
            out = rq.attr_edits(m.cib, node, nid, "standby", None, "reboot")
            out += rq.attr_edits(m.cib, node, nid, "standby", None, "forever") if node in ids else []
            return out, f"{node}: standby off (takeover)"
        return rq.attr_edits(m.cib, node, nid, "standby", "on", "reboot"), f"{node} goes standby"
    if takeover:
        out = lift(m, node)
        others = [n for n in (m.view.members if m.view else m.config.nodes) if n != node]
        for other in others:
            for group in _groups(m, other, COMPLEMENT[which]):
                out += [_ban(group, other), _stick(group)]
        return out, f"{node} takes over [{which}]: {', '.join(others) or 'no other node'} release " \
                    f"[{COMPLEMENT[which]}]"
    out = []
    for group in _groups(m, node, which):
        out += [_ban(group, node), _stick(group)]
    return out, f"{node} goes standby [{which}]: {', '.join(_groups(m, node, which)) or 'no group'} move away"


def rsc_status(m: "CrmdMachine") -> str:
    active = set(m.lrm.active())
    local = foreign = False
    for group, home, _text, members in m.config.groups:
        if any(r in active for r in members):
            if home == m.me:
                local = True
            else:
                foreign = True
    if not m.config.groups and active:
        return "all"
    if local and foreign:
        return "all"
    return "local" if local else ("foreign" if foreign else "none")


def active_on(m: "CrmdMachine", node: str) -> set[str]:
    """Resources the CIB says are active on node (their newest operation left them running)."""
    ids = rq.node_ids(m.cib)
    res = resolve(m.cib.root, rq.lrm_path(ids.get(node, node)))
    out: set[str] = set()
    for rsc in res.findall("lrm_resource") if res is not None else []:
        last = None
        for op in rsc.findall("lrm_rsc_op"):
            if (op.get("id") or "").endswith("_last_0"):
                last = op
        if last is None:
            continue
        task, rc = last.get("operation"), last.get("rc-code")
        if task in ("start", "promote", "demote", "migrate_from", "notify") and rc == "0":
            out.add(rsc.get("id") or "")
        elif task == "monitor" and rc in ("0", "8"):
            out.add(rsc.get("id") or "")
        elif task == "stop" and rc != "0":
            out.add(rsc.get("id") or "")
    return out


def log_takeover_start(m: "CrmdMachine", lost: list[str], out: list[object]) -> None:
    """A peer left: remember which of its groups this node may take over (logged as heartbeat did
    when the starts happen)."""
    for node in lost:
        held = active_on(m, node)
        groups = [g for g in m.config.groups if any(r in held for r in g[3])]
        if groups:
            m.takeover_from[node] = groups


def on_start(m: "CrmdMachine", rsc_id: str, out: list[object]) -> None:
    """This node starts rsc_id: if it opens a group taken from a dead peer, say so."""
    for node, groups in list(m.takeover_from.items()):
        for group in groups:
            if group[3] and group[3][0] == rsc_id:
                if node not in m.takeover_announced:
                    m.takeover_announced.add(node)
                    out.append(Log("info", f"Resources being acquired from {node}."))
                out.append(Log("info", f"Taking over resource group {group[2]}"))
                m.taking_over.add(node)


def log_idle(m: "CrmdMachine", msg: crm.DcState, out: list[object]) -> None:
    """The DC is idle: a takeover or the first acquisition on this node is complete."""
    for node in sorted(m.taking_over):
        out.append(Log("info", f"mach_down takeover complete for node {node}."))
    m.taking_over.clear()
    m.takeover_from.clear()
    m.takeover_announced.clear()
    if not m.initial_done and (m.joined or m.is_dc):
        m.initial_done = True
        out.append(Log("info", "Initial resource acquisition complete (T_RESOURCES(us))"))
    if m.standby_pending:
        out.append(Log("info", f"Local standby process completed [{m.standby_pending}]."))
        m.standby_pending = ""


def standby_requested(m: "CrmdMachine", which: str, takeover: bool, out: list[object]) -> None:
    if not takeover:
        out.append(Log("info", f"Going standby [{which}]."))
        m.standby_pending = which

