"""cibadmin, crm_resource, crm_attribute, crm_standby, hb_standby and hb_takeover without a cluster:
their command lines, the constraints and attributes they write, their messages and exit codes.

Most tests run a tool in-process on a copy of a CIB file (`CIB_file`, which the tools accept like
Pacemaker's), so a whole command is exercised as it edits the file. What goes to a running
cluster is checked against a fake crmd (the crmclient functions replaced). Expected texts are what
Pacemaker 2.1.5's tools printed for the same CIBs; the `compat` tests at the end run the real tools
side by side when Debian's pacemaker-cli-utils is installed.
"""

from __future__ import annotations

import io
import os
import pathlib
import shutil
import subprocess
import time

import pytest

from ciaware import missing
from core.cib.xmltree import parse_xml, to_xml
from tools import cibadmin, crm_attribute, crm_resource, crmclient, crmtool, hb_standby
from tools.crmtool import find_resource, working_set

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
GROUP_CIB = ROOT / "tests" / "pengine" / "cases" / "clone-with-group.xml"   # base-clone, app=web+db
RICH_CIB = HERE / "data" / "rich.xml"                                         # promotable, standby, ...

ATTR_CIB = """\
<cib admin_epoch="0" epoch="5" num_updates="0" validate-with="pacemaker-3.7" have-quorum="1" dc-uuid="1">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opt-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
      <cluster_property_set id="more">
        <nvpair id="more-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="1" uname="node1">
        <instance_attributes id="node1-ia"><nvpair id="node1-rack" name="rack" value="r1"/></instance_attributes>
      </node>
      <node id="2" uname="node2"/>
    </nodes>
    <resources>
      <primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>
    </resources>
    <constraints/>
  </configuration>
  <status>
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="1">
        <instance_attributes id="status-1"><nvpair id="status-1-pingd" name="pingd" value="100"/></instance_attributes>
      </transient_attributes>
    </node_state>
    <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>
"""


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Dates are printed in local time: fix it; and never let a real CIB_file leak in."""
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("CIB_file", raising=False)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def copy(tmp_path: pathlib.Path, source: pathlib.Path | str, name: str = "cib.xml") -> pathlib.Path:
    target = tmp_path / name
    if isinstance(source, pathlib.Path):
        shutil.copy(source, target)
    else:
        target.write_text(source)
    return target


def run(tool: str, argv: list[str], cib: pathlib.Path | None = None, stdin: str = "",
        node: str = "node1") -> tuple[int, str, str]:
    """A tool's run() in-process: (exit status, stdout, stderr). With `cib`, as CIB_file=cib."""
    out, err = io.StringIO(), io.StringIO()
    environ = {"CIB_file": str(cib)} if cib is not None else {}
    argv = [*argv, "--node-name", node]
    if tool == "cibadmin":
        code = cibadmin.run(argv, out, err, io.StringIO(stdin), environ)
    elif tool == "crm_resource":
        code = crm_resource.run(argv, out, err, environ)
    elif tool == "crm_attribute":
        code = crm_attribute.run(argv, out, err, environ)
    elif tool == "crm_standby":
        code = crm_attribute.standby_run(argv, out, err, environ)
    else:
        code = hb_standby.run(argv, tool == "hb_takeover", out, err)
    return code, out.getvalue(), err.getvalue()


def cli_constraints(cib: pathlib.Path) -> list[str]:
    """The cli-* rsc_location elements of a CIB file, one line each."""
    root = parse_xml(cib.read_text())
    return [to_xml(c, indent=None).strip() for c in root.iter("rsc_location")
            if (c.get("id") or "").startswith("cli-")]


# ------------------------------------------------------------------------------------------------
# cibadmin

def test_cibadmin_command_line_errors():
    assert run("cibadmin", [])[0:2] == (64, "")
    assert "say what to do: -Q (query)" in run("cibadmin", [])[2]
    code, _, err = run("cibadmin", ["-E", "--force"])
    assert (code, err) == (3, "cibadmin: -E/--erase is not supported by this implementation\n")
    assert run("cibadmin", ["--xpath", "//primitive", "-Q"])[0] == 3
    code, _, err = run("cibadmin", ["--bogus"])
    assert code == 64 and err.startswith("cibadmin: unrecognized arguments: --bogus\nusage: cibadmin")


def test_cibadmin_query_prints_the_cib_or_a_section(tmp_path):
    cib = copy(tmp_path, GROUP_CIB)
    code, out, err = run("cibadmin", ["-Q", "-o", "constraints"], cib)
    assert (code, err) == (0, "")
    assert out == ('<constraints>\n'
                   '  <rsc_colocation id="col-app-base-clone" rsc="app" with-rsc="base-clone" score="INFINITY"/>\n'
                   '  <rsc_order id="ord-base-clone-app" first="base-clone" then="app" kind="Mandatory"/>\n'
                   '  <rsc_location id="loc-app-node2" rsc="app" node="node2" score="50"/>\n'
                   '</constraints>\n')
    code, out, _ = run("cibadmin", ["-Q", "--no-children", "-o", "nodes"], cib)
    assert (code, out) == (0, "<nodes/>\n")
    code, out, _ = run("cibadmin", ["--query", "--local"], cib)
    assert code == 0 and to_xml(parse_xml(out)) == to_xml(parse_xml(GROUP_CIB.read_text()))
    for section in ("rsc_defaults", "bogus"):
        code, out, err = run("cibadmin", ["-Q", "-o", section], cib)
        assert (code, out) == (105, "") and err.startswith("Call failed: No such device or address\n")


