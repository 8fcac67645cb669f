"""Debian's real agents and scripts run unchanged through our lrmd, with the same results as when
they are run directly: resource-agents' ocf:heartbeat:Dummy, IPaddr2 (in a namespace) and
Filesystem (ext4 on a loop device), an LSB init script built on start-stop-daemon, and
heartbeat's legacy /etc/ha.d/resource.d/IPaddr script (and ours)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

from agents.install import install
from core.ipc import next_request_id
from core.messages import lrm as api
from lrmd.testing import LrmdProcess, NetLab

HB = "/usr/lib/ocf/resource.d/heartbeat"
pytestmark = [pytest.mark.compat,
              pytest.mark.skipif(not os.path.exists(f"{HB}/Dummy"), reason="resource-agents not installed")]
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def direct(argv, instance, params, rsctmp, interval_ms=0, netns=None, extra=None):
    """Run an agent the way an administrator would, without any lrmd."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT": "/usr/lib/ocf", "HA_RSCTMP": rsctmp,
           "OCF_RESKEY_CRM_meta_interval": str(interval_ms), "OCF_RESKEY_CRM_meta_timeout": "20000"}
    env.update({f"OCF_RESKEY_{k}": v for k, v in params.items()})
    if instance is not None:
        env["OCF_RESOURCE_INSTANCE"] = instance
    env.update(extra or {})
    prefix = ["ip", "netns", "exec", netns] if netns else []
    return subprocess.run(prefix + argv, env=env, capture_output=True, text=True, timeout=60, cwd="/")


def sequence_via_lrmd(lrmd, rsc, ops, **kw):
    return [lrmd.run(rsc, op, **kw).rc for op in ops]


def sequence_direct(agent, instance, params, rsctmp, ops, **kw):
    return [direct([agent, op], instance, params, rsctmp, **kw).returncode for op in ops]


OPS = ["monitor", "start", "monitor", "start", "monitor", "stop", "monitor", "stop", "validate-all"]


@pytest.fixture
def lrmd(tmp_path):
    proc = LrmdProcess(str(tmp_path / "node"), ocf_roots=["/usr/lib/ocf"])
    try:
        yield proc.start()
    finally:
        proc.stop()


def test_debian_dummy_same_results_through_lrmd_and_directly(lrmd, tmp_path):
    lrmd.register("dl", "ocf", "Dummy", "heartbeat", {"fake": "x"})
    via = sequence_via_lrmd(lrmd, "dl", OPS)
    rsctmp = str(tmp_path / "rsctmp-direct")
    os.makedirs(rsctmp)
    by_hand = sequence_direct(f"{HB}/Dummy", "dd", {"fake": "x"}, rsctmp, OPS)
    assert via == by_hand == [7, 0, 0, 0, 0, 0, 7, 0, 0]
    # the two see the same state: started through lrmd, the agent run by hand finds it running
    assert lrmd.run("dl", "start").rc == 0
    assert direct([f"{HB}/Dummy", "monitor"], "dl", {}, lrmd.rsctmp).returncode == 0
    assert direct([f"{HB}/Dummy", "stop"], "dl", {}, lrmd.rsctmp).returncode == 0
    assert lrmd.run("dl", "monitor").rc == 7
    # meta-data through lrmd is byte for byte what the agent prints
    meta = lrmd.request(api.Metadata(next_request_id(), "ocf", "Dummy", "heartbeat"), 35_000)
    assert meta == direct([f"{HB}/Dummy", "meta-data"], None, {}, lrmd.rsctmp).stdout
    # an unsupported action: both say 3
    assert lrmd.run("dl", "promote").rc == direct([f"{HB}/Dummy", "promote"], "dd", {}, rsctmp).returncode == 3


def test_debian_dummy_recurring_monitor_notices_a_failure(lrmd):
    lrmd.register("dr", "ocf", "Dummy", "heartbeat")
    assert lrmd.run("dr", "start").rc == 0
    call = lrmd.execute("dr", "monitor", interval_ms=100)
    assert lrmd.wait_result(call, 10).rc == 0
    os.unlink(os.path.join(lrmd.rsctmp, "Dummy-dr.state"))  # the "resource" dies
    failed = lrmd.wait_result(call, 10)
    assert failed.rc == 7 and failed.rc_changed
    lrmd.request(api.Cancel(next_request_id(), "dr", "monitor", 100))


