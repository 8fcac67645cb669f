"""stonithd's core: several nodes' cores wired through a fake messaging layer, devices answered
by the test (no processes), time as an argument."""

from __future__ import annotations

import random
from typing import Any, Optional

import pytest

from core import wire
from core.agentproc import AgentExit
from core.messages import stonith as st
from core.messages.common import PingRequest, Reply
from core.messages.hbapi import ClusterMessage, NodeStatusEvent, SendCluster, SignOn
from core.sansio import Log, Recv, Send, Tick
from stonithd.devices import Device, from_hacf
from stonithd.machine import DeviceExited, RunDevice, SignalDevice, StonithConfig, StonithMachine

CLIENT = b"crmd-client"


class Net:
    """Nodes' stonithd cores; cluster messages are delivered at once (in order), device runs are
    collected for the test to answer."""

    def __init__(self, names: list[str], hacf: tuple[Device, ...] = (), seed: int = 1) -> None:
        self.names = names
        self.now = 0
        self.cores = {n: StonithMachine(StonithConfig(n, tuple(names), 100 + i, hacf), random.Random(seed + i))
                      for i, n in enumerate(names)}
        self.up = set(names)
        self.runs: dict[str, list[RunDevice]] = {n: [] for n in names}
        self.signals: dict[str, list[SignalDevice]] = {n: [] for n in names}
        self.notices: dict[str, list[dict]] = {n: [] for n in names}
        self.replies: dict[str, list[Reply]] = {n: [] for n in names}
        self.logs: list[str] = []
        for n in names:
            self.feed(n, Tick())
            signon = [e for e in self.cores[n].step(self.now, Tick())]  # noqa: F841
        for n in names:
            self._sign_on(n)

    def _sign_on(self, node: str) -> None:
        core = self.cores[node]
        pending = [rid for rid, p in core.messaging.pending.items() if p.tag == "signon"]
        for rid in pending:
            self.feed(node, Recv("messaging", Reply(rid, True, {"pid": 1, "node": node})))
        for other in self.names:
            if other != node:
                self.feed(node, Recv("messaging", NodeStatusEvent(other, "active", "normal")))
        self.feed(node, Recv(CLIENT, st.StSignOn(1, "crmd", 4242)))

    def feed(self, node: str, event: object) -> None:
        if node not in self.up:
            return
        self._carry(node, self.cores[node].step(self.now, event))

    def _carry(self, node: str, effects: list) -> None:
        for eff in effects:
            if isinstance(eff, Send) and eff.dest == "messaging" and isinstance(eff.msg, SendCluster):
                msg = eff.msg
                targets = [msg.dest] if msg.dest else [n for n in self.names if n != node]
                for t in targets:
                    if t in self.up:
                        self.feed(t, Recv("messaging", ClusterMessage(st.MSGTYPE, node, msg.payload, msg.dest)))
            elif isinstance(eff, Send) and eff.dest == CLIENT:
                if isinstance(eff.msg, st.StNotify):
                    self.notices[node].append(eff.msg.op)
                elif isinstance(eff.msg, Reply):
                    self.replies[node].append(eff.msg)
            elif isinstance(eff, RunDevice):
                self.runs[node].append(eff)
            elif isinstance(eff, SignalDevice):
                self.signals[node].append(eff)
            elif isinstance(eff, Log):
                self.logs.append(f"{node} {eff.level}: {eff.text}")

    def advance(self, ms: int) -> None:
        end = self.now + ms
        for _ in range(10_000):
            due = [c.next_deadline_ms() for n, c in self.cores.items() if n in self.up]
            due = [d for d in due if d is not None and d <= end]
            if not due:
                break
            self.now = max(self.now, min(due))
            for n in list(self.up):
                d = self.cores[n].next_deadline_ms()
                if d is not None and d <= self.now:
                    self.feed(n, Tick())
        self.now = end
        for n in list(self.up):
            self.feed(n, Tick())

    def device_exit(self, node: str, run: RunDevice, rc: int = 0, stdout: str = "") -> None:
        self.runs[node].remove(run)
        self.feed(node, DeviceExited(run.run_id, AgentExit(exit_code=rc, stdout=stdout)))

    def fence(self, node: str, target: str, action: str = "reboot", delay_ms: int = 0) -> str:
        self.feed(node, Recv(CLIENT, st.StFence(7, target, action, 0, delay_ms, "test")))
        reply = self.replies[node].pop()
        assert reply.ok, reply.error
        return reply.result["op_id"]

    def kill(self, node: str) -> None:
        self.up.discard(node)
        for other in self.up:
            self.feed(other, Recv("messaging", NodeStatusEvent(node, "dead", "normal")))


