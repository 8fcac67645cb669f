"""Which CIB a crmd starts with in haresources mode: the replica on disk when the files did not
change (whatever a running cluster added to it), the generated one with the next epoch when they
did."""

from __future__ import annotations

from core.cib.xmltree import XNode, to_xml
from core.config.haresources import parse_haresources
from crmd.cib import version_of
from crmd.derive import from_haresources
from crmd.startup import DC_PROPERTIES, initial_cib
from crmd import standby

NODES = ("n1", "n2")


def derived(text: str = "n1 IPaddr::10.0.0.1 Filesystem::/dev/sdb1::/srv::ext4\n") -> XNode:
    groups = parse_haresources(text, "haresources", NODES)
    root, _, _ = from_haresources(groups, "off", list(NODES))
    return root


def replica_as_a_running_cluster_leaves_it() -> XNode:
    """The generated CIB as a DC rewrote it: its properties, an hb_standby in force, a newer
    version, and a status section (never taken from disk)."""
    root = derived()
    root.set("epoch", "7")
    root.set("num_updates", "12")
    props = next(root.iter("cluster_property_set"))
    for name in DC_PROPERTIES:
        props.sub("nvpair", {"id": f"cib-bootstrap-options-{name}", "name": name, "value": "x"})
    group = next(root.iter("group"))
    gid = group.get("id") or ""
    constraints = next(root.iter("constraints"))
    constraints.sub("rsc_location", {"id": f"{standby.PREFIX}{gid}-n1", "rsc": gid, "node": "n1",
                                     "score": "-INFINITY"})
    meta = group.sub("meta_attributes", {"id": standby.sticky_id(gid)})
    meta.sub("nvpair", {"id": standby.sticky_id(gid) + "-s", "name": "resource-stickiness", "value": "INFINITY"})
    status = root.find("status") or root.sub("status")
    status.sub("node_state", {"id": "n1", "uname": "n1"})
    return root


def test_unchanged_files_keep_the_replica_whatever_the_cluster_added():
    disk = to_xml(replica_as_a_running_cluster_leaves_it())
    cib, notes = initial_cib("/state/cib.xml", disk, None, derived())
    assert notes == []
    assert version_of(cib.root)[:2] == (0, 7)  # (no epoch of its own: the DC's replica wins the join)
    assert any((c.get("id") or "").startswith(standby.PREFIX) for c in cib.root.iter("rsc_location"))
    assert {nv.get("name") for nv in cib.root.iter("nvpair")} >= set(DC_PROPERTIES)
    assert not cib.root.find("status").children


def test_edited_files_win_with_the_next_epoch():
    disk = to_xml(replica_as_a_running_cluster_leaves_it())
    cib, notes = initial_cib("/state/cib.xml", disk, None,
                             derived("n1 IPaddr::10.0.0.2 Filesystem::/dev/sdb1::/srv::ext4\n"))
    assert version_of(cib.root)[:2] == (0, 8)
    assert notes == ["haresources changed since /state/cib.xml was written: epoch 7 -> 8"]
    ips = {nv.get("value") for nv in cib.root.iter("nvpair") if nv.get("name") == "ip"}
    assert ips == {"10.0.0.2"}
    assert not any((c.get("id") or "").startswith(standby.PREFIX) for c in cib.root.iter("rsc_location"))


# -- the replica's mark (crmd/machine.py, "Configuration changes") -------------------------------------------
def signed(root: XNode) -> tuple[str, str]:
    from crmd.startup import file_digest
    text = to_xml(root)
    return text, file_digest(text)


def test_a_signed_replica_keeps_its_stored_mark():
    from crmd.startup import initial_mark, mark_text
    root = replica_as_a_running_cluster_leaves_it()
    root.children = [c for c in root.children if c.tag != "status"]
    text, sig = signed(root)
    cib, _ = initial_cib("/state/cib.xml", text, sig)
    assert initial_mark(cib, text, mark_text((412, 0, 6))) == (412, 0, 6)
    assert initial_mark(cib, text, None) == (0, 0, 0)  # (written before marks: versions decide)
    assert initial_mark(cib, text, "garbage\n") == (0, 0, 0)
    # a mark above the replica's own version does not belong to it
    assert initial_mark(cib, text, mark_text((412, 0, 9))) == (0, 0, 0)


def test_a_replica_edited_while_the_cluster_was_down_is_marked_with_its_raised_version():
    """The operator's change wins the join over replicas of the same lineage, as it did by
    version alone: same view in the mark, a newer epoch."""
    from crmd.startup import initial_mark, mark_text
    root = replica_as_a_running_cluster_leaves_it()
    root.children = [c for c in root.children if c.tag != "status"]
    text, _sig = signed(root)
    cib, notes = initial_cib("/state/cib.xml", text, "0" * 32)
    assert version_of(cib.root)[:2] == (0, 8) and notes
    assert initial_mark(cib, text, mark_text((412, 0, 6))) == (412, 0, 8)
    assert (412, 0, 8) > (412, 0, 7)  # (what the others stored after the last change they saw)
