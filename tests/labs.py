"""One way for tests to bring a lab up and make sure it is gone afterwards: sweep what a killed
earlier run left, bring it up, and on the way out take it down and check that no process, namespace,
link or directory of it is left (even when the test failed)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from lab import host, plan
from lab.lab import Lab, sweep
from lab.plan import LabSpec


def leftovers(spec: LabSpec) -> list[str]:
    """The namespaces, links and the lab directory of spec that still exist."""
    spec = plan.validate(spec)
    found = [ns for ns in plan.namespaces(spec) if ns in host.netns_list()] if spec.mode == "netns" else []
    if spec.mode == "netns":
        links = [plan.bridge(spec)] + [plan.host_veth(spec, n) for n in plan.node_names(spec) + ["client"]]
        found += [link for link in links if host.link_exists(link)]
    if os.path.exists(spec.root):
        found.append(spec.root)
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
