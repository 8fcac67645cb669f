"""What crmd tells stonithd and what it writes when a node was fenced: pure functions of the CIB.

- `devices_of(cib)`: the fence devices the CIB configures (class `stonith` primitives, their
  instance attributes as parameters, Pacemaker's `pcmk_*` included), the `fencing-topology`
  levels and the options stonithd needs (`stonith-timeout`, `stonith-enabled`), in the shape of
  `core.messages.stonith.StDevices`. crmd sends them after every configuration change.
- `claims_hold(cib, nodes)`: when the fencings a member reports at its join may be recorded.
- `fenced_edits(cib, node, nid)`: a node was fenced (Pacemaker's `send_stonith_update`): its
  node_state says it is out of the membership, offline, down and expected down, its resource
  history and transient attributes go (nothing runs on a fenced node), so the policy engine
  recovers its resources at once. That holds even while the view still lists the node (it was
  heard again just before its power went off, and messaging has not declared it dead yet): it
  counts as a member again only when it joins again (a new join round writes `in_ccm=true`).
"""

from __future__ import annotations

from typing import Any, Optional

from core.cib.durations import interval_ms
from core.cib.xmltree import XNode
from crmd import requests as rq
from crmd.cib import Cib, Edit, resolve
from crmd.derive import HACF_MARK

DEFAULT_STONITH_TIMEOUT_MS = 60_000


def _option(cib: Cib, name: str) -> Optional[str]:
    config = cib.root.find("configuration")
    crm_config = config.find("crm_config") if config is not None else None
    found = None
    for props in crm_config.findall("cluster_property_set") if crm_config is not None else []:
        for nv in props.findall("nvpair"):
            if nv.get("name") == name:
                found = nv.get("value")
    return found


def enabled(cib: Cib) -> bool:
    """stonith-enabled (true unless set false, as Pacemaker)."""
    value = (_option(cib, "stonith-enabled") or "true").strip().lower()
    return value not in ("false", "no", "off", "0", "n", "f")


def timeout_ms(cib: Cib) -> int:
    value = _option(cib, "stonith-timeout")
    parsed = interval_ms(value) if value else 0
    return parsed if parsed > 0 else DEFAULT_STONITH_TIMEOUT_MS


def _primitives(node: XNode) -> list[XNode]:
    found = []
    for child in node.children:
        if child.tag == "primitive":
            found.append(child)
        elif child.tag in ("group", "clone", "master", "bundle"):
            found.extend(_primitives(child))
    return found


def watchdog_timeout_ms(cib: Cib) -> int:
    """stonith-watchdog-timeout: > 0 enables watchdog fencing (a lost node counts as fenced once
    that long has passed, its watchdog having reset it); 0, negative or unset: off."""
    value = _option(cib, "stonith-watchdog-timeout")
    if not value or value.strip().startswith("-"):
        return 0
    return interval_ms(value)


def devices_of(cib: Cib) -> dict[str, Any]:
    config = cib.root.find("configuration")
    resources = config.find("resources") if config is not None else None
    devices = []
    for prim in _primitives(resources) if resources is not None else []:
        if prim.get("class") != "stonith" or not prim.get("id") or not prim.get("type"):
            continue
        if any(nv.get("name") == HACF_MARK for meta in prim.findall("meta_attributes") for nv in meta.findall("nvpair")):
            continue  # stands for an ha.cf device: stonithd reads those from ha.cf itself
        params: dict[str, str] = {}
        for attrs in prim.findall("instance_attributes"):
            for nv in attrs.findall("nvpair"):
                if nv.get("name") and nv.get("value") is not None:
                    params[nv.get("name") or ""] = nv.get("value") or ""
        devices.append({"id": prim.get("id"), "type": prim.get("type"), "params": params})
    levels = []
    topology = config.find("fencing-topology") if config is not None else None
    for level in topology.findall("fencing-level") if topology is not None else []:
        target, pattern = level.get("target"), level.get("target-pattern")
        index, devs = level.get("index"), level.get("devices")
        if not (target or pattern) or not devs:
            continue  # (target-attribute levels: not supported yet)
        try:
            number = int(index or "0")
        except ValueError:
            continue
        levels.append({"target": target or pattern, "index": number, "devices": [d for d in devs.split(",") if d],
                       "pattern": not target})
    return {"devices": devices, "levels": levels,
            "options": {"stonith_timeout_ms": timeout_ms(cib), "enabled": enabled(cib),
                        "watchdog_timeout_ms": watchdog_timeout_ms(cib)}}


def claims_hold(cib: Cib, configured_nodes: int) -> bool:
    """May a node's word that a peer was fenced, and has been in none of its views since, be
    taken as "that peer runs nothing"? Only where a quorate partition is the only one that runs
    resources: three nodes or more (two-node halves both keep quorum) and no-quorum-policy other
    than ignore. Then a node that stayed in quorate views since the fencing would have seen the
    peer in a view before it could run anything again."""
    policy = (_option(cib, "no-quorum-policy") or "stop").strip().lower()
    return configured_nodes >= 3 and policy != "ignore"


def fenced_edits(cib: Cib, node: str, nid: str) -> list[Edit]:
    state = resolve(cib.root, rq.state_path(nid))
    attrs = {"uname": node, "join": "down", "expected": "down", "in_ccm": "false", "crmd": "offline"}
    edits: list[Edit] = [("set", rq.state_path(nid), attrs)]
    if state is not None:
        if state.find("lrm") is not None:
            edits.append(("del", rq.state_path(nid) + (("lrm", nid),)))
        if state.find("transient_attributes") is not None:
            edits.append(("del", rq.state_path(nid) + (("transient_attributes", nid),)))
    return edits