def test_cibadmin_refuses_unparsable_input_and_names_it(tmp_path):
    cib = copy(tmp_path, GROUP_CIB)
    before = cib.read_text()
    code, out, err = run("cibadmin", ["-C", "-o", "resources", "-X", "<primitive id='x'"], cib)
    assert (code, out) == (78, "")
    assert err == ("cibadmin: <xml-text>:1: malformed XML: unclosed token (column 1)\n"
                   "Couldn't parse input from input string.\n")
    code, _, err = run("cibadmin", ["-R", "-x", str(tmp_path / "missing.xml")], cib)
    assert code == 78 and err.endswith(f"Couldn't parse input from {tmp_path / 'missing.xml'}.\n")
    code, _, err = run("cibadmin", ["-C", "-o", "resources"], cib)
    assert code == 64 and "-C needs the XML: -x FILE, -X TEXT or -p (standard input)" in err
    assert cib.read_text() == before


def test_cibadmin_create_is_validated_with_the_inputs_lines(tmp_path):
    cib = copy(tmp_path, GROUP_CIB)
    before = cib.read_text()
    new = tmp_path / "new.xml"
    new.write_text('<!-- a resource -->\n\n<primitive id="x" class="ocf"\n  type="Dummy"/>\n')
    code, out, err = run("cibadmin", ["--create", "--xml-file", str(new)], cib)
    assert (code, out) == (78, "")
    assert err == ("Call failed: Update does not conform to the configured schema\n"
                   f'{new}:3: error: <primitive id="x">: ocf primitive without provider\n')
    assert cib.read_text() == before
    code, _, err = run("cibadmin", ["-C", "-o", "resources", "-p"], cib,
                       stdin='<primitive id="x" class="ocf" provider="pacemaker" type="Dummy"/>')
    assert (code, err) == (0, "")
    assert find_resource(working_set(parse_xml(cib.read_text())), "x") is not None
    code, _, err = run("cibadmin", ["-C", "-o", "resources", "-X", '<primitive id="x" class="lsb" type="y"/>'], cib)
    assert code == 108 and err == "Call failed: File exists\n<xml-text>:1: id 'x' is already used\n"


def test_cibadmin_modify_delete_and_allow_create(tmp_path):
    cib = copy(tmp_path, GROUP_CIB)
    meta = ('<primitive id="web"><meta_attributes id="web-meta">'
            '<nvpair id="web-tr" name="target-role" value="Stopped"/></meta_attributes></primitive>')
    assert run("cibadmin", ["-M", "-X", meta], cib)[0] == 0
    web = find_resource(working_set(parse_xml(cib.read_text())), "web")
    assert web is not None and web.meta.get("target-role") == "Stopped"
    code, _, err = run("cibadmin", ["-M", "-X", '<primitive id="nosuch" description="x"/>'], cib)
    assert code == 105 and err == ("Call failed: No such device or address\n"
                                   "<xml-text>:1: no <primitive id='nosuch'> to modify\n")
    created = '<rsc_location id="l1" rsc="web" node="node1" score="10"/>'
    assert run("cibadmin", ["-M", "-c", "-o", "constraints", "-X", created], cib)[0] == 0
    assert 'id="l1"' in cib.read_text()
    assert run("cibadmin", ["-D", "-X", '<rsc_location id="l1"/>'], cib)[0:3] == (0, "", "")
    assert 'id="l1"' not in cib.read_text()
    before = cib.read_text()
    assert run("cibadmin", ["-D", "-X", '<rsc_location id="l1"/>'], cib)[0:3] == (0, "", "")  # not there: fine
    assert cib.read_text() == before


def test_cibadmin_raises_admin_epoch_as_in_its_example(tmp_path):
    cib = copy(tmp_path, GROUP_CIB)
    assert run("cibadmin", ["-M", "-X", '<cib admin_epoch="admin_epoch++"/>'], cib) == (0, "", "")
    assert parse_xml(cib.read_text()).get("admin_epoch") == "1"
    assert run("cibadmin", ["-M", "-X", '<cib admin_epoch="admin_epoch+=5"/>'], cib)[0] == 0
    assert parse_xml(cib.read_text()).get("admin_epoch") == "6"


def test_cibadmin_replace_checks_new_problems_and_age(tmp_path):
    cib = copy(tmp_path, GROUP_CIB)
    before = cib.read_text()
    lines = before.splitlines()
    at = lines.index("    </resources>")
    bad = lines[:at] + ['      <primitive id="broken" class="nosuch" type="x"/>'] + lines[at:]
    replacement = copy(tmp_path, "\n".join(bad) + "\n", "bad.xml")
    code, _, err = run("cibadmin", ["-R", "-x", str(replacement)], cib)
    assert code == 78
    assert err.splitlines()[1] == (f'{replacement}:{at + 1}: error: <primitive id="broken">: '
                                   "unknown resource class 'nosuch'")
    older = copy(tmp_path, before.replace('epoch="1"', 'epoch="0"', 1), "older.xml")
    code, _, err = run("cibadmin", ["-R", "-x", str(older)], cib)
    assert code == 103 and err.startswith("Call failed: Update was older than existing configuration\n")
    assert cib.read_text() == before
    section = copy(tmp_path, '<constraints>\n  <rsc_location id="only" rsc="web" node="node1" score="5"/>\n'
                             '</constraints>\n', "constraints.xml")
    assert run("cibadmin", ["-R", "-o", "constraints", "-x", str(section)], cib)[0] == 0
    root = parse_xml(cib.read_text())
    assert [c.get("id") for c in root.find("configuration").find("constraints").children] == ["only"]
    assert root.get("epoch") == "2"  # a configuration change


def test_only_new_problems_block_a_change():
    current = parse_xml('<configuration><crm_config/><nodes/><resources>'
                        '<primitive id="a" class="ocf" type="Dummy"/></resources><constraints/>'
                        '</configuration>')
    after = parse_xml('<cib><configuration><crm_config/><nodes/><resources>\n'
                      '<primitive id="a" class="ocf" type="Dummy"/>\n'
                      '<primitive id="b" class="lsb"/>\n'
                      '</resources><constraints/></configuration></cib>')
    problems = cibadmin.new_problems(current, after)
    assert [(p.line, p.element, p.message) for p in problems] == [
        (3, '<primitive id="b">', "primitive without type (the agent name)")]