@pytest.mark.lab
@root_only
def test_debian_ipaddr2_same_results_through_lrmd_and_directly(tmp_path):
    params = {"ip": "198.19.200.50", "cidr_netmask": "24", "nic": "lrt0"}
    ops = ["validate-all", "monitor", "start", "monitor", "start", "stop", "monitor", "stop"]
    with NetLab() as net:
        ns = net.add_node("a", "198.19.200.1/24")
        net.add_node("c", "198.19.200.3/24")
        lrmd = LrmdProcess(str(tmp_path / "node"), ocf_roots=["/usr/lib/ocf"], netns=ns)
        try:
            lrmd.start()
            lrmd.register("vip", "ocf", "IPaddr2", "heartbeat", params)
            via = []
            for op in ops:
                via.append(lrmd.run("vip", op).rc)
                if op == "start":
                    assert "198.19.200.50/24" in net.addresses("a")
                    assert net.run("c", "ping", "-c", "1", "-W", "2", "198.19.200.50").returncode == 0
            assert "198.19.200.50/24" not in net.addresses("a")
        finally:
            lrmd.stop()
        rsctmp = str(tmp_path / "rsctmp-direct")
        os.makedirs(rsctmp)
        by_hand = sequence_direct(f"{HB}/IPaddr2", "vip", params, rsctmp, ops, netns=ns)
        assert via == by_hand == [0, 7, 0, 0, 0, 0, 7, 0]


@pytest.mark.lab
@pytest.mark.skipif(not any(os.path.exists(p) for p in ("/usr/sbin/modprobe", "/sbin/modprobe")),
                    reason="Debian's Filesystem agent needs modprobe (package kmod)")
def test_debian_filesystem_same_results_through_lrmd_and_directly(loopfs, tmp_path):
    params = {"device": loopfs.device, "directory": loopfs.mountpoint, "fstype": "ext4"}
    ops = ["validate-all", "monitor", "start", "monitor", "start", "stop", "monitor", "stop"]
    lrmd = LrmdProcess(str(tmp_path / "node"), ocf_roots=["/usr/lib/ocf"])
    try:
        lrmd.start()
        lrmd.register("fs", "ocf", "Filesystem", "heartbeat", params)
        via = sequence_via_lrmd(lrmd, "fs", ops)
        # depth-20 monitor (write/read-back) and a busy mount point: stop kills the user
        assert lrmd.run("fs", "start").rc == 0
        assert lrmd.run("fs", "monitor", meta={"OCF_CHECK_LEVEL": "20"}).rc == 0
        user = subprocess.Popen(["sleep", "600"], cwd=loopfs.mountpoint)
        try:
            stop = lrmd.run("fs", "stop", timeout_ms=60_000, timeout_s=90)
            assert stop.rc == 0 and not loopfs.mounted()
            assert user.wait(10) == -signal.SIGTERM
        finally:
            if user.poll() is None:
                user.kill()
                user.wait(5)
    finally:
        lrmd.stop()
    rsctmp = str(tmp_path / "rsctmp-direct")
    os.makedirs(rsctmp)
    by_hand = sequence_direct(f"{HB}/Filesystem", "fs", params, rsctmp, ops)
    assert via == by_hand == [0, 7, 0, 0, 0, 0, 7, 0]


LSB_SCRIPT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          lrtsleeper
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: A sleeping test daemon
# Description:       Sleeps; managed with start-stop-daemon like any Debian service.
### END INIT INFO
PIDFILE=@PIDFILE@
case "$1" in
  start) start-stop-daemon --start --quiet --background --make-pidfile --pidfile $PIDFILE \\
             --startas /bin/sleep --oknodo -- 600
         # LSB: return once started (the backgrounded child writes the pid file itself)
         n=0; while [ ! -s $PIDFILE ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done
         [ -s $PIDFILE ] ;;
  stop)  start-stop-daemon --stop --quiet --pidfile $PIDFILE --retry TERM/5/KILL/5 --oknodo
         rm -f $PIDFILE ;;
  status) if [ ! -e $PIDFILE ]; then exit 3; fi
          if kill -0 $(cat $PIDFILE) 2>/dev/null; then echo running; exit 0; fi
          exit 1 ;;
  *) echo "Usage: $0 {start|stop|status}" >&2; exit 3 ;;
