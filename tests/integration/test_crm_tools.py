"""The CRM tools against real clusters on loopback (no root): a two-node `crm yes` cluster with two
ocf:pyheartbeat:Dummy resources for cibadmin, crm_resource, crm_attribute and crm_standby, and a
one-node `crm off` cluster with a haresources group of a heartbeat-class script for hb_standby and
hb_takeover. Every tool runs as its console script (a subprocess, as an integrator runs it);
what the cluster did is read back through the tools and the crmd, polling with a deadline.
Each cluster is stopped through its launcher's PID in `finally`, and nothing of it is left."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import pytest

from core.cib.xmltree import parse_xml, to_xml
from agents.install import install as install_agents
from core.daemon import pid_alive, read_pidfile
from nodes import TestNode
from tools import crm_resource, crmclient


PORT = 19300 + (os.getpid() % 300) * 2
BIN = Path(sys.executable).parent
WAIT_S = 30.0
DAEMONS = ("messaging", "ccm", "lrmd", "pengine", "tengine", "crmd")

CIB = """\
<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.7">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources>
      <primitive id="d1" class="ocf" provider="pyheartbeat" type="Dummy">
        <operations><op id="d1-monitor" name="monitor" interval="2s"/></operations>
      </primitive>
      <primitive id="d2" class="ocf" provider="pyheartbeat" type="Dummy"/>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"""

SCRIPT = """\
#!/bin/sh
# a Heartbeat resource script: file {markers}/{node}-$1 exists while it runs on {node}
marker="{markers}/{node}-$1"
case "$2" in
  start) touch "$marker" ;;
  stop) rm -f "$marker" ;;
  status) if [ -e "$marker" ]; then echo running; else echo stopped; fi ;;
esac
exit 0
"""


# ------------------------------------------------------------------------------------------------
# clusters

def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S,
               show: Optional[Callable[[], str]] = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    if not condition():
        pytest.fail(f"timed out ({timeout_s:g} s) waiting until {what}"
                    + (f"\n{show()}" if show is not None else ""))


def path_args(node: TestNode) -> list[str]:
    return ["--confdir", f"{node.root}/etc", "--rundir", f"{node.root}/run",
            "--statedir", f"{node.root}/state", "--node-name", node.name]


def tool(node: TestNode, name: str, *args: str, stdin: Optional[str] = None,
         env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess:
    """A tool as its console script, addressing `node` through PYHB_* like any CLI."""
    script = BIN / name
    argv = [str(script)] if script.exists() else [sys.executable, "-m", _module(name)]
    environment = dict(os.environ, **node.paths.environ(), **(env or {}))
    environment.pop("CIB_file", None)
    return subprocess.run([*argv, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, env=environment)


def _module(name: str) -> str:
    return {"crm_standby": "tools.crm_attribute", "hb_takeover": "tools.hb_standby"}.get(
        name, f"tools.{name}")


def located(node: TestNode, rsc: str) -> list[str]:
    """The nodes rsc runs on, as `crm_resource -Q -W` says (in-process: this is polled)."""
    out, err = io.StringIO(), io.StringIO()
    code = crm_resource.run(["-Q", "--locate", "-r", rsc, *path_args(node)], out, err, {})
    return out.getvalue().split() if code == 0 else ["?"]


def crm_status(node: TestNode) -> dict:
    try:
        return crmclient.status(node.paths, timeout_ms=1000)
    except (crmclient.CrmUnavailable, crmclient.CrmError):
        return {}


def idle(nodes: list[TestNode]) -> bool:
    """Every node joined to one DC with quorum, the DC idle (no transition running)."""
    states = [crm_status(n) for n in nodes]
    if not all(s.get("joined") and s.get("quorum") for s in states):
        return False
    dcs = {s.get("dc") for s in states}
    if len(dcs) != 1:
        return False
    dc = next((s for s in states if s.get("role") == "dc"), {})
    return dc.get("state") == "idle" and sorted(dc.get("members", [])) == sorted(n.name for n in nodes)


def logs(nodes: list[TestNode]) -> str:
    text = []
    for node in nodes:
        tail = node.log_text().splitlines()[-25:]
        text.append(f"--- {node.name} ha-log (tail)\n" + "\n".join(tail))
    return "\n".join(text)


def start(node: TestNode, ocf_root: str) -> subprocess.Popen:
    err = open(f"{node.root}/log/launcher.err", "a")
    try:
        return subprocess.Popen([sys.executable, "-m", "core.launcher", *path_args(node)],
                                stdout=err, stderr=err, env=dict(os.environ, PYHB_OCF_ROOTS=ocf_root))
    finally:
        err.close()


def stop(procs: list[subprocess.Popen], nodes: list[TestNode]) -> None:
    """SIGTERM to each launcher we started (they stop their stacks), then check that no daemon
    of ours is left; SIGKILL only what did not stop in time."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    for node in nodes:
        for daemon in DAEMONS:
            pid = read_pidfile(node.paths.pidfile(daemon))
            if pid and pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
                pytest.fail(f"{daemon} of {node.name} (pid {pid}) outlived its launcher")


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    """Two nodes, `crm yes`, d1 and d2 started."""
    base = tmp_path_factory.mktemp("crmtools")
    ocf_root = str(base / "ocf")
    install_agents(ocf_root)  # our own Dummy: the test needs no package
    addresses = {"node1": "127.0.0.70", "node2": "127.0.0.71"}
    nodes = [TestNode(name, str(base / name)) for name in addresses]
    for node in nodes:
        peers = [a for n, a in addresses.items() if n != node.name]
        node.write_config(list(addresses), [f"udpport {PORT}", f"bind_address {addresses[node.name]}",
                                            *[f"ucast lo {p}" for p in peers]], extra="crm yes\n")
        Path(node.paths.state_file("cib.xml")).write_text(CIB)
    procs: list[subprocess.Popen] = []
    try:
        procs = [start(node, ocf_root) for node in nodes]
        wait_until(lambda: idle(nodes) and all(len(located(nodes[0], r)) == 1 for r in ("d1", "d2")),
                   "both nodes joined and d1, d2 started", show=lambda: logs(nodes))
        yield nodes
    finally:
        stop(procs, nodes)