def devices(net: Net, devs: list[dict], levels: Optional[list[dict]] = None, **options: Any) -> None:
    for n in net.names:
        net.feed(n, Recv(CLIENT, st.StDevices(3, "cib", devs, levels or [], options)))


def static(dev_id: str, hosts: str, **params: str) -> dict:
    return {"id": dev_id, "type": "fence_dummy", "params": {"pcmk_host_list": hosts, **params}}


def finish_meta(net: Net, node: str) -> None:
    """fence agents are asked for their metadata once (to know port/plug)."""
    for run in list(net.runs[node]):
        if run.op == "metadata":
            net.device_exit(node, run, 0, '<resource-agent><parameters><parameter name="port"/>'
                                          '</parameters></resource-agent>')


def test_fencing_runs_on_a_node_other_than_the_target_and_everyone_learns_it():
    net = Net(["n1", "n2", "n3"])
    devices(net, [static("pdu", "n1 n2 n3")])
    op_id = net.fence("n1", "n2")
    # the origin (n1) asked everyone, chose itself (not the target), fetched the metadata first
    assert not net.runs["n2"] and not net.runs["n3"]
    finish_meta(net, "n1")
    (run,) = net.runs["n1"]
    assert (run.op, run.host, run.device.id) == ("reset", "n2", "pdu")
    assert run.agent_params == ("port",)
    net.device_exit("n1", run)
    for n in ("n1", "n2", "n3"):
        done = [r for r in net.notices[n] if r["state"] == "done"]
        assert len(done) == 1 and done[0]["target"] == "n2" and done[0]["device"] == "pdu"
        history = net.cores[n].history
        assert history[-1]["executor"] == "n1" and history[-1]["id"] == op_id
    assert net.notices["n1"][-1]["requester"] == "test"


def test_the_target_itself_never_runs_an_on():
    """Both nodes could run the device; switching n2 on is never asked of n2 (a powered-off node
    cannot switch itself on): n1 runs it, and when it fails nothing is left to try."""
    net = Net(["n1", "n2"])
    devices(net, [static("pdu", "n2", pcmk_on_retries="0")])
    net.fence("n1", "n2", "on")
    finish_meta(net, "n1")
    (run,) = net.runs["n1"]
    assert (run.op, run.host) == ("on", "n2") and not net.runs["n2"]
    net.device_exit("n1", run, 1)
    assert not net.runs["n2"]
    final = [r for r in net.notices["n1"] if r["final"]]
    assert final and final[0]["state"] == "failed"


def test_a_failing_device_is_retried_then_the_next_device_then_the_operation_fails():
    net = Net(["n1", "n2"])
    devices(net, [static("a", "n2", pcmk_reboot_retries="1"), static("b", "n2", pcmk_reboot_retries="0")])
    net.fence("n1", "n2")
    tried = []
    for _ in range(20):
        finish_meta(net, "n1")
        finish_meta(net, "n2")
        busy = [n for n in ("n1", "n2") if net.runs[n]]
        if not busy:
            break
        run = net.runs[busy[0]][0]
        tried.append((busy[0], run.device.id))
        net.device_exit(busy[0], run, 1, "power switch unreachable")
    # retries of each device, devices in order, the target itself last
    assert tried == [("n1", "a"), ("n1", "a"), ("n1", "b"), ("n2", "a"), ("n2", "a"), ("n2", "b")]
    final = [r for r in net.notices["n2"] if r["state"] == "failed" and r["final"]]
    assert len(final) == 1 and "unreachable" in final[0]["reason"]
    assert net.cores["n1"].ops == {}


