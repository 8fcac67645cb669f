"""The membership core alone, fed hand-made peer states on a manual clock."""

from __future__ import annotations

from ccm import protocol
from ccm.events import Broadcast, Log, PeerMessage, PeerStatus, Persist, Tick, ViewChanged
from ccm.machine import CcmConfig, CcmMachine

NODES = ("node1", "node2", "node3")
ALL = (("node1", 1), ("node2", 1), ("node3", 1))


def machine(name="node2", nodes=NODES, incarnation=1, floor=0) -> CcmMachine:
    return CcmMachine(CcmConfig(node=name, nodes=nodes, keepalive_ms=100, deadtime_ms=500,
                                incarnation=incarnation, instance_floor=floor), 0)


def peer_state(ts: int, rows: dict, view=(0, ()), proposal=(0, ()), ack=0, max_instance=0, promises=()) -> bytes:
    return protocol.encode(protocol.State(incarnation=1, ts_ms=ts, generation=1, view_instance=view[0],
                                          view_members=view[1], proposal_instance=proposal[0],
                                          proposal_members=proposal[1], ack_instance=ack,
                                          max_instance=max(max_instance, view[0], proposal[0]), rows=rows,
                                          promises=tuple(promises)))


def sent(effects) -> list[protocol.State]:
    return [protocol.decode(e.payload) for e in effects if isinstance(e, Broadcast)]


def settle(core: CcmMachine, now: int) -> list:
    """Step through every deadline up to now."""
    effects = []
    while core.next_deadline_ms() <= now:
        effects += core.step(core.next_deadline_ms(), Tick())
    return effects + core.step(now, Tick())


FULL_ROWS = {"node1": (1, 1, {"node2": 1, "node3": 1}, ()), "node3": (1, 1, {"node1": 1, "node2": 1}, ())}


def joined(core: CcmMachine, now: int = 10) -> list:
    effects = core.step(now, PeerStatus("node1", "active", 1))
    effects += core.step(now, PeerStatus("node3", "active", 1))
    effects += core.step(now, PeerMessage("node1", peer_state(now, FULL_ROWS)))
    effects += core.step(now, PeerMessage("node3", peer_state(now, FULL_ROWS)))
    return effects + settle(core, now + 5)


def test_a_lone_node_forms_its_own_view_without_quorum_and_persists_first():
    core = machine("node1")
    effects = core.step(0, Tick())
    kinds = [type(e) for e in effects if not isinstance(e, Log)]
    assert kinds.index(Persist) < kinds.index(Broadcast)
    view = [e.view for e in effects if isinstance(e, ViewChanged)][0]
    assert view.members == ("node1",) and not view.quorum
    # instance = k * (nodes + 1) + slot, above the persisted floor
    assert view.instance % 4 == 0 and view.instance > 0
    again = machine("node1", floor=view.instance)
    second = [e.view for e in again.step(0, Tick()) if isinstance(e, ViewChanged)][0]
    assert second.instance > view.instance


def test_garbage_is_counted_not_fatal():
    core = machine()
    core.step(0, PeerStatus("node1", "active", 1))
    effects = core.step(1, PeerMessage("node1", b"\x93garbage"))
    assert core.counters["bad_messages"] == 1
    assert any(isinstance(e, Log) and e.level == "warn" for e in effects)


def test_follower_acks_only_its_own_group_and_installs_only_what_it_acked():
    core = machine()
    joined(core)
    wrong = (("node1", 1), ("node2", 1))
    out = sent(core.step(20, PeerMessage("node1", peer_state(20, FULL_ROWS, proposal=(8, wrong)))) + settle(core, 150))
    assert out and all(s.ack_instance != 8 for s in out)
    forged = core.step(151, PeerMessage("node3", peer_state(151, FULL_ROWS, view=(8, wrong))))
    assert not [e for e in forged if isinstance(e, ViewChanged)]
    out = sent(core.step(160, PeerMessage("node1", peer_state(160, FULL_ROWS, proposal=(12, ALL)))) + settle(core, 170))
    assert out[-1].ack_instance == 12
    installed = core.step(180, PeerMessage("node1", peer_state(180, FULL_ROWS, view=(12, ALL))))
    view = [e.view for e in installed if isinstance(e, ViewChanged)][0]
    assert (view.instance, view.members, view.leader) == (12, ("node1", "node2", "node3"), "node1")


