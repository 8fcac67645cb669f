"""What the DC does with each kind of change request: turn it into CIB edits (`crmd.cib`), after
checking that the configuration it leaves is valid.

Tool requests (cibadmin's replace / modify / create / delete, node attributes, resource
constraints) change the configuration; they are refused whole, with every new problem listed as
`<input>:line: error: <element id=...>: what is wrong`, when the result would not validate.
Problems the configuration already had do not block unrelated changes. Status changes (operation
results, node states, transient attributes) come from the crmds themselves and are not validated.
"""

from __future__ import annotations

from typing import Optional, Sequence

from core.cib.durations import interval_ms
from core.cib.validate import validate
from core.cib.xmltree import XNode, parse_xml, to_xml
from core.errors import ConfigError
from crmd.cib import CONFIG_SECTIONS, Cib, CibError, Edit, Path

CONFIG: Path = (("configuration", None),)
STATUS: Path = (("status", None),)


def section_path(section: str) -> Path:
    if section == "status":
        return STATUS
    if section == "configuration":
        return CONFIG
    if section in CONFIG_SECTIONS:
        return CONFIG + ((section, None),)
    raise CibError(f"unknown section {section!r} (want configuration, status or one of "
                   f"{', '.join(CONFIG_SECTIONS)})")


def _parse(xml: str, origin: str) -> XNode:
    try:
        return parse_xml(xml, origin)
    except ConfigError as exc:
        raise CibError(str(exc)) from None


def _x(node: XNode) -> str:
    return to_xml(node, indent=None)


def _path_to(root: XNode, target: XNode) -> Optional[Path]:
    """The (tag, id) path from root to target (None if it is not below root)."""
    trail: list[tuple[str, Optional[str]]] = []

    def walk(node: XNode) -> bool:
        for child in node.children:
            trail.append((child.tag, child.get("id")))
            if child is target or walk(child):
                return True
            trail.pop()
        return False

    return tuple(trail) if walk(root) else None


def _find(scope: XNode, tag: str, ident: Optional[str]) -> list[XNode]:
    return [n for n in scope.iter(tag) if n is not scope and (ident is None or n.get("id") == ident)]


# -- tool requests ---------------------------------------------------------------------------------
def replace(cib: Cib, section: Optional[str], xml: str, origin: str) -> list[Edit]:
    new = _parse(xml, origin)
    if new.tag == "cib":
        config = new.find("configuration")
        if config is None:
            raise CibError(f"{origin}: a CIB without <configuration>")
        edits: list[Edit] = [("put", CONFIG, _x(config))]
        attrs = {k: v for k, v in new.attrs().items()
                 if k in ("validate-with", "crm_feature_set") and v != cib.root.get(k)}
        if attrs:
            edits.append(("set", (), attrs))
        return edits
    if section is None:
        section = new.tag
    path = section_path(section)
    if path == STATUS:
        raise CibError("the status section is written by the cluster, not replaced")
    if new.tag != path[-1][0]:
        raise CibError(f"{origin}: replacing <{path[-1][0]}> with a <{new.tag}>")
    return [("put", path, _x(new))]


def _merge(current: XNode, new: XNode, path: Path, edits: list[Edit]) -> None:
    changed = {k: v for k, v in new.attrs().items() if current.get(k) != v}
    if changed:
        edits.append(("set", path, changed))
    for child in new.children:
        ident = child.get("id")
        match = None
        for existing in current.children:
            if existing.tag == child.tag and (ident is None or existing.get("id") == ident):
                if ident is None and sum(1 for c in current.children if c.tag == child.tag) > 1:
                    continue
                match = existing
                break
        step = (child.tag, ident)
        if match is None:
            edits.append(("put", path + (step,), _x(child)))
        else:
            _merge(match, child, path + (step,), edits)