def test_levels_are_tried_in_order_and_a_level_needs_all_its_devices():
    net = Net(["n1", "n2"])
    devices(net, [static("ipmi", "n2", pcmk_reboot_retries="0"), static("psu1", "n2"), static("psu2", "n2")],
            [{"target": "n2", "index": 1, "devices": ["ipmi"]},
             {"target": "n2", "index": 2, "devices": ["psu1", "psu2"]}])
    net.fence("n1", "n2")
    finish_meta(net, "n1")
    order = []
    for rc in (1, 0, 0):
        run = net.runs["n1"][0]
        order.append(run.device.id)
        net.device_exit("n1", run, rc)
        done = [r for r in net.notices["n1"] if r["state"] == "done"]
        assert bool(done) == (len(order) == 3)  # fenced only once the whole level succeeded
    assert order == ["ipmi", "psu1", "psu2"]


def test_dynamic_list_asks_the_device_which_hosts_it_has_and_caches_the_answer():
    net = Net(["n1", "n2"])
    devices(net, [{"id": "ext", "type": "external/ssh", "params": {"hostlist": "n1 n2"}}])
    net.fence("n1", "n2", "off")
    lists = [r for n in ("n1", "n2") for r in net.runs[n] if r.op == "gethosts"]
    assert len(lists) == 2  # each node asks its own copy of the device
    for n in ("n1", "n2"):
        for run in [r for r in net.runs[n] if r.op == "gethosts"]:
            net.device_exit(n, run, 0, "n1\nn2\n")
    (run,) = net.runs["n1"]
    assert (run.op, run.host) == ("off", "n2")
    net.device_exit("n1", run)
    net.fence("n1", "n2", "off")
    assert [r.op for r in net.runs["n1"]] == ["off"]  # the list was cached


def test_the_delay_is_waited_before_the_device_runs_and_only_once():
    net = Net(["n1", "n2"])
    devices(net, [static("pdu", "n2", pcmk_delay_base="400ms", pcmk_reboot_retries="1")])
    net.fence("n1", "n2", delay_ms=1000)
    assert not net.runs["n1"]
    net.advance(1399)
    assert not net.runs["n1"]
    net.advance(2)
    finish_meta(net, "n1")
    (run,) = net.runs["n1"]
    net.device_exit("n1", run, 1)
    assert len(net.runs["n1"]) == 1  # the retry runs at once


def test_a_hung_device_is_terminated_then_killed_and_counts_as_failed():
    net = Net(["n1", "n2"])
    devices(net, [static("pdu", "n2", pcmk_reboot_timeout="2s", pcmk_reboot_retries="0")])
    net.fence("n1", "n2")
    finish_meta(net, "n1")
    (run,) = net.runs["n1"]
    assert run.timeout_ms == 2000
    net.advance(2000)
    assert [s.signal for s in net.signals["n1"]] == ["TERM"]
    # failed at once (the next candidate, the target itself, is asked), killed in the background
    assert any("timed out after 2000 ms" in line for line in net.logs)
    assert any(r.op == "metadata" for r in net.runs["n2"])
    net.advance(5000)
    assert [s.signal for s in net.signals["n1"]] == ["TERM", "KILL"]
    net.device_exit("n1", run, None)  # type: ignore[arg-type]
    assert net.cores["n1"].counters.get("stray_exits") is None


