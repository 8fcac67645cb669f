"""`crm_resource`: where resources run, and the commands that move them, as Pacemaker 2.1.5's
crm_resource does.

    crm_resource [--list|-L]                         every resource and its state
    crm_resource --locate|-W -r RSC                  "resource RSC is running on: NODE"
    crm_resource --move|-M -r RSC [-N NODE] [-u LIFETIME] [-f]
    crm_resource --ban|-B -r RSC [-N NODE] [-u LIFETIME]
    crm_resource --clear|-U -r RSC [-N NODE]
    crm_resource --cleanup|-C [-r RSC] [-N NODE]

Moving is done with the constraints Pacemaker's crm_resource creates, so either tool can clear
what the other set: `cli-prefer-RSC` (INFINITY for the node a resource was moved to) and
`cli-ban-RSC-on-NODE` (-INFINITY), with a `#uname` rule and an end date when a lifetime is given.
`--move` without a node bans the resource from the node it runs on; with a node it clears the
resource's earlier preference and the ban on that node and prefers it (and with --force also bans
the node it runs on). `--clear` removes them again (from every node, or the one named) and says
which it removed. Changes go to the DC through the local crmd (`tools.crmclient`), or into the
file `CIB_file` names; the status shown is the policy engine's (`pengine`), as in crm_mon.

Exit status (Pacemaker's): 0 done; 2 a clone instance where only the clone can be moved; 64 bad
command line (or a resource that cannot be moved without a node); 102 cluster not reachable;
105 no such resource or node (and an empty resource list); 108 already where it was asked to go;
109 active on several nodes.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
import time
from typing import Optional, TextIO

from core import paths as pathmod
from core.cib.status import strip_clone_suffix
from core.cib.xmltree import XNode, to_xml
from pengine import display
from pengine import model as m
from pengine.assign import current_node
from pengine.model import CLONE, Node, Resource, WorkingSet
from tools import ctext
from tools.crmtool import (EX_EXISTS, EX_INVALID_PARAM, EX_MULTIPLE, EX_NOSUCH, EX_OK, EX_USAGE,
                           CibAccess, LiveCib, Output, Parser, ToolError, UsageError, cib_access,
                           console, exit_text, find_node, find_resource, in_anonymous_clone,
                           is_clone, parse_command_line, primitives, working_set)

PROG = "crm_resource"
LIFETIME_HELP = ("Please refer to https://en.wikipedia.org/wiki/ISO_8601#Durations "
                 "for examples of valid durations")

EPILOG = """\
Examples:
  crm_resource --list                          every resource and where it runs
  crm_resource --resource web --locate         where web runs
  crm_resource --resource web --move           move web away from the node it runs on
  crm_resource --resource web --move --node n2 move web to n2
  crm_resource --resource web --ban --node n1  keep web off n1
  crm_resource --resource web --clear          take back what --move and --ban did
  crm_resource --resource web --cleanup        forget web's failures; it is probed again