def settled(nodes: list[TestNode]) -> Callable[[], bool]:
    return lambda: idle(nodes)


def version(node: TestNode) -> list[int]:
    return list(crmclient.query_cib(node.paths, "crm_config")["version"])


# ------------------------------------------------------------------------------------------------
# cibadmin

def test_cibadmin_query_round_trip(crm, tmp_path):
    node1 = crm[0]
    query = tool(node1, "cibadmin", "--query")
    assert query.returncode == 0 and query.stderr == ""
    root = parse_xml(query.stdout)
    assert root.tag == "cib" and [c.tag for c in root.children] == ["configuration", "status"]
    saved = tmp_path / "cib.xml"
    saved.write_text(query.stdout)
    replace = tool(node1, "cibadmin", "--replace", "--xml-file", str(saved))
    assert (replace.returncode, replace.stdout, replace.stderr) == (0, "", "")
    again = parse_xml(tool(node1, "cibadmin", "-Q", "-o", "configuration").stdout)
    assert to_xml(again) == to_xml(root.find("configuration"))
    section = tool(node1, "cibadmin", "-Q", "-o", "resources", "--local")
    assert section.returncode == 0 and section.stdout.startswith("<resources>\n  <primitive id=\"d1\"")
    assert tool(node1, "cibadmin", "-Q", "-o", "rsc_defaults").returncode == 105
    assert tool(node1, "cibadmin", "-Q", "-o", "bogus").returncode == 105