def test_an_executor_that_dies_is_given_up_and_the_next_candidate_used():
    net = Net(["n1", "n2", "n3"])
    # only n3's copy can fence n2 at first: make n1's list exclude it with a map on n3 only
    devices(net, [static("pdu", "n2", pcmk_reboot_retries="0")])
    net.fence("n1", "n2")
    # n1 chose itself; simulate a request routed to n3 by making n1 fail and n3 next
    finish_meta(net, "n1")
    run = net.runs["n1"][0]
    net.device_exit("n1", run, 1)
    # next candidate: n3 (not the target), then n2 itself
    assert any(r.op == "metadata" for r in net.runs["n3"])
    net.kill("n3")
    finish_meta(net, "n2")
    assert [r.host for r in net.runs["n2"] if r.op == "reset"] == ["n2"]  # the target, as a last resort


def test_an_executor_that_left_is_not_tried_again_whatever_its_retries():
    """A DC whose stop failed asks for its own fencing; its peer runs the device and stops (or is
    cut off) meanwhile. Trying the peer again (retries left: 2) only waited out the attempt's
    deadline, 1.2 x the device timeout, before the last resort, the target itself
    (hb sim crm --nodes 2 --seed 80752 --fencing on)."""
    net = Net(["n1", "n2"])
    devices(net, [static("pdu", "n1 n2")])
    net.fence("n1", "n1")
    finish_meta(net, "n2")
    assert [r.host for r in net.runs["n2"] if r.op == "reset"] == ["n1"]  # the peer first
    net.kill("n2")
    finish_meta(net, "n1")
    assert [r.host for r in net.runs["n1"] if r.op == "reset"] == ["n1"]  # at once, on the target itself
    assert any("n2 left while fencing" in line for line in net.logs)


def test_a_request_for_a_target_already_being_fenced_joins_it():
    net = Net(["n1", "n2"])
    devices(net, [static("pdu", "n2")])
    first = net.fence("n1", "n2")
    second = net.fence("n1", "n2")
    assert first == second


def test_manual_confirmation_completes_a_waiting_operation_everywhere():
    net = Net(["n1", "n2", "n3"])
    devices(net, [{"id": "meat", "type": "meatware", "params": {}}])
    net.fence("n1", "n3")
    assert any("OPERATOR INTERVENTION REQUIRED" in line for line in net.logs)
    net.feed("n2", Recv(CLIENT, st.StConfirm(9, "n3", "meatclient")))
    for n in ("n1", "n2", "n3"):
        assert any(r["state"] == "done" and r["target"] == "n3" for r in net.notices[n])
    assert net.cores["n1"].ops == {}
    assert not net.cores["n1"].jobs


def test_no_device_able_fails_at_once_and_says_so():
    net = Net(["n1", "n2"])
    devices(net, [static("pdu", "n9")])
    net.fence("n1", "n2")
    final = [r for r in net.notices["n1"] if r["final"]]
    assert final[0]["state"] == "failed" and final[0]["reason"] == "no device can fence it"


def test_unprotected_cluster_is_logged_loudly():
    net = Net(["n1", "n2"])
    devices(net, [], enabled=False)
    assert any("NOT protected" in line for line in net.logs)


def test_hacf_devices_positional_parameters_are_named_by_the_device():
    hacf = tuple(from_hacf(None, (("*", "external/ssh", "n1", "n2"),), lambda p: ""))
    net = Net(["n1", "n2"], hacf=hacf)
    devices(net, [])
    net.fence("n1", "n2")
    names = [r for r in net.runs["n1"] if r.op == "getconfignames"]
    assert names
    net.device_exit("n1", names[0], 0, "hostlist\n")
    assert net.cores["n1"].hacf["stonith_host-1"].params == {"hostlist": "n1 n2"}


def test_bad_input_is_answered_not_fatal():
    net = Net(["n1", "n2"])
    net.feed("n1", Recv(CLIENT, st.StFence(5, "n2", "explode")))
    assert not net.replies["n1"][-1].ok
    net.feed("n1", Recv("messaging", ClusterMessage(st.MSGTYPE, "n2", b"garbage")))
    assert net.cores["n1"].counters.get("bad_cluster_messages") == 1


