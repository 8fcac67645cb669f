"""One way for tests to bring a lab up and make sure it is gone afterwards: sweep what a killed
earlier run left, bring it up, and on the way out take it down and check that no process, namespace,
link or directory of it is left (even when the test failed). Also what the membership tests ask of
a lab: each node's ccm view, and waiting until nodes agree on one."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from ccm.cli import ask
from core.ipc import DaemonUnavailable
from lab import host, plan
from lab.lab import Lab, anchor_log, sweep, wait_until
from lab.plan import LabSpec


def lab_anchors(root: str) -> list[tuple[int, int]]:
    """Every live process writing to the lab's anchor log, found by scanning /proc (its pid file
    goes with the lab's directory)."""
    log = anchor_log(root)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            target = os.readlink(f"/proc/{entry}/fd/1")
        except OSError:
            continue
        if target in (log, f"{log} (deleted)"):
            start = host.start_time(int(entry))
            if start is not None and host.alive(int(entry), start):
                found.append((int(entry), start))
    return found


def leftovers(spec: LabSpec) -> list[str]:
    """The namespaces, links, the lab directory and the mount anchor of spec that still exist."""
    spec = plan.validate(spec)
    found = [ns for ns in plan.namespaces(spec) if ns in host.netns_list()] if spec.mode == "netns" else []
    if spec.mode == "netns":
        links = [plan.bridge(spec)] + [plan.host_veth(spec, n) for n in plan.node_names(spec) + ["client"]]
        found += [link for link in links if host.link_exists(link)]
    if os.path.exists(spec.root):
        found.append(spec.root)
    for pid, _start in lab_anchors(spec.root):
        found.append(f"the lab's mount anchor [pid {pid}]")
    return found


@contextmanager
def running_lab(spec: LabSpec) -> Iterator[Lab]:
    sweep(spec.name)  # whatever a killed earlier run left behind
    lab = Lab.up(spec)
    try:
        yield lab
    finally:
        procs = [p for node in lab.nodes for p in lab.processes(node)]
        assert lab.down() == []
        assert not leftovers(lab.spec)
        assert not any(host.alive(pid, start) for pid, start in procs)


def ccm_view(lab: Lab, node: str) -> dict:
    """node's ccm view as `hb membership` gets it; {} while its ccm does not answer."""
    try:
        return ask(lab.paths(node), "view", timeout_ms=1000)
    except (DaemonUnavailable, RuntimeError):
        return {}


def agreed(lab: Lab, nodes: list[str], members: list[str], quorum: bool) -> bool:
    """Every node of `nodes` reports the same instance with exactly `members` and `quorum`."""
    views = [ccm_view(lab, n) for n in nodes]
    return all(v.get("members") == members and v.get("quorum") is quorum for v in views) and \
        len({v.get("instance") for v in views}) == 1


def wait_agreed(lab: Lab, nodes: list[str], members: list[str], quorum: bool, timeout_s: float) -> None:
    wait_until(lambda: agreed(lab, nodes, members, quorum), timeout_s,
               f"{', '.join(nodes)} to agree on {members} with quorum {quorum}",
               lambda: {n: ccm_view(lab, n) for n in nodes})