def test_simulate_live_check_schedules_the_running_clusters_cib(crm):
    """`hb simulate -L -s` (crm_simulate -Ls, the operator's "what would the cluster do now
    and why"): the local crmd's CIB, the resources where they run, their allocation scores,
    and a settled cluster's empty Transition Summary; -L with no cluster says so (exit 102)."""
    node1 = crm[0]
    wait_until(settled(crm), "the cluster settled")
    out = tool(node1, "simulate", "-L", "-s")
    assert (out.returncode, out.stderr) == (0, ""), out.stderr
    for rsc in ("d1", "d2"):
        where = located(node1, rsc)
        assert f"* {rsc}\t(ocf:pyheartbeat:Dummy):\t Started {where[0]}" in out.stdout, out.stdout
        assert f"pcmk__primitive_assign: {rsc} allocation score on node1: " in out.stdout
    assert out.stdout.rstrip().endswith("Transition Summary:"), out.stdout
    nowhere = str(Path(node1.paths.rundir) / "none")
    environment = dict(os.environ, **dict(node1.paths.environ(), PYHB_RUNDIR=nowhere))
    gone = subprocess.run([sys.executable, "-m", "tools.simulate", "-L"], capture_output=True,
                          text=True, timeout=60, env=environment)
    assert gone.returncode == 102 and "crmd is not running" in gone.stderr, gone.stderr


def test_cibadmin_create_modify_delete_a_primitive(crm):
    node1, node2 = crm
    create = tool(node1, "cibadmin", "-C", "-o", "resources", "-X",
                  '<primitive id="d3" class="ocf" provider="pyheartbeat" type="Dummy"/>')
    assert (create.returncode, create.stdout, create.stderr) == (0, "", "")
    wait_until(lambda: len(located(node2, "d3")) == 1, "d3 started", show=lambda: logs(crm))
    again = tool(node2, "cibadmin", "-C", "-o", "resources", "-X",
                 '<primitive id="d3" class="ocf" provider="pyheartbeat" type="Dummy"/>')
    assert again.returncode == 108 and again.stderr.startswith("Call failed: File exists\n")

    stop_it = tool(node2, "cibadmin", "-M", "-X",
                   '<primitive id="d3"><meta_attributes id="d3-meta">'
                   '<nvpair id="d3-target-role" name="target-role" value="Stopped"/>'
                   '</meta_attributes></primitive>')
    assert stop_it.returncode == 0, stop_it.stderr
    wait_until(lambda: located(node1, "d3") == [], "d3 stopped by its target-role")
    meta = tool(node1, "cibadmin", "-Q", "-o", "resources").stdout
    assert '<nvpair id="d3-target-role" name="target-role" value="Stopped"/>' in meta
    start_it = tool(node1, "cibadmin", "-M", "-X",
                    '<nvpair id="d3-target-role" name="target-role" value="Started"/>')
    assert start_it.returncode == 0, start_it.stderr
    wait_until(lambda: len(located(node1, "d3")) == 1, "d3 started again")

    delete = tool(node1, "cibadmin", "-D", "-X", '<primitive id="d3"/>')
    assert (delete.returncode, delete.stderr) == (0, "")
    assert 'id="d3"' not in tool(node1, "cibadmin", "-Q", "-o", "resources").stdout
    active = lambda: crm_status(node1).get("active", []) + crm_status(node2).get("active", [])  # noqa: E731
    wait_until(lambda: "d3" not in active() and idle(crm), "d3 stopped once deleted",
               show=lambda: logs(crm))
    # deleting what is not there is fine (as in Pacemaker); modifying it is not
    assert tool(node1, "cibadmin", "-D", "-X", '<primitive id="d3"/>').returncode == 0
    missing = tool(node1, "cibadmin", "-M", "-X", '<primitive id="d3" description="x"/>')
    assert missing.returncode == 105 and "no <primitive id='d3'> to modify" in missing.stderr