The CIB is this node's cluster's (see --rundir/--node-name), or the file CIB_file names."""


class Usage(UsageError):
    """A command line that is well-formed but asks for something impossible (exit 64)."""


class BadLifetime(Usage):
    """--lifetime is not a duration: Pacemaker prints this one without its name in front."""


def build_parser() -> Parser:
    p = Parser(prog=PROG, add_help=False, epilog=EPILOG,
               formatter_class=argparse.RawDescriptionHelpFormatter,
               description="perform tasks related to Pacemaker cluster resources")
    p.add_argument("-?", "-h", "--help", action="store_true", help="show this help")
    p.add_argument("--version", action="store_true", help="show the version")
    p.add_argument("-V", "--verbose", action="count", default=0, help="(accepted, no effect)")
    p.add_argument("-Q", "--quiet", action="store_true",
                   help="only the essential output (node names for --locate)")
    g = p.add_argument_group("commands")
    for flags, command, text in (
            (("-L", "--list"), "list", "list all cluster resources with status"),
            (("-W", "--locate"), "locate", "show the nodes a resource runs on"),
            (("-M", "--move"), "move", "move a resource away from where it runs, or to -N NODE"),
            (("-B", "--ban"), "ban", "keep a resource off -N NODE (default: where it runs)"),
            (("-U", "--clear"), "clear", "remove the constraints --move and --ban created"),
            (("-C", "--cleanup"), "cleanup", "forget failures and history (all resources "
                                            "without -r)")):
        g.add_argument(*flags, dest="command", action="store_const", const=command, help=text)
    g.add_argument("-r", "--resource", metavar="ID", help="the resource")
    g.add_argument("-N", "--node", metavar="NAME", help="the node")
    g.add_argument("-u", "--lifetime", metavar="TIMESPEC",
                   help="how long --move/--ban hold, an ISO 8601 duration (PT1H)")
    g.add_argument("-f", "--force", action="store_true",
                   help="--move also bans the node the resource runs on; --cleanup only the "
                        "named resource (not its whole group or clone)")
    pathmod.add_arguments(p)
    return p


# ------------------------------------------------------------------------------------------------
# state of resources (the engine's)

def current_role(rsc: Resource) -> int:
    """rsc->fns->state(rsc, TRUE): a primitive's role, the highest of a collective's members."""
    if not rsc.children:
        return rsc.role
    return max((current_role(c) for c in rsc.children), default=m.ROLE_UNKNOWN)


def active_count(rsc: Resource) -> tuple[Optional[Node], int]:
    """pe__find_active_requires: the node rsc is active on (the healthy one first) and on how
    many nodes it is active (clean ones only unless it needs fencing)."""
    if rsc.needs_fencing:
        count = len(rsc.running_on)
    else:
        count = sum(1 for n in rsc.running_on if n.online and not n.unclean)
    return current_node(rsc), count


def locations(rsc: Resource, requested: str) -> list[tuple[str, bool]]:
    """cli_resource_search: (node, promoted) where the resource runs, in Pacemaker's order (it
    prepends each one, so the list comes out last found first)."""
    found: list[tuple[str, bool]] = []
    parent = rsc.top
    if rsc.variant == CLONE:
        instances_of: Optional[Resource] = rsc
    elif (is_clone(parent) and not rsc.unique and rsc.clone_name is not None
          and rsc.clone_name.lower() == requested.lower() and rsc.id.lower() != requested.lower()):
        instances_of = parent  # an anonymous clone's common name: every instance
    else:
        instances_of = None
    if instances_of is not None:
        for child in instances_of.children:
            promoted = instances_of.promotable and current_role(child) == m.ROLE_PROMOTED
            for node in child.running_on:
                found.insert(0, (node.uname, promoted))
        return found
    promoted = current_role(rsc) == m.ROLE_PROMOTED
    for node in rsc.running_on:
        found.insert(0, (node.uname, promoted))
    return found


def resource_lines(ws: WorkingSet) -> list[str]:
    """--list: the resource list crm_mon shows with inactive resources, without node names."""
    opts = display.ShowOptions(inactive=True, pending=True, rsc_only=True)
    return display.resource_list(ws, opts, 2)


# ------------------------------------------------------------------------------------------------
# the constraints --move / --ban create

def parse_lifetime(lifetime: Optional[str], now: float) -> Optional[str]:
    """The end date of a --lifetime (an ISO 8601 duration from now) as Pacemaker writes it;
    None without one. Raises Usage for anything but a duration."""
    if lifetime is None:
        return None
    from core.cib import dates
    try:
        parts = dates.parse_duration(lifetime)
    except dates.DateError:
        raise BadLifetime(f"Invalid duration specified: {lifetime}\n{LIFETIME_HELP}") from None
    start = _dt.datetime.fromtimestamp(int(now), tz=_dt.timezone.utc)
    later = dates.add_duration(start, **parts)
    return ctext.iso_with_zone(int(later.timestamp()))


def location_xml(ident: str, rsc: str, node: str, score: str, until: Optional[str],
                 rule_id: str, expr_id: str, date_id: str) -> XNode:
    """One rsc_location in the form crm_resource writes: `node`+`score` when it holds until
    cleared, a `#uname eq node` rule with an end date when it has a lifetime."""
    location = XNode("rsc_location", {"id": ident, "rsc": rsc, "role": "Started"})
    if until is None:
        location.set("node", node)
        location.set("score", score)
        return location
    rule = location.sub("rule", {"id": rule_id, "score": score, "boolean-op": "and"})
    rule.sub("expression", {"id": expr_id, "attribute": "#uname", "operation": "eq",
                            "value": node, "type": "string"})
    rule.sub("date_expression", {"id": date_id, "operation": "lt", "end": until})
    return location


def ban_xml(rsc: str, node: str, until: Optional[str] = None) -> XNode:
    base = f"cli-ban-{rsc}-on-{node}"
    return location_xml(base, rsc, node, "-INFINITY", until, f"{base}-rule", f"{base}-expr",
                        f"{base}-lifetime")


def prefer_xml(rsc: str, node: str, until: Optional[str] = None) -> XNode:
    return location_xml(f"cli-prefer-{rsc}", rsc, node, "INFINITY", until,
                        f"cli-prefer-rule-{rsc}", f"cli-prefer-expr-{rsc}",
                        f"cli-prefer-lifetime-end-{rsc}")


def ban_warning(rsc: str, node: str) -> str:
    return (f"WARNING: Creating rsc_location constraint 'cli-ban-{rsc}-on-{node}' with a score "
            f"of -INFINITY for resource {rsc} on {node}.\n\tThis will prevent {rsc} from "
            f"running on {node} until the constraint is removed using the clear option or by "
            f"editing the CIB with an appropriate tool\n\tThis will be the case even if {node} "
            f"is the last node in the cluster")


def _rule_node(location: XNode, rule_id: str) -> Optional[str]:
    """The node a lifetime-form constraint's `#uname eq` expression names."""
    for rule in location.findall("rule"):
        if rule.get("id") != rule_id:
            continue
        for expr in rule.findall("expression"):
            if expr.get("attribute") == "#uname":
                return expr.get("value")
    return None


