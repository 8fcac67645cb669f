"""Which CIB a crmd starts with: what is on disk, a file an administrator edited while the cluster
was down, or (haresources mode) the one derived from haresources + ha.cf.

- The replica on disk is `cib.xml` with its MD5 in `cib.xml.sig` (written by crmd after every
  configuration change, status section empty). If the signature matches, that CIB is used as is.
- If it does not (the file was edited by hand), the edit is taken: the CIB is validated (a file
  that does not parse or validate is refused with `file:line: ...` and the daemon does not start)
  and its epoch is raised by one so that, at the join, it wins over replicas of the same lineage
  on nodes that were not edited. This is what "a CIB edited on disk while the cluster is down is
  picked up at start" means.
- haresources mode: the configuration is generated from the files every start. When it is the
  same as the disk replica's, apart from what a DC writes there while the cluster runs (its
  properties, `DC_PROPERTIES`, and hb_standby's constraints and stickiness, crmd.standby), the
  replica is taken as it is, version included; else the generated one with the next epoch, so
  edited haresources files win over the old replica and an unchanged one does not churn. (Compared
  whole, every restart of a node looked like an edit: its CIB won the join over the DC's, hb_standby's
  state was lost, and the DC wrote its properties again; found by the fault campaign.)
The status section is never taken from disk: each node's history is rebuilt at the join.

Beside them, `cib.xml.quorate` holds the replica's mark: the (view instance, admin_epoch, epoch)
of its last configuration change made by a DC in a view with a majority (crmd/machine.py,
"Configuration changes"), which joins compare before versions. A CIB whose epoch is raised here
(edited by hand, unsigned, haresources changed) is an operator's change made while the cluster
was down: its mark is the stored one with the new version, so that it wins the join over replicas
of the same lineage as it always did. No file (a first start, or a replica written before marks
existed): (0, 0, 0), and versions decide.
"""

from __future__ import annotations

import hashlib
from typing import Optional

from core.cib.validate import validate
from core.cib.xmltree import XNode, parse_xml, to_xml
from core.errors import ConfigError
from crmd import standby
from crmd.cib import Cib, CibError, empty_cib, normalize, version_of

SIG_SUFFIX = ".sig"
QUORATE_SUFFIX = ".quorate"
# what a DC writes into cib-bootstrap-options (crmd.machine CrmdMachine._dc_properties)
DC_PROPERTIES = ("dc-version", "cluster-infrastructure", "have-watchdog")


def file_digest(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def disk_text(cib: Cib) -> str:
    """What crmd writes: the CIB without status, indented for people who read it."""
    return to_xml(cib.config_copy())


def _generated_part(root: XNode) -> XNode:
    """A copy of the configuration without what a running cluster adds to a generated one: the
    DC's properties and hb_standby's constraints and stickiness."""
    found = root.find("configuration")
    config = parse_xml(to_xml(found if found is not None else XNode("configuration"), indent=None), "<cib>")
    for props in config.iter("cluster_property_set"):
        for nv in list(props.findall("nvpair")):
            if nv.get("name") in DC_PROPERTIES:
                props.remove(nv)
    constraints = config.find("constraints")
    for con in list(constraints.children) if constraints is not None else []:
        if (con.get("id") or "").startswith(standby.PREFIX):
            constraints.remove(con)
    for group in config.iter("group"):
        for meta in list(group.findall("meta_attributes")):
            if meta.get("id") == standby.sticky_id(group.get("id") or ""):
                group.remove(meta)
    return config


def _load(text: str, path: str) -> XNode:
    try:
        root = parse_xml(text, path)
    except ConfigError as exc:
        raise CibError(str(exc)) from None
    problems = [p for p in validate(normalize(root)) if p.severity == "error"]
    if problems:
        raise CibError("\n".join(p.format(path) for p in problems))
    return root


def _without_status(root: XNode) -> XNode:
    for child in list(root.children):
        if child.tag == "status":
            root.remove(child)
    root.sub("status")
    return root


def initial_cib(path: str, text: Optional[str], sig: Optional[str],
                derived: Optional[XNode] = None) -> tuple[Cib, list[str]]:
    """(the CIB to start with, notes to log). Raises CibError for a file that cannot be used."""
    notes: list[str] = []
    disk: Optional[XNode] = None
    if text is not None:
        edited = sig is not None and sig.strip() != file_digest(text)
        unsigned = sig is None
        try:
            disk = _load(text, path)
        except CibError:
            if derived is None:
                raise
            notes.append(f"{path}: unreadable; the configuration is generated from haresources")
            disk = None
        if disk is not None and (edited or unsigned) and derived is None:
            admin, epoch, updates = version_of(disk)
            disk.set("epoch", str(epoch + 1))
            disk.set("num_updates", "0")
            why = "was edited by hand" if edited else "has no signature"
            notes.append(f"{path} {why}: taking it, epoch {epoch} -> {epoch + 1}")
    if derived is not None:
        root = derived
        if disk is not None:
            admin, epoch, _ = version_of(disk)
            if to_xml(_generated_part(disk), indent=None) == to_xml(_generated_part(derived), indent=None):
                return Cib(_without_status(disk)), notes
            root.set("admin_epoch", str(admin))
            root.set("epoch", str(epoch + 1))
            root.set("num_updates", "0")
            notes.append(f"haresources changed since {path} was written: epoch {epoch} -> {epoch + 1}")
        return Cib(_without_status(root)), notes
    if disk is None:
        notes.append(f"no CIB at {path}: starting with an empty one")
        return Cib(empty_cib()), notes
    return Cib(_without_status(disk)), notes


def mark_text(mark: tuple[int, int, int]) -> str:
    return " ".join(str(n) for n in mark) + "\n"


def initial_mark(cib: Cib, text: Optional[str], stored: Optional[str]) -> tuple[int, int, int]:
    """The starting replica's mark (see the module docstring): `stored` is the text of
    cib.xml.quorate, `text` that of cib.xml (None when missing). A malformed file, or one whose
    version is above the CIB's own, counts as none."""
    admin, epoch, _ = cib.version
    try:
        view, marked_admin, marked_epoch = (int(n) for n in (stored or "").split())
    except ValueError:
        view, marked_admin, marked_epoch = 0, 0, 0
    if (marked_admin, marked_epoch) > (admin, epoch):
        view, marked_admin, marked_epoch = 0, 0, 0
    if text is not None:
        try:
            disk_admin, disk_epoch, _ = version_of(parse_xml(text, "cib.xml"))
        except (ConfigError, CibError, ValueError):
            disk_admin, disk_epoch = -1, -1
        if (disk_admin, disk_epoch) != (admin, epoch):
            return view, admin, epoch  # raised at start: an operator's change
    return view, marked_admin, marked_epoch