def test_cibadmin_refuses_a_bad_cib_with_file_and_line(crm, tmp_path):
    node1 = crm[0]
    text = tool(node1, "cibadmin", "-Q").stdout
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "</resources>")
    lines.insert(at, '    <primitive id="broken" class="ocf" type="Dummy"/>')
    bad = tmp_path / "bad.xml"
    bad.write_text("\n".join(lines) + "\n")
    before = version(node1)
    refused = tool(node1, "cibadmin", "--replace", "--xml-file", str(bad))
    assert refused.returncode == 78
    assert refused.stderr.splitlines() == [
        "Call failed: Update does not conform to the configured schema",
        f'{bad}:{at + 1}: error: <primitive id="broken">: ocf primitive without provider']
    assert version(node1) == before
    assert 'id="broken"' not in tool(node1, "cibadmin", "-Q", "-o", "resources").stdout

    malformed = tmp_path / "malformed.xml"
    malformed.write_text("<cib>\n  <configuration>\n</cib>\n")
    result = tool(node1, "cibadmin", "-R", "-x", str(malformed))
    assert result.returncode == 78
    assert result.stderr.startswith(f"cibadmin: {malformed}:3: malformed XML: mismatched tag")
    assert version(node1) == before

    older = tmp_path / "older.xml"
    older.write_text(re.sub(r' epoch="\d+"', ' epoch="0"', text, count=1))
    result = tool(node1, "cibadmin", "-R", "-x", str(older))
    assert result.returncode == 103 and \
        result.stderr.startswith("Call failed: Update was older than existing configuration")
    assert version(node1) == before


# ------------------------------------------------------------------------------------------------
# crm_resource

def test_crm_resource_list_locate_move_ban_clear(crm):
    node1, node2 = crm
    listing = tool(node1, "crm_resource", "--list")
    assert listing.returncode == 0
    assert listing.stdout == ("Full List of Resources:\n"
                              "  * d1\t(ocf:pyheartbeat:Dummy):\t Started\n"
                              "  * d2\t(ocf:pyheartbeat:Dummy):\t Started\n")
    [home] = located(node1, "d1")
    other = "node2" if home == "node1" else "node1"
    locate = tool(node2, "crm_resource", "--locate", "--resource", "d1")
    assert (locate.returncode, locate.stdout) == (0, f"resource d1 is running on: {home}\n")

    # --move without a node bans d1 from where it runs
    moved = tool(node1, "crm_resource", "--move", "-r", "d1")
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.startswith(f"WARNING: Creating rsc_location constraint 'cli-ban-d1-on-{home}' "
                                   f"with a score of -INFINITY for resource d1 on {home}.\n")
    wait_until(lambda: located(node1, "d1") == [other], f"d1 moved to {other}", show=lambda: logs(crm))
    constraints = tool(node1, "cibadmin", "-Q", "-o", "constraints").stdout
    assert (f'<rsc_location id="cli-ban-d1-on-{home}" rsc="d1" role="Started" node="{home}" '
            f'score="-INFINITY"/>') in constraints

    # --move to a node: preferred there (the ban on it is cleared first)
    back = tool(node2, "crm_resource", "-M", "-r", "d1", "-N", home)
    assert (back.returncode, back.stdout, back.stderr) == (0, "", "")
    wait_until(lambda: located(node1, "d1") == [home], f"d1 back on {home}")
    constraints = tool(node1, "cibadmin", "-Q", "-o", "constraints").stdout
    assert "cli-ban-d1" not in constraints and f'id="cli-prefer-d1" rsc="d1" role="Started" node="{home}"' \
        in constraints
    already = tool(node1, "crm_resource", "-M", "-r", "d1", "-N", home)
    assert (already.returncode, already.stderr) == (
        108, "crm_resource: Error performing operation: Requested item already exists\n")

    # --ban elsewhere, then --clear removes both constraints and says so
    ban = tool(node1, "crm_resource", "--ban", "-r", "d1", "-N", other, "--lifetime", "PT1H")
    assert ban.returncode == 0 and ban.stdout.startswith("Migration will take effect until: ")
    cleared = tool(node1, "crm_resource", "--clear", "-r", "d1")
    assert (cleared.returncode, cleared.stdout) == (
        0, f"Removing constraint: cli-ban-d1-on-{other}\nRemoving constraint: cli-prefer-d1\n")
    assert "cli-" not in tool(node1, "cibadmin", "-Q", "-o", "constraints").stdout
    assert located(node1, "d1") == [home]

    unknown = tool(node1, "crm_resource", "-W", "-r", "nosuch")
    assert (unknown.returncode, unknown.stderr) == (
        105, "crm_resource: Resource 'nosuch' not found\nError performing operation: No such object\n")
    no_node = tool(node1, "crm_resource", "-B", "-r", "d1", "-N", "node9")
    assert no_node.returncode == 105 and "Node 'node9' not found" in no_node.stderr


