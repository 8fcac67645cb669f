"""crm_mon's text output (`crm_mon -1`), line for line as Pacemaker 2.1.5 prints it:

    Cluster Summary:
      * Stack: corosync
      * Current DC: node1 (version 2.1.5) - partition with quorum
      ...
    Node List:
      * Online: [ node1 node2 ]

    Active Resources:
      * rsc1	(ocf:heartbeat:Dummy):	 Started node1

Sections are nested lists ("Title:" then "* item" two spaces deeper per level), separated by a
blank line once something was printed, as Pacemaker's "fancy" text formatter does. Resource
lines come from `pengine.display` (shared with `hb simulate`); everything else from the
`MonStatus` the XML and JSON outputs are made of.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from core.cib.status import parse_op_key
from pengine import display
from pengine.model import WorkingSet
from tools import ctext
from tools.monstatus import FailedAction, MonStatus, NodeStatus, OperationStatus, ResourceHistory


@dataclass(frozen=True)
class TextOptions:
    """crm_mon's show options that change the text (pcmk_show_* flags)."""

    inactive: bool = False       # -r
    by_node: bool = False        # -n
    details: bool = False        # -R: node ids, every clone instance, internal resources,
    #                                   technical failed actions, feature sets
    timing: bool = False         # -t: operation timing details
    brief: bool = False          # -b: primitives counted per agent
    ban_prefix: Optional[str] = None   # -L PREFIX


