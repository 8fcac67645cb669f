"""The real lrmd daemon with real agent processes: misbehaving agents, the environment agents
see, recurring monitors over the socket, the CLI, and restart without disturbing resources.

No namespaces and no root needed; every process started here is ended by pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from agents.install import install
from core.ipc import next_request_id
from core.messages import lrm as api
from lrmd.testing import LrmdProcess

AGENTS = {
    "hang": "#!/bin/sh\n[ \"$1\" = meta-data ] && { echo '<resource-agent/>'; exit 0; }\n"
            "[ \"$1\" = start ] && exec sleep 600\nexit 0\n",
    "stubborn": "#!/bin/sh\ntrap '' TERM\necho $$ > \"$OCF_RESKEY_pidfile\"\n"
                "while :; do sleep 0.05; done\n",
    "forker": "#!/bin/sh\nsleep 600 &\necho $! > \"$OCF_RESKEY_pidfile\"\necho started\nexit 0\n",
    "chatty": "#!/bin/sh\nhead -c 5000000 /dev/zero | tr '\\0' x\n"
              "head -c 3000000 /dev/zero | tr '\\0' y >&2\nexit 0\n",
    "garbage": "#!/bin/sh\necho 'ocf-exit-reason:made up code' >&2\nexit ${OCF_RESKEY_code:-42}\n",
    "suicide": "#!/bin/sh\nkill -SEGV $$\n",
    "noexec": "#!/bin/sh\nexit 0\n",
    "badformat": "\x7fELF-not-really",
    "envdump": "#!/bin/sh\nenv\necho \"cwd=$(pwd)\"\necho \"pgid=$(ps -o pgid= -p $$ | tr -d ' ') pid=$$\"\n"
               "read line && echo stdin-had-data || echo stdin-empty\nexit 0\n",
}


@pytest.fixture(scope="module")
def ocf_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("ocf")
    install(str(root))
    provider = root / "resource.d" / "lrtest"
    provider.mkdir(parents=True)
    for name, body in AGENTS.items():
        path = provider / name
        path.write_text(body)
        path.chmod(0o644 if name == "noexec" else 0o755)
    return str(root)


@pytest.fixture
def lrmd(tmp_path, ocf_root):
    proc = LrmdProcess(str(tmp_path), ocf_roots=[ocf_root, "/usr/lib/ocf"],
                       extra_args=["--kill-grace-ms", "300", "--lsb-dir", str(tmp_path / "init.d")])
    os.makedirs(tmp_path / "init.d")
    try:
        yield proc.start()
    finally:
        proc.stop()


def _kill_pidfile(path):
    try:
        pid = int(open(path).read().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_hanging_agent_times_out_and_its_group_is_killed(lrmd, tmp_path):
    lrmd.register("h", "ocf", "hang", "lrtest")
    lrmd.register("d", "ocf", "Dummy", "pyheartbeat")
    call = lrmd.execute("h", "start", timeout_ms=400)
    other = lrmd.run("d", "monitor")  # another resource is not held up meanwhile
    assert other.rc == 7 and other.exec_ms < 5000
    res = lrmd.wait_result(call, 10)
    assert res.status == "timeout" and res.rc == 1
    assert 400 <= res.exec_ms < 5000
    assert lrmd.status()["running"] == 0


def test_agent_ignoring_sigterm_is_killed(lrmd, tmp_path):
    pidfile = str(tmp_path / "stubborn.pid")
    lrmd.register("s", "ocf", "stubborn", "lrtest", {"pidfile": pidfile})
    try:
        res = lrmd.run("s", "start", timeout_ms=300, timeout_s=10)
        assert res.status == "timeout"
        pid = int(open(pidfile).read())
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _alive(pid)
    finally:
        _kill_pidfile(pidfile)


def test_agent_leaving_a_daemon_on_its_pipes_finishes_promptly(lrmd, tmp_path):
    pidfile = str(tmp_path / "forker.pid")
    lrmd.register("f", "ocf", "forker", "lrtest", {"pidfile": pidfile})
    try:
        res = lrmd.run("f", "start", timeout_ms=20_000, timeout_s=10)
        assert res.status == "done" and res.rc == 0 and res.exec_ms < 5000
        assert "started" in res.output
        assert _alive(int(open(pidfile).read()))  # a successful op's children are left alone
    finally:
        _kill_pidfile(pidfile)


def test_megabytes_of_output_are_capped_and_do_not_block(lrmd):
    lrmd.register("c", "ocf", "chatty", "lrtest")
    res = lrmd.run("c", "start", timeout_ms=20_000)
    assert res.status == "done" and res.rc == 0
    assert len(res.output) < 300_000 and "more bytes not kept" in res.output
    assert len(res.stderr) < 100_000 and res.stderr.startswith("yyyy")


@pytest.mark.parametrize("code", ["42", "255", "300"])
def test_garbage_exit_codes_are_failures_with_reasons(lrmd, code):
    lrmd.register("g", "ocf", "garbage", "lrtest", {"code": code})
    res = lrmd.run("g", "start")
    assert (res.rc, res.status) == (1, "error")
    assert res.exit_reason == "made up code"


def test_agent_killed_by_a_signal_is_an_error(lrmd):
    lrmd.register("k", "ocf", "suicide", "lrtest")
    res = lrmd.run("k", "start")
    assert (res.rc, res.status) == (1, "error") and "signal 11" in res.exit_reason


def test_unrunnable_agents_give_clear_failed_results(lrmd):
    lrmd.register("n", "ocf", "noexec", "lrtest")
    res = lrmd.run("n", "start")
    assert (res.rc, res.status) == (4, "error") and "not executable" in res.exit_reason
    lrmd.register("b", "ocf", "badformat", "lrtest")
    os.chmod(os.path.join(lrmd.ocf_roots[0], "resource.d/lrtest/badformat"), 0o755)
    res = lrmd.run("b", "start")
    assert res.status == "error" and res.rc in (1, 5)
    lrmd.register("m", "ocf", "Missing", "lrtest")
    res = lrmd.run("m", "start")
    assert (res.rc, res.status) == (5, "error") and "not installed" in res.exit_reason
    probe = lrmd.run("m", "monitor")
    assert (probe.rc, probe.status) == (5, "done")


def test_agents_get_the_ocf_environment_a_clean_cwd_stdin_and_their_own_group(lrmd):
    lrmd.register("e:0", "ocf", "envdump", "lrtest", {"ip": "198.19.200.10", "fake": "a b=c"})
    res = lrmd.run("e:0", "monitor", interval_ms=0, timeout_ms=12_345,
                   meta={"clone": "0", "notify_type": "pre", "OCF_CHECK_LEVEL": "20"})
    env = dict(line.split("=", 1) for line in res.output.splitlines() if "=" in line and not line.startswith(("cwd", "pgid")))
    assert env["OCF_ROOT"] == lrmd.ocf_roots[0]
    assert env["OCF_RESOURCE_INSTANCE"] == "e:0" and env["OCF_RESOURCE_TYPE"] == "envdump"
    assert env["OCF_RESOURCE_PROVIDER"] == "lrtest" and env["OCF_RA_VERSION_MAJOR"] == "1"
    assert env["OCF_RESKEY_ip"] == "198.19.200.10" and env["OCF_RESKEY_fake"] == "a b=c"
    assert env["OCF_RESKEY_CRM_meta_interval"] == "0" and env["OCF_RESKEY_CRM_meta_timeout"] == "12345"
    assert env["OCF_RESKEY_CRM_meta_clone"] == "0" and env["OCF_RESKEY_CRM_meta_notify_type"] == "pre"
    assert env["OCF_CHECK_LEVEL"] == "20"
    assert env["HA_RSCTMP"] == lrmd.rsctmp and env["HA_LOGFILE"] == lrmd.logfile
    assert env["LC_ALL"] == "C" and env["PYHB_NODENAME"] == "n1"
    assert "cwd=/" in res.output and "stdin-empty" in res.output
    line = [ln for ln in res.output.splitlines() if ln.startswith("pgid=")][0]
    pgid, pid = (int(part.split("=")[1]) for part in line.split())
    assert pgid == pid


def test_recurring_monitor_reports_changes_and_cancels(lrmd):
    lrmd.register("d", "ocf", "Dummy", "heartbeat")
    call = lrmd.execute("d", "monitor", interval_ms=150)
    first = lrmd.wait_result(call, 10)
    assert first.rc == 7 and first.interval_ms == 150
    start = lrmd.run("d", "start")  # queued between two monitor runs of the same resource
    assert start.rc == 0
    changed = lrmd.wait_result(call, 10)
    assert changed.rc == 0 and changed.rc_changed
    quiet = lrmd.events(call, 1.0)  # same rc: nothing is reported ...
    assert quiet == []
    last = {(r["operation"], r["interval_ms"]): r for r in lrmd.history("d")["d"]["last"]}
    assert last[("monitor", 150)]["runs"] >= 3  # ... although it kept running
    reply = lrmd.request(api.Cancel(next_request_id(), "d", "monitor", 150))
    assert reply["cancelled"] == [call]
    cancelled = lrmd.wait_result(call, 10)
    assert cancelled.status == "cancelled"
    runs_after = last[("monitor", 150)]["runs"]
    assert lrmd.history("d")["d"]["recurring"] == []
    assert lrmd.events(call, 0.4) == []
    assert lrmd.run("d", "stop").rc == 0
    assert runs_after >= 3


def test_operations_on_one_resource_run_one_at_a_time(lrmd):
    lrmd.register("slow", "ocf", "Dummy", "pyheartbeat", {"op_sleep": "1"})
    calls = [lrmd.execute("slow", op) for op in ("start", "monitor", "stop")]
    results = [lrmd.wait_result(c, 20) for c in calls]
    assert [r.rc for r in results] == [0, 0, 0]
    assert results[1].queue_ms >= 800 and results[2].queue_ms >= 800
    starts = [r.started_wall_s for r in results]
    assert starts == sorted(starts)
    assert starts[1] - starts[0] >= results[0].exec_ms / 1000 - 0.05


def test_lsb_and_heartbeat_classes(lrmd, tmp_path):
    hb_dir = tmp_path / "conf" / "resource.d"
    hb_dir.mkdir(parents=True)
    state = tmp_path / "hbscript.state"
    (hb_dir / "Toy").write_text(
        "#!/bin/sh\n# usage: Toy arg1 arg2 {start|stop|status}\n"
        f"S={state}.$1.$2\n"
        "case \"$3\" in start) touch $S;; stop) rm -f $S;;\n"
        "status) if [ -e $S ]; then echo running; else echo stopped; fi;; *) exit 1;; esac\n")
    (hb_dir / "Toy").chmod(0o755)
    lrmd.register("toy", "heartbeat", "Toy", "", {"1": "a", "2": "b"})
    assert lrmd.run("toy", "monitor").rc == 7
    assert lrmd.run("toy", "start").rc == 0
    assert os.path.exists(f"{state}.a.b")
    assert lrmd.run("toy", "monitor").rc == 0
    assert lrmd.run("toy", "stop").rc == 0
    assert lrmd.run("toy", "monitor").rc == 7
    assert lrmd.run("toy", "reload").rc == 1
    meta = lrmd.request(api.Metadata(next_request_id(), "heartbeat", "Toy"))
    assert "<resource-agent" in meta


def test_cli_exec_prints_the_result_and_exits_with_the_rc(lrmd):
    env = lrmd.env()
    base = [sys.executable, "-m", "core.cli", "lrm"]

    def hb(*args):
        return subprocess.run(base + list(args), env=env, capture_output=True, text=True, timeout=60)

    out = hb("exec", "cli1", "monitor", "--class", "ocf", "--provider", "pyheartbeat", "--type", "Dummy")
    assert out.returncode == 7 and "rc=7 (not running)" in out.stdout
    assert hb("exec", "cli1", "start").returncode == 0
    assert hb("exec", "cli1", "monitor").returncode == 0
    out = hb("exec", "cli2", "start", "--class", "ocf", "--provider", "lrtest", "--type", "garbage",
             "--param", "code=3")
    assert out.returncode == 3 and "not_supported" in out.stdout
    out = hb("list")
    assert "cli1\tocf:pyheartbeat:Dummy" in out.stdout
    out = hb("history", "cli1")
    assert out.returncode == 0 and "start" in out.stdout and "monitor" in out.stdout
    assert "Dummy" in hb("types", "ocf", "--provider", "pyheartbeat").stdout.split()
    assert "pyheartbeat" in hb("providers", "Dummy").stdout.split()
    meta = hb("metadata", "--class", "ocf", "--provider", "pyheartbeat", "--type", "IPaddr2")
    assert meta.returncode == 0 and '<resource-agent name="IPaddr2"' in meta.stdout
    assert hb("del", "cli1").returncode == 0
    assert "cli1" not in hb("list").stdout
    assert hb("exec", "nope", "start").returncode == 1


def test_restart_leaves_resources_running_and_relearns_them_by_probes(tmp_path, ocf_root):
    proc = LrmdProcess(str(tmp_path), ocf_roots=[ocf_root, "/usr/lib/ocf"])
    try:
        proc.start()
        proc.register("keep", "ocf", "Dummy", "pyheartbeat")
        proc.register("gone", "ocf", "Dummy", "heartbeat")
        assert proc.run("keep", "start").rc == 0
        assert proc.stop() == 0
        state = os.path.join(proc.rsctmp, "Dummy-keep.state")
        assert os.path.exists(state)  # stopping lrmd did not stop the resource
        proc.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            hist = proc.history()
            if all(h["last"] for h in hist.values()) and len(hist) == 2:
                break
            time.sleep(0.05)
        last = {rid: [(r["operation"], r["interval_ms"], r["rc"]) for r in h["last"]] for rid, h in hist.items()}
        assert last == {"keep": [("monitor", 0, 0)], "gone": [("monitor", 0, 7)]}
        assert os.path.exists(state)
    finally:
        proc.stop()


def test_garbage_frames_do_not_hurt_the_daemon(lrmd):
    import zmq

    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.connect(lrmd.paths.endpoint("lrmd"))
        for junk in (b"", b"\x00\xff", b"\x93\xa4PHB1\xa8lrm.exec\x80", b"x" * 10000):
            sock.send(junk)
        deadline = time.monotonic() + 5
        while lrmd.status()["garbage_frames"] < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lrmd.status()["garbage_frames"] >= 3
    finally:
        sock.close()
    lrmd.register("d", "ocf", "Dummy", "pyheartbeat")
    assert lrmd.run("d", "monitor").rc == 7


def test_signed_on_clients_get_every_result_and_history_survives_for_the_crm(lrmd):
    from core.ipc import Client

    watcher = Client(lrmd.paths, "lrmd")
    try:
        watcher.request(api.SignOn(next_request_id(), "crmd"), 5000)
        lrmd.register("w", "ocf", "Dummy", "pyheartbeat")
        call = lrmd.execute("w", "start")
        assert lrmd.wait_result(call).rc == 0
        deadline = time.monotonic() + 10
        seen = None
        while seen is None and time.monotonic() < deadline:
            event = watcher.recv(timeout_ms=200)
            if isinstance(event, api.OpResult) and event.call_id == call:
                seen = event
        assert seen is not None and seen.rsc_id == "w" and seen.operation == "start" and seen.rc == 0
        (last,) = lrmd.history("w")["w"]["last"]
        assert (last["call_id"], last["rc"], last["status"]) == (call, 0, "done")
        assert abs(last["started_wall_s"] - time.time()) < 60
        assert {"exec_ms", "queue_ms", "exit_reason"} <= set(last)
    finally:
        watcher.close()


def test_stopping_lrmd_lets_an_operation_in_flight_finish(tmp_path, ocf_root):
    proc = LrmdProcess(str(tmp_path), ocf_roots=[ocf_root])
    try:
        proc.start()
        proc.register("slow", "ocf", "Dummy", "pyheartbeat", {"op_sleep": "1"})
        proc.execute("slow", "start")
        deadline = time.monotonic() + 10
        while proc.status()["running"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.stop() == 0
        assert os.path.exists(os.path.join(proc.rsctmp, "Dummy-slow.state"))
    finally:
        proc.stop()