def test_excluding_a_node_it_promised_waits_until_the_promise_ran_out():
    core = machine()
    joined(core)
    core.step(40, PeerMessage("node1", peer_state(40, FULL_ROWS, proposal=(12, ALL))))
    settle(core, 50)
    core.step(60, PeerMessage("node1", peer_state(60, FULL_ROWS, view=(12, ALL))))
    # past the start-up quiet period, node2 promises node1 and node3 in view 12
    core.step(600, PeerMessage("node1", peer_state(600, FULL_ROWS, view=(12, ALL))))
    last_from_node3 = 600
    core.step(last_from_node3, PeerMessage("node3", peer_state(600, FULL_ROWS, view=(12, ALL))))
    out = sent(settle(core, 705))  # (a beat at 703: the states of 600 came late, a row change sent at 603)
    assert ("node2", "node3", 12, 600) in out[-1].promises
    mine = out[-1].ts_ms
    # node3 stops hearing node1 (one-way trouble): the groups become {node1, node2} and {node3}
    rows = {"node1": (1, 1, {"node2": 1, "node3": 1}, ()), "node3": (1, 2, {"node2": 1}, ())}
    pair = (("node1", 1), ("node2", 1))
    core.step(710, PeerMessage("node1", peer_state(710, rows, view=(12, ALL), proposal=(16, pair),
                                                   promises=[("node1", "node2", 12, mine)])))
    lease, margin = core.lease_ms, core.margin_ms
    free_at = last_from_node3 + lease + margin
    early = sent(settle(core, free_at - 1))
    assert early and all(s.ack_instance != 16 for s in early)
    assert all(p[1] != "node3" for s in early for p in s.promises if s.ts_ms > 710)
    late = sent(settle(core, free_at + 10))
    assert late and late[-1].ack_instance == 16
    assert core.view_info().quorum  # node2 kept quorum in view 12 all along (node1's promise)


def test_quorum_needs_fresh_promises():
    core = machine()
    joined(core)
    core.step(40, PeerMessage("node1", peer_state(40, FULL_ROWS, proposal=(12, ALL))))
    settle(core, 50)
    core.step(60, PeerMessage("node1", peer_state(60, FULL_ROWS, view=(12, ALL))))
    mine = sent(settle(core, 600))[-1].ts_ms
    promise = [("node1", "node2", 12, mine)]
    core.step(610, PeerMessage("node1", peer_state(610, FULL_ROWS, view=(12, ALL), promises=promise)))
    assert core.view_info().quorum
    settle(core, mine + core.lease_ms - 1)
    assert core.view_info().quorum
    settle(core, mine + core.lease_ms)
    assert not core.view_info().quorum


def test_two_node_waits_for_all_before_quorum():
    core = machine("node1", nodes=("node1", "node2"))
    settle(core, 5000)
    assert core.view_info().members == ("node1",) and not core.view_info().quorum


def promising_node3_in_view_12() -> CcmMachine:
    """node2 in view 12 with node1 and node3, past its quiet period: it has promised node3."""
    core = machine()
    joined(core)
    core.step(40, PeerMessage("node1", peer_state(40, FULL_ROWS, proposal=(12, ALL))))
    settle(core, 50)
    core.step(60, PeerMessage("node1", peer_state(60, FULL_ROWS, view=(12, ALL))))
    core.step(600, PeerMessage("node3", peer_state(600, FULL_ROWS, view=(12, ALL))))
    assert any(p[1] == "node3" for p in sent(settle(core, 700))[-1].promises)
    return core


