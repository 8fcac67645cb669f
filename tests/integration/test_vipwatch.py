"""The VIP observer on a real segment: a bridge `tvwbr` and namespaces tvw-a, tvw-b (VIP holders,
socat as the service) and tvw-cl (the observer), 198.18.40.0/24, IPv6 off, no default route.
A steady VIP gives one answer and nothing else; a moved VIP gives exactly one outage and a
failover from "a" to "b"; the VIP on two nodes at once is a conflict naming both MACs.

Without root, iproute2, socat or arping the tests skip, except under CI (env CI set), where a
missing privilege or tool is a failure: CI runs as root with them installed (.ci/run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lab import host
from lab.lab import wait_until
from lab.vipwatch import Summary, VipWatch, VipWatchError

pytestmark = [pytest.mark.lab]

BRIDGE = "tvwbr"
NS = {"a": "tvw-a", "b": "tvw-b", "cl": "tvw-cl"}
HOST_END = {"a": "tvwva", "b": "tvwvb", "cl": "tvwvcl"}  # host side of each namespace's eth0
ADDRESS = {"a": "198.18.40.11", "b": "198.18.40.12", "cl": "198.18.40.13"}
VIP = "198.18.40.100"
PORT = 8080
# socat forks a shell per connection and CI machines are busy: a generous per-probe timeout keeps
# a slow fork from passing for an outage (the observer's default, 50 ms, suits a quiet machine)
TCP_TIMEOUT_MS = 250


def require(ok: bool, why: str) -> None:
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{why}: CI runs as root with iproute2, socat and arping installed (.ci/run)")
    pytest.skip(why)


def leftovers() -> list[str]:
    return [ns for ns in NS.values() if ns in host.netns_list()] + \
        [link for link in [BRIDGE, *HOST_END.values()] if host.link_exists(link)]


def remove_topology() -> list[str]:
    """Namespaces, veths and bridge of this test; what is still there afterwards. Processes left
    inside our namespaces (only this test starts any) are killed by PID first. The host ends are
    deleted explicitly: a deleted namespace lives on (with its veth) while an orphaned TCP socket
    of it waits to time out."""
    for ns in NS.values():
        if ns in host.netns_list():
            host.kill_all(host.netns_pids(ns), term_wait_s=1.0)
            host.run(["ip", "netns", "del", ns], check=False)
    for link in [*HOST_END.values(), BRIDGE]:
        if host.link_exists(link):
            host.run(["ip", "link", "del", link], check=False)
    return leftovers()


class Segment:
    """The topology and every process the test started in it (by PID and start time)."""

    def __init__(self, tmp: str) -> None:
        self.tmp = tmp
        self.procs: list[tuple[int, int]] = []
        self.macs: dict[str, str] = {}

    def create(self) -> None:
        host.run(["ip", "link", "add", BRIDGE, "type", "bridge", "forward_delay", "0", "stp_state", "0"])
        sysctl(None, f"net.ipv6.conf.{BRIDGE}.disable_ipv6")
        host.run(["ip", "link", "set", BRIDGE, "up"])
        for node, ns in NS.items():
            host.run(["ip", "netns", "add", ns])
            sysctl(ns, "net.ipv6.conf.all.disable_ipv6")
            sysctl(ns, "net.ipv6.conf.default.disable_ipv6")
            host.run(["ip", "link", "add", HOST_END[node], "type", "veth", "peer", "name", "eth0", "netns", ns])
            sysctl(None, f"net.ipv6.conf.{HOST_END[node]}.disable_ipv6")
            host.run(["ip", "link", "set", HOST_END[node], "master", BRIDGE, "up"])
            host.run(["ip", "-n", ns, "link", "set", "lo", "up"])
            host.run(["ip", "-n", ns, "addr", "add", f"{ADDRESS[node]}/24", "dev", "eth0"])
            host.run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            assert "default" not in host.run(["ip", "-n", ns, "route"]).stdout
            self.macs[node] = open_text(ns, "/sys/class/net/eth0/address")

    def add_vip(self, node: str) -> None:
        host.run(["ip", "-n", NS[node], "addr", "add", f"{VIP}/24", "dev", "eth0"])

    def del_vip(self, node: str) -> None:
        host.run(["ip", "-n", NS[node], "addr", "del", f"{VIP}/24", "dev", "eth0"])

    def announce(self, node: str) -> None:
        host.run(host.ns_argv(NS[node], ["arping", "-U", "-c", "1", "-I", "eth0", VIP]))

    def serve(self, node: str, text: str) -> tuple[int, int]:
        """socat answering every connection to VIP:PORT with one line, once it listens."""
        argv = ["socat", f"TCP-LISTEN:{PORT},bind={VIP},reuseaddr,fork", f"SYSTEM:echo {text}"]
        proc = host.spawn(host.ns_argv(NS[node], argv), dict(os.environ), os.path.join(self.tmp, f"socat-{node}.log"))
        self.procs.append(proc)
        wait_until(lambda: listening(node) or not host.alive(*proc), 5, f"socat to listen in {NS[node]}")
        assert host.alive(*proc), open(os.path.join(self.tmp, f"socat-{node}.log")).read()
        return proc

    def stop(self, proc: tuple[int, int]) -> None:
        """The service and the children it forked, by PID."""
        assert host.kill_all(host.tree(*proc)), f"socat {proc[0]} did not end"

    def watch(self, name: str, **kw) -> VipWatch:
        out = os.path.join(self.tmp, f"{name}.jsonl")
        watch = VipWatch.start(NS["cl"], "eth0", VIP, PORT, out, tcp_timeout_ms=TCP_TIMEOUT_MS,
                               stats_interval_ms=100, **kw)
        self.procs.append((watch.pid, watch.start_ticks))
        return watch


def sysctl(ns: str | None, key: str) -> None:
    path = "/proc/sys/" + key.replace(".", "/")
    host.run(host.ns_argv(ns, ["sh", "-c", f"test ! -e {path} || echo 1 > {path}"]))


def open_text(ns: str, path: str) -> str:
    return host.run(host.ns_argv(ns, ["cat", path])).stdout.strip()


def listening(node: str) -> bool:
    return bool(host.run(["ip", "netns", "exec", NS[node], "ss", "-Hltn", f"sport = :{PORT}"]).stdout.strip())


@pytest.fixture
def segment(tmp_path):
    require(host.is_root(), "needs root for network namespaces and raw sockets")
    for tool in ("ip", "socat", "arping", "ss"):
        require(host.have_tool(tool), f"needs {tool}")
    assert remove_topology() == [], "leftovers of an earlier run could not be removed"
    seg = Segment(str(tmp_path))
    try:
        seg.create()
        yield seg
    finally:
        host.kill_all([p for proc in seg.procs for p in host.tree(*proc)], term_wait_s=2.0)
        left = remove_topology()
        alive = [pid for pid, start in seg.procs if host.alive(pid, start)]
        assert left == [] and alive == [], f"left behind: {left}, processes {alive}"


def progress(watch: VipWatch, probes: int, timeout_s: float, after: int = 0) -> dict:
    """Wait until the observer has this many more answered probes and decided rounds than at
    event index `after` (its stats events count them)."""
    before = [e for e in watch.events()[:after] if e["ev"] == "stats"]
    base_ok = before[-1]["tcp_ok"] if before else 0
    base_rounds = before[-1]["rounds"] if before else 0
    return watch.wait_for(lambda e: e["ev"] == "stats" and e["tcp_ok"] >= base_ok + probes
                          and e["rounds"] >= base_rounds + probes, timeout_s,
                          f"{probes} more answered probes and ARP rounds", after)


def test_steady_vip_one_answer_no_conflict_no_outage(segment):
    segment.add_vip("a")
    segment.serve("a", "a")
    with segment.watch("steady") as watch:
        up = watch.wait_for(lambda e: e["ev"] == "tcp_up", 10, "the first answer")
        progress(watch, 100, 20)
        summary = watch.stop()
    assert up["answer"] == "a"
    assert summary.complete
    assert summary.conflicts == [] and summary.conflict_count == 0
    assert summary.outages == [] and summary.ongoing_outage is None and summary.failovers == []
    assert list(summary.answers) == ["a"]
    assert list(summary.arp_macs) == [segment.macs["a"]]
    assert summary.arp_macs[segment.macs["a"]]["replies"] >= 100
    assert summary.counts["tcp_ok"] >= 100 and summary.counts["arp_probes"] >= 100


def test_moved_vip_one_outage_answers_a_then_b_no_conflict(segment):
    segment.add_vip("a")
    service_a = segment.serve("a", "a")
    with segment.watch("move") as watch:
        watch.wait_for(lambda e: e["ev"] == "tcp_up" and e["answer"] == "a", 10, "a to answer")
        progress(watch, 50, 20)
        mark = len(watch.events())
        segment.del_vip("a")
        segment.stop(service_a)
        segment.add_vip("b")
        segment.announce("b")
        segment.serve("b", "b")
        watch.wait_for(lambda e: e["ev"] == "tcp_up" and e["answer"] == "b", 15, "b to answer", mark)
        progress(watch, 50, 20, len(watch.events()))
        summary = watch.stop()
    mac_a, mac_b = segment.macs["a"], segment.macs["b"]
    assert summary.conflicts == []
    assert len(summary.outages) == 1 and summary.ongoing_outage is None
    start, end, duration_ms = summary.outages[0]
    assert list(summary.answers) == ["a", "b"]
    assert summary.answers["a"]["last"] == start and summary.answers["b"]["first"] == end
    assert 0 < duration_ms == pytest.approx((end - start) * 1000, abs=5)
    assert [(f["from"], f["to"], f["t"]) for f in summary.failovers] == [("a", "b", end)]
    assert set(summary.arp_macs) == {mac_a, mac_b}
    assert summary.arp_macs[mac_a]["last"] < summary.arp_macs[mac_b]["first"]
    assert summary.arp_macs[mac_b]["gratuitous"] >= 1  # arping -U, seen as it went by
    garps = [e for e in watch.events() if e["ev"] == "garp"]
    assert {e["mac"] for e in garps} == {mac_b} and "gratuitous" in {e["kind"] for e in garps}


def test_vip_on_two_nodes_is_a_conflict_naming_both_macs(segment):
    segment.add_vip("a")
    with segment.watch("conflict") as watch:
        watch.wait_for(lambda e: e["ev"] == "arp" and e["macs"] == [segment.macs["a"]], 10, "a to answer ARP")
        segment.add_vip("b")
        conflict = watch.wait_for(lambda e: e["ev"] == "conflict", 10, "a conflict")
        segment.del_vip("b")
        ended = watch.wait_for(lambda e: e["ev"] == "conflict_end", 10, "the conflict to end")
        summary = watch.stop()
    both = sorted([segment.macs["a"], segment.macs["b"]])
    assert conflict["macs"] == both and ended["macs"] == both and ended["rounds"] >= 1
    assert summary.conflict_count >= 1
    assert summary.conflicts[0]["macs"] == both and summary.conflicts[0]["end_t"] >= summary.conflicts[0]["t"]


def test_command_line_runs_for_a_duration_and_prints_events_then_the_summary(segment):
    segment.add_vip("a")
    done = subprocess.run(host.ns_argv(NS["cl"], [sys.executable, "-m", "lab.vipwatch", "--iface", "eth0",
                                                  "--vip", VIP, "--port", str(PORT), "--duration-s", "0.5"]),
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["ev"] == "start" and events[-1]["ev"] == "summary"
    summary = Summary.from_dict(events[-1])
    assert summary.complete and list(summary.arp_macs) == [segment.macs["a"]]
    assert 300 <= events[-1]["mono_ms"] - events[0]["mono_ms"] <= 5000
    assert summary.answers == {} and summary.counts["tcp_failed"] >= 1  # nothing listens on the port


def test_an_interface_that_is_not_there_is_reported(segment, tmp_path):
    with pytest.raises(VipWatchError, match="no interface nosuch0"):
        VipWatch.start(NS["cl"], "nosuch0", VIP, PORT, str(tmp_path / "none.jsonl"))
