"""Agents that misbehave at random, against the real lrmd (no root): each run of a seeded mix of
binary garbage on stdout and stderr, closed pipes, never exiting (with or without its pipes),
and random exit codes 0..255 ends as an OpResult value (an OCF rc with a status), within its
timeout and the kill grace; a Dummy resource started before stays running and the lrmd is the
same process at the end. The count of runs per behaviour is printed (docs/security.md)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from agents.install import install
from lrmd.testing import LrmdProcess

CHAOS = """#!/bin/sh
[ "$1" = meta-data ] && { echo '<resource-agent/>'; exit 0; }
code=${OCF_RESKEY_code:-0}
case "$OCF_RESKEY_mode" in
  binary) head -c ${OCF_RESKEY_bytes:-100} /dev/urandom; head -c 50 /dev/urandom >&2; exit $code ;;
  reason) printf 'ocf-exit-reason:\\377\\376 half a line' >&2; exit $code ;;
  close) exec >&- 2>&-; exit $code ;;
  close_hang) exec >&- 2>&- ; exec sleep 600 ;;
  hang) echo busy; exec sleep 600 ;;
  exit) exit $code ;;
esac
exit 0
"""
MODES = ("binary", "reason", "close", "close_hang", "hang", "exit")
RUNS = 100
TIMEOUT_MS = 400
KILL_GRACE_MS = 300
SLACK_MS = 5000  # a loaded 2-core machine


@pytest.fixture
def lrmd(tmp_path):
    root = tmp_path / "ocf"
    install(str(root))
    provider = root / "resource.d" / "fuzz"
    provider.mkdir(parents=True)
    (provider / "chaos").write_text(CHAOS)
    (provider / "chaos").chmod(0o755)
    proc = LrmdProcess(str(tmp_path / "node"), ocf_roots=[str(root)],
                       extra_args=["--kill-grace-ms", str(KILL_GRACE_MS)])
    try:
        yield proc.start()
    finally:
        proc.stop()


def test_misbehaving_agents_end_as_values_and_nothing_running_is_lost(lrmd):
    rng = random.Random(12)
    lrmd.register("keep", "ocf", "Dummy", "pyheartbeat")
    assert lrmd.run("keep", "start").rc == 0
    pid = lrmd.proc.pid
    tried: Counter = Counter()
    for i in range(RUNS):
        mode = rng.choice(MODES)
        code = rng.randint(0, 255)
        tried[mode] += 1
        rsc = f"c{i}"
        lrmd.register(rsc, "ocf", "chaos", "fuzz", {"mode": mode, "code": str(code),
                                                     "bytes": str(rng.choice([0, 10, 5000, 400_000]))})
        op = rng.choice(["start", "stop", "monitor"])
        res = lrmd.run(rsc, op, timeout_ms=TIMEOUT_MS, timeout_s=30)
        assert res.status in ("done", "error", "timeout", "not_supported"), res  # OCF rc 3: unimplemented
        assert 0 <= res.rc <= 9, res
        assert res.exec_ms < TIMEOUT_MS + KILL_GRACE_MS + SLACK_MS, res
        if mode in ("hang", "close_hang"):
            assert res.status == "timeout", res
        elif mode in ("exit", "close") and code == 0:
            assert (res.status, res.rc) == ("done", 0), res
        elif code > 9 or (code == 7 and op != "monitor"):
            assert res.status == "error" and res.exit_reason, res
    print(f"\nmisbehaving agent runs: {dict(tried)}")
    assert lrmd.proc.pid == pid and lrmd.proc.poll() is None
    assert lrmd.run("keep", "monitor").rc == 0
    assert lrmd.status()["running"] == 0