def test_cibadmin_reports_a_cluster_that_is_not_there(tmp_path):
    code, out, err = run("cibadmin", ["-Q", "--rundir", str(tmp_path)])
    assert (code, out) == (102, "")
    assert err.startswith("Could not connect to the CIB: the crmd on node1 did not answer: crmd is not running")
    assert err.endswith("\nInit failed, could not perform requested operations\n")
    (tmp_path / "crmd.sock").write_text("")  # left by a crmd that is gone: no waiting for a timeout
    started = time.monotonic()
    code, _, err = run("cibadmin", ["-Q", "--rundir", str(tmp_path)])
    assert code == 102 and "the crmd is not running on node1 (no live process in" in err
    assert time.monotonic() - started < 2


# ------------------------------------------------------------------------------------------------
# crm_resource: what it writes

def test_ban_and_prefer_constraints_in_both_forms():
    assert to_xml(crm_resource.ban_xml("web", "node1"), indent=None) == \
        '<rsc_location id="cli-ban-web-on-node1" rsc="web" role="Started" node="node1" score="-INFINITY"/>\n'
    assert to_xml(crm_resource.prefer_xml("web", "node2"), indent=None) == \
        '<rsc_location id="cli-prefer-web" rsc="web" role="Started" node="node2" score="INFINITY"/>\n'
    assert to_xml(crm_resource.ban_xml("web", "node1", "2023-11-14 23:13:20Z")) == """\
<rsc_location id="cli-ban-web-on-node1" rsc="web" role="Started">
  <rule id="cli-ban-web-on-node1-rule" score="-INFINITY" boolean-op="and">
    <expression id="cli-ban-web-on-node1-expr" attribute="#uname" operation="eq" value="node1" type="string"/>
    <date_expression id="cli-ban-web-on-node1-lifetime" operation="lt" end="2023-11-14 23:13:20Z"/>
  </rule>
</rsc_location>
"""
    assert to_xml(crm_resource.prefer_xml("web", "node2", "2023-11-14 23:13:20Z")) == """\
<rsc_location id="cli-prefer-web" rsc="web" role="Started">
  <rule id="cli-prefer-rule-web" score="INFINITY" boolean-op="and">
    <expression id="cli-prefer-expr-web" attribute="#uname" operation="eq" value="node2" type="string"/>
    <date_expression id="cli-prefer-lifetime-end-web" operation="lt" end="2023-11-14 23:13:20Z"/>
  </rule>
</rsc_location>
"""


def test_lifetime_is_an_iso_duration():
    now = 1700000000  # Tue Nov 14 22:13:20 UTC 2023
    assert crm_resource.parse_lifetime(None, now) is None
    assert crm_resource.parse_lifetime("PT1H", now) == "2023-11-14 23:13:20Z"
    assert crm_resource.parse_lifetime("P1D", now) == "2023-11-15 22:13:20Z"
    with pytest.raises(crm_resource.BadLifetime) as caught:
        crm_resource.parse_lifetime("1h", now)
    assert str(caught.value) == ("Invalid duration specified: 1h\nPlease refer to "
                                 "https://en.wikipedia.org/wiki/ISO_8601#Durations for examples of "
                                 "valid durations")


def test_what_clear_removes_on_a_node():
    constraints = parse_xml("""<constraints>
      <rsc_location id="cli-prefer-web" rsc="web" role="Started" node="node1" score="INFINITY"/>
      <rsc_location id="cli-ban-web-on-node1" rsc="web" role="Started" node="node1" score="-INFINITY"/>
      <rsc_location id="cli-ban-web-on-node2" rsc="web" role="Started">
        <rule id="cli-ban-web-on-node2-rule" score="-INFINITY" boolean-op="and">
          <expression id="cli-ban-web-on-node2-expr" attribute="#uname" operation="eq" value="node2"/>
        </rule>
      </rsc_location>
      <rsc_location id="cli-ban-db-on-node1" rsc="db" role="Started" node="node1" score="-INFINITY"/>
      <rsc_location id="mine" rsc="web" node="node1" score="-INFINITY"/>
    </constraints>""")
    assert crm_resource.to_clear(constraints, "web", "node1", True, False) == \
        ["cli-prefer-web", "cli-ban-web-on-node1"]
    assert crm_resource.to_clear(constraints, "web", "node1", False, False) == ["cli-prefer-web"]
    assert crm_resource.to_clear(constraints, "web", "node2", True, False) == ["cli-ban-web-on-node2"]
    assert crm_resource.to_clear(constraints, "web", "node2", False, True) == ["cli-prefer-web"]
    rule_form = parse_xml('<constraints>' + to_xml(crm_resource.prefer_xml("web", "node3", "2030-01-01 00:00:00Z"))
                          + '</constraints>')
    assert crm_resource.to_clear(rule_form, "web", "node3", False, False) == ["cli-prefer-web"]
    assert crm_resource.to_clear(rule_form, "web", "node1", False, False) == []


# ------------------------------------------------------------------------------------------------
# crm_resource: what it shows (texts printed by Pacemaker 2.1.5's crm_resource on the same CIBs)

GROUP_LIST = """\
Full List of Resources:
  * Clone Set: base-clone [base]:
    * Started: [ node1 node2 node3 ]
  * Resource Group: app:
    * web\t(ocf:pacemaker:Dummy):\t Started
    * db\t(ocf:pacemaker:Dummy):\t Started
"""