def test_a_peer_whose_ccm_left_is_excluded_without_waiting_for_promises():
    from ccm.events import PeerClient
    core = promising_node3_in_view_12()
    core.step(710, PeerClient("node3", "ccm", "leave"))
    rows = {"node1": (1, 2, {"node2": 1}, ())}
    pair = (("node1", 1), ("node2", 1))
    out = sent(core.step(720, PeerMessage("node1", peer_state(720, rows, view=(12, ALL), proposal=(16, pair))))
               + settle(core, 730))
    assert out[-1].ack_instance == 16


def test_a_fenced_life_is_excluded_at_once_its_late_states_dropped_and_its_next_life_heard():
    """crmd reports a fencing confirmed while the view still held the node: ccm stops hearing that
    incarnation (no waiting for its state to go stale), what it promised it binds nobody (the
    proposal without it is acked at once), a state it sent before the fencing that arrives late
    is dropped, and its next incarnation (rebooted) is heard again."""
    from ccm.events import PeerFenced
    core = promising_node3_in_view_12()
    core.step(705, PeerFenced("node3", 0))  # an older life than the one heard: nothing changes
    assert "node3" in core.rows["node2"][2]
    core.step(710, PeerFenced("node3", 1))
    assert "node3" not in core.rows["node2"][2] and core.counters["peers_fenced"] == 1
    core.step(712, PeerMessage("node3", peer_state(600, FULL_ROWS, view=(12, ALL))))  # in flight
    assert "node3" not in core.peers and core.counters["fenced_incarnation_messages"] == 1
    rows = {"node1": (1, 2, {"node2": 1}, ())}
    pair = (("node1", 1), ("node2", 1))
    out = sent(core.step(720, PeerMessage("node1", peer_state(720, rows, view=(12, ALL), proposal=(16, pair))))
               + settle(core, 730))
    assert out[-1].ack_instance == 16  # long before node3's state (600) is stale or its promise ran out
    assert all(p[1] != "node3" for s in out for p in s.promises)
    reborn = protocol.encode(protocol.State(incarnation=2, ts_ms=800, generation=2, view_instance=0, view_members=(),
                                            proposal_instance=0, proposal_members=(), ack_instance=0,
                                            max_instance=16, rows={}, promises=()))
    core.step(800, PeerMessage("node3", reborn, 2))
    assert core.peers["node3"].incarnation == 2
    settle(core, 810)
    assert core.rows["node2"][2].get("node3") == 2


def test_a_fenced_node_that_comes_back_with_its_state_lost_is_heard_again():
    """A node whose state directory was lost (a reinstall; the lab's reset) starts its ccm
    incarnations from 1 again: the record of its fencing lasts only until messaging reports the
    fenced life dead or a new start (another generation), never against every later life."""
    from ccm.events import PeerFenced
    for back in ("dead", "generation"):
        core = machine()
        joined(core)
        core.step(100, PeerFenced("node3", 1))
        assert "node3" not in core.rows["node2"][2]
        if back == "dead":
            core.step(600, PeerStatus("node3", "dead", 1))
            core.step(1800, PeerStatus("node3", "active", 1))
        else:
            core.step(1800, PeerStatus("node3", "active", 2))
        assert "node3" not in core.fenced
        core.step(1810, PeerMessage("node3", peer_state(1810, FULL_ROWS), 1 if back == "dead" else 2))
        assert core.peers["node3"].incarnation == 1, back
        settle(core, 1820)
        assert core.rows["node2"][2].get("node3") == 1, back


