"""crm_mon's XML output, byte for byte as Pacemaker 2.1.5 writes it (API version 2.25):

    <pacemaker-result api-version="2.25" request="crm_mon --output-as xml">
      <summary> ... </summary>
      <nodes> ... </nodes>
      <resources> ... </resources>
      <node_attributes> ... </node_attributes>
      <node_history> ... </node_history>
      <failures> ... </failures>
      <bans> ... </bans>
      <status code="0" message="OK"/>
    </pacemaker-result>

or, for the deprecated `-X/--as-xml`, the same body under `<crm_mon version="2.1.5">` without
`<status>`. Tools parse this (pcs, cluster monitoring plug-ins), so element order, attribute
order, when an empty element appears or is left out, and the escaping all follow Pacemaker's
writer (libxml2 serialization: `&#xE9;` for non-ASCII, `&#10;` for newlines in attributes).
Everything shown comes from `tools.monstatus.MonStatus`.
"""

from __future__ import annotations

from typing import Iterable, Optional

from tools import ctext
from tools.monstatus import (AnyResource, CloneStatus, GroupStatus, MonStatus, NodeHistory,
                             PrimitiveStatus, fully_active)

API_VERSION = "2.25"
PACEMAKER_VERSION = "2.1.5"


class Element:
    """An output element: attributes in insertion order (None values are not written, as
    crm_xml_add skips them), children, or text."""

    __slots__ = ("tag", "attrs", "children", "text")

    def __init__(self, tag: str, *pairs: tuple[str, Optional[str]]) -> None:
        self.tag = tag
        self.attrs: list[tuple[str, str]] = [(k, v) for k, v in pairs if v is not None]
        self.children: list[Element] = []
        self.text: Optional[str] = None

    def sub(self, tag: str, *pairs: tuple[str, Optional[str]]) -> "Element":
        child = Element(tag, *pairs)
        self.children.append(child)
        return child

    def set(self, name: str, value: Optional[str]) -> None:
        if value is not None:
            self.attrs.append((name, value))


_ATTR_ESCAPES = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "\n": "&#10;",
                 "\r": "&#13;", "\t": "&#9;"}
_TEXT_ESCAPES = {"<": "&lt;", ">": "&gt;", "&": "&amp;", "\r": "&#13;"}


def _escape(text: str, table: dict[str, str]) -> str:
    out = []
    for ch in text:
        rep = table.get(ch)
        if rep is not None:
            out.append(rep)
        elif ord(ch) > 0x7F:
            out.append(f"&#x{ord(ch):X};")
        else:
            out.append(ch)
    return "".join(out)


def serialize(root: Element) -> str:
    """xmlNodeDumpOutput(format=1) of a document without declared encoding, plus the newline
    Pacemaker appends."""
    out: list[str] = []

    def write(el: Element, depth: int) -> None:
        pad = "  " * depth
        attrs = "".join(f' {k}="{_escape(v, _ATTR_ESCAPES)}"' for k, v in el.attrs)
        if el.text is not None:
            out.append(f"{pad}<{el.tag}{attrs}>{_escape(el.text, _TEXT_ESCAPES)}</{el.tag}>")
        elif not el.children:
            out.append(f"{pad}<{el.tag}{attrs}/>")
        else:
            out.append(f"{pad}<{el.tag}{attrs}>")
            for child in el.children:
                write(child, depth + 1)
            out.append(f"{pad}</{el.tag}>")
    write(root, 0)
    return "\n".join(out) + "\n"


def _b(value: bool) -> str:
    return "true" if value else "false"


# ------------------------------------------------------------------------------------------------
# sections