class TextOut:
    """Nested lists as Pacemaker's text output prints them with --text-fancy."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def _prefix(self) -> str:
        return "  " * self.depth + ("* " if self.depth else "")

    def begin(self, title: str) -> None:
        self.lines.append(f"{self._prefix()}{title}:")
        self.depth += 1

    def end(self) -> None:
        self.depth -= 1

    def item(self, text: str) -> None:
        self.lines.append(self._prefix() + text)

    def extend(self, lines: list[str]) -> None:
        """Lines already bulleted and indented (from pengine.display)."""
        self.lines.extend(lines)

    def spacer(self) -> None:
        self.lines.append("")

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)


class _Section:
    """PCMK__OUTPUT_LIST_HEADER: a titled list opened on its first item, after a blank line
    when anything was printed before."""

    def __init__(self, out: TextOut, title: str, spacer: bool) -> None:
        self.out, self.title, self.spacer, self.open = out, title, spacer, False

    def header(self) -> None:
        if not self.open:
            if self.spacer:
                self.out.spacer()
            self.out.begin(self.title)
            self.open = True

    def close(self) -> bool:
        if self.open:
            self.out.end()
        return self.open


def display_name(node: NodeStatus, details: bool) -> str:
    """pe__node_display_name: with details, the node id too when it differs from the name."""
    if details and node.id.lower() != node.name.lower():
        return f"{node.name} ({node.id})"
    return node.name


def last_changed_text(st: MonStatus) -> str:
    lc = st.summary.last_change
    if lc.time is None and lc.user is None and lc.client is None and lc.origin is None:
        return ""
    return (f"{lc.time or ''}{' by ' + lc.user if lc.user is not None else ''}"
            f"{' via ' + lc.client if lc.client is not None else ''}"
            f"{' on ' + lc.origin if lc.origin is not None else ''}")


def _plural(n: int) -> str:
    return "" if n == 1 else "s"


# ------------------------------------------------------------------------------------------------
# sections; each returns whether it printed (Pacemaker's pcmk_rc_ok)

def _summary(out: TextOut, st: MonStatus, sections: frozenset[str], now: str,
             details: bool) -> bool:
    s = st.summary
    sec = _Section(out, "Cluster Summary", False)
    if "stack" in sections:
        sec.header()
        out.item(f"Stack: {s.stack}")
    if "dc" in sections or s.dc is None:
        sec.header()
        if s.dc is None:
            out.item("Current DC: NONE")
        else:
            name = s.dc.name
            if details and s.dc.id.lower() != name.lower():
                name = f"{name} ({s.dc.id})"
            out.item(f"Current DC: {name} (version {s.dc.version or 'unknown'}) - "
                     f"{'MIXED-VERSION ' if s.dc.mixed_version else ''}partition "
                     f"{'with' if s.have_quorum else 'WITHOUT'} quorum")
    if "times" in sections:
        sec.header()
        out.item(f"Last updated: {now}")
        out.item(f"Last change:  {last_changed_text(st)}")
    if "counts" in sections:
        sec.header()
        out.item(f"{s.nodes_configured} node{_plural(s.nodes_configured)} configured")
        n, disabled, blocked = s.resources_configured, s.resources_disabled, s.resources_blocked
        line = f"{n} resource instance{_plural(n)} configured"
        if disabled and blocked:
            line += f" ({disabled} DISABLED, {blocked} BLOCKED from further action due to failure)"
        elif disabled:
            line += f" ({disabled} DISABLED)"
        elif blocked:
            line += f" ({blocked} BLOCKED from further action due to failure)"
        out.item(line)
    if "options" in sections:
        sec.header()
        o = s.options
        out.item(f"STONITH of failed nodes {'enabled' if o.stonith_enabled else 'disabled'}")
        out.item(f"Cluster is {'symmetric' if o.symmetric_cluster else 'asymmetric'}")
        out.item("No quorum policy: " + {
            "freeze": "Freeze resources", "stop": "Stop ALL resources",
            "demote": "Demote promotable resources and stop all other resources",
            "ignore": "Ignore", "suicide": "Suicide"}[o.no_quorum_policy])
    printed = sec.close()
    if "maint-mode" in sections:
        if s.options.maintenance_mode:
            out.extend(["", "              *** Resource management is DISABLED ***",
                        "  The cluster will not attempt to start, stop or recover services"])
            printed = True
        elif s.options.stop_all_resources:
            out.extend(["", "    *** Resource management is DISABLED ***",
                        "  The cluster will keep all resources stopped"])
            printed = True
    return printed


def _show_options(opts: TextOptions, rsc_only: bool = False) -> display.ShowOptions:
    return display.ShowOptions(inactive=opts.inactive, pending=True, rsc_only=rsc_only,
                               clone_detail=opts.details, implicit=opts.details,
                               by_node=opts.by_node, brief=opts.brief)


def _node_list(out: TextOut, ws: WorkingSet, st: MonStatus, opts: TextOptions,
               spacer: bool) -> bool:
    sec = _Section(out, "Node List", spacer)
    online: list[str] = []
    offline: list[str] = []
    for node, ns in zip(ws.nodes, st.nodes):
        sec.header()
        name = display_name(ns, opts.details)
        if not display.node_shown_alone(node, ns.health, opts.by_node, opts.details):
            (online if node.online else offline).append(name)
            continue
        line = display.node_line(node, name, ns.health)
        if opts.details and ns.feature_set is not None:
            line += f", feature set {ns.feature_set}"
        if not opts.by_node:
            out.item(line)
            continue
        if opts.brief:
            # counted per agent; a node running nothing gets no line at all
            if node.running_rsc:
                out.begin(line)
                out.begin("Resources")
                show = _show_options(opts, rsc_only=True).replace(inactive=False)
                out.extend(display.brief_lines(node.running_rsc, show, 2 * out.depth))
                out.end()
                out.end()
            continue
        out.begin(line)
        out.begin("Resources")
        show = _show_options(opts, rsc_only=True)
        for rsc in node.running_rsc:
            out.extend(display.resource_lines(ws, rsc, 2 * out.depth, show))
        out.end()
        out.end()
    if online:
        out.item(f"Online: [ {' '.join(online)} ]")
    if offline:
        out.item(f"OFFLINE: [ {' '.join(offline)} ]")
    return sec.close()


def _resource_list(out: TextOut, ws: WorkingSet, opts: TextOptions, spacer: bool) -> bool:
    if opts.by_node and not opts.inactive:
        return False
    if spacer:
        out.spacer()
    title = ("Inactive Resources" if opts.by_node else
             "Full List of Resources" if opts.inactive else "Active Resources")
    out.begin(title)
    lines = display.resource_list(ws, _show_options(opts), 2 * out.depth)
    out.extend(lines)
    if not lines:
        out.item("No inactive resources" if opts.by_node else
                 "No resources" if opts.inactive else "No active resources")
    out.end()
    return bool(lines)


def _attribute_line(name: str, value: Optional[str], expected: Optional[int]) -> str:
    shown = "(null)" if value is None else value
    line = f"{ctext.c_pad(name, 32)}\t: {ctext.c_pad(shown, 10)}"
    if expected is None:
        return line
    v = 0 if value is None else ctext.scan_min_int(value, ctext.INT_MIN)
    if v <= 0:
        return line + "\t: Connectivity is lost"
    if v < expected:
        return line + f"\t: Connectivity is degraded (Expected={expected})"
    return line


def attributes_section(out: TextOut, st: MonStatus, opts: TextOptions, spacer: bool) -> bool:
    sec = _Section(out, "Node Attributes", spacer)
    for ns in st.nodes:
        if not ns.attributes:
            continue
        sec.header()
        out.begin(f"Node: {display_name(ns, opts.details)}")
        for attr in ns.attributes:
            out.item(_attribute_line(attr.name, attr.value, attr.expected))
        out.end()
    return sec.close()


def history_header(entry: ResourceHistory, all_: bool, rsc_id: str) -> str:
    """resource_history_string."""
    if entry.orphan:
        return f"{rsc_id}: orphan"
    if all_ or entry.fail_count or entry.last_failure > 0:
        text = f"{rsc_id}: migration-threshold={entry.migration_threshold}"
        if entry.fail_count > 0:
            text += f" fail-count={entry.fail_count}"
        if entry.last_failure > 0:
            text += f" last-failure='{ctext.ctime(entry.last_failure)}'"
        return text
    return f"{rsc_id}:"


def operation_line(op: OperationStatus, timing: bool) -> str:
    """op_history_string."""
    call = "(null)" if op.call is None else op.call
    interval = ""
    if op.interval_ms and op.interval_ms != "0":
        interval = f' interval="{op.interval_ms}ms"'
    if not timing:
        return f"({call}) {op.task}{':' if interval else ''}{interval}"
    extra = ""
    if op.last_rc_change is not None and op.last_rc_change > 0:
        extra += f' last-rc-change="{ctext.ctime(op.last_rc_change)}"'
    if op.exec_time is not None:
        extra += f' exec-time="{op.exec_time}ms"'
    if op.queue_time is not None:
        extra += f' queue-time="{op.queue_time}ms"'
    return f"({call}) {op.task}:{interval}{extra} rc={op.rc} ({op.rc_text})"


def history_section(out: TextOut, st: MonStatus, operations: bool, opts: TextOptions,
                    spacer: bool) -> bool:
    if not st.history:
        return False
    sec = _Section(out, "Operations" if operations else "Migration Summary", spacer)
    by_name = {ns.name: ns for ns in st.nodes}
    for node in st.history:
        sec.header()
        node_open = False
        for entry in node.resources:
            if operations:
                if not entry.operations:
                    continue
            elif entry.fail_count <= 0:
                continue
            if not node_open:
                out.begin(f"Node: {display_name(by_name[node.node], opts.details)}")
                node_open = True
            if not operations:
                out.item(history_header(entry, False, entry.history_id))
                continue
            out.begin(history_header(entry, True, entry.id))
            for op in entry.operations:
                out.item(operation_line(op, opts.timing))
            out.end()
        if node_open:
            out.end()
    return sec.close()


def failed_action_line(f: FailedAction, technical: bool) -> str:
    """failed_action_friendly / failed_action_technical."""
    op_key = f.op_key if f.op_key else f.id
    if technical:
        text = (f"{op_key or 'unknown operation'} on {f.node} '{f.rc_text}' ({f.rc}): "
                f"call={f.call or 'unknown'}, status='{f.status_text}'")
        if f.exit_reason:
            text += f", exitreason='{f.exit_reason}'"
        if f.last_rc_change is not None:
            text += f", last-rc-change='{ctext.ctime(f.last_rc_change)}'"
        if f.queued:
            text += f", queued={f.queued}ms"
        if f.exec_time:
            text += f", exec={f.exec_time}ms"
        return text
    parsed = parse_op_key(op_key) if op_key else None
    rsc, task, interval = parsed if parsed is not None else ("unknown resource",
                                                             "unknown action", 0)
    text = f"{rsc} "
    if interval:
        text += f"{ctext.readable_interval(interval)}-interval "
    action = "probe" if interval == 0 and task.lower() == "monitor" else task
    text += f"{action} on {f.node}"
    if f.status == 0:
        text += f" returned '{f.rc_text}'"
        if f.exit_reason:
            text += f" ({f.exit_reason})"
    else:
        text += f" could not be executed ({f.status_text}"
        if f.exit_reason:
            text += f": {f.exit_reason}"
        text += ")"
    if f.last_rc_change is not None:
        text += f" at {ctext.ctime(f.last_rc_change)}"
    if f.exec_time:
        ms = ctext.strtoll(f.exec_time)
        if ms is not None and 0 < ms <= ctext.INT_MAX:
            text += f" after {ctext.readable_interval(ms)}"
    return text


def failures_section(out: TextOut, st: MonStatus, opts: TextOptions, spacer: bool) -> bool:
    sec = _Section(out, "Failed Resource Actions", spacer)
    for f in st.failures:
        sec.header()
        out.item(failed_action_line(f, opts.details))
    return sec.close()


def _bans(out: TextOut, st: MonStatus, opts: TextOptions, spacer: bool) -> bool:
    sec = _Section(out, "Negative Location Constraints", spacer)
    names = {ns.name: ns for ns in st.nodes}
    for ban in st.bans:
        if opts.ban_prefix is not None and not ban.id.startswith(opts.ban_prefix):
            continue
        sec.header()
        node = names.get(ban.node)
        shown = display_name(node, opts.details) if node is not None else ban.node
        role = "in Promoted role " if ban.promoted_only else ""
        out.item(f"{ban.id}\tprevents {ban.resource} from running {role}on {shown}")
    return sec.close()


def render(ws: WorkingSet, st: MonStatus, sections: frozenset[str], now: str,
           opts: TextOptions) -> str:
    """pcmk__cluster_status_text: the enabled sections, in Pacemaker's order."""
    out = TextOut()
    printed = _summary(out, st, sections, now, opts.details)
    if "nodes" in sections:
        printed = _node_list(out, ws, st, opts, printed) or printed
    if "resources" in sections:
        printed = _resource_list(out, ws, opts, printed) or printed
    if "attributes" in sections:
        printed = attributes_section(out, st, opts, printed) or printed
    if "operations" in sections or "failcounts" in sections:
        printed = history_section(out, st, "operations" in sections, opts, printed) or printed
    if "failures" in sections:
        printed = failures_section(out, st, opts, printed) or printed
    if "bans" in sections:
        printed = _bans(out, st, opts, printed) or printed
    return out.text()


def simple_status(st: MonStatus) -> tuple[str, bool]:
    """pcmk__output_simple_status (`-s`): one line for monitoring plug-ins, and whether it is
    a warning."""
    warnings = st.summary.dc is None
    online = standby = maintenance = 0
    offline: list[str] = []
    for ns in st.nodes:
        if ns.standby and ns.online:
            standby += 1
        elif ns.maintenance and ns.online:
            maintenance += 1
        elif ns.online:
            online += 1
        else:
            offline.append(ns.name)
    if warnings or offline:
        text = "CLUSTER WARN: " + ("No DC" if warnings else "")
        if warnings and offline:
            text += ", "
        text += " ".join(f"offline node: {name}" for name in offline)
        return text, True
    text = f"CLUSTER OK: {online} node{_plural(online)} online"
    if standby:
        text += f", {standby} standby node{_plural(standby)}"
    if maintenance:
        text += f", {maintenance} maintenance node{_plural(maintenance)}"
    n = st.summary.resources_configured
    text += f", {n} resource instance{_plural(n)} configured"
    return text, False