def test_the_instance_floor_is_reserved_ahead_so_later_views_wait_for_no_fsync():
    """One write covers INSTANCE_RESERVE_ROUNDS proposals; a restart from that floor proposes
    above every instance the previous incarnation could have proposed."""
    from ccm.machine import INSTANCE_RESERVE_ROUNDS

    core = machine("node1")
    effects = core.step(0, Tick())
    floors = [e.max_instance for e in effects if isinstance(e, Persist)]
    first = [e.view for e in effects if isinstance(e, ViewChanged)][0].instance
    assert floors == [first + INSTANCE_RESERVE_ROUNDS * 4]
    # the next views of this incarnation (peers come and go) write nothing until the floor
    writes, proposed = 0, [first]
    now = 10
    for n in range(INSTANCE_RESERVE_ROUNDS - 1):
        now += 10
        core.max_instance = proposed[-1]  # as if the previous view was seen everywhere
        core.proposal = None
        core.view = None
        out = core.step(now, Tick())
        writes += sum(isinstance(e, Persist) for e in out)
        proposed += [e.view.instance for e in out if isinstance(e, ViewChanged)]
    assert len(proposed) == INSTANCE_RESERVE_ROUNDS and writes == 0 and max(proposed) <= floors[0]
    again = machine("node1", floor=floors[0])
    second = [e.view for e in again.step(0, Tick()) if isinstance(e, ViewChanged)][0]
    assert second.instance > max(proposed)


# -- how long a new incarnation stays quiet ------------------------------------------------------------

FULL = 488  # lease + margin of the tests' timings (deadtime 500)


def test_a_node_that_never_ran_is_not_quiet_and_one_without_a_horizon_waits_a_lease():
    from ccm.machine import start_quiet_ms

    assert start_quiet_ms(None, "boot-a", 50, 10_050, FULL, ever_ran=False) == 0
    assert start_quiet_ms(None, "boot-a", 50, 10_050, FULL, ever_ran=True) == FULL


def test_on_the_same_boot_the_quiet_lasts_until_the_horizon_on_the_monotonic_clock():
    from ccm.machine import start_quiet_ms

    record = ("boot-a", 1_000, 999_999_999)  # the wall part is not used on the same boot
    assert start_quiet_ms(record, "boot-a", 800, 0, FULL, ever_ran=True) == 200
    assert start_quiet_ms(record, "boot-a", 1_000, 0, FULL, ever_ran=True) == 0
    assert start_quiet_ms(record, "boot-a", 100, 0, FULL, ever_ran=True) == FULL  # never above a lease


def test_after_a_reboot_both_the_time_since_boot_and_the_wall_clock_must_say_it_ran_out():
    from ccm.machine import start_quiet_ms

    record = ("boot-a", 5_000, 60_000)
    # booted 100 ms ago: the old promises may be 100 ms old, whatever the wall clock says
    assert start_quiet_ms(record, "boot-b", 100, 90_000, FULL, ever_ran=True) == FULL - 100
    # long up, but the wall clock is still before the horizon
    assert start_quiet_ms(record, "boot-b", 50_000, 59_800, FULL, ever_ran=True) == 200
    assert start_quiet_ms(record, "boot-b", 50_000, 70_000, FULL, ever_ran=True) == 0


def test_promises_leave_only_behind_a_horizon_that_covers_them():
    from dataclasses import replace

    from ccm.events import PromiseHorizon

    core = machine("node2")
    core = CcmMachine(replace(core.config, quiet_ms=0), 0)
    effects = joined(core)
    effects += core.step(20, PeerMessage("node1", peer_state(20, FULL_ROWS, proposal=(12, ALL))))
    effects += settle(core, 30)
    for now in range(100, 3000, 100):  # the view of all three formed; the peers keep beating
        effects += core.step(now, PeerMessage("node1", peer_state(now, FULL_ROWS, view=(12, ALL), ack=12)))
        effects += core.step(now, PeerMessage("node3", peer_state(now, FULL_ROWS, view=(12, ALL), ack=12)))
        effects += settle(core, now + 99)
    horizons, carried = [], []
    for effect in effects:
        if isinstance(effect, PromiseHorizon):
            horizons.append(effect.until_ms)
        elif isinstance(effect, Broadcast):
            state = protocol.decode(effect.payload)
            if [p for p in state.promises if p[0] == "node2"]:
                assert horizons and horizons[-1] >= state.ts_ms + FULL, "a promise left uncovered"
                carried.append(state.ts_ms)
    assert carried and carried[-1] - carried[0] > 2000
    assert 2 <= len(horizons) <= 2 + (carried[-1] - carried[0]) // FULL, "about one write per lease"


