"""crmd's CIB replica and the requests that change it: versions, edits that replay identically on
every replica (the digest proves it), validation errors that name the request's own lines,
reads that never change a replica, and the timeouts a node stopping on its own uses."""

from __future__ import annotations

from crmd import requests as rq
from crmd.cib import Cib, empty_cib, from_wire, wire_edits

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