RICH_LIST = """\
Full List of Resources:
  * fence\t(stonith:fence_dummy):\t Started
  * web\t(ocf:heartbeat:apache):\t FAILED front <end>
  * Resource Group: grp:
    * ip\t(ocf:heartbeat:IPaddr2):\t Started
    * fs\t(ocf:heartbeat:Filesystem):\t FAILED
  * off\t(ocf:pacemaker:Dummy):\t Stopped (not installed)  (disabled)
  * frozen\t(lsb:frozen):\t Started (unmanaged)
  * Clone Set: ping-clone [ping]:
    * Started: [ node1 ]
    * Stopped: [ node2 node3 node4 ]
  * Clone Set: db-clone [db] (promotable):
    * Promoted: [ node1 ]
    * Unpromoted: [ node2 ]
    * Stopped: [ node3 node4 ]
"""


@pytest.mark.parametrize("source, expected", [(GROUP_CIB, GROUP_LIST), (RICH_CIB, RICH_LIST)])
def test_list_is_crm_resources(tmp_path, source, expected):
    cib = copy(tmp_path, source)
    assert run("crm_resource", ["--list"], cib) == (0, expected, "")
    assert run("crm_resource", [], cib) == (0, expected, "")  # the default command


def test_an_empty_list_is_no_such_object(tmp_path):
    cib = copy(tmp_path, ATTR_CIB.replace('<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>', ""))
    assert run("crm_resource", ["-L"], cib) == (
        105, "Full List of Resources:\n  * No resources\n", "crm_resource: Error performing operation: No such object\n")


@pytest.mark.parametrize("source, rsc, expected", [
    (GROUP_CIB, "web", "resource web is running on: node2\n"),
    (GROUP_CIB, "app", "resource app is running on: node2\n"),
    (GROUP_CIB, "base-clone", "resource base-clone is running on: node3\n"
                              "resource base-clone is running on: node2\n"
                              "resource base-clone is running on: node1\n"),
    (GROUP_CIB, "base", "resource base is running on: node3\nresource base is running on: node2\n"
                        "resource base is running on: node1\n"),
    (GROUP_CIB, "base:1", "resource base:1 is running on: node2\n"),
    (RICH_CIB, "db-clone", "resource db-clone is running on: node2\n"
                           "resource db-clone is running on: node1 Promoted\n"),
    (RICH_CIB, "db", "resource db is running on: node1 Promoted\n"),
])
def test_locate(tmp_path, source, rsc, expected):
    assert run("crm_resource", ["-W", "-r", rsc], copy(tmp_path, source)) == (0, expected, "")


def test_locate_quiet_and_stopped(tmp_path):
    cib = copy(tmp_path, RICH_CIB)
    assert run("crm_resource", ["-W", "-r", "off"], cib) == (0, "", "resource off is NOT running\n")
    assert run("crm_resource", ["-Q", "-W", "-r", "off"], cib) == (0, "", "")
    assert run("crm_resource", ["-Q", "-W", "-r", "ping"], cib) == (0, "node1\n", "")


def test_errors_and_their_codes(tmp_path):
    cib = copy(tmp_path, GROUP_CIB)
    assert run("crm_resource", ["-W", "-r", "nosuch"], cib) == (
        105, "", "crm_resource: Resource 'nosuch' not found\nError performing operation: No such object\n")
    assert run("crm_resource", ["-B", "-r", "web", "-N", "node9"], cib) == (
        105, "", "crm_resource: Node 'node9' not found\nError performing operation: No such object\n")
    assert run("crm_resource", ["-W"], cib) == (64, "", "crm_resource: Must supply a resource id with -r\n")
    assert run("crm_resource", ["-M", "-r", "base:0"], cib) == (
        2, "", "crm_resource: Cannot operate on clone resource instance 'base:0'\n"
               "Error performing operation: Invalid parameter\n")
    assert run("crm_resource", ["-M", "-r", "base-clone"], cib) == (
        64, "", "crm_resource: Resource 'base-clone' not moved: active in 3 locations.\n"
                "To prevent 'base-clone' from running on a specific location, specify a node.\n")
    assert run("crm_resource", ["-M", "-r", "web", "-N", "node1", "-u", "1h"], cib) == (
        64, "", "Invalid duration specified: 1h\nPlease refer to https://en.wikipedia.org/wiki/"
                "ISO_8601#Durations for examples of valid durations\n")
    assert run("crm_resource", ["-M", "-r", "web", "-N", "node2"], cib) == (
        108, "", "crm_resource: Error performing operation: Requested item already exists\n")
    assert cli_constraints(cib) == []
    assert run("crm_resource", ["--bogus"], cib)[0] == 64


BAN_WEB_NODE2 = ("WARNING: Creating rsc_location constraint 'cli-ban-web-on-node2' with a score of "
                 "-INFINITY for resource web on node2.\n\tThis will prevent web from running on node2 "
                 "until the constraint is removed using the clear option or by editing the CIB with an "
                 "appropriate tool\n\tThis will be the case even if node2 is the last node in the cluster\n")


