"""What `unpack.unpack_resource` derives from a resource's configuration alone, kept on the
resource's element (`XNode.rec`) for the next transition of a warm daemon.

Why: a warm daemon reuses the configuration's parsed elements while its text is unchanged
(pengine/inputcache.py), and between two transitions of one cluster it nearly always is. Each
transition still evaluated every resource's meta-attributes (its own sets, its parent's, the
rsc_defaults) and read its settings from them (priority, stickiness, is-managed, requires,
target-role, ...): a third of unpack_resources. That result is kept here, on the element it was
read from, under a stamp of everything else it read, and given to the next transition's fresh
`Resource` as it was computed.

What it depends on, and so what it is kept under (see `Stamp`):
- the resource's element: the record lives on it, and holds its child list (the object and its
  length, as pengine/opconfig.py's OpEntries); `XNode.set` drops it;
- the rsc_defaults element (the same object when the configuration is reused), held and
  compared by identity;
- its parent's meta-attributes, in order (a member or instance inherits them); the clone
  instance number; whether its top resource is a clone and promotable;
- the cluster options it reads: is-managed-default, maintenance-mode, stonith-enabled, whether
  unfencing is in use, no-quorum-policy.

What is never kept: a result that evaluated a set with a rule (the time, node attributes) or
resolved an id-ref (any element of the document: `sets_are_static`), or that added a warning
or an unsupported feature (they must be reported by every transition). A resource made from a
template is expanded anew by every transition (a new element): nothing kept either.
"""

from __future__ import annotations

from core.cib.xmltree import XNode
from core.ctools import attrgetter

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional

# the Resource attributes unpack_resource sets from the meta-attributes and the stamp (each
# starts at the same constant in Resource.__init__, so the values after the computation are
# the whole of its effect on them)
SETTINGS = ("promotable", "priority", "critical", "notify", "fence_device", "managed",
            "maintenance", "unique", "recovery_type", "restart_type_restart", "stickiness",
            "migration_threshold", "needs_quorum", "needs_fencing", "needs_unfencing",
            "failure_timeout", "allow_migrate", "target_role", "next_role")
read_settings = attrgetter(*SETTINGS)


def write_settings(rsc: object, values: tuple) -> None:
    """read_settings' inverse: SETTINGS' values set on `rsc`, in one assignment (a kept
    result is applied to 10,800 resources a transition at 32/10000: a setattr per name cost
    205,000 calls). The names are SETTINGS' in order (tests/unit/test_inputcache.py checks
    that each value lands on its name)."""
    (rsc.promotable, rsc.priority, rsc.critical, rsc.notify,  # type: ignore[attr-defined]
     rsc.fence_device, rsc.managed, rsc.maintenance, rsc.unique,  # type: ignore[attr-defined]
     rsc.recovery_type, rsc.restart_type_restart, rsc.stickiness,  # type: ignore[attr-defined]
     rsc.migration_threshold, rsc.needs_quorum, rsc.needs_fencing,  # type: ignore[attr-defined]
     rsc.needs_unfencing, rsc.failure_timeout, rsc.allow_migrate,  # type: ignore[attr-defined]
     rsc.target_role, rsc.next_role) = values  # type: ignore[attr-defined]

# (incarnation, the parent's meta items or None, top is a clone, top is promotable,
#  is-managed-default, maintenance-mode, stonith-enabled, unfencing in use, no-quorum-policy,
#  the scores of the health colours)
Stamp = tuple

_MAX_STAMPS = 256  # per element: a clone's child element is unpacked once per instance


class KeptSettings:
    """One resource element's kept results: stamp -> (meta-attributes, SETTINGS values), valid
    while the element has the same child list and the rsc_defaults element is the same."""

    __slots__ = ("children", "length", "defaults", "by_stamp", "params")

    def __init__(self, xml: XNode, defaults: Optional[XNode]) -> None:
        self.children = xml.children
        self.length = len(xml.children)
        self.defaults = defaults
        self.by_stamp: dict[Stamp, tuple[dict[str, str], tuple]] = {}
        # the resource's instance attributes when they are the same for every node and time
        # (digest.rsc_params; shared, never changed by a reader)
        self.params: Optional[dict[str, str]] = None

    def valid_for(self, xml: XNode, defaults: Optional[XNode]) -> bool:
        return self.children is xml.children and self.length == len(xml.children) \
            and self.defaults is defaults


def kept(xml: XNode, defaults: Optional[XNode], stamp: Stamp
         ) -> Optional[tuple[dict[str, str], tuple]]:
    """The result kept for this element under this stamp, if any."""
    record = xml.rec
    if record.__class__ is not KeptSettings or not record.valid_for(xml, defaults):
        return None
    return record.by_stamp.get(stamp)


def keep(xml: XNode, defaults: Optional[XNode], stamp: Stamp, meta: dict[str, str],
         values: tuple) -> None:
    """Keep a result on its element (a copy of the meta-attributes: the run's own dict is
    changed later by the scheduler). An element whose `rec` holds another reader's record is
    left alone."""
    record = xml.rec
    if record.__class__ is not KeptSettings or not record.valid_for(xml, defaults):
        if record is not None and record.__class__ is not KeptSettings:
            return
        record = xml.rec = KeptSettings(xml, defaults)
    if len(record.by_stamp) >= _MAX_STAMPS:
        record.by_stamp.clear()
    record.by_stamp[stamp] = (dict(meta), values)


def kept_params(xml: XNode) -> Optional[dict[str, str]]:
    """The instance attributes kept for this element (see keep_params), if any."""
    record = xml.rec
    if record.__class__ is not KeptSettings or record.children is not xml.children or \
            record.length != len(xml.children):
        return None
    return record.params


def keep_params(xml: XNode, params: dict[str, str]) -> None:
    """Keep a resource's instance attributes, evaluated from sets without rules or id-refs
    (`sets_are_static`), so the same for every node, time and document: callers share the dict
    (as digest.rsc_params' per-run cache already has them do) and never change it."""
    record = xml.rec
    if record.__class__ is not KeptSettings or record.children is not xml.children or \
            record.length != len(xml.children):
        if record is not None and record.__class__ is not KeptSettings:
            return
        record = xml.rec = KeptSettings(xml, None)
    record.params = params


def sets_are_static(parent: Optional[XNode], set_tag: str) -> bool:
    """Whether core.cib.rules.unpack_nvpairs(parent, set_tag, ...) gives the same result
    whatever the rule context and the rest of the document: no `set_tag` set is an id-ref or
    has a rule, and none of its pairs is an id-ref."""
    if parent is None:
        return True
    for child in parent.children:
        if child.tag != set_tag:
            continue
        if child.get("id-ref") is not None:
            return False
        container = child
        if child.children and child.children[0].tag == "attributes":
            container = child.children[0]
        for part in (child, container):
            for pair in part.children:
                if pair.tag == "rule" or (pair.tag == "nvpair" and pair.get("id-ref") is not None):
                    return False
    return True
