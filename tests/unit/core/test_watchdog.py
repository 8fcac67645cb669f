"""The launcher's watchdog core: fed only while every daemon answers, not while one is silent or
crmd asks for self-fencing; disarmed by the magic close on a clean stop."""

from __future__ import annotations

from core.messages.common import PingRequest, Reply
from core.messages.crm import CrmStatus
from core.sansio import Recv, Send, Stop, Tick
from core.watchdog import Feed, MagicClose, StackWatchdog, Started

DAEMONS = ("messaging", "ccm", "crmd")


def answer_all(wd: StackWatchdog, now: int, effects: list, self_fence: bool = False, skip: tuple = ()) -> list:
    out: list = []
    for eff in effects:
        if isinstance(eff, Send) and eff.dest not in skip:
            result = {"self_fence": self_fence} if isinstance(eff.msg, CrmStatus) else {"pid": 1}
            out += wd.step(now, Recv(eff.dest, Reply(eff.msg.request_id, True, result)))
    return out


def run(wd: StackWatchdog, start: int, end: int, **kw) -> tuple[int, int]:
    """(feeds, rounds) between start and end, answering every ping at once."""
    feeds = rounds = 0
    now = start
    while now < end:
        effects = wd.step(now, Tick())
        if any(isinstance(e, Send) for e in effects):
            rounds += 1
        feeds += sum(isinstance(e, Feed) for e in effects)
        answer_all(wd, now, effects, **kw)
        now = wd.next_deadline_ms() or end
    return feeds, rounds


def test_fed_while_every_daemon_answers_and_crmd_is_asked_for_its_status():
    wd = StackWatchdog(DAEMONS, feed_ms=250, stale_ms=1000, grace_ms=2000)
    effects: list = []
    for name in DAEMONS:
        effects += wd.step(0, Started(name))
    assert {type(e.msg) for e in effects if isinstance(e, Send)} == {PingRequest, CrmStatus}
    feeds, rounds = run(wd, 1, 5000)
    assert rounds >= 19 and feeds == rounds


def test_a_silent_daemon_stops_the_feeding_after_the_stale_window():
    wd = StackWatchdog(DAEMONS, feed_ms=250, stale_ms=1000, grace_ms=2000)
    run(wd, 0, 3000)
    feeds, _ = run(wd, 3000, 6000, skip=("crmd",))  # crmd hangs
    assert feeds <= 4  # fed only until its last answer is older than stale_ms
    assert "crmd has not answered" in (wd.problem(6000) or "")
    feeds, _ = run(wd, 6000, 7000)  # it answers again
    assert feeds >= 3


def test_a_respawned_daemon_gets_its_grace():
    wd = StackWatchdog(DAEMONS, feed_ms=250, stale_ms=1000, grace_ms=2000)
    run(wd, 0, 3000)
    wd.step(3000, Started("ccm"))
    feeds, rounds = run(wd, 3001, 4500, skip=("ccm",))
    assert feeds == rounds
    assert run(wd, 4500, 6500, skip=("ccm",))[0] < 8


def test_self_fencing_requested_by_crmd_stops_the_feeding():
    wd = StackWatchdog(DAEMONS, feed_ms=250, stale_ms=1000)
    run(wd, 0, 2000)
    feeds, rounds = run(wd, 2000, 4000, self_fence=True)
    assert feeds <= 1 and rounds >= 7
    assert "crmd asks this node to fence itself" in (wd.problem(4000) or "")


def test_a_clean_stop_is_the_magic_close_and_nothing_after():
    wd = StackWatchdog(DAEMONS)
    run(wd, 0, 1000)
    assert any(isinstance(e, MagicClose) for e in wd.step(1000, Stop()))
    assert wd.step(1500, Tick()) == [] and wd.next_deadline_ms() is None


def test_the_feed_period_follows_the_device_timeout():
    from core.watchdog import DEFAULT_FEED_MS, for_stack

    assert for_stack(DAEMONS, 500, 60).feed_ms == 1000
    assert for_stack(DAEMONS, 500, 2).feed_ms == 500
    assert for_stack(DAEMONS, 500, 0).feed_ms == DEFAULT_FEED_MS  # a device that does not say
    assert for_stack(DAEMONS, 5000, 0).stale_ms == 10_000