def test_move_ban_clear_write_crm_resources_constraints(tmp_path):
    cib = copy(tmp_path, GROUP_CIB)   # web (in group app) runs on node2
    assert run("crm_resource", ["--move", "--resource", "web"], cib) == (0, BAN_WEB_NODE2, "")
    assert cli_constraints(cib) == [
        '<rsc_location id="cli-ban-web-on-node2" rsc="web" role="Started" node="node2" score="-INFINITY"/>']
    assert run("crm_resource", ["-M", "-r", "web", "-N", "node3"], cib) == (0, "", "")
    assert run("crm_resource", ["-M", "-r", "web", "-N", "node2"], cib)[0] == 108  # runs there already
    assert run("crm_resource", ["-M", "-r", "web", "-N", "node1"], cib) == (0, "", "")
    assert cli_constraints(cib) == [
        '<rsc_location id="cli-ban-web-on-node2" rsc="web" role="Started" node="node2" score="-INFINITY"/>',
        '<rsc_location id="cli-prefer-web" rsc="web" role="Started" node="node1" score="INFINITY"/>']
    code, out, _ = run("crm_resource", ["-B", "-r", "web", "-N", "node3", "-u", "PT2H"], cib)
    assert code == 0 and out.startswith("Migration will take effect until: ")
    assert run("crm_resource", ["-U", "-r", "web", "-N", "node1"], cib) == (
        0, "Removing constraint: cli-prefer-web\n", "")
    assert run("crm_resource", ["-U", "-r", "web"], cib) == (
        0, "Removing constraint: cli-ban-web-on-node2\nRemoving constraint: cli-ban-web-on-node3\n", "")
    assert cli_constraints(cib) == []
    assert run("crm_resource", ["-U", "-r", "web"], cib) == (0, "", "")


def test_a_new_lifetime_replaces_a_ban_of_the_other_form(tmp_path):
    cib = copy(tmp_path, GROUP_CIB)
    assert run("crm_resource", ["-Q", "-B", "-r", "app", "-N", "node3"], cib) == (0, "", "")
    assert run("crm_resource", ["-Q", "-B", "-r", "app", "-N", "node3", "-u", "PT1H"], cib) == (0, "", "")
    [ban] = cli_constraints(cib)
    assert 'node="node3"' not in ban.split(">")[0] and "cli-ban-app-on-node3-rule" in ban
    assert run("crm_resource", ["-f", "-M", "-r", "app", "-N", "node1"], cib)[1].startswith(
        "WARNING: Creating rsc_location constraint 'cli-ban-app-on-node2'")


# ------------------------------------------------------------------------------------------------
# crm_resource --cleanup

def test_cleanup_targets_follow_the_history():
    ws = working_set(parse_xml(GROUP_CIB.read_text()))
    app = find_resource(ws, "app")
    assert crm_resource.cleanup_targets(ws, app, None) == [
        ("web", "web", "node1"), ("web", "web", "node2"), ("web", "web", "node3"),
        ("db", "db", "node1"), ("db", "db", "node2"), ("db", "db", "node3")]
    clone = find_resource(ws, "base-clone")
    assert crm_resource.cleanup_targets(ws, clone, None) == [
        ("base:0", "base", "node1"), ("base:1", "base", "node2"), ("base:2", "base", "node3")]
    node2 = crmtool.find_node(ws, "NODE2")
    assert crm_resource.cleanup_targets(ws, app, node2) == [("web", "web", "node2"), ("db", "db", "node2")]


class FakeCrmd:
    """The crmclient functions, answering from a CIB text and recording what was asked."""

    def __init__(self, monkeypatch, cib_text: str) -> None:
        self.cib = cib_text
        self.calls: list[tuple] = []
        monkeypatch.setattr(crmclient, "query_cib", self.query_cib)
        monkeypatch.setattr(crmclient, "update_cib", self.record("update_cib"))
        monkeypatch.setattr(crmclient, "node_attr", self.record("node_attr"))
        monkeypatch.setattr(crmclient, "cleanup", self.record("cleanup"))
        monkeypatch.setattr(crmclient, "standby", self.record("standby"))

    def query_cib(self, paths, section=None, timeout_ms=0):
        root = parse_xml(self.cib)
        node = root if section is None else crmtool.select_section(root, section)
        return {"xml": to_xml(node, indent=None), "version": [0, 1, 0]}

    def record(self, name):
        def call(paths, *args, **kwargs):  # recorded without the timeout (an int)
            self.calls.append((name, *(a for a in args if isinstance(a, (str, bool, type(None))))))
            return {"version": [0, 2, 0]}
        return call


def test_cleanup_asks_the_crmd_per_resource_and_node(monkeypatch):
    crmd = FakeCrmd(monkeypatch, GROUP_CIB.read_text())
    code, out, err = run("crm_resource", ["--cleanup", "--resource", "db"])
    assert (code, err) == (0, "")
    assert out == ("Cleaned up web on node1\nCleaned up web on node2\nCleaned up web on node3\n"
                   "Cleaned up db on node1\nCleaned up db on node2\nCleaned up db on node3\n")
    assert crmd.calls == [("cleanup", "web", "node1"), ("cleanup", "web", "node2"),
                          ("cleanup", "web", "node3"), ("cleanup", "db", "node1"),
                          ("cleanup", "db", "node2"), ("cleanup", "db", "node3")]
    crmd.calls.clear()
    assert run("crm_resource", ["-C", "-r", "db", "--force", "-N", "node2"]) == (0, "Cleaned up db on node2\n", "")
    assert run("crm_resource", ["-C", "-r", "base:2", "-N", "node1"]) == (
        0, "Cleaned up base:0 on node1\nCleaned up base:1 on node1\nCleaned up base:2 on node1\n", "")
    assert crmd.calls == [("cleanup", "db", "node2"), ("cleanup", "base", "node1")]
    crmd.calls.clear()
    assert run("crm_resource", ["-C", "-N", "node3"]) == (0, "Cleaned up all resources on node3\n", "")
    assert run("crm_resource", ["-C"]) == (0, "Cleaned up all resources on all nodes\n", "")
    assert crmd.calls == [("cleanup", "", "node3"), ("cleanup", "", "")]