def test_watchdog_fencing_waits_the_timeout_then_counts_the_target_as_fenced():
    net = Net(["n1", "n2", "n3"])
    devices(net, [], watchdog_timeout_ms=3000)
    net.fence("n1", "n3")
    assert not any(r["state"] == "done" for r in net.notices["n1"])
    net.advance(2999)
    assert not any(r["state"] == "done" for r in net.notices["n1"])
    net.advance(2)
    done = [r for r in net.notices["n2"] if r["state"] == "done"]
    assert done and done[0]["device"] == "watchdog" and done[0]["executor"] == "n1"


def test_watchdog_fencing_is_refused_in_a_two_node_cluster():
    net = Net(["n1", "n2"])
    devices(net, [], watchdog_timeout_ms=3000)
    assert any("needs three nodes" in line for line in net.logs)
    net.fence("n1", "n2")
    final = [r for r in net.notices["n1"] if r["final"]]
    assert final and final[0]["state"] == "failed"


def test_a_configured_device_comes_before_watchdog_fencing():
    net = Net(["n1", "n2", "n3"])
    devices(net, [static("pdu", "n3")], watchdog_timeout_ms=3000)
    net.fence("n1", "n3")
    finish_meta(net, "n1")
    assert [r.device.id for r in net.runs["n1"]] == ["pdu"]


def test_a_restarted_stonithd_learns_the_history_from_its_peers():
    net = Net(["n1", "n2"])
    devices(net, [static("pdu", "n2")])
    net.fence("n1", "n2")
    finish_meta(net, "n1")
    net.device_exit("n1", net.runs["n1"][0])
    # n2 restarts (a new core) and signs on again: it asks for the history
    net.cores["n2"] = StonithMachine(StonithConfig("n2", ("n1", "n2"), 999), random.Random(9))
    net.feed("n2", Tick())
    net._sign_on("n2")
    assert [r["target"] for r in net.cores["n2"].history] == ["n2"]
    assert not [r for r in net.notices["n2"] if r["id"] == net.cores["n2"].history[0]["id"]][1:]


def test_a_target_heard_again_before_its_device_ran_is_not_fenced():
    net = Net(["n1", "n2"])
    devices(net, [static("pdu", "n2", pcmk_delay_base="1s")])
    net.kill("n2")  # n1 sees n2 dead and is asked to fence it; the device waits its delay
    net.up.add("n2")
    net.fence("n1", "n2")
    net.advance(400)
    net.feed("n1", Recv("messaging", NodeStatusEvent("n2", "active", "normal")))  # n2 rebooted, rejoins
    net.advance(2000)
    assert not [r for r in net.runs["n1"] if r.op == "reset"]
    final = [r for r in net.notices["n1"] if r["final"]]
    assert final and final[0]["state"] == "failed" and "came back" in final[0]["reason"]


def test_watchdog_fencing_of_a_node_heard_again_is_given_up():
    """A node that resumed before its watchdog fired did not reset: it must not count as fenced."""
    net = Net(["n1", "n2", "n3"])
    devices(net, [], watchdog_timeout_ms=3000)
    net.kill("n3")
    net.up.add("n3")
    net.fence("n1", "n3")
    net.advance(1000)
    for n in ("n1", "n2"):
        net.feed(n, Recv("messaging", NodeStatusEvent("n3", "active", "normal")))
    net.advance(5000)
    assert not [r for n in ("n1", "n2") for r in net.notices[n] if r["state"] == "done"]
    final = [r for r in net.notices["n2"] if r["final"]]
    assert final and final[0]["state"] == "failed"


def test_with_watchdog_fencing_a_node_that_is_being_fenced_fences_itself():
    net = Net(["n1", "n2", "n3"])
    devices(net, [], watchdog_timeout_ms=3000)
    net.feed("n3", Recv(CLIENT, st.StQuery(11, "n2")))  # a tool's question: not a fencing
    assert not net.cores["n2"].self_fence
    net.fence("n1", "n2")
    assert net.cores["n2"].self_fence and not net.cores["n1"].self_fence
    effects = net.cores["n2"].step(net.now, Recv(b"launcher", PingRequest(5)))
    assert [e.msg.result["self_fence"] for e in effects if isinstance(e, Send)] == [True]


