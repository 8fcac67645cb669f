"""`stonith` (tools/stonith.py) against cluster-glue's own `stonith` on the same plugins, a real
fence agent (fence-agents' fence_dummy) switched off and on, and an external plugin of our own
that records how it was called."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

import ciaware

REAL = shutil.which("stonith", path="/usr/sbin:/sbin") if os.path.exists("/usr/sbin/stonith") else None
SSH = "/usr/lib/stonith/plugins/external/ssh"
DUMMY = shutil.which("fence_dummy", path="/usr/sbin:/sbin")


def need(what: bool, why: str) -> None:
    ciaware.need(what, f"{why} (CI installs it: .ci/run)")


def ours(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.stonith", *args], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, **(env or {})))


def theirs(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([REAL, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args", [
    ["-t", "external/ssh", "-n"],
    ["-t", "external/ipmi", "-n"],
    ["-t", "external/ssh", "-p", "node1 node2", "-l"],
    ["-t", "external/ssh", "hostlist=a b c", "-l"],
    ["-t", "external/ssh", "hostlist=a", "-T", "reset", "b"],  # not a host of the device: fails, 5
    ["-t", "external/ssh", "hostlist=a", "-T", "on", "a"],  # ssh cannot power on: fails, 5
    ["-t", "external/ssh", "-l"],  # no parameters: 1
    ["-t", "nosuchtype", "-l"],  # 8
], ids=lambda a: " ".join(a))
def test_same_output_and_exit_status_as_cluster_glue(args):
    need(REAL is not None and os.path.exists(SSH), "needs cluster-glue's stonith and its external/ssh plugin")
    # the same plugins as cluster-glue's tool (ours ships its own external/ssh, found first otherwise)
    mine, real = ours(args, {"PYHB_STONITH_EXTERNAL_DIRS": os.path.dirname(SSH)}), theirs(args)
    assert (mine.returncode, mine.stdout) == (real.returncode, real.stdout), (mine, real)


def test_every_external_type_cluster_glue_lists_is_listed():
    need(REAL is not None, "needs cluster-glue's stonith")
    real = {t for t in theirs(["-L"]).stdout.split() if t.startswith("external/")}
    mine = ours(["-L"])
    assert mine.returncode == 0 and real and real <= set(mine.stdout.split())


def test_a_fence_agent_switches_a_node_off_and_on(tmp_path):
    need(DUMMY is not None, "needs fence-agents' fence_dummy")
    state = tmp_path / "power"
    params = [f"status_file={state}"]
    assert "status_file" in ours(["-t", "fence_dummy", "-n"]).stdout.split()
    state.write_text("on")
    done = ours(["-t", "fence_dummy", *params, "-T", "off", "node1"])
    assert done.returncode == 0, done.stderr
    assert state.read_text().strip() == "off"
    done = ours(["-v", "-t", "fence_dummy", *params, "-T", "on", "node1"])
    assert done.returncode == 0 and "on of node1 done" in done.stdout
    assert state.read_text().strip() == "on"
    failed = ours(["-t", "fence_dummy", "type=fail", "power_timeout=1", *params, "-T", "reset", "node1"])
    assert failed.returncode == 5 and "reset of node1 failed" in failed.stderr


PLUGIN = """#!/bin/sh
echo "$* hostlist=$hostlist pcmk=${pcmk_host_list-unset}" >> "$LOG"
case $1 in
  getconfignames) echo hostlist ;;
  gethosts) for h in $hostlist; do echo "$h"; done ;;
  status) [ -n "$hostlist" ] ;;
  reset|off|on) case " $hostlist " in *" $2 "*) exit 0 ;; *) exit 1 ;; esac ;;
  getinfo-xml) echo "<resource-agent name='external/rec'/>" ;;
  *) exit 1 ;;
esac
"""


def test_an_external_plugin_of_ones_own(tmp_path):
    plugin = tmp_path / "rec"
    plugin.write_text(PLUGIN)
    plugin.chmod(0o755)
    log = tmp_path / "calls"
    env = {"PYHB_STONITH_EXTERNAL_DIRS": str(tmp_path), "PYHB_FENCE_AGENT_DIRS": str(tmp_path / "none"),
           "LOG": str(log)}
    assert ours(["-L"], env).stdout.split() == ["external/rec"]
    done = ours(["-t", "external/rec", "-p", "n1 n2", "pcmk_host_list=x", "-S", "-l", "-T", "reset", "n2"], env)
    assert done.returncode == 1, "-p and name=value together are refused"
    done = ours(["-t", "external/rec", "-p", "n1 n2", "-S", "-l", "-T", "reset", "n2"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["n1", "n2"]
    assert log.read_text().splitlines() == [
        "getconfignames hostlist= pcmk=unset",
        "status hostlist=n1 n2 pcmk=unset",
        "gethosts hostlist=n1 n2 pcmk=unset",
        "reset n2 hostlist=n1 n2 pcmk=unset"]
    assert ours(["-t", "external/rec", "hostlist=n1", "-T", "off", "n9"], env).returncode == 5
    plugin.chmod(0o777)
    refused = ours(["-t", "external/rec", "hostlist=n1", "-T", "off", "n1"], env)
    assert refused.returncode == 1 and "writable by group or others" in refused.stderr


def test_our_external_ssh_answers_the_plugin_interface():
    """Our shipped external/ssh as cluster-glue's tool calls it: names, hosts, info, refusals."""
    need(REAL is not None, "needs cluster-glue's stonith")
    env = {"PYHB_STONITH_EXTERNAL_DIRS": os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "stonithd", "external")}
    assert ours(["-t", "external/ssh", "-n"], env).stdout.split() == ["hostlist", "ssh_options", "down_wait"]
    assert ours(["-t", "external/ssh", "hostlist=a,b c", "-l"], env).stdout.split() == ["a", "b", "c"]
    assert ours(["-t", "external/ssh", "hostlist=a", "-T", "on", "a"], env).returncode == 5
    assert ours(["-t", "external/ssh", "hostlist=a", "-T", "reset", "b"], env).returncode == 5
    assert "<parameters>" in ours(["-t", "external/ssh", "-m"], env).stdout


def test_the_lrmd_stonith_class_starts_monitors_and_stops_a_fence_agent(tmp_path, monkeypatch, capsys):
    """agents.stonithdevice (the lrmd's class `stonith`) with fence-agents' fence_dummy: start and
    monitor run the agent's monitor; a device that does not answer fails the start."""
    need(DUMMY is not None, "needs fence-agents' fence_dummy")
    from agents import stonithdevice

    state = tmp_path / "power"
    state.write_text("on")
    env = {"PYHB_STONITH_TYPE": "fence_dummy", "HA_RSCTMP": str(tmp_path), "OCF_RESOURCE_INSTANCE": "fence1",
           "OCF_RESKEY_status_file": str(state), "OCF_RESKEY_pcmk_host_list": "n1",
           "OCF_RESKEY_CRM_meta_timeout": "20000", "PYHB_FENCE_AGENT_DIRS": os.path.dirname(DUMMY)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert stonithdevice.main(["monitor"]) == 7  # a probe: not started here
    assert stonithdevice.main(["start"]) == 0
    assert stonithdevice.main(["monitor"]) == 0
    assert stonithdevice.main(["stop"]) == 0
    assert stonithdevice.main(["monitor"]) == 7
    monkeypatch.setenv("PYHB_STONITH_TYPE", "fence_nosuchagent")
    assert stonithdevice.main(["start"]) == 1
    assert "ocf-exit-reason:fence device fence_nosuchagent does not answer" in capsys.readouterr().err