def test_cleanup_says_why_a_resource_may_stay_stopped(monkeypatch, tmp_path):
    text = RICH_CIB.read_text()
    FakeCrmd(monkeypatch, text)
    code, out, _ = run("crm_resource", ["-C", "-r", "off", "-N", "node1"])
    assert (code, out) == (0, "Cleaned up off on node1\nConfiguration specifies 'off' should remain stopped\n")
    code, out, _ = run("crm_resource", ["-C", "-r", "frozen", "-N", "node1"])
    assert out.splitlines()[-1] == "Configuration prevents cluster from stopping or starting unmanaged 'frozen'"
    assert run("crm_resource", ["-Q", "-C", "-r", "frozen", "-N", "node1"])[1] == ""
    dry = run("crm_resource", ["-C", "-r", "web", "-N", "node1"], copy(tmp_path, RICH_CIB))
    assert dry == (0, "", "Dry run: skipping clean-up of web on node1 due to CIB_file\n")


def test_changes_go_to_the_crmd(monkeypatch):
    crmd = FakeCrmd(monkeypatch, GROUP_CIB.read_text())
    assert run("crm_resource", ["-B", "-r", "web", "-N", "node1"])[0] == 0
    assert crmd.calls == [("update_cib", "modify", '<constraints><rsc_location id="cli-ban-web-on-node1" '
                           'rsc="web" role="Started" node="node1" score="-INFINITY"/></constraints>\n',
                           "constraints", "crm_resource")]


def test_a_change_the_dc_says_may_be_undone_prints_its_warning(monkeypatch, capsys):
    """Made in a partition without a majority, a change stands until the others see this node
    again, unless they changed the configuration meanwhile: the crmd says so, the tool passes
    it on (crmd/machine.py, "Configuration changes")."""
    crmd = FakeCrmd(monkeypatch, GROUP_CIB.read_text())
    warning = "this partition does not hold a majority of the cluster's nodes: ..."
    monkeypatch.setattr(crmclient, "update_cib", lambda *a, **k: {"version": [0, 2, 0], "warning": warning})
    assert run("crm_resource", ["-B", "-r", "web", "-N", "node1"])[0] == 0
    assert capsys.readouterr().err == f"warning: {warning}\n"
    assert crmd.calls == []


# ------------------------------------------------------------------------------------------------
# crm_attribute, crm_standby

def test_where_an_attribute_lives():
    parse = crm_attribute.parse_args
    assert crm_attribute.section_of(parse(["-n", "x"])) == "crm_config"
    assert crm_attribute.section_of(parse(["-N", "n1", "-n", "x"])) == "nodes"
    assert crm_attribute.section_of(parse(["-N", "n1", "-n", "x", "-l", "reboot"])) == "status"
    assert crm_attribute.section_of(parse(["-n", "x", "-l", "forever"])) == "nodes"
    assert crm_attribute.section_of(parse(["-n", "x", "--type", "status"])) == "status"
    assert crm_attribute.section_of(parse(["-n", "x", "-t", "rsc_defaults"])) == "rsc_defaults"
    with pytest.raises(crmtool.UsageError):
        crm_attribute.section_of(parse(["-n", "x", "-t", "tickets"]))
    assert parse(["-n", "x"]).command == "query"
    assert parse(["-n", "x", "-v", "1", "-G"]).command == "query"
    assert parse(["-n", "x", "-G", "-v1"]).command == "update"
    assert parse(["-n", "x", "--update=1", "-D"]).command == "delete"


def test_attribute_texts_and_xml():
    assert crm_attribute.attribute_line("nodes", None, "foo", "bar") == "scope=nodes  name=foo value=bar"
    assert crm_attribute.attribute_line("status", "x1", "foo", None) == "scope=status id=x1 name=foo value=(null)"
    assert to_xml(crm_attribute.creation_xml("crm_config", None, None, "batch-limit", "7", None, None),
                  indent=None) == ('<crm_config><cluster_property_set id="cib-bootstrap-options"><nvpair '
                                   'id="cib-bootstrap-options-batch-limit" name="batch-limit" value="7"/>'
                                   '</cluster_property_set></crm_config>\n')
    assert to_xml(crm_attribute.creation_xml("nodes", "1", "node1", "a:b#c", "v", None, None), indent=None) == (
        '<nodes><node id="1" uname="node1"><instance_attributes id="nodes-1"><nvpair id="nodes-1-a.b.c" '
        'name="a:b#c" value="v"/></instance_attributes></node></nodes>\n')
    assert to_xml(crm_attribute.creation_xml("status", "1", "node1", "x", "v", "myid", "myset"), indent=None) == (
        '<status><node_state id="1"><transient_attributes id="1"><instance_attributes id="myset"><nvpair '
        'id="myid" name="x" value="v"/></instance_attributes></transient_attributes></node_state></status>\n')
    assert to_xml(crm_attribute.creation_xml("rsc_defaults", None, None, "resource-stickiness", "1", None, None),
                  indent=None).startswith('<rsc_defaults><meta_attributes id="rsc_defaults-options">')


