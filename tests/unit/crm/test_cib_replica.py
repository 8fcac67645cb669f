"""crmd's CIB replica and the requests that change it: versions, edits that replay identically on
every replica (the digest proves it), validation errors that name the request's own lines,
reads that never change a replica, and the timeouts a node stopping on its own uses."""

from __future__ import annotations

import random

from core.cib.xmltree import to_xml
from crmd import requests as rq
from crmd.cib import Cib, Overlay, document_digest, empty_cib, from_wire, wire_edits

PRIMITIVES = """<resources>
  <primitive id="d1" class="ocf" provider="pacemaker" type="Dummy">
    <operations>
      <op id="d1-stop" name="stop" interval="0" timeout="45s"/>
      <op id="d1-mon" name="monitor" interval="10s" timeout="5s"/>
    </operations>
  </primitive>
  <primitive id="d2" class="ocf" provider="pacemaker" type="Dummy"/>
</resources>
"""


def fresh() -> Cib:
    return Cib(empty_cib())


def test_configuration_changes_bump_the_epoch_status_changes_num_updates():
    cib = fresh()
    admin, epoch, updates = cib.version
    cib.apply(rq.replace(cib, "resources", PRIMITIVES, "r.xml"))
    assert cib.version == (admin, epoch + 1, 0)
    cib.apply([("set", rq.state_path("node1"), {"uname": "node1", "in_ccm": "true"})])
    assert cib.version == (admin, epoch + 1, 1)


def test_edits_replayed_on_another_replica_give_the_same_document():
    dc, member = fresh(), fresh()
    steps = [rq.replace(dc, "resources", PRIMITIVES, "r.xml"),
             rq.create(dc, "constraints", '<rsc_location id="l1" rsc="d1" node="node1" score="10"/>', "c.xml"),
             rq.attr_edits(dc, "node1", "node1", "standby", "on", "forever")]
    for edits in steps:
        dc.apply(edits)
        member.apply(from_wire(wire_edits(edits)))  # as they travel between nodes
        assert (member.version, member.digest()) == (dc.version, dc.digest())
    dc.apply(rq.delete(dc, "constraints", '<rsc_location id="l1"/>', "d.xml"))
    assert member.digest() != dc.digest(), "a replica that missed a diff differs, and the digest says so"


def test_a_validation_error_names_the_line_of_the_request():
    cib = fresh()
    text = PRIMITIVES.replace('<primitive id="d2" class="ocf" provider="pacemaker" type="Dummy"/>',
                              '<primitive id="bad" class="ocf" type="Dummy"/>')
    edits = rq.replace(cib, "resources", text, "f.xml")
    problems = rq.check(cib, edits, "f.xml", text)
    assert problems and problems[0].startswith('f.xml:8: error: <primitive id="bad">'), problems
    assert rq.check(cib, rq.replace(cib, "resources", PRIMITIVES, "ok.xml"), "ok.xml", PRIMITIVES) == []


def test_reading_a_missing_section_leaves_the_replica_alone():
    cib = fresh()
    before = (cib.version, cib.digest(), cib.xml())
    assert cib.section("op_defaults").children == []
    assert (cib.version, cib.digest(), cib.xml()) == before


def test_stop_timeouts_come_from_the_op_then_op_defaults_then_twenty_seconds():
    cib = fresh()
    cib.apply(rq.replace(cib, "resources", PRIMITIVES, "r.xml"))
    assert rq.op_timeout_ms(cib, "d1", "stop") == 45_000
    assert rq.op_timeout_ms(cib, "d2", "stop") == 20_000
    cib.apply(rq.modify(cib, "op_defaults", '<op_defaults><meta_attributes id="od"><nvpair id="od-t" '
                                            'name="timeout" value="90"/></meta_attributes></op_defaults>',
                        "od.xml"))
    assert rq.op_timeout_ms(cib, "d2", "stop") == 90_000
    assert rq.op_timeout_ms(cib, "d1", "stop") == 45_000