def modify(cib: Cib, section: Optional[str], xml: str, origin: str) -> list[Edit]:
    new = _parse(xml, origin)
    if new.tag == "cib":
        attrs = {k: v for k, v in new.attrs().items() if cib.root.get(k) != v}
        edits: list[Edit] = [("set", (), attrs)] if attrs else []
        for child in new.children:
            current = cib.root.find(child.tag)
            if current is None:
                raise CibError(f"{origin}:{child.line}: no <{child.tag}> in the CIB")
            _merge(current, child, ((child.tag, None),), edits)
        return edits
    scope = cib.section(section) if section else cib.root.find("configuration")
    assert scope is not None
    if new.tag == scope.tag:
        edits = []
        _merge(scope, new, section_path(section) if section else CONFIG, edits)
        return edits
    ident = new.get("id")
    found = _find(scope, new.tag, ident)
    if not found:
        raise CibError(f"{origin}:{new.line}: no <{new.tag}{' id=' + repr(ident) if ident else ''}> to modify")
    if len(found) > 1:
        raise CibError(f"{origin}:{new.line}: <{new.tag}> is ambiguous: give its id")
    path = _path_to(cib.root, found[0])
    assert path is not None
    edits = []
    _merge(found[0], new, path, edits)
    return edits


def create(cib: Cib, section: Optional[str], xml: str, origin: str) -> list[Edit]:
    new = _parse(xml, origin)
    if section is None:
        section = _default_section(new.tag)
    path = section_path(section)
    if path == STATUS:
        raise CibError("the status section is written by the cluster")
    ident = new.get("id")
    if ident is None:
        raise CibError(f"{origin}:{new.line}: <{new.tag}> needs an id")
    scope = cib.root.find("configuration")
    assert scope is not None
    if any(n.get("id") == ident for n in scope.iter() if n.tag not in ("resource_ref", "node")
           or n.tag == new.tag):
        raise CibError(f"{origin}:{new.line}: id {ident!r} is already used")
    return [("put", path + ((new.tag, ident),), _x(new))]


def delete(cib: Cib, section: Optional[str], xml: str, origin: str) -> list[Edit]:
    new = _parse(xml, origin)
    scope = cib.section(section) if section else cib.root.find("configuration")
    assert scope is not None
    ident = new.get("id")
    want = new.attrs()
    found = [n for n in _find(scope, new.tag, ident) if all(n.get(k) == v for k, v in want.items())]
    if not found:
        raise CibError(f"{origin}:{new.line}: no <{new.tag}{' id=' + repr(ident) if ident else ''}> to delete")
    edits: list[Edit] = []
    for node in found:
        path = _path_to(cib.root, node)
        assert path is not None
        edits.append(("del", path))
    return edits


def _default_section(tag: str) -> str:
    if tag in ("primitive", "group", "clone", "master", "bundle", "template"):
        return "resources"
    if tag.startswith("rsc_"):
        return "constraints"
    if tag == "node":
        return "nodes"
    if tag == "cluster_property_set":
        return "crm_config"
    raise CibError(f"say which section a <{tag}> goes to (-o SECTION)")


# -- validation ------------------------------------------------------------------------------------
def _source_lines(source: str) -> dict[str, int]:
    """Element label (`<primitive id="x">`) -> its line in the text the request carried."""
    try:
        root = parse_xml(source, "<input>")
    except ConfigError:
        return {}
    lines: dict[str, int] = {}
    for node in root.iter():
        ident = node.get("id")
        label = f'<{node.tag} id="{ident}">' if ident is not None else f"<{node.tag}>"
        lines.setdefault(label, node.line)
    return lines