def test_node_attributes_in_a_file(tmp_path):
    cib = copy(tmp_path, ATTR_CIB)
    assert run("crm_attribute", ["-N", "node1", "-n", "rack", "-G"], cib) == (0, "scope=nodes  name=rack value=r1\n", "")
    assert run("crm_attribute", ["-N", "node1", "-n", "rack", "-v", "r2"], cib) == (0, "", "")
    assert '<nvpair id="node1-rack" name="rack" value="r2"/>' in cib.read_text()  # changed where it is
    assert run("crm_attribute", ["-N", "node2", "-n", "rack", "-v", "r3"], cib) == (0, "", "")
    assert run("crm_attribute", ["-N", "node2", "-n", "rack", "-G", "-q"], cib) == (0, "r3\n", "")
    assert '<instance_attributes id="nodes-2">' in cib.read_text()
    assert run("crm_attribute", ["-N", "node2", "-n", "rack", "-D"], cib) == (
        0, "Deleted nodes attribute: id=nodes-2-rack name=rack\n", "")
    assert run("crm_attribute", ["-N", "node2", "-n", "rack", "-D"], cib) == (0, "", "")
    assert run("crm_attribute", ["-N", "node2", "-n", "rack", "-G"], cib) == (
        105, "", "crm_attribute: Error performing operation: No such device or address\n")
    assert run("crm_attribute", ["-N", "node2", "-n", "rack", "-G", "-d", "none"], cib) == (
        0, "scope=nodes  name=rack value=none\n", "")
    assert run("crm_attribute", ["-N", "node1", "-n", "pingd", "-l", "reboot", "-G"], cib) == (
        0, "scope=status  name=pingd value=100\n", "")
    assert run("crm_attribute", ["-N", "node1", "-n", "pingd", "-l", "reboot", "-D"], cib) == (
        0, "Deleted status attribute: id=status-1-pingd name=pingd\n", "")
    assert run("crm_attribute", ["-N", "node9", "-n", "x", "-v", "1"], cib) == (
        105, "", "crm_attribute: Could not map name=node9 to a UUID\n")
    assert run("crm_attribute", ["-N", "node1", "-D"], cib) == (
        64, "", "crm_attribute: Error: must specify attribute name or pattern to delete\n")
    # without -N: this node (--node-name) for -l, a cluster option otherwise
    assert run("crm_attribute", ["-n", "x", "-l", "reboot", "-v", "1"], cib, node="node2")[0] == 0
    assert run("crm_attribute", ["-N", "node2", "-n", "x", "-l", "reboot", "-G", "-q"], cib)[1] == "1\n"


def test_cluster_options_in_a_file(tmp_path):
    cib = copy(tmp_path, ATTR_CIB)
    assert run("crm_attribute", ["--type", "crm_config", "-n", "batch-limit", "-v", "7"], cib) == (0, "", "")
    assert run("crm_attribute", ["-n", "batch-limit", "-G"], cib) == (0, "scope=crm_config  name=batch-limit value=7\n", "")
    assert '<cluster_property_set id="cib-bootstrap-options">' in cib.read_text()
    code, out, err = run("crm_attribute", ["-n", "stonith-enabled", "-v", "true"], cib)
    assert (code, out, err) == (109, "Multiple attributes match name=stonith-enabled\n"
                                     "  Value: false \t(id=opt-stonith)\n  Value: false \t(id=more-stonith)\n",
                                "crm_attribute: Please choose from one of the matches below and supply "
                                "the 'id' with --attr-id\n")
    assert run("crm_attribute", ["-n", "stonith-enabled", "-i", "more-stonith", "-v", "true"], cib)[0] == 0
    assert run("crm_attribute", ["-n", "stonith-enabled", "-G", "-q"], cib) == (0, "false\ntrue\n", "")
    assert run("crm_attribute", ["-n", "batch-limit", "-D"], cib) == (
        0, "Deleted crm_config option: id=cib-bootstrap-options-batch-limit name=batch-limit\n", "")


def test_transient_attributes_go_to_the_crmd_as_node_attributes(monkeypatch):
    crmd = FakeCrmd(monkeypatch, ATTR_CIB)
    assert run("crm_attribute", ["-N", "node1", "-n", "x", "-l", "reboot", "-v", "1"]) == (0, "", "")
    assert run("crm_attribute", ["-N", "node1", "-n", "x", "-l", "reboot", "-D"]) == (0, "", "")
    assert run("crm_attribute", ["-N", "node1", "-n", "rack", "-v", "r2"]) == (0, "", "")
    assert crmd.calls == [
        ("node_attr", "node1", "x", "1", "reboot"),
        ("node_attr", "node1", "x", None, "reboot"),
        ("update_cib", "modify", '<nvpair id="node1-rack" name="rack" value="r2"/>\n', "nodes",
         "crm_attribute")]


def test_crm_standby(tmp_path):
    cib = copy(tmp_path, ATTR_CIB)
    assert run("crm_standby", ["-N", "node1", "-G"], cib) == (0, "scope=status  name=standby value=off\n", "")
    assert run("crm_standby", ["-v", "on"], cib) == (0, "", "")   # this node (node1), forever
    assert run("crm_standby", ["-N", "node1"], cib) == (0, "scope=nodes  name=standby value=on\n", "")
    assert run("crm_standby", ["-N", "node1", "-v", "on", "-l", "reboot"], cib) == (0, "", "")
    assert run("crm_standby", ["-N", "node1", "-D"], cib) == (
        0, "Deleted nodes attribute: id=nodes-1-standby name=standby\n"
           "Deleted status attribute: id=status-1-standby name=standby\n", "")
    assert run("crm_standby", ["-N", "node1", "-G", "-q"], cib) == (0, "off\n", "")
    code, out, err = run("crm_standby", ["--bogus"], cib)
    assert code == 1 and err == "crm_standby: unrecognized arguments: --bogus\n"
    assert out.startswith("\nUsage: crm_standby <command> [options]\n")


# ------------------------------------------------------------------------------------------------
# hb_standby, hb_takeover

def test_hb_standby_words(monkeypatch):
    crmd = FakeCrmd(monkeypatch, ATTR_CIB)
    assert run("hb_standby", []) == (0, "Going standby [all].\n", "")
    assert run("hb_standby", ["failback"]) == (0, "Going standby [foreign].\n", "")
    assert run("hb_takeover", ["local"]) == (0, "Taking over [local].\n", "")
    assert [c[:3] for c in crmd.calls] == [("standby", "all", False), ("standby", "foreign", False),
                                          ("standby", "local", True)]
    code, out, err = run("hb_takeover", ["everything"])
    assert (code, out) == (1, "") and err.startswith("usage:\nhb_takeover [all|foreign|local|failback]\n")
    assert run("hb_standby", ["all", "local"])[0] == 1