def _random_edit(rnd: random.Random) -> tuple:
    """One edit at a random depth of a CIB shaped like a running cluster's: node attributes,
    a whole history, one resource's history, one operation, transient attributes, configuration
    elements, removals, parents that do not exist yet, and now and then a whole new document."""
    node = f"node{rnd.randrange(4)}"
    rsc = f"r{rnd.randrange(6)}"
    lrm = rq.state_path(node) + (("lrm", node), ("lrm_resources", None))
    kind = rnd.randrange(10)
    if kind == 0:
        return ("set", rq.state_path(node), {"in_ccm": rnd.choice(["true", "false"]), "crmd": rnd.choice(["online", None])})
    if kind == 1:
        ops = "".join(f'<lrm_rsc_op id="{rsc}_{t}_0" operation="{t}" rc-code="{rnd.randrange(8)}"/>'
                      for t in rnd.sample(["start", "stop", "monitor"], rnd.randrange(1, 3)))
        return ("put", lrm + (("lrm_resource", rsc),), f'<lrm_resource id="{rsc}" type="Dummy">{ops}</lrm_resource>')
    if kind == 2:
        op = rnd.choice(["start", "stop", "monitor"])
        return ("put", lrm + (("lrm_resource", rsc), ("lrm_rsc_op", f"{rsc}_{op}_0")),
                f'<lrm_rsc_op id="{rsc}_{op}_0" operation="{op}" call-id="{rnd.randrange(99)}"/>')
    if kind == 3:
        return ("del", lrm + (("lrm_resource", rsc),))
    if kind == 4:
        return ("put", rq.state_path(node) + (("lrm", node),), f'<lrm id="{node}"><lrm_resources/></lrm>')
    if kind == 5:
        return ("set", rq.state_path(node) + (("transient_attributes", node), ("instance_attributes", f"st-{node}"),
                                              ("nvpair", f"st-{node}-a")), {"name": "a", "value": str(rnd.randrange(9))})
    if kind == 6:
        return ("set", lrm + (("lrm_resource", rsc), ("lrm_rsc_op", f"{rsc}_monitor_0")), {"rc-code": str(rnd.randrange(8))})
    if kind == 7:
        return ("put", rq.CONFIG + (("resources", None), ("primitive", rsc)),
                f'<primitive id="{rsc}" class="ocf" provider="pacemaker" type="Dummy">'
                f'<meta_attributes id="{rsc}-m"><nvpair id="{rsc}-m-t" name="target-role" value="{rnd.choice(["Started", "Stopped"])}"/>'
                f'</meta_attributes></primitive>')
    if kind == 8:
        return ("del", rnd.choice([rq.CONFIG + (("resources", None), ("primitive", rsc)), rq.state_path(node)]))
    return ("root", to_xml(empty_cib()))


def test_the_digest_and_text_written_from_kept_subtrees_are_those_of_the_whole_document():
    """The replica reuses the text of unchanged subtrees: after any edit, at any depth, its
    digest and its compact text must be those of the document written anew."""
    for seed in range(40):
        rnd = random.Random(seed)
        cib = fresh()
        for step in range(60):
            edits = [_random_edit(rnd) for _ in range(rnd.randrange(1, 4))]
            if rnd.randrange(12) and any(e[0] == "root" for e in edits):
                edits = [e for e in edits if e[0] != "root"]
            cib.apply(edits)
            assert cib.digest() == document_digest(cib.root), (seed, step, edits)
            assert cib.xml() == to_xml(cib.root, indent=None), (seed, step, edits)
            # what was removed or replaced is not kept: at most the elements at the kept depths
            assert len(cib._texts) <= _at_depths(cib.root, (3, 5)), (seed, step, edits)


def _at_depths(node, depths, depth: int = 0) -> int:
    return (depth in depths) + sum(_at_depths(c, depths, depth + 1) for c in node.children)


def test_an_overlay_is_the_replica_with_the_edits_and_leaves_the_replica_alone():
    """A new DC's fencing ahead of its join reads the replica as the round's edits would make it
    (crmd/cib.py `Overlay`): its text must be that of a copy with the edits applied, and the
    replica's own text, digest and kept texts must not change (the edits copy only their paths)."""
    for seed in range(40):
        rnd = random.Random(seed)
        cib = fresh()
        for step in range(30):
            cib.apply([e for e in (_random_edit(rnd) for _ in range(3)) if e[0] != "root"])
            cib.xml()  # the replica keeps the texts of its subtrees
            before = (cib.xml(), cib.digest(), dict(cib._texts._texts))
            edits = [e for e in (_random_edit(rnd) for _ in range(rnd.randrange(1, 5))) if e[0] != "root"]
            overlay = Overlay(cib)
            overlay.apply(edits, bump=False)
            copy = Cib.from_xml(cib.xml())
            copy.apply(edits, bump=False)
            assert overlay.xml() == copy.xml() == to_xml(copy.root, indent=None), (seed, step, edits)
            assert (cib.xml(), cib.digest(), dict(cib._texts._texts)) == before, (seed, step, edits)
            assert cib.xml() == to_xml(cib.root, indent=None)