def check(cib: Cib, edits: Sequence[Edit], origin: str, source: str = "") -> list[str]:
    """New configuration problems the edits would introduce (empty: fine). With `source` (the
    XML text of the request), a problem of an element it holds names that element's line."""
    if not any(e[0] == "root" or (e[1] and e[1][0][0] == "configuration") for e in edits):
        return []
    before = XNode("cib", cib.root.attrs())
    config = cib.root.find("configuration")
    before.append(config if config is not None else XNode("configuration"))
    trial = Cib(XNode("cib", cib.root.attrs(), [config.copy() if config is not None else XNode("configuration")]))
    try:
        trial.apply(edits)
    except CibError as exc:
        return [f"{origin}: {exc}"]
    old = {(p.element, p.message) for p in validate(before) if p.severity == "error"}
    problems = []
    lines = _source_lines(source) if source else {}
    for p in validate(trial.root):
        if p.severity == "error" and (p.element, p.message) not in old:
            problems.append(p._replace(line=lines.get(p.element, 0)).format(origin))
    return problems


# -- status ----------------------------------------------------------------------------------------
def node_ids(cib: Cib) -> dict[str, str]:
    """uname -> node id, from the nodes section."""
    out = {}
    nodes = cib.root.find("configuration")
    section = nodes.find("nodes") if nodes is not None else None
    for node in section.findall("node") if section is not None else []:
        uname, ident = node.get("uname"), node.get("id")
        if uname and ident:
            out[uname] = ident
    return out


def state_path(node_id: str) -> Path:
    return STATUS + (("node_state", node_id),)


def lrm_path(node_id: str) -> Path:
    return state_path(node_id) + (("lrm", node_id), ("lrm_resources", None))


def attr_edits(cib: Cib, node: str, node_id: str, name: str, value: Optional[str], lifetime: str) -> list[Edit]:
    if lifetime == "forever":
        base = CONFIG + (("nodes", None), ("node", node_id), ("instance_attributes", f"nodes-{node_id}"))
    else:
        base = state_path(node_id) + (("transient_attributes", node_id),
                                      ("instance_attributes", f"status-{node_id}"))
    nv_id = f"{base[-1][1]}-{name}"
    existing = _nvpair(cib, base, name)
    if value is None:
        if existing is None:
            return []
        return [("del", base + (("nvpair", existing.get("id")),))]
    if existing is not None:
        if existing.get("value") == value:
            return []
        return [("set", base + (("nvpair", existing.get("id")),), {"value": value})]
    return [("put", base + (("nvpair", nv_id),), _x(XNode("nvpair", {"id": nv_id, "name": name, "value": value})))]


def _nvpair(cib: Cib, base: Path, name: str) -> Optional[XNode]:
    from crmd.cib import resolve
    container = resolve(cib.root, base)
    if container is None:
        return None
    for nv in container.findall("nvpair"):
        if nv.get("name") == name:
            return nv
    return None


def transient_attrs(cib: Cib, node_id: str) -> dict[str, str]:
    from crmd.cib import resolve
    container = resolve(cib.root, state_path(node_id) + (("transient_attributes", node_id),
                                                        ("instance_attributes", f"status-{node_id}")))
    if container is None:
        return {}
    return {nv.get("name") or "": nv.get("value") or "" for nv in container.findall("nvpair")}


DEFAULT_OP_TIMEOUT_MS = 20_000


def op_timeout_ms(cib: Cib, rsc_id: str, task: str) -> int:
    """The timeout the configuration gives `task` (interval 0) of primitive `rsc_id`: its own op,
    else op_defaults, else 20 s (Pacemaker's default)."""
    config = cib.root.find("configuration")
    if config is None:
        return DEFAULT_OP_TIMEOUT_MS
    resources = config.find("resources")
    for prim in resources.iter("primitive") if resources is not None else ():
        if prim.get("id") != rsc_id:
            continue
        ops = prim.find("operations")
        for op in ops.findall("op") if ops is not None else ():
            if op.get("name") == task and interval_ms(op.get("interval") or "0") == 0 and op.get("timeout"):
                return interval_ms(op.get("timeout")) or DEFAULT_OP_TIMEOUT_MS
    defaults = config.find("op_defaults")
    for nv in defaults.iter("nvpair") if defaults is not None else ():
        if nv.get("name") == "timeout":
            return interval_ms(nv.get("value")) or DEFAULT_OP_TIMEOUT_MS
    return DEFAULT_OP_TIMEOUT_MS
