"""CIB validation with errors a person can act on: which element, which id, what is wrong.

Pacemaker validates a CIB against its RelaxNG schema and then trusts it; this project checks
what its own code relies on, in one pass, and says where (`file:line: <primitive id="x">: ...`):

- errors make the configuration unusable as written (a resource without id, class or type; a
  duplicate id; a constraint naming no resource; a score that is not a score; an unknown order
  kind) -- the engine would otherwise have to guess; a value the schema's types refuse is a
  warning when the CIB says validate-with="none", as Pacemaker then applies its default;
- warnings are kept for what a running cluster can live with (a constraint naming a resource
  that does not exist is ignored by Pacemaker too, an element this project does not know is
  kept in the document and reported by the engine as unsupported).
"""

from __future__ import annotations

from core.ctools import Record, field

from core.cib.scores import is_score
from core.cib.xmltree import XNode

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Iterator, Optional

RESOURCE_TAGS = ("primitive", "group", "clone", "master", "bundle", "template")
CLASSES = ("ocf", "lsb", "heartbeat", "stonith", "systemd", "service", "upstart", "nagios")
KNOWN_SECTIONS = ("crm_config", "nodes", "resources", "constraints", "rsc_defaults",
                  "op_defaults", "alerts", "fencing-topology", "acls", "tags")
CONSTRAINT_TAGS = ("rsc_location", "rsc_colocation", "rsc_order", "rsc_ticket")


# elements whose id names something else, or lives in its own id space
_REFERENCE_TAGS = ("resource_ref", "node", "obj_ref", "role", "crm-config-ref")


class Problem(Record):
    """`severity` "error" or "warning", `line` in the file (0: unknown), `element` e.g.
    '<primitive id="web">', `message` what is wrong. (A named tuple without `collections`:
    core/ctools.py says why.)"""

    __slots__ = ()
    _fields = ("severity", "line", "element", "message")

    def __new__(cls, severity: str, line: int, element: str, message: str) -> "Problem":
        return tuple.__new__(cls, (severity, line, element, message))

    severity = field(0, '"error" or "warning"')
    line = field(1, "line in the file (0: unknown)")
    element = field(2, "the element, e.g. '<primitive id=\"web\">'")
    message = field(3, "what is wrong")

    def format(self, path: str) -> str:
        where = f"{path}:{self.line}" if self.line else path
        return f"{where}: {self.severity}: {self.element}: {self.message}"


def _label(node: XNode) -> str:
    ident = node.get("id")
    return f'<{node.tag} id="{ident}">' if ident is not None else f"<{node.tag}>"


def schema_disabled(cib: XNode) -> bool:
    """validate-with="none": Pacemaker checks the CIB against no schema (update_validation in
    lib/common/schemas.c takes "none" as the last, non-validating version, and says so)."""
    return (cib.get("validate-with") or "").lower() == "none"


SCHEMA_DISABLED_WARNING = ("Schema validation of configuration is disabled (enabling is "
                           "encouraged and prevents common misconfigurations)")


def validate(cib: XNode) -> list[Problem]:
    """Every problem found, in document order."""
    out: list[Problem] = []

    def error(node: XNode, message: str) -> None:
        out.append(Problem("error", node.line, _label(node), message))

    def warn(node: XNode, message: str) -> None:
        out.append(Problem("warning", node.line, _label(node), message))

    if cib.tag != "cib":
        error(cib, "the root element must be <cib>")
        return out
    config = cib.find("configuration")
    if config is None:
        error(cib, "no <configuration> section")
        return out
    for section in config.children:
        if section.tag not in KNOWN_SECTIONS:
            warn(section, "unknown configuration section (kept, not used)")
    for required in ("crm_config", "nodes", "resources", "constraints"):
        if config.find(required) is None:
            error(config, f"no <{required}> section")

    ids: dict[str, XNode] = {}
    for node in config.iter():
        ident = node.get("id")
        if ident is None or node.tag in _REFERENCE_TAGS:
            continue
        # "a space or a character that is not printable": the only whitespace character
        # str.isprintable accepts is U+0020 (tests/unit/cib/test_validate_ids.py checks every
        # code point), so two string methods instead of two per character
        if not ident or not ident.isprintable() or " " in ident:
            # Pacemaker's schema types ids as XML IDs; an empty id or one with spaces cannot
            # be referred to from a constraint or an id-ref (found by tests/integration/test_cib_fuzz.py)
            error(node, f"id {ident!r} must be a non-empty name without spaces or control characters")
            continue
        first = ids.get(ident)
        if first is not None:
            error(node, f"duplicate id (first used by {_label(first)} at line {first.line})")
        else:
            ids[ident] = node

    # What the schema refuses in a constraint or a primitive (an order kind, a score, a boolean,
    # a missing rsc/node/first/then; a primitive's class, provider or type) is an error only
    # under a schema: with validate-with="none" Pacemaker never sees it refused, and its
    # unpacking warns and uses the default (get_ordering_type resets an unknown kind to
    # Mandatory; pcmk__xe_get_bool_attr's failure leaves symmetrical at its default; char2score
    # reads a score's leading integer), ignores the constraint (unpack_simple_location,
    # unpack_simple_colocation, unpack_simple_rsc_order without their resources or node), or
    # schedules the primitive as written (its actions then fail where they run), so the engine
    # proceeds the same way.
    value_problem = warn if schema_disabled(cib) else error
    resources: dict[str, XNode] = {}
    section = config.find("resources")
    if section is not None:
        for rsc in section.children:
            _check_resource(rsc, resources, error, warn, value_problem)
    nodes = config.find("nodes")
    if nodes is not None:
        for node in nodes.children:
            if node.tag != "node":
                warn(node, "unknown element in <nodes>")
            elif node.get("id") is None or node.get("uname") is None:
                error(node, "a node needs both id and uname")
    for nvpair in config.iter("nvpair"):
        if nvpair.get("name") is None and nvpair.get("id-ref") is None:
            error(nvpair, "nvpair without name")
    tags = config.find("tags")
    if tags is not None:  # a constraint may name a tag instead of a resource
        for tag in tags.findall("tag"):
            if tag.get("id") is not None:
                resources.setdefault(tag.get("id") or "", tag)
    constraints = config.find("constraints")
    if constraints is not None:
        for con in constraints.children:
            _check_constraint(con, resources, error, warn, value_problem)
    return out


