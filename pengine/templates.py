"""Resource templates and tags: a primitive built from a `<template>`, and constraints that
name a template or a tag instead of a resource.

Pacemaker 2.1.5 resolves both at the XML level, before the rest of unpacking sees them, and
so do we: `expand_primitive` is complex.c's unpack_template (the template's copy, renamed to
the primitive, with the primitive's children appended and the template's operations merged in
where the primitive has none of the same name and role), and `expand_constraint` is the
unpack_*_tags family of lib/pacemaker (pcmk__expand_tags_in_sets, pcmk__tag_to_set): a
constraint naming a template or tag becomes the same constraint over a resource set of the
resources derived from the template or tagged with the tag. The constraint unpackers then see
nothing but resources and sets, which they already handle.
"""

from __future__ import annotations

from core.cib.xmltree import XNode
from pengine.model import WorkingSet

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

# the roles under which template_op_key files an operation: all mean "any role"
_ANY_ROLE = ("started", "unpromoted", "slave")

# per constraint tag: the attributes that may name a template or tag, each with the
# attribute moved into the generated set (rsc-role -> role, first-action -> action), and
# whether a plain resource on that side becomes a one-resource set too (convert_rsc)
_SIDES: dict[str, tuple[tuple[tuple[str, Optional[str]], ...], bool]] = {
    "rsc_colocation": ((("rsc", "rsc-role"), ("with-rsc", "with-rsc-role")), True),
    "rsc_order": ((("first", "first-action"), ("then", "then-action")), True),
    "rsc_location": ((("rsc", "role"),), False),
    "rsc_ticket": ((("rsc", "rsc-role"),), False),
}


def add_ref(table: dict[str, list[str]], name: str, ref: str) -> None:
    """add_tag_ref: `ref` listed once under `name`, in the order first seen."""
    refs = table.setdefault(name, [])
    if ref not in refs:
        refs.append(ref)


def unpack_tags(ws: WorkingSet, config: Optional[XNode]) -> None:
    """unpack_tags: `<tags><tag id><obj_ref id/>...</tag></tags>` into ws.tags."""
    tags = None if config is None else config.find("tags")
    if tags is None:
        return
    for tag in tags.children:
        if tag.tag != "tag":
            continue
        tag_id = tag.get("id")
        if tag_id is None:
            ws.warnings.append(f"ignoring <tag> without id (line {tag.line})")
            continue
        for ref in tag.children:
            if ref.tag != "obj_ref":
                continue
            if ref.get("id") is None:
                ws.warnings.append(f"ignoring <obj_ref> for tag '{tag_id}' without id "
                                   f"(line {ref.line})")
                continue
            add_ref(ws.tags, tag_id, ref.get("id") or "")


def note_template(ws: WorkingSet, xml: XNode) -> None:
    """unpack_resources: a template is known even when nothing is derived from it."""
    ws.template_rscs.setdefault(xml.get("id") or "", [])


def _op_key(op: XNode) -> tuple[Optional[str], str]:
    """template_op_key: an operation's name and role, the roles meaning "any" folded."""
    role = op.get("role")
    if role is None or role.lower() in _ANY_ROLE:
        role = "Unknown"
    return op.get("name"), role


def expand_primitive(ws: WorkingSet, xml: XNode, resources: Optional[XNode]) -> Optional[XNode]:
    """unpack_template: the XML a primitive with template= stands for, or None (with a
    warning) when the reference is unusable; the caller then ignores the primitive."""
    ref = xml.get("template")
    ident = xml.get("id") or ""
    if ref == ident:
        ws.warnings.append(f"ignoring resource '{ident}' because it references itself as "
                           f"its template (line {xml.line})")
        return None
    template = None
    if resources is not None:
        for child in resources.children:
            if child.tag == "template" and child.get("id") == ref:
                template = child
                break
    if template is None:
        ws.warnings.append(f"ignoring resource '{ident}' because there is no template "
                           f"named '{ref}' (line {xml.line})")
        return None
    expanded = template.copy()
    expanded.tag = xml.tag
    expanded.set("id", ident)
    expanded.line = xml.line
    template_ops = expanded.find("operations")
    rsc_ops = None
    for child in xml.children:
        copied = expanded.append(child.copy())
        if copied.tag == "operations":
            rsc_ops = copied
    if template_ops is not None and rsc_ops is not None:
        have = {_op_key(op) for op in rsc_ops.children}
        for op in template_ops.children:
            if _op_key(op) not in have:
                rsc_ops.append(op.copy())
        expanded.remove(template_ops)
    add_ref(ws.template_rscs, ref or "", ident)
    return expanded