esac
"""


@pytest.mark.skipif(shutil.which("start-stop-daemon") is None, reason="start-stop-daemon missing")
def test_lsb_init_script_through_lrmd(tmp_path):
    initd = tmp_path / "init.d"
    initd.mkdir()
    pidfile = tmp_path / "sleeper.pid"
    script = initd / "lrtsleeper"
    script.write_text(LSB_SCRIPT.replace("@PIDFILE@", str(pidfile)))
    script.chmod(0o755)
    lrmd = LrmdProcess(str(tmp_path / "node"), extra_args=["--lsb-dir", str(initd)])
    try:
        lrmd.start()
        lrmd.register("sleeper", "lsb", "lrtsleeper")
        # the compliance sequence from Pacemaker's docs: status codes are mapped to OCF
        seq = ["monitor", "start", "monitor", "start", "stop", "monitor", "stop"]
        assert sequence_via_lrmd(lrmd, "sleeper", seq) == [7, 0, 0, 0, 0, 7, 0]
        by_hand = [subprocess.run([str(script), a], capture_output=True, timeout=30).returncode
                   for a in ["status", "start", "status", "start", "stop", "status", "stop"]]
        assert by_hand == [3, 0, 0, 0, 0, 3, 0]
        # dead with a pid file left behind: LSB status 1, which is "not running" for the CRM
        gone = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, timeout=30)
        pidfile.write_text(gone.stdout)  # the pid of a process that has exited and been reaped
        res = lrmd.run("sleeper", "monitor")
        assert res.rc == 7 and "pid file" in res.exit_reason
        meta = lrmd.request(api.Metadata(next_request_id(), "lsb", "lrtsleeper"))
        assert "A sleeping test daemon" in meta
        assert "lrtsleeper" in lrmd.request(api.Query(next_request_id(), "types", {"rsc_class": "lsb"}))
        assert lrmd.run("sleeper", "stop").rc == 0
        # the service class finds init scripts by name too
        lrmd.register("svc", "service", "lrtsleeper")
        assert sequence_via_lrmd(lrmd, "svc", ["monitor", "start", "monitor", "stop", "monitor"]) == [7, 0, 0, 0, 7]
    finally:
        lrmd.stop()
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


@pytest.mark.lab
@root_only
@pytest.mark.skipif(not os.path.exists("/etc/ha.d/resource.d/IPaddr"), reason="heartbeat not installed")
def test_legacy_heartbeat_ipaddr_scripts_debians_and_ours(tmp_path):
    hadir = tmp_path / "ha.d"
    install(str(tmp_path / "ocf"), str(hadir))
    with NetLab() as net:
        ns = net.add_node("a", "198.19.200.1/24")
        debian = LrmdProcess(str(tmp_path / "deb"), netns=ns,
                             extra_args=["--heartbeat-dir", "/etc/ha.d/resource.d"])
        ours = LrmdProcess(str(tmp_path / "ours"), netns=ns, ocf_roots=[str(tmp_path / "ocf")],
                           extra_args=["--heartbeat-dir", str(hadir / "resource.d")])
        seq = ["monitor", "start", "monitor", "start", "stop", "monitor", "stop"]
        try:
            for lrmd, ip in ((debian, "198.19.200.60"), (ours, "198.19.200.61")):
                lrmd.start()
                # haresources: IPaddr::<ip>/24/lrt0
                lrmd.register("ip", "heartbeat", "IPaddr", "", {"1": f"{ip}/24/lrt0"})
                via = []
                for op in seq:
                    via.append(lrmd.run("ip", op).rc)
                    if op == "start":
                        assert f"{ip}/24" in net.addresses("a")
                assert via == [7, 0, 0, 0, 0, 7, 0], (lrmd.node, via)
                assert f"{ip}/24" not in net.addresses("a")
        finally:
            debian.stop()
            ours.stop()
        # run by hand, both print the words heartbeat judges status by
        for script, ip in (("/etc/ha.d/resource.d/IPaddr", "198.19.200.62"),
                           (str(hadir / "resource.d/IPaddr"), "198.19.200.63")):
            spec = f"{ip}/24/lrt0"

            def run(action):
                # stdout to a file, not a pipe: Debian's IPaddr leaves send_arp running in the
                # background with its stdout (our lrmd does not wait for that; a pipe reader would)
                with open(tmp_path / "out.txt", "w+") as out:
                    proc = subprocess.run(["ip", "netns", "exec", ns, "env", f"HA_RSCTMP={tmp_path}", script,
                                           spec, action], stdout=out, stderr=subprocess.DEVNULL, timeout=60)
                    out.seek(0)
                    return subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), "")

            assert "stopped" in run("status").stdout.lower()
            assert run("start").returncode == 0
            status = run("status").stdout
            assert "running" in status.lower() or "OK" in status
            assert run("stop").returncode == 0
            assert "stopped" in run("status").stdout.lower()


@pytest.mark.skipif(not os.path.exists("/usr/lib/ocf/resource.d/pacemaker/Stateful"),
                    reason="pacemaker's agents not installed")
def test_promotable_stateful_agent_through_lrmd(lrmd, tmp_path):
    lrmd.register("st", "ocf", "Stateful", "pacemaker")
    ops = ["monitor", "start", "monitor", "promote", "monitor", "demote", "monitor", "stop", "monitor"]
    via = sequence_via_lrmd(lrmd, "st", ops)
    rsctmp = str(tmp_path / "rsctmp-direct")
    os.makedirs(rsctmp)
    by_hand = sequence_direct("/usr/lib/ocf/resource.d/pacemaker/Stateful", "st", {}, rsctmp, ops)
    assert via == by_hand == [7, 0, 0, 0, 8, 0, 0, 0, 7]
    # a recurring monitor of the promoted instance expects 8: it is reported once, not as failures
    assert [lrmd.run("st", op).rc for op in ("start", "promote")] == [0, 0]
    call = lrmd.execute("st", "monitor", interval_ms=100, expected_rc=8, meta={"role": "Promoted"})
    assert lrmd.wait_result(call, 10).rc == 8
    assert lrmd.events(call, 0.5) == []
    lrmd.request(api.Cancel(next_request_id(), "st", "monitor", 100))
    assert [lrmd.run("st", op).rc for op in ("demote", "stop")] == [0, 0]
