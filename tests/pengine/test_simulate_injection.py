"""What `hb simulate` records for an executed action, as crm_simulate 2.1.5's
pcmk__inject_resource_history does: a new history entry needs a class and a type, a class it
knows, and a provider for ocf; otherwise the action is not shown, its message goes to stderr and
the rest of the transition is aborted (frozen cases tests/pengine/generated/primitive-*).

One deliberate difference: crm_simulate's list of classes leaves out `heartbeat`, whose agents
this project runs (haresources), so `hb simulate` records heartbeat-class actions too."""

from __future__ import annotations

import io

import pytest

from pengine.simulate import run

CIB = """<cib validate-with="{schema}" admin_epoch="0" epoch="1" num_updates="0" have-quorum="1" dc-uuid="n1">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o1" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes><node id="n1" uname="node1"/></nodes>
    <resources>
      <primitive id="web" class="{cls}" type="apache"/>
    </resources>
    <constraints/>
  </configuration>
  <status>
    <node_state id="n1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>
"""


def _simulate(tmp_path, capsys, schema: str, cls: str, *args: str) -> tuple[int, str, str]:
    path = tmp_path / "cib.xml"
    path.write_text(CIB.format(schema=schema, cls=cls))
    out = io.StringIO()
    status = run(["-x", str(path), "-S", *args], stdout=out)
    return status, out.getvalue(), capsys.readouterr().err


@pytest.mark.parametrize("schema,cls", [("pacemaker-3.7", "heartbeat"), ("pacemaker-3.7", "lsb"),
                                        ("none", "LSB")])  # classes compare case-insensitively
def test_a_class_that_can_be_recorded_executes(tmp_path, capsys, schema, cls):
    status, out, err = _simulate(tmp_path, capsys, schema, cls)
    assert status == 0
    assert "Resource action: web             start on node1" in out
    assert f"web\t({cls}:apache):\t Started node1" in out.split("Revised Cluster Status")[1]
    assert "Invalid class" not in err


@pytest.mark.parametrize("schema", ["pacemaker-3.7", "none"])
def test_an_unrecordable_class_is_scheduled_but_not_executed(tmp_path, capsys, schema):
    """nagios passes the schema; an unknown class only validate-with="none"."""
    for cls in ("nagios",) + (("bogus",) if schema == "none" else ()):
        status, out, err = _simulate(tmp_path, capsys, schema, cls)
        assert status == 0
        assert "Start      web     ( node1 )" in out
        executed = out.split("Executing Cluster Transition:")[1].split("Revised Cluster Status")[0]
        assert "Resource action" not in executed
        assert f"Invalid class for web: {cls}" in err.splitlines()


def test_an_injected_operation_on_an_unrecordable_primitive_is_refused(tmp_path, capsys):
    status, _, err = _simulate(tmp_path, capsys, "none", "bogus", "-i", "web_monitor_0@node1=0")
    assert status == 2
    assert "cannot inject web_monitor_0@node1=0: Invalid class for web: bogus" in err