def test_a_level_by_pattern_applies_when_no_level_names_the_target():
    net = Net(["n1", "n2", "n3"])
    devices(net, [static("ipmi", "n2 n3", pcmk_reboot_retries="0"), static("psu", "n2 n3")],
            [{"target": "n[23]", "index": 1, "devices": ["psu"], "pattern": True},
             {"target": "n3", "index": 1, "devices": ["ipmi"]}])
    net.fence("n1", "n2")  # only the pattern matches n2: psu
    finish_meta(net, "n1")
    assert [r.device.id for r in net.runs["n1"] if r.op == "reset"] == ["psu"]
    net.device_exit("n1", net.runs["n1"][-1])
    net.fence("n1", "n3")  # a level names n3: ipmi, and the pattern is not used for it
    finish_meta(net, "n1")
    run = [r for r in net.runs["n1"] if r.op == "reset"][-1]
    assert run.device.id == "ipmi"
    net.device_exit("n1", run, 1)
    final = [r for r in net.notices["n1"] if r["final"] and r["target"] == "n3"]
    assert final and final[0]["state"] == "failed"


def test_the_history_says_how_long_the_device_itself_ran_apart_from_the_delay():
    """device_ms: the device's runs for the fencing (its metadata and its reboot here), from their
    start to their exit as the fencer saw them; the delay before them is not in it."""
    net = Net(["n1", "n2"])
    devices(net, [static("pdu", "n2", pcmk_delay_base="400ms")])
    net.fence("n1", "n2")
    net.advance(401)
    net.advance(30)
    finish_meta(net, "n1")
    (run,) = net.runs["n1"]
    net.advance(45)
    net.device_exit("n1", run)
    assert net.now == 476  # requested at 0, the devices ran from the end of the delay (400) on
    for n in ("n1", "n2"):
        (done,) = [r for r in net.cores[n].history if r["state"] == "done"]
        assert done["device_ms"] == 476 - 400


def test_a_fencer_with_a_device_of_its_own_begins_before_every_answer_is_in():
    # what every answer would choose first is its own device: it does not wait for the others
    # (as Pacemaker's fencer begins with a verified device before its query timeout); answers
    # that come later still order what is tried if that device fails
    net = Net(["n1", "n2", "n3"])
    devices(net, [static("pdu", "n1 n2 n3", pcmk_reboot_retries="0")])
    net.up.discard("n3")  # n3's fencer is slow: its answer is not in yet
    op_id = net.fence("n1", "n2")
    finish_meta(net, "n1")
    (run,) = [r for r in net.runs["n1"] if r.op == "reset"]
    assert net.cores["n1"].counters.get("early_fencing") == 1
    net.up.add("n3")
    net.feed("n1", Recv("messaging", ClusterMessage(st.MSGTYPE, "n3", wire.encode(st.StcQueryReply(
        op_id, [{"id": "pdu", "timeout_ms": 20000, "retries": 0}])), "n1")))
    net.device_exit("n1", run, 1)
    # next: n3's copy (the late answer), before the target's own
    assert any(r.op == "metadata" for r in net.runs["n3"]) and not net.runs["n2"]


def test_without_a_device_of_its_own_a_fencer_waits_for_the_answers():
    net = Net(["n1", "n2", "n3"])
    for n in ("n2", "n3"):  # n1 has no device
        net.feed(n, Recv(CLIENT, st.StDevices(3, "cib", [static("pdu", "n1 n2 n3")], [], {})))
    net.up.discard("n3")
    net.fence("n1", "n2")
    assert not net.runs["n2"] and not net.runs["n3"], "n3 (not the target) may still answer"
    assert "early_fencing" not in net.cores["n1"].counters
    net.advance(10_000)  # the query timeout: on with what answered (the target, as a last resort)
    assert any(r.op == "metadata" for r in net.runs["n2"])
