"""What the resource-layer lab tests ask of a lab: who answers through a floating address, where
the CIB says each resource runs and what its history says, and a watch on the address from the
client namespace that must never see two nodes answer at once."""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from typing import Iterator, Optional

from core.cib.xmltree import XNode, parse_xml
from lab import plan
from lab.lab import Lab, wait_until
from lab.vipwatch import Summary, VipWatch
from tools import crmclient
from tools.stonith_admin import history

BENCH_SVC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench", "svc", "tcpsvc")
PORT = 8080


def answer(lab: Lab, address: str, port: int = PORT) -> Optional[str]:
    """The node name the TCP service through `address` answers with, from the client namespace
    (None: no answer)."""
    return lab.answer(address, port)


def fenced(lab: Lab, observer: str, target: str) -> list[dict]:
    """The fencings of target that succeeded, as observer's stonithd records them
    (`hb stonith history --json`)."""
    import io
    import json

    out = io.StringIO()
    history(lab.paths(observer), target, True, out)
    return [r for r in json.loads(out.getvalue()) if r.get("state") == "done"]


def wait_answer(lab: Lab, node: str, timeout_s: float = 20.0, address: Optional[str] = None) -> float:
    vip = address or plan.vip(lab.spec)
    return wait_until(lambda: answer(lab, vip) == node, timeout_s, f"{node} to answer through {vip}",
                      lambda: (answer(lab, vip), cib_status(lab)))


def cib(lab: Lab, node: str) -> Optional[XNode]:
    try:
        return parse_xml(crmclient.query_cib(lab.paths(node), timeout_ms=2000)["xml"], "<cib>")
    except (crmclient.CrmUnavailable, crmclient.CrmError):
        return None


def ops(lab: Lab, observer: str, on_node: str) -> list[tuple[int, str, str, int]]:
    """(call-id, resource, operation, rc) of every history entry of on_node, in call order."""
    root = cib(lab, observer)
    out = []
    for state in root.iter("node_state") if root is not None else []:
        if state.get("uname") != on_node:
            continue
        for rsc in state.iter("lrm_resource"):
            for op in rsc.findall("lrm_rsc_op"):
                out.append((int(op.get("call-id") or -1), rsc.get("id") or "", op.get("operation") or "",
                            int(op.get("rc-code") or 0)))
    return sorted(set(out))


def cib_status(lab: Lab) -> dict[str, object]:
    """A short picture for failure messages: each node's crmd status."""
    out: dict[str, object] = {}
    for node in lab.nodes:
        try:
            st = crmclient.status(lab.paths(node))
            out[node] = {k: st.get(k) for k in ("role", "dc", "view", "quorum", "joined", "state", "active")}
        except (crmclient.CrmUnavailable, crmclient.CrmError):
            out[node] = "down"
    return out


def active(lab: Lab, node: str) -> list[str]:
    try:
        return list(crmclient.status(lab.paths(node)).get("active") or [])
    except (crmclient.CrmUnavailable, crmclient.CrmError):
        return []


def idle(lab: Lab, nodes: list[str]) -> bool:
    """Every crmd of `nodes` is in one view, joined to its DC, and the DC is idle."""
    states = []
    for node in nodes:
        try:
            states.append(crmclient.status(lab.paths(node)))
        except (crmclient.CrmUnavailable, crmclient.CrmError):
            return False
    views = {s.get("view") for s in states}
    return len(views) == 1 and all(s.get("joined") for s in states) and \
        any(s.get("role") == "dc" and s.get("state") == "idle" for s in states) and \
        len({tuple(s.get("version") or ()) for s in states}) == 1


def wait_idle(lab: Lab, nodes: list[str], timeout_s: float = 20.0) -> None:
    wait_until(lambda: idle(lab, nodes), timeout_s, f"{', '.join(nodes)} to settle", lambda: cib_status(lab))


def kill_service(lab: Lab, node: str, port: int = PORT) -> None:
    """Kill the TCP service's process on node (by its pid file), as a crash would."""
    pidfile = os.path.join(lab.paths(node).rundir, f"tcpsvc-{port}.pid")
    with open(pidfile, encoding="ascii") as handle:
        pid = int(handle.read().split()[0])
    os.kill(pid, signal.SIGKILL)


@contextmanager
def watching(lab: Lab, address: Optional[str] = None, port: int = PORT) -> Iterator[VipWatch]:
    """The client-side observer of the address for the duration of the block; on the way out it
    must have seen no moment where two nodes answered ARP for the address."""
    out = os.path.join(lab.spec.root, f"vipwatch-{port}.jsonl")
    watch = VipWatch.start(plan.namespace(lab.spec, "client"), plan.IFACE, address or plan.vip(lab.spec), port, out,
                           tcp_timeout_ms=250)
    summary: Optional[Summary] = None
    try:
        yield watch
    finally:
        summary = watch.stop()
    assert summary is not None
    assert summary.conflicts == [], f"the address was answered by two nodes at once: {summary.conflicts}"

