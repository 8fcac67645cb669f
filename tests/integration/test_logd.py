"""ha-logd in a real stack (the launcher of one lab node, on loopback; no root needed): records
from clients reach logfile/debugfile in heartbeat's line shape, garbage frames are survived,
ha_logger works with and without logd, records logged while logd is dead are written directly
and nothing logged before a graceful stop is lost."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid

import pytest
import zmq

from core import wire
from core.daemon import load_config, read_pidfile
from core.log import Logger
from core.messages.log import LogRecord
from core.stack import module_present
from lab import host
from lab.lab import wait_until
from lab.plan import LabSpec
from labs import running_lab

SPEC = LabSpec(name="tlogd", nodes=2, mode="loopback", media="ucast", realtime=False)
# heartbeat's line shape; a lab adds milliseconds to the time (PYHB_LOG_MS=1)
LINE = re.compile(r"^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d(?:\.\d{3})? (\S+) (\S+): \[(\d+)\]: (\w+): (.*)$")


@pytest.fixture(scope="module")
def lab():
    with running_lab(SPEC) as lab:
        yield lab


def files(lab):
    config = load_config(lab.paths("node1"), check_host=False)
    return config.logfile, config.debugfile


def read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def wait_lines(path: str, needles: list[str], timeout_s: float = 10.0) -> list[str]:
    wait_until(lambda: all(n in read(path) for n in needles), timeout_s,
               f"{len(needles)} lines in {path}", lambda: read(path)[-2000:])
    return read(path).splitlines()


def logger(lab, name="tester") -> Logger:
    paths = lab.paths("node1")
    return Logger.from_config(name, paths, load_config(paths, check_host=False))


def _sinks(lab) -> dict:
    logfile, debugfile = files(lab)
    return {"logfile": logfile, "debugfile": debugfile, "facility": None}


def logd_pid(lab) -> int:
    pid = read_pidfile(lab.paths("node1").pidfile("logd"))
    assert pid and host.alive(pid)
    return pid


def test_records_reach_the_files_in_heartbeats_shape(lab):
    logfile, debugfile = files(lab)
    tag = uuid.uuid4().hex[:8]
    log = logger(lab)
    try:
        assert log.wait_for_logd(2000)
        log.info("Link node2:lo up. %s", tag)
        log.warn("node %s: is dead %s", "node2", tag)
        log.debug("debug detail %s", tag)
        log.error("two\nlines %s", tag)
        assert log.sent_to_logd == 4 and log.written_directly == 0
        lines = wait_lines(logfile, [f"is dead {tag}", f"lines {tag}"])
    finally:
        log.close()
    mine = [LINE.match(l) for l in lines if tag in l or l.endswith("two")]
    assert all(mine), lines[-6:]
    assert [(m.group(1), m.group(2), int(m.group(3)), m.group(4)) for m in mine][:2] == \
        [("node1", "tester", os.getpid(), "info"), ("node1", "tester", os.getpid(), "WARN")]
    assert [m.group(5) for m in mine] == [f"Link node2:lo up. {tag}", f"node node2: is dead {tag}", "two", f"lines {tag}"]
    assert f"debug detail {tag}" not in read(logfile)  # debug 0: debug records only in debugfile
    wait_lines(debugfile, [f"debug detail {tag}", f"is dead {tag}"])


@pytest.mark.skipif(not module_present("messaging.daemon"), reason="the messaging daemon is not in this build yet")
def test_the_daemons_own_records_go_through_logd(lab):
    logfile, _ = files(lab)
    pid = read_pidfile(lab.paths("node1").pidfile("messaging"))
    wait_until(lambda: f"[{pid}]:" in read(logfile), 10, "a record of the messaging daemon")


def test_garbage_frames_are_counted_and_survived(lab):
    logfile, _ = files(lab)
    before = logd_pid(lab)
    ctx = zmq.Context()
    try:
        sock = ctx.socket(zmq.PUSH)
        sock.connect(lab.paths("node1").endpoint("logd"))
        for junk in (b"", b"\xff\x00garbage", wire.encode(LogRecord(ts_s=0.0, node="x", daemon="d", pid=1,
                                                                    level="loud", text="t"))):
            sock.send(junk)
        sock.send_multipart([b"a", b"b"])
        tag = uuid.uuid4().hex[:8]
        sock.send(wire.encode(LogRecord(ts_s=1.0e9, node="node9", daemon="raw", pid=7, level="info", text=tag)))
        sock.close(2000)
    finally:
        ctx.term()
    lines = wait_lines(logfile, [tag, "garbage frame"])
    assert any("logd: [" in l and "dropped 1 garbage frame" in l for l in lines)
    assert any(l.endswith(f"node9 raw: [7]: info: {tag}") for l in lines)
    assert logd_pid(lab) == before


def ha_logger(lab, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "logd.ha_logger", *args], input=stdin, capture_output=True,
                          text=True, timeout=30, env={**os.environ, **lab_env(lab)})


def lab_env(lab) -> dict:
    p = lab.paths("node1")
    return {"PYHB_CONFDIR": p.confdir, "PYHB_RUNDIR": p.rundir, "PYHB_STATEDIR": p.statedir, "PYHB_NODENAME": "node1"}


def test_ha_logger(lab):
    logfile, debugfile = files(lab)
    tag = uuid.uuid4().hex[:8]
    assert ha_logger(lab, "-t", "mytag", f"one {tag}", f"two {tag}").returncode == 0
    assert ha_logger(lab, "-D", "ha-debug", stdin=f"dbg {tag}\n").returncode == 0
    assert ha_logger(lab, stdin=f"in1 {tag}\nin2 {tag}\n").returncode == 0
    lines = wait_lines(logfile, [f"two {tag}", f"in2 {tag}"])
    mine = [l for l in lines if tag in l]
    assert [LINE.match(l).group(2, 4, 5) for l in mine] == [
        ("mytag", "info", f"one {tag}"), ("mytag", "info", f"two {tag}"),
        ("cluster", "info", f"in1 {tag}"), ("cluster", "info", f"in2 {tag}")]
    wait_lines(debugfile, [f"dbg {tag}"])
    assert f"dbg {tag}" not in read(logfile)
    bad = ha_logger(lab, "-D", "ha-verbose", "x")
    assert bad.returncode == 2 and "ha-verbose" in bad.stderr


def test_rotated_logfile_is_reopened(lab):
    logfile, _ = files(lab)
    tag = uuid.uuid4().hex[:8]
    os.rename(logfile, logfile + ".1")
    assert ha_logger(lab, f"after rotation {tag}").returncode == 0
    wait_lines(logfile, [f"after rotation {tag}"])
    assert f"after rotation {tag}" not in read(logfile + ".1")


def test_records_logged_while_logd_is_dead_are_written_directly(lab):
    logfile, _ = files(lab)
    tag = uuid.uuid4().hex[:8]
    log = logger(lab)
    try:
        assert log.wait_for_logd(2000)
        old = logd_pid(lab)
        os.kill(old, signal.SIGKILL)
        wait_until(lambda: not host.alive(old), 5, "logd to die")
        wait_until(lambda: (log.info("probe %s", tag), log.written_directly > 0)[1], 5,
                   "the client to notice logd is gone")
        for i in range(50):
            log.info("while down %s %d", tag, i)
        down_direct = log.written_directly
        assert down_direct >= 50
        assert ha_logger(lab, f"cli while down {tag}").returncode == 0
        if module_present("messaging.daemon"):  # a daemon's own record while logd is dead
            messaging = read_pidfile(lab.paths("node1").pidfile("messaging"))
            reloads = read(logfile).count(f"[{messaging}]: info: SIGHUP:")
            os.kill(messaging, signal.SIGHUP)
            wait_until(lambda: read(logfile).count(f"[{messaging}]: info: SIGHUP:") == reloads + 1, 10,
                       "the messaging daemon's record of the SIGHUP")
        # the launcher restarts logd (1 s back-off); the client reconnects by itself
        wait_until(lambda: (p := read_pidfile(lab.paths("node1").pidfile("logd"))) not in (None, old)
                   and host.alive(p), 10, "the launcher to restart logd")
        wait_until(lambda: log.wait_for_logd(100), 10, "the client to reconnect to the new logd")
        sent = log.sent_to_logd
        for i in range(50):
            log.info("after restart %s %d", tag, i)
        assert log.sent_to_logd == sent + 50
        lines = wait_lines(logfile, [f"while down {tag} 49", f"cli while down {tag}", f"after restart {tag} 49"])
    finally:
        log.close()
    for phase in ("while down", "after restart"):
        for i in range(50):
            assert sum(l.endswith(f"{phase} {tag} {i}") for l in lines) == 1, (phase, i)


def test_a_graceful_stop_of_logd_loses_nothing_already_sent(lab):
    logfile, _ = files(lab)
    tag = uuid.uuid4().hex[:8]
    ctx = zmq.Context()
    log = Logger("burst", lab.paths("node1"), use_logd=True, ctx=ctx, **_sinks(lab))
    try:
        assert log.wait_for_logd(2000)
        for i in range(3000):
            log.info("burst %s %d", tag, i)
    finally:
        log.close()
        ctx.term()  # returns once every queued record has left this process
    os.kill(logd_pid(lab), signal.SIGTERM)
    lines = wait_lines(logfile, [f"burst {tag} 2999", "logd is shutting down"])
    written = [l for l in lines if f"burst {tag} " in l]
    assert len(written) == 3000 == len(set(written))
    assert log.written_directly == 0
    wait_until(lambda: (p := read_pidfile(lab.paths("node1").pidfile("logd"))) and host.alive(p), 10,
               "the launcher to restart logd")