def _tag_refs(ws: WorkingSet, name: str) -> Optional[list[str]]:
    """find_constraint_tag: the resources derived from template `name` or tagged `name`;
    None when it is neither or lists nothing (a warning says which)."""
    if name in ws.template_rscs:
        refs = ws.template_rscs[name]
        if not refs:
            ws.warnings.append(f"No resource is derived from template '{name}'")
            return None
        return refs
    if name in ws.tags:
        return ws.tags[name]
    ws.warnings.append(f"No template or tag named '{name}'")
    return None


# a tag that names itself (possible without a schema) would expand for ever in Pacemaker;
# here the expansion gives up past this many references
_MAX_SET_REFS = 100_000


def _expand_sets(ws: WorkingSet, xml: XNode, find_rsc) -> Optional[XNode]:
    """pcmk__expand_tags_in_sets: the constraint with each set's template/tag references
    replaced in place by the resources they stand for, or None when there were none."""
    expanded = xml.copy()
    any_refs = False
    for rset in expanded.findall("resource_set"):
        refs: list[XNode] = []
        # the references a template or tag stands for are inserted right after it and read
        # in turn like the set's own, so one of them that is no valid resource or tag (a
        # primitive that failed to unpack) voids the whole expansion too
        pending = list(rset.children)
        at = 0
        while at < len(pending):
            ref = pending[at]
            at += 1
            if ref.tag != "resource_ref":
                refs.append(ref)
                continue
            name = ref.get("id") or ""
            if find_rsc(ws, name) is not None:
                refs.append(ref)
                continue
            members = _tag_refs(ws, name)
            if members is None or len(pending) > _MAX_SET_REFS:
                ws.warnings.append(f"Ignoring resource sets for constraint '{xml.get('id')}' "
                                   f"because '{name}' is not a valid resource or tag")
                return None
            pending[at:at] = [XNode("resource_ref", {"id": member}) for member in members]
            any_refs = True
        rset.children = refs
    return expanded if any_refs else None


def expand_constraint(ws: WorkingSet, xml: XNode, find_rsc) -> Optional[XNode]:
    """unpack_colocation_tags / unpack_order_tags / unpack_location_tags /
    unpack_rsc_ticket_tags: the constraint to unpack (`xml` itself when it names no template
    or tag), or None when it must be ignored. `find_rsc` is pcmk__find_constraint_resource."""
    kind = xml.tag.lower()
    if kind not in _SIDES or (not ws.template_rscs and not ws.tags):
        return xml
    if xml.find("resource_set") is not None:
        expanded = _expand_sets(ws, xml, find_rsc)
        return xml if expanded is None else expanded
    sides, convert_rsc = _SIDES[kind]
    ident = xml.get("id")
    found: list[tuple[str, str, Optional[str], bool]] = []  # attr, name, moved attr, is tag
    for attr, moved in sides:
        name = xml.get(attr)
        if name is None:
            return xml
        if find_rsc(ws, name) is not None:
            found.append((attr, name, moved, False))
            continue
        if _tag_refs(ws, name) is None:
            ws.warnings.append(f"Ignoring constraint '{ident}' because '{name}' is not a "
                               "valid resource or tag")
            return None
        found.append((attr, name, moved, True))
    tagged = [f for f in found if f[3]]
    if not tagged:
        return xml
    if kind == "rsc_colocation" and len(tagged) == 2:
        ws.warnings.append(f"Ignoring constraint '{ident}' because two templates or tags "
                           "cannot be colocated")
        return None
    expanded = xml.copy()
    for attr, name, moved, is_tag in found:
        if not is_tag and not convert_rsc:
            continue
        rset = expanded.sub("resource_set", {"id": name})
        if is_tag:
            for member in _tag_refs(ws, name) or ():
                rset.sub("resource_ref", {"id": member})
            rset.set("sequential", "false")
        else:
            rset.sub("resource_ref", {"id": name})
        expanded.set(attr, None)
        if moved is not None and expanded.get(moved) is not None:
            rset.set("action" if kind == "rsc_order" else "role", expanded.get(moved))
            expanded.set(moved, None)
    return expanded