def _summary(parent: Element, st: MonStatus, sections: frozenset[str], now: str) -> None:
    s = st.summary
    shown = [name for name in ("stack", "dc", "times", "counts", "options") if name in sections]
    if s.dc is None and "dc" not in shown:
        shown.insert(1 if "stack" in shown else 0, "dc")  # crm_mon always says there is no DC
    if not shown:
        return
    el = parent.sub("summary")
    for name in shown:
        if name == "stack":
            el.sub("stack", ("type", s.stack))
        elif name == "dc":
            if s.dc is None:
                el.sub("current_dc", ("present", "false"))
            else:
                el.sub("current_dc", ("present", "true"), ("version", s.dc.version or ""),
                       ("name", s.dc.name), ("id", s.dc.id),
                       ("with_quorum", _b(s.have_quorum)),
                       ("mixed_version", _b(s.dc.mixed_version)))
        elif name == "times":
            lc = s.last_change
            el.sub("last_update", ("time", now))
            el.sub("last_change", ("time", lc.time or ""), ("user", lc.user or ""),
                   ("client", lc.client or ""), ("origin", lc.origin or ""))
        elif name == "counts":
            el.sub("nodes_configured", ("number", str(s.nodes_configured)))
            el.sub("resources_configured", ("number", str(s.resources_configured)),
                   ("disabled", str(s.resources_disabled)),
                   ("blocked", str(s.resources_blocked)))
        elif name == "options":
            o = s.options
            el.sub("cluster_options", ("stonith-enabled", _b(o.stonith_enabled)),
                   ("symmetric-cluster", _b(o.symmetric_cluster)),
                   ("no-quorum-policy", o.no_quorum_policy),
                   ("maintenance-mode", _b(o.maintenance_mode)),
                   ("stop-all-resources", _b(o.stop_all_resources)),
                   ("stonith-timeout-ms", str(o.stonith_timeout_ms)),
                   ("priority-fencing-delay-ms", str(o.priority_fencing_delay_ms)))


def primitive_element(parent: Element, p: PrimitiveStatus) -> None:
    el = parent.sub("resource", ("id", p.id), ("resource_agent", p.agent), ("role", p.role),
                    ("target_role", p.target_role), ("active", _b(p.active)),
                    ("orphaned", _b(p.orphaned)), ("blocked", _b(p.blocked)),
                    ("managed", _b(p.managed)), ("failed", _b(p.failed)),
                    ("failure_ignored", _b(p.failure_ignored)),
                    ("nodes_running_on", str(p.nodes_running_on)), ("pending", p.pending),
                    ("locked_to", p.locked_to))
    for ref in p.nodes:
        el.sub("node", ("name", ref.name), ("id", ref.id), ("cached", _b(ref.cached)))


def resource_element(parent: Element, rsc: AnyResource) -> None:
    """pe__resource_xml / pe__group_xml / pe__clone_xml (nothing for empty groups/clones)."""
    if isinstance(rsc, PrimitiveStatus):
        primitive_element(parent, rsc)
    elif isinstance(rsc, GroupStatus):
        if rsc.members:
            el = parent.sub("group", ("id", rsc.id),
                            ("number_resources", str(rsc.number_resources)),
                            ("managed", _b(rsc.managed)), ("disabled", _b(rsc.disabled)))
            for member in rsc.members:
                primitive_element(el, member)
    elif isinstance(rsc, CloneStatus):
        if rsc.instances:
            el = parent.sub("clone", ("id", rsc.id), ("multi_state", _b(rsc.multi_state)),
                            ("unique", _b(rsc.unique)), ("managed", _b(rsc.managed)),
                            ("disabled", _b(rsc.disabled)), ("failed", _b(rsc.failed)),
                            ("failure_ignored", _b(rsc.failure_ignored)),
                            ("target_role", rsc.target_role))
            for instance in rsc.instances:
                resource_element(el, instance)


def _nodes(parent: Element, st: MonStatus, by_node: bool) -> None:
    nodes = parent.sub("nodes")
    for n in st.nodes:
        el = nodes.sub("node", ("name", n.name), ("id", n.id), ("online", _b(n.online)),
                       ("standby", _b(n.standby)), ("standby_onfail", _b(n.standby_onfail)),
                       ("maintenance", _b(n.maintenance)), ("pending", _b(n.pending)),
                       ("unclean", _b(n.unclean)), ("health", n.health_text),
                       ("feature_set", n.feature_set), ("shutdown", _b(n.shutdown)),
                       ("expected_up", _b(n.expected_up)), ("is_dc", _b(n.is_dc)),
                       ("resources_running", str(n.resources_running)), ("type", n.type))
        if by_node:
            for p in n.running:
                primitive_element(el, p)


def _attributes(parent: Element, st: MonStatus) -> None:
    section: Optional[Element] = None
    for n in st.nodes:
        if not n.attributes:
            continue
        if section is None:
            section = parent.sub("node_attributes")
        el = section.sub("node", ("name", n.name))
        for attr in n.attributes:
            el.sub("attribute", ("name", attr.name), ("value", attr.value),
                   ("expected", None if attr.expected is None else str(attr.expected)))