def test_hb_standby_refusals_and_absence(monkeypatch, tmp_path):
    code, _, err = run("hb_standby", ["--rundir", str(tmp_path)])
    assert code == 102 and err.startswith("hb_standby: Heartbeat is not running on node1")

    def refuse(paths, which, takeover, node="", timeout_ms=0):
        raise crmclient.CrmError("'local' has a meaning only with haresources (crm off); use all")
    monkeypatch.setattr(crmclient, "standby", refuse)
    assert run("hb_standby", ["local"]) == (
        1, "", "hb_standby: 'local' has a meaning only with haresources (crm off); use all\n")


# ------------------------------------------------------------------------------------------------
# the same CIB files through Pacemaker's own tools (Debian's pacemaker-cli-utils)

REAL = shutil.which("crm_resource") and shutil.which("crm_attribute") and shutil.which("cibadmin")


@pytest.fixture
def pacemaker_tools() -> None:
    """Pacemaker's tools are there (Debian's pacemaker-cli-utils); under CI their absence fails."""
    if not REAL:
        why = "needs Pacemaker's crm_resource, crm_attribute, cibadmin (apt-get install pacemaker-cli-utils)"
        missing(why)


def real(tool: str, argv: list[str], cib: pathlib.Path) -> tuple[int, str, str]:
    env = dict(os.environ, CIB_file=str(cib), TZ="UTC")
    done = subprocess.run([tool, *argv], capture_output=True, text=True, timeout=30, env=env)
    return done.returncode, done.stdout, done.stderr


def attribute_sets(cib: pathlib.Path) -> list[str]:
    root = parse_xml(cib.read_text())
    return sorted(to_xml(s, indent=None) for s in root.iter()
                  if s.tag in ("instance_attributes", "cluster_property_set", "meta_attributes"))


@pytest.mark.compat
@pytest.mark.usefixtures("pacemaker_tools")
@pytest.mark.parametrize("steps", [
    ["-M -r web", "-M -r web -N node1", "-M -r web -N node3", "-U -r web -N node1", "-U -r web"],
    ["-B -r web -N node1", "-B -r web -N node3 -u PT1H", "-U -r web -N node3", "-W -r web", "-U -r web"],
    ["-M -r app -N node3 --force", "-L", "-U -r app", "-M -r base-clone", "-W -r base"],
])
def test_crm_resource_as_pacemakers(tmp_path, steps):
    ours, theirs = copy(tmp_path, GROUP_CIB, "ours.xml"), copy(tmp_path, GROUP_CIB, "theirs.xml")
    for step in steps:
        argv = step.split()
        mine, pacemaker = run("crm_resource", argv, ours), real("crm_resource", argv, theirs)
        strip = lambda text: "\n".join(l for l in text.splitlines() if not l.startswith("Migration"))  # noqa: E731,E741
        assert (mine[0], strip(mine[1]), mine[2]) == (pacemaker[0], strip(pacemaker[1]), pacemaker[2]), step
        clean = lambda f: [c.split(' end="')[0] for c in cli_constraints(f)]  # noqa: E731
        assert clean(ours) == clean(theirs), step


@pytest.mark.compat
@pytest.mark.usefixtures("pacemaker_tools")
def test_crm_attribute_as_pacemakers(tmp_path):
    ours, theirs = copy(tmp_path, ATTR_CIB, "ours.xml"), copy(tmp_path, ATTR_CIB, "theirs.xml")
    steps = ["-N node1 -n rack -G", "-N node1 -n rack -v r2", "-N node2 -n x -v 1", "-N node2 -n x -G",
             "-N node2 -n x -D", "-N node2 -n x -G", "-N node9 -n x -v 1", "-N node1 -n pingd -l reboot -v 5",
             "-N node1 -n pingd -l reboot -G -q", "-N node1 -n pingd -l reboot -D",
             "--type crm_config -n batch-limit -v 30", "-n batch-limit -G", "-n batch-limit -D",
             "-n stonith-enabled -G", "-n nosuch -G -d dflt", "-N node1 -n a:b#c -v 1"]
    for step in steps:
        argv = step.split()
        assert run("crm_attribute", argv, ours) == real("crm_attribute", argv, theirs), step
        assert attribute_sets(ours) == attribute_sets(theirs), step


@pytest.mark.compat
@pytest.mark.usefixtures("pacemaker_tools")
@pytest.mark.parametrize("argv", [["-Q"], ["-Q", "-o", "resources"], ["-Q", "-o", "status"],
                                  ["-Q", "-o", "rsc_defaults"], ["-Q", "-n", "-o", "crm_config"]])
def test_cibadmin_query_as_pacemakers(argv):
    mine, pacemaker = run("cibadmin", argv, GROUP_CIB), real("cibadmin", argv, GROUP_CIB)
    assert (mine[0], mine[1]) == (pacemaker[0], pacemaker[1])


# ------------------------------------------------------------------------------------------------
# odds and ends

def test_a_cib_file_that_is_not_there(tmp_path):
    missing = tmp_path / "nosuch.xml"
    code, out, err = run("crm_resource", ["-L"], missing)
    assert (code, out) == (105, "")
    assert err == (f"crm_resource: Could not connect to the CIB: {missing}: No such file or directory\n"
                   "Error performing operation: No such object\n")
    assert run("crm_attribute", ["-n", "x", "-G"], missing)[0] == 105


def test_every_tool_is_an_hb_command_and_a_console_script():
    import importlib
    import tomllib
    from core.cli import COMMANDS
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name in ("cibadmin", "crm_resource", "crm_attribute", "crm_standby", "hb_standby", "hb_takeover"):
        module, function, _ = COMMANDS[name]
        assert callable(getattr(importlib.import_module(module), function))
        target_module, target = scripts[name].split(":")
        assert target_module == module and callable(getattr(importlib.import_module(module), target))