def test_crm_resource_cleanup_forgets_and_reprobes(crm):
    node1, node2 = crm
    wait_until(settled(crm), "the cluster idle")
    [home] = located(node1, "d1")
    cleanup = tool(node2, "crm_resource", "--cleanup", "-r", "d1")
    assert cleanup.returncode == 0, cleanup.stderr
    assert cleanup.stdout == "Cleaned up d1 on node1\nCleaned up d1 on node2\n"
    wait_until(lambda: idle(crm) and located(node1, "d1") == [home], "d1 probed again, still there")
    everything = tool(node1, "crm_resource", "-C")
    assert (everything.returncode, everything.stdout) == (0, "Cleaned up all resources on all nodes\n")
    wait_until(lambda: idle(crm) and len(located(node1, "d2")) == 1, "d2 probed again")


# ------------------------------------------------------------------------------------------------
# crm_attribute, crm_standby

def test_standby_empties_and_refills_a_node(crm):
    node1, node2 = crm
    on = tool(node1, "crm_attribute", "-N", "node2", "-n", "standby", "-v", "on")
    assert (on.returncode, on.stdout, on.stderr) == (0, "", "")
    wait_until(lambda: located(node1, "d1") == ["node1"] and located(node1, "d2") == ["node1"],
               "node2 emptied", show=lambda: logs(crm))
    query = tool(node2, "crm_attribute", "--node", "node2", "--name", "standby", "--query")
    assert (query.returncode, query.stdout) == (0, "scope=nodes  name=standby value=on\n")
    assert tool(node2, "crm_standby", "-N", "node2", "-G", "-q").stdout == "on\n"

    # node2 back, node1 in standby (through crm_standby): node2 gets everything
    assert tool(node1, "crm_attribute", "-N", "node2", "-n", "standby", "-v", "off").returncode == 0
    assert tool(node1, "crm_standby", "-v", "on").returncode == 0  # node1 is the local node
    wait_until(lambda: located(node1, "d1") == ["node2"] and located(node1, "d2") == ["node2"],
               "node2 refilled, node1 emptied", show=lambda: logs(crm))
    deleted = tool(node1, "crm_standby", "-D")
    assert deleted.returncode == 0
    assert deleted.stdout == "Deleted nodes attribute: id=nodes-node1-standby name=standby\n"
    assert tool(node1, "crm_standby", "-G").stdout == "scope=status  name=standby value=off\n"

    # a transient attribute and a cluster option
    assert tool(node1, "crm_attribute", "-N", "node1", "-n", "rack", "-l", "reboot", "-v", "r7").returncode == 0
    transient = tool(node2, "crm_attribute", "-N", "node1", "-n", "rack", "-l", "reboot", "-G")
    assert transient.stdout == "scope=status  name=rack value=r7\n"
    assert tool(node1, "crm_attribute", "-N", "node1", "-n", "rack", "-l", "reboot", "-D").returncode == 0
    gone = tool(node1, "crm_attribute", "-N", "node1", "-n", "rack", "-l", "reboot", "-G")
    assert (gone.returncode, gone.stderr) == (
        105, "crm_attribute: Error performing operation: No such device or address\n")
    option = tool(node1, "crm_attribute", "--type", "crm_config", "-n", "batch-limit", "-v", "7")
    assert option.returncode == 0
    assert tool(node2, "crm_attribute", "-n", "batch-limit", "-G", "-q").stdout == "7\n"
    assert '<nvpair id="cib-bootstrap-options-batch-limit" name="batch-limit" value="7"/>' in \
        tool(node1, "cibadmin", "-Q", "-o", "crm_config").stdout
    assert tool(node1, "crm_attribute", "-N", "node9", "-n", "x", "-v", "1").returncode == 105
    wait_until(settled(crm), "the cluster idle")