def _check_resource(rsc: XNode, resources: dict[str, XNode], error, warn, value_problem,
                    parent: Optional[XNode] = None) -> None:
    if rsc.tag in ("meta_attributes", "instance_attributes", "operations", "utilization",
                   "description"):
        return
    if rsc.tag not in RESOURCE_TAGS:
        warn(rsc, "unknown resource element (kept, not used)")
        return
    ident = rsc.get("id")
    if ident is None:
        error(rsc, "resource without id")
        return
    resources[ident] = rsc
    if rsc.tag == "primitive":
        if rsc.get("template") is not None:
            return
        cls = rsc.get("class")
        if cls is None:
            value_problem(rsc, "primitive without class (ocf, lsb, stonith, ...)")
        elif cls not in CLASSES:
            value_problem(rsc, f"unknown resource class {cls!r}")
        if rsc.get("type") is None:
            value_problem(rsc, "primitive without type (the agent name)")
        if cls == "ocf" and rsc.get("provider") is None:
            value_problem(rsc, "ocf primitive without provider")
        ops = rsc.find("operations")
        if ops is not None:
            for op in ops.children:
                if op.tag != "op" or op.get("id-ref") is not None:
                    continue
                if op.get("name") is None:
                    error(op, "operation without name")
                if op.get("interval") is None:
                    error(op, "operation without interval")
        return
    children = [c for c in rsc.children if c.tag in RESOURCE_TAGS]
    if rsc.tag == "group":
        if not children:
            warn(rsc, "empty group")
        for child in children:
            if child.tag != "primitive":
                error(child, f"a group may contain only primitives, not <{child.tag}>")
            else:
                _check_resource(child, resources, error, warn, value_problem, rsc)
    elif rsc.tag in ("clone", "master"):
        if len(children) != 1:
            error(rsc, "a clone must contain exactly one primitive or group")
        for child in children:
            _check_resource(child, resources, error, warn, value_problem, rsc)


def _refs(con: XNode) -> Iterator[tuple[str, str]]:
    for attr in ("rsc", "with-rsc", "first", "then"):
        value = con.get(attr)
        if value is not None:
            yield attr, value
    for rset in con.findall("resource_set"):
        for ref in rset.findall("resource_ref"):
            if ref.get("id") is not None:
                yield "resource_ref", ref.get("id")  # type: ignore[misc]


def _check_constraint(con: XNode, resources: dict[str, XNode], error, warn,
                      value_problem) -> None:
    if con.tag not in CONSTRAINT_TAGS:
        warn(con, "unknown constraint element (kept, not used)")
        return
    if con.get("id") is None:
        error(con, "constraint without id")
    has_sets = con.find("resource_set") is not None
    for attr, value in _refs(con):
        if value not in resources:
            warn(con, f"{attr} names resource {value!r}, which is not configured "
                      "(the constraint is ignored)")
    if con.tag == "rsc_location":
        if con.get("rsc") is None and con.get("rsc-pattern") is None and not has_sets:
            value_problem(con, "rsc_location needs rsc, rsc-pattern or a resource set")
        if con.find("rule") is None and con.get("node") is None and not has_sets:
            value_problem(con, "rsc_location needs node and score, or rules")
    elif con.tag == "rsc_colocation" and not has_sets:
        if con.get("rsc") is None or con.get("with-rsc") is None:
            value_problem(con, "rsc_colocation needs rsc and with-rsc (or resource sets)")
    elif con.tag == "rsc_order" and not has_sets:
        if con.get("first") is None or con.get("then") is None:
            value_problem(con, "rsc_order needs first and then (or resource sets)")
    score = con.get("score")
    if score is not None and not is_score(score):
        value_problem(con, f"score {score!r} is not a number, INFINITY or -INFINITY")
    kind = con.get("kind")
    if con.tag == "rsc_order" and kind is not None and \
            kind.lower() not in ("mandatory", "optional", "serialize"):
        value_problem(con, f"kind {kind!r} is not Mandatory, Optional or Serialize")
    sym = con.get("symmetrical")
    if sym is not None and sym.lower() not in ("true", "false", "yes", "no", "on", "off",
                                               "1", "0", "y", "n"):
        value_problem(con, f"symmetrical {sym!r} is not a boolean")
