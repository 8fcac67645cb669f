"""Small helpers for tests that build their own network namespaces (addresses in 198.18.0.0/15,
no default route) and always remove them, even when the test fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import pytest


def need_root() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 (network namespaces)")


def sh(*args: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=check, capture_output=True, text=True, timeout=timeout)


def ns_run(ns: str, *args: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess:
    return sh("ip", "netns", "exec", ns, *args, check=check, timeout=timeout)


@contextmanager
def bridge_with_namespaces(prefix: str, subnet: str | Sequence[str], names: list[str]) -> Iterator[dict[str, str]]:
    """A bridge `{prefix}br` with one namespace `{prefix}-{name}` per name, eth0 addressed
    {subnet}.{11+i}/24. Yields {name: address}. Removes everything on exit.

    With several subnets, one link per subnet: link k is the bridge `{prefix}br{k}` (k >= 1)
    and each namespace's ethK, addressed {subnets[k]}.{11+i}/24 (the addresses yielded are
    eth0's)."""
    need_root()
    subnets = [subnet] if isinstance(subnet, str) else list(subnet)
    bridges = [f"{prefix}br" + (str(k) if k else "") for k in range(len(subnets))]
    made_bridges: list[str] = []
    created: list[str] = []
    host_ends: list[str] = []
    addresses: dict[str, str] = {}
    try:
        for bridge in bridges:
            sh("ip", "link", "add", bridge, "type", "bridge", "forward_delay", "0", "stp_state", "0")
            made_bridges.append(bridge)
            sh("ip", "link", "set", bridge, "up")
        for index, name in enumerate(names):
            ns = f"{prefix}-{name}"
            sh("ip", "netns", "add", ns)
            created.append(ns)
            ns_run(ns, "ip", "link", "set", "lo", "up")
            for k, (bridge, net) in enumerate(zip(bridges, subnets)):
                host_end = f"{prefix}v{index}" + (f"l{k}" if k else "")
                sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", f"eth{k}", "netns", ns)
                host_ends.append(host_end)
                sh("ip", "link", "set", host_end, "master", bridge, "up")
                address = f"{net}.{11 + index}"
                ns_run(ns, "ip", "addr", "add", f"{address}/24", "brd", f"{net}.255", "dev", f"eth{k}")
                ns_run(ns, "ip", "link", "set", f"eth{k}", "up")
                if k == 0:
                    addresses[name] = address
        yield addresses
    finally:
        for ns in created:
            pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            # the namespace (and the veth pairs inside it) goes only when its last process is
            # reaped, later: the host ends are deleted here so a next test can reuse their names at once
            sh("ip", "netns", "del", ns, check=False)
            wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in pids if pid.isdigit()), 5.0)
        for host_end in host_ends:
            sh("ip", "link", "del", host_end, check=False)
        for bridge in made_bridges:
            sh("ip", "link", "del", bridge, check=False)


def wait_for(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return condition()