def test_hb_standby_in_crm_mode_takes_only_all(crm):
    node1 = crm[0]
    refused = tool(node1, "hb_standby", "foreign")
    assert refused.returncode == 1
    assert refused.stderr == "hb_standby: 'foreign' has a meaning only with haresources (crm off); use all\n"
    standby = tool(node1, "hb_standby")
    assert (standby.returncode, standby.stdout) == (0, "Going standby [all].\n")
    wait_until(lambda: located(node1, "d1") == ["node2"] and located(node1, "d2") == ["node2"],
               "node1 emptied by its standby", show=lambda: logs(crm))
    transient = ["-N", "node1", "-n", "standby", "-l", "reboot", "-G", "-q"]
    assert tool(node1, "crm_attribute", *transient).stdout == "on\n"
    takeover = tool(node1, "hb_takeover", "all")
    assert (takeover.returncode, takeover.stdout) == (0, "Taking over [all].\n")
    assert tool(node1, "crm_attribute", *transient).returncode == 105
    wait_until(settled(crm), "the cluster idle")


# ------------------------------------------------------------------------------------------------
# hb_standby, hb_takeover with haresources

def test_hb_standby_and_takeover_with_haresources(tmp_path):
    """Heartbeat's story: node1's group moves to node2 when node1 goes standby, and comes back
    when node1 takes over."""
    addresses = {"node1": "127.0.0.72", "node2": "127.0.0.73"}
    markers = tmp_path / "markers"
    markers.mkdir()
    nodes = [TestNode(name, str(tmp_path / name)) for name in addresses]
    for node in nodes:
        peers = [a for n, a in addresses.items() if n != node.name]
        node.write_config(list(addresses), [f"udpport {PORT + 1}", f"bind_address {addresses[node.name]}",
                                            *[f"ucast lo {p}" for p in peers]], extra="crm off\n")
        scripts = Path(node.root) / "etc" / "resource.d"
        scripts.mkdir()
        (scripts / "hbtest").write_text(SCRIPT.format(markers=markers, node=node.name))
        (scripts / "hbtest").chmod(0o755)
        (Path(node.root) / "etc" / "haresources").write_text("node1 hbtest::web\n")
    node1, node2 = nodes
    on1, on2 = markers / "node1-web", markers / "node2-web"
    procs: list[subprocess.Popen] = []
    try:
        procs = [start(node, str(tmp_path / "ocf")) for node in nodes]
        wait_until(lambda: on1.exists() and not on2.exists() and idle(nodes),
                   "node1's group started on node1", show=lambda: logs(nodes))
        standby = tool(node1, "hb_standby")
        assert (standby.returncode, standby.stdout, standby.stderr) == (0, "Going standby [all].\n", "")
        wait_until(lambda: on2.exists() and not on1.exists() and idle(nodes), "the group on node2",
                   show=lambda: logs(nodes))
        failback = tool(node1, "hb_standby", "failback")  # foreign: node1 holds nothing foreign
        assert (failback.returncode, failback.stdout) == (0, "Going standby [foreign].\n")
        takeover = tool(node1, "hb_takeover")
        assert (takeover.returncode, takeover.stdout, takeover.stderr) == (0, "Taking over [all].\n", "")
        wait_until(lambda: on1.exists() and not on2.exists() and idle(nodes), "the group back on node1",
                   show=lambda: logs(nodes))
        assert "Going standby [all]." in node1.log_text()
        bad = tool(node2, "hb_takeover", "everything")
        assert bad.returncode == 1 and bad.stderr.startswith("usage:\nhb_takeover [all|foreign|local|failback]")
    finally:
        stop(procs, nodes)
    assert not on1.exists() and not on2.exists()
    down = tool(node1, "hb_standby")
    assert down.returncode == 102 and "Heartbeat is not running on node1" in down.stderr
    assert tool(node1, "cibadmin", "-Q").returncode == 102