def _history(parent: Element, history: Optional[list[NodeHistory]], operations: bool) -> None:
    if not history:
        return
    section = parent.sub("node_history")
    for node in history:
        node_el: Optional[Element] = None
        for entry in node.resources:
            if operations:
                if not entry.operations:
                    continue
            elif entry.fail_count <= 0:
                continue
            if node_el is None:
                node_el = section.sub("node", ("name", node.node))
            rh = node_el.sub("resource_history",
                             ("id", entry.id if operations else entry.history_id))
            if entry.orphan:
                rh.set("orphan", "true")
            elif operations or entry.fail_count or entry.last_failure > 0:
                rh.set("orphan", "false")
                rh.set("migration-threshold", str(entry.migration_threshold))
                if entry.fail_count > 0:
                    rh.set("fail-count", str(entry.fail_count))
                if entry.last_failure > 0:
                    rh.set("last-failure", ctext.ctime(entry.last_failure))
            if not operations:
                continue
            for op in entry.operations:
                oe = rh.sub("operation_history", ("call", op.call), ("task", op.task),
                            ("rc", str(op.rc)), ("rc_text", op.rc_text))
                if op.interval_ms and op.interval_ms != "0":
                    oe.set("interval", f"{op.interval_ms}ms")
                if op.last_rc_change is not None and op.last_rc_change > 0:
                    oe.set("last-rc-change", ctext.ctime(op.last_rc_change))
                if op.exec_time is not None:
                    oe.set("exec-time", f"{op.exec_time}ms")
                if op.queue_time is not None:
                    oe.set("queue-time", f"{op.queue_time}ms")


def _failures(parent: Element, st: MonStatus) -> None:
    if not st.failures:
        return
    section = parent.sub("failures")
    for f in st.failures:
        el = section.sub("failure",
                         ("op_key", f.op_key) if f.op_key is not None else ("id", f.id),
                         ("node", f.node), ("exitstatus", f.rc_text),
                         ("exitreason", ctext.xml_escape_c(f.exit_reason
                                                           if f.exit_reason is not None
                                                           else "none")),
                         ("exitcode", str(f.rc)), ("call", f.call),
                         ("status", f.status_text))
        if f.last_rc_change is not None and f.last_rc_change > 0:
            el.set("last-rc-change", ctext.iso_with_zone(f.last_rc_change))
            el.set("queued", f.queued)
            el.set("exec", f.exec_time)
            el.set("interval", str(f.interval_ms))
            el.set("task", f.task)


def _bans(parent: Element, st: MonStatus, prefix: Optional[str]) -> None:
    section: Optional[Element] = None
    for ban in st.bans:
        if prefix is not None and not ban.id.startswith(prefix):
            continue
        if section is None:
            section = parent.sub("bans")
        promoted = _b(ban.promoted_only)
        section.sub("ban", ("id", ban.id), ("resource", ban.resource), ("node", ban.node),
                    ("weight", str(ban.weight)), ("promoted-only", promoted),
                    ("master_only", promoted))


def status_body(root: Element, st: MonStatus, sections: frozenset[str], now: str,
                by_node: bool = False, ban_prefix: Optional[str] = None) -> None:
    """cluster_status_xml: the sections in Pacemaker's order."""
    _summary(root, st, sections, now)
    if "nodes" in sections:
        _nodes(root, st, by_node)
    if "resources" in sections:
        # listed per node already: only what is not fully active remains for this list
        shown = [r for r in st.resources if not (by_node and fully_active(r))]
        if shown:
            resources = root.sub("resources")
            for rsc in shown:
                resource_element(resources, rsc)
    if "attributes" in sections:
        _attributes(root, st)
    if "operations" in sections or "failcounts" in sections:
        _history(root, st.history, "operations" in sections)
    if "failures" in sections:
        _failures(root, st)
    if "bans" in sections:
        _bans(root, st, ban_prefix)


def document(st: Optional[MonStatus], sections: Iterable[str], now: str,
             request: Optional[str], legacy: bool = False, by_node: bool = False,
             ban_prefix: Optional[str] = None, exit_code: int = 0,
             errors: Iterable[str] = ()) -> str:
    """The whole output document; `st` None when there is no status to show (errors only)."""
    if legacy:
        root = Element("crm_mon", ("version", PACEMAKER_VERSION))
    else:
        root = Element("pacemaker-result", ("api-version", API_VERSION), ("request", request))
    if st is not None:
        status_body(root, st, frozenset(sections), now, by_node, ban_prefix)
    if not legacy:
        status = root.sub("status", ("code", str(exit_code)),
                          ("message", ctext.exit_text(exit_code)))
        errors = list(errors)
        if errors:
            listed = status.sub("errors")
            for text in errors:
                listed.sub("error").text = text
    return serialize(root)