def to_clear(constraints: XNode, rsc: str, node: str, bans: bool, force: bool) -> list[str]:
    """cli_resource_clear for one node: the ids of the constraints crm_resource removes there
    (the preference for it, in either form, and with `bans` the ban from it)."""
    out: list[str] = []
    prefer = f"cli-prefer-{rsc}"
    for location in constraints.findall("rsc_location"):
        ident = location.get("id")
        if ident == prefer:
            in_rule = _rule_node(location, f"cli-prefer-rule-{rsc}") == node
            on_node = force or location.get("node") == node
            if in_rule or on_node:
                out.append(ident)
        elif bans and ident == f"cli-ban-{rsc}-on-{node}":
            out.append(ident)
    return out


def location_ids(constraints: XNode) -> list[str]:
    return sorted(c.get("id") or "" for c in constraints.iter("rsc_location") if c is not constraints)


# ------------------------------------------------------------------------------------------------
# the commands

class Tool:
    """One crm_resource run: the CIB access, the engine's view and the output."""

    def __init__(self, access: CibAccess, ws: WorkingSet, output: Output, ns) -> None:
        self.access = access
        self.ws = ws
        self.out = output
        self.ns = ns
        # checked before anything changes (Pacemaker checks it only once it has cleared the
        # old constraints of a --move, which then stay cleared)
        self.until = parse_lifetime(ns.lifetime, time.time()) \
            if ns.command in ("move", "ban") else None

    # -- changing constraints --------------------------------------------------------------------
    def constraints(self) -> XNode:
        try:
            return self.access.query("constraints")
        except ToolError as exc:
            if exc.code != EX_NOSUCH:
                raise
            return XNode("constraints")  # a CIB without any: nothing to clear

    def delete(self, ident: str) -> None:
        self.access.update("delete", to_xml(XNode("rsc_location", {"id": ident}), indent=None),
                           "constraints", PROG)

    def add(self, location: XNode) -> None:
        """cib update of the constraints section: created, or merged into one with its id.
        One of the other form (node+score vs. a lifetime rule) is replaced instead: merged, the
        two would make a constraint with both (Pacemaker then refuses the update as invalid
        and the user has to --clear first; replacing is what was asked for)."""
        ident = location.get("id")
        for existing in self.constraints().findall("rsc_location"):
            if existing.get("id") == ident and \
                    (existing.find("rule") is None) != (location.find("rule") is None):
                self.delete(ident or "")
        holder = XNode("constraints")
        holder.append(location)
        self.access.update("modify", to_xml(holder, indent=None), "constraints", PROG)

    def clear(self, rsc: str, node: Optional[str], bans: bool) -> None:
        """cli_resource_clear: on one node, or on every node of the cluster."""
        force = bool(self.ns.force)
        names = [node] if node is not None else [n.uname for n in self.ws.nodes]
        for name in names:
            for ident in to_clear(self.constraints(), rsc, name, bans, force):
                self.delete(ident)

    def ban(self, rsc: str, node: str) -> None:
        if self.until is not None:
            self.out.info(f"Migration will take effect until: {self.until}")
        self.out.info(ban_warning(rsc, node))
        self.add(ban_xml(rsc, node, self.until))

    def prefer(self, rsc: str, node: str) -> None:
        if self.until is not None:
            self.out.info(f"Migration will take effect until: {self.until}")
        self.add(prefer_xml(rsc, node, self.until))

    # -- commands ----------------------------------------------------------------------------------
    def ban_or_move(self, rsc: Resource, rsc_id: str) -> None:
        """--move or --ban without a node: ban the resource from the one node it is active on."""
        current, count = active_count(rsc)
        if count == 1 and current is not None:
            self.ban(rsc_id, current.uname)
            return
        if rsc.promotable:
            promoted = [c for c in rsc.children if current_role(c) == m.ROLE_PROMOTED]
            where = current_node(promoted[-1]) if promoted else None
            if len(promoted) == 1 and where is not None:
                self.ban(rsc_id, where.uname)
                return
            raise Usage(f"Resource '{rsc_id}' not moved: active in {count} locations (promoted "
                        f"in {len(promoted)}).\nTo prevent '{rsc_id}' from running on a specific "
                        f"location, specify a node.To prevent '{rsc_id}' from being promoted at "
                        f"a specific location, specify a node and the --promoted option.")
        raise Usage(f"Resource '{rsc_id}' not moved: active in {count} locations.\nTo prevent "
                    f"'{rsc_id}' from running on a specific location, specify a node.")

    def move(self, rsc: Resource, rsc_id: str, dest: Node) -> None:
        """cli_resource_move: prefer dest (after clearing the old preference and dest's ban)."""
        current, count = active_count(rsc)
        if rsc.promotable:  # a promotable clone moves with its promoted instance
            promoted = [c for c in rsc.children if current_role(c) == m.ROLE_PROMOTED]
            if promoted:
                count, current = len(promoted), current_node(promoted[-1])
        if count > 1:
            if is_clone(rsc):
                current = None
            else:
                raise ToolError("", EX_MULTIPLE)
        cur_is_dest = current is not None and current is dest
        if cur_is_dest and not self.ns.force:
            raise ToolError("", EX_EXISTS)
        self.clear(rsc_id, None, bans=False)
        self.clear(rsc_id, dest.uname, bans=True)
        self.prefer(rsc_id, dest.uname)
        if self.ns.force and not cur_is_dest:
            if current is not None:
                self.ban(rsc_id, current.uname)
            elif count > 1:
                self.out.info(f"Resource '{rsc_id}' is currently active in {count} locations. "
                              f"One may now move to {dest.uname}")
                self.out.info(f"To prevent '{rsc_id}' from being active at a specific location, "
                              f"specify a node.")

    def clear_command(self, rsc_id: str, node: Optional[Node]) -> None:
        before = location_ids(self.constraints())
        self.clear(rsc_id, node.uname if node is not None else None, bans=True)
        after = set(location_ids(self.constraints()))
        for ident in before:
            if ident not in after:
                self.out.info(f"Removing constraint: {ident}")

    def cleanup(self, rsc: Optional[Resource], node: Optional[Node]) -> None:
        if rsc is None:
            where = node.uname if node is not None else "all nodes"
            if not self.access.live:
                self.out.info(f"Dry run: skipping clean-up of {where} due to CIB_file")
                return
            assert isinstance(self.access, LiveCib)
            self.access.cleanup("", node.uname if node is not None else "")
            self.out.info(f"Cleaned up all resources on {where}")
            return
        top = rsc if self.ns.force else rsc.top
        done: set[tuple[str, str]] = set()
        for shown, history, where in cleanup_targets(self.ws, top, node):
            if not self.access.live:
                self.out.err(f"Dry run: skipping clean-up of {shown} on {where} due to CIB_file")
                continue
            assert isinstance(self.access, LiveCib)
            if (history, where) not in done:
                self.access.cleanup(history, where)
                done.add((history, where))
            self.out.info(f"Cleaned up {shown} on {where}")
        if not self.out.quiet:
            for line in resource_checks(top):
                self.out.line(line)


