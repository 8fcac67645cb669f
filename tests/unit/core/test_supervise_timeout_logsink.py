import random
import time

import pytest

from core.logsink import format_line
from core.supervise import Supervisor
from core.timeout import Timeout, earliest


def test_restart_back_off_doubles_and_resets_after_stable_run():
    sup = Supervisor(first_delay_ms=1000, max_delay_ms=8000, stable_ms=60_000)
    sup.add("messaging")
    sup.started("messaging", 10, 0)
    sup.exited(10, 1, 100)
    assert sup.next_deadline_ms() == 1100 and sup.due(1099) == [] and sup.due(1100) == ["messaging"]
    delays = []
    now = 1100
    for pid in range(11, 16):
        sup.started("messaging", pid, now)
        now += 10
        child = sup.exited(pid, 1, now)
        delays.append(child.restart_due_ms - now)
        now = child.restart_due_ms
    assert delays == [2000, 4000, 8000, 8000, 8000]
    sup.started("messaging", 20, now)
    child = sup.exited(20, 1, now + 60_000)
    assert child.restart_due_ms - (now + 60_000) == 1000


def test_respawn_entry_exiting_100_is_not_restarted_and_stopping_restarts_nothing():
    sup = Supervisor()
    sup.add("respawn1:ipfail", respawn_entry=True)
    sup.add("logd")
    sup.started("respawn1:ipfail", 5, 0)
    sup.started("logd", 6, 0)
    assert sup.exited(5, 100, 10).given_up
    sup.stopping = True
    sup.exited(6, -15, 20)
    assert sup.due(10_000) == [] and sup.next_deadline_ms() is None
    assert sup.exited(999, 0, 30) is None


def test_a_child_being_stopped_is_not_restarted_and_the_others_still_are():
    """A graceful stop stops crmd first, which needs ccm and the rest to hand its resources
    over: one of them that dies meanwhile comes back (it stayed dead before, and the crmd
    waited without membership for its shutdown escalation)."""
    sup = Supervisor()
    for name in ("ccm", "crmd"):
        sup.add(name)
    sup.started("ccm", 7, 0)
    sup.started("crmd", 8, 0)
    sup.stop("crmd")
    assert sup.exited(7, -9, 100).restart_due_ms == 1100
    assert sup.exited(8, 0, 200).restart_due_ms is None
    assert sup.due(1100) == ["ccm"] and sup.next_deadline_ms() == 1100
    sup.started("ccm", 9, 1100)
    sup.stop("ccm")
    sup.exited(9, 0, 1200)
    assert sup.due(100_000) == [] and sup.next_deadline_ms() is None


def test_timeout_fires_once_until_reset():
    t = Timeout("keepalive", 100)
    t.start(0)
    assert not t.fired(99) and t.fired(100)
    with pytest.raises(AssertionError):
        t.fired(150)
    t.reset(150)
    assert t.deadline_ms == 250 and not t.fired(200)
    t.backoff(250, random.Random(1), max_ms=1000)
    assert 450 <= t.deadline_ms <= 500 + 50
    assert earliest(None, 5, 3, None) == 3 and earliest() is None


def test_log_line_has_heartbeats_shape():
    ts = time.mktime((2026, 11, 26, 7, 52, 21, 0, 0, -1))
    assert format_line(ts, "node1", "heartbeat", 3689, "info", "Link node2:eth0 up.") == \
        "Nov 26 07:52:21 node1 heartbeat: [3689]: info: Link node2:eth0 up."
    assert format_line(ts, "node1", "heartbeat", 1, "warn", "node node2: is dead").endswith("WARN: node node2: is dead")