def test_the_steps_of_the_agreement_leave_at_once_and_other_changes_are_coalesced():
    # a failover's view waits for a proposal, the acks and the commit in a row: each goes out in
    # the step that made it, not coalesce_ms later
    follower = machine()
    joined(follower)
    out = sent(follower.step(20, PeerMessage("node1", peer_state(20, FULL_ROWS, proposal=(12, ALL)))))
    assert out and out[-1].ack_instance == 12, "the ack leaves in the same step"
    leader = machine("node1")
    leader.step(0, PeerStatus("node2", "active", 1))
    leader.step(0, PeerStatus("node3", "active", 1))
    rows = {"node2": (1, 1, {"node1": 1, "node3": 1}, ()), "node3": (1, 1, {"node1": 1, "node2": 1}, ())}
    leader.step(1, PeerMessage("node2", peer_state(1, rows)))
    out = sent(leader.step(1, PeerMessage("node3", peer_state(1, rows))))
    assert out and out[-1].proposal_members == ALL, "the proposal leaves in the same step"
    proposal = out[-1].proposal_instance
    leader.step(2, PeerMessage("node2", peer_state(2, rows, ack=proposal)))
    out = sent(leader.step(2, PeerMessage("node3", peer_state(2, rows, ack=proposal))))
    assert out and out[-1].view_instance == proposal, "the commit leaves in the same step"
    # a change that is no step of the agreement (node2's row: node3 is dead) waits coalesce_ms
    # for whatever else changes
    quiet = machine()
    joined(quiet)
    settle(quiet, 40)
    assert sent(quiet.step(41, PeerStatus("node3", "dead", 1))) == [] and quiet.send_at_ms == 41 + 3


def test_a_late_state_marks_its_sender_troubled_for_four_deadtimes():
    core = machine()
    joined(core)
    core.step(100, PeerMessage("node1", peer_state(100, FULL_ROWS)))
    assert core.rows["node2"][3] == ()  # 90 ms after the one before: on time
    core.step(190, PeerMessage("node3", peer_state(190, FULL_ROWS)))  # 180 ms: within two beats
    core.step(350, PeerMessage("node3", peer_state(350, FULL_ROWS)))
    settle(core, 400)
    core.step(401, PeerMessage("node1", peer_state(401, FULL_ROWS)))  # 301 ms after the one before: late
    assert core.rows["node2"][3] == ("node1",) and core.counters["late_states"] == 1
    out = sent(settle(core, 401 + core.config.coalesce_ms))
    assert out and out[-1].rows["node2"][3] == ("node1",)  # the changed row goes out
    assert [n["name"] for n in core.peer_table() if n["late"]] == ["node1"]  # for `hb membership`
    for now in range(450, 401 + 2000, 50):  # on time from now on, both
        core.step(now, PeerMessage("node1", peer_state(now, FULL_ROWS)))
        core.step(now, PeerMessage("node3", peer_state(now, FULL_ROWS)))
    assert core.rows["node2"][3] == ("node1",)
    assert core.next_deadline_ms() <= 401 + 2000
    settle(core, 401 + 2000)
    assert core.rows["node2"][3] == ()


def test_hb_membership_says_whose_states_come_late():
    from ccm.cli import render
    view = {"instance": 12, "members": ["node1", "node2"], "incarnations": [1, 1], "leader": "node1",
            "quorum": True, "votes": 2, "total_votes": 3, "votes_needed": 2, "node": "node2"}
    nodes = [{"name": "node1", "late": True, "votes": 1, "messaging": "alive"},
             {"name": "node2", "late": False, "votes": 1, "messaging": "self"},
             {"name": "node3", "votes": 1, "messaging": "dead"}]  # (from a ccm before "late")
    lines = render(view, nodes).splitlines()
    assert "its states come late" in lines[1] and "late" not in lines[2] + lines[3]