def history_nodes(ws: WorkingSet) -> dict[str, list[str]]:
    """History id -> the online nodes whose status has an entry for it (status order)."""
    out: dict[str, list[str]] = {}
    status = ws.cib.find("status")
    for state in status.findall("node_state") if status is not None else []:
        node = ws.node_by_id.get(state.get("id") or "")
        if node is None or not node.online:
            continue
        lrm = state.find("lrm")
        entries = lrm.find("lrm_resources") if lrm is not None else None
        for entry in entries.findall("lrm_resource") if entries is not None else []:
            names = out.setdefault(entry.get("id") or "", [])
            if node.uname not in names:
                names.append(node.uname)
    return out


def cleanup_targets(ws: WorkingSet, top: Resource, node: Optional[Node]) -> list[tuple[str, str, str]]:
    """(id shown, history id, node) for each primitive under `top` and each node its history is
    cleaned on: the named node; else where it has history (Pacemaker's known_on: an anonymous
    clone's history on a node belongs to the instance running there, else to the first inactive
    instance), else every online node."""
    leaves = primitives(top)
    if node is not None:
        return [(leaf.id, _history_id(leaf), node.uname) for leaf in leaves]
    known = history_nodes(ws)
    assigned: dict[str, list[str]] = {leaf.id: [] for leaf in leaves}
    by_history: dict[str, list[Resource]] = {}
    for leaf in leaves:
        by_history.setdefault(_history_id(leaf), []).append(leaf)
    for history, group in by_history.items():
        nodes = list(known.get(history, []))
        if in_anonymous_clone(group[0]):
            for rid, where in known.items():
                if rid != history and strip_clone_suffix(rid) == history:
                    nodes += [n for n in where if n not in nodes]
        for name in nodes:
            owner = next((leaf for leaf in group if any(n.uname == name for n in leaf.running_on)),
                         None)
            if owner is None:
                owner = next((leaf for leaf in group if not leaf.running_on), group[0])
            assigned[owner.id].append(name)
    online = [n.uname for n in ws.nodes if n.online]
    order = {n.uname: i for i, n in enumerate(ws.nodes)}
    out = []
    for leaf in leaves:
        names = sorted(assigned[leaf.id], key=lambda n: order.get(n, len(order))) or online
        out += [(leaf.id, _history_id(leaf), name) for name in names]
    return out


def _history_id(leaf: Resource) -> str:
    """The id the resource's history is recorded under (anonymous instances share their base)."""
    return strip_clone_suffix(leaf.id) if in_anonymous_clone(leaf) else leaf.id


def resource_checks(rsc: Resource) -> list[str]:
    """cli_resource_check: why a cleaned-up resource may still stay stopped."""
    out = []
    role = rsc.meta.get("target-role")
    if role is not None:
        wanted = m.text2role(role)
        if wanted == m.ROLE_STOPPED:
            out.append(f"Configuration specifies '{rsc.id}' should remain stopped")
        elif wanted == m.ROLE_UNPROMOTED and rsc.promotable:
            out.append(f"Configuration specifies '{rsc.id}' should not be promoted")
    managed = rsc.meta.get("is-managed")
    if managed is not None and managed.lower() not in ("true", "yes", "on", "y", "1"):
        out.append(f"Configuration prevents cluster from stopping or starting unmanaged '{rsc.id}'")
    if rsc.lock_node is not None:
        out.append(f"'{rsc.id}' is locked to node {rsc.lock_node.uname} due to shutdown")
    return out


# ------------------------------------------------------------------------------------------------
# the command line

NEEDS_RESOURCE = ("locate", "move", "ban", "clear")


def execute(ns, access: CibAccess, output: Output) -> None:
    """Carry out the command; raises ToolError / Usage."""
    command = ns.command or "list"
    if command in NEEDS_RESOURCE and not ns.resource:
        raise Usage("Must supply a resource id with -r")
    ws = working_set(access.query())
    rsc = None
    if ns.resource:
        rsc = find_resource(ws, ns.resource)
        if rsc is None:
            raise ToolError(f"Resource '{ns.resource}' not found", EX_NOSUCH)
        if (":" in ns.resource and rsc.parent is not None and is_clone(rsc.parent)
                and command in ("move", "ban", "clear")):
            raise ToolError(f"Cannot operate on clone resource instance '{ns.resource}'",
                            EX_INVALID_PARAM)
    node = None
    if ns.node is not None:
        node = find_node(ws, ns.node)
        if node is None:
            raise ToolError(f"Node '{ns.node}' not found", EX_NOSUCH)
    tool = Tool(access, ws, output, ns)
    if command == "list":
        lines = resource_lines(ws)
        output.line("Full List of Resources:")
        if not lines:
            output.line("  * No resources")
            raise ToolError("", EX_NOSUCH)
        for line in lines:
            output.line(line)
    elif command == "locate":
        assert rsc is not None
        found = locations(rsc, ns.resource)
        if not found and not output.quiet:
            output.err(f"resource {ns.resource} is NOT running")
        for where, promoted in found:
            if output.quiet:
                output.line(where)
            else:
                output.line(f"resource {ns.resource} is running on: {where}"
                            f"{' Promoted' if promoted else ''}")
    elif command == "move":
        assert rsc is not None
        if node is None:
            tool.ban_or_move(rsc, ns.resource)
        else:
            tool.move(rsc, ns.resource, node)
    elif command == "ban":
        assert rsc is not None
        if node is None:
            tool.ban_or_move(rsc, ns.resource)
        else:
            tool.ban(ns.resource, node.uname)
    elif command == "clear":
        tool.clear_command(ns.resource, node)
    elif command == "cleanup":
        tool.cleanup(rsc, node)


def run(argv: list[str], out: TextIO, err: TextIO, environ: Optional[dict[str, str]] = None) -> int:
    parser = build_parser()
    ns, code = parse_command_line(parser, parser.parse_args, argv, out, err, PROG)
    if ns is None:
        return code
    output = Output(out, err, ns.quiet)
    access = cib_access(pathmod.from_args(ns), environ)
    try:
        execute(ns, access, output)
    except BadLifetime as exc:
        err.write(f"{exc}\n")
        return EX_USAGE
    except Usage as exc:
        err.write(f"{PROG}: {exc}\n")
        return EX_USAGE
    except ToolError as exc:
        message = str(exc)
        text = exit_text(exc.code)
        err.write(f"{PROG}: {message}\nError performing operation: {text}\n" if message
                  else f"{PROG}: Error performing operation: {text}\n")
        return exc.code
    return EX_OK


def main(argv: Optional[list[str]] = None) -> int:
    return run(list(sys.argv[1:] if argv is None else argv), sys.stdout, sys.stderr)


def main_console() -> None:
    console(main)


if __name__ == "__main__":
    main_console()
