"""haresources mode (`crm off`): the CIB crmd runs with is derived from haresources + ha.cf at every
start (core.cib.haresources: one group per line, a location preference for the line's node,
`auto_failback` as stickiness), plus what heartbeat's log lines and hb_standby need to know about
each line: its group id, its node, how the line named its first resource, its members.

Heartbeat v1 had no quorum: with two nodes, the one that starts alone (after initdead, which crmd
waits for in this mode) or survives takes every group. The derived CIB says so for two-node
clusters (`no-quorum-policy=ignore`; ccm's two-node quorum would otherwise keep a lone node from
starting anything until it saw its peer once). Larger haresources clusters keep `stop`.

With ha.cf's `stonith`/`stonith_host` devices, heartbeat fenced a node before taking its
resources: the derived CIB says `stonith-enabled=true`, and a two-node cluster keeps ccm's
two-node quorum (`stop`, with wait-for-all): otherwise a node fenced while the link is still cut
would boot, not see its peer, and fence it in turn (heartbeat's "stonith deathmatch").
With ping nodes (`ping`, `ping_group`: ipfail's job), each group also gets a location rule
scoring crmd's `pingd` attribute (10000 per ping node the node reaches): when the node holding a
group loses its ping nodes while the peer still reaches them, the group moves there. With
`auto_failback off` the stickiness is then 1000 instead of INFINITY, so connectivity can still
move a group (it beats any stickiness and home preference, as ipfail did); equal connectivity
leaves the group where it is.
Each ha.cf device also appears as a class `stonith` primitive (`target-role=Stopped`,
`pyhb-from=ha.cf`): the policy engine fences only when the CIB declares a device, while stonithd
reads these devices from ha.cf itself (with the node a `stonith_host` line names, and positional
parameters named by the device), so crmd does not pass them on.

`provider_for(type)` picks the OCF provider of each known agent: our own agents
(`ocf:pyheartbeat:IPaddr2`, ...) when they are installed, heartbeat's otherwise, so the same
haresources runs with whatever agents the node has.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from core.cib.haresources import haresources_to_cib
from core.cib.xmltree import XNode
from core.config.haresources import ResourceGroup

PINGD_ATTR = "pingd"  # crmd's connectivity attribute (crmd.machine.PINGD_ATTR)
OFF_STICKINESS_WITH_PING = 1000  # auto_failback off with ping nodes: stays, unless connectivity says go
HACF_MARK = "pyhb-from"  # meta attribute of the stonith primitives standing for ha.cf's devices
GroupInfo = tuple[str, str, str, tuple[str, ...]]  # (group id, node, first resource as written, members)


def from_haresources(groups: Sequence[ResourceGroup], auto_failback: str, nodes: Sequence[str],
                     provider_for: Optional[Callable[[str], str]] = None,
                     path: str = "haresources", stonith_devices: Sequence[tuple[str, str]] = (),
                     connectivity: bool = False) -> tuple[XNode, tuple[GroupInfo, ...], list[str]]:
    """stonith_devices: (id, type) of ha.cf's fence devices (stonithd.devices.from_hacf);
    connectivity: ha.cf has ping nodes (ipfail)."""
    stonith = bool(stonith_devices)
    root, warnings = haresources_to_cib(groups, auto_failback, nodes, stonith_enabled=stonith, path=path)
    config = root.find("configuration")
    assert config is not None
    resources = config.find("resources")
    assert resources is not None
    if len(nodes) == 2 and not stonith:
        for nv in config.iter("nvpair"):
            if nv.get("name") == "no-quorum-policy":
                nv.set("value", "ignore")
    if connectivity:
        constraints = config.find("constraints")
        assert constraints is not None
        for group in resources.findall("group"):
            gid = group.get("id") or ""
            loc = constraints.sub("rsc_location", {"id": f"{gid}-connected", "rsc": gid})
            rule = loc.sub("rule", {"id": f"{gid}-connected-rule", "score-attribute": PINGD_ATTR})
            rule.sub("expression", {"id": f"{gid}-connected-expr", "attribute": PINGD_ATTR, "operation": "defined"})
        for nv in config.iter("nvpair"):
            if nv.get("name") == "resource-stickiness" and nv.get("value") == "INFINITY":
                nv.set("value", str(OFF_STICKINESS_WITH_PING))
    for dev_id, dev_type in stonith_devices:
        prim = XNode("primitive", {"id": dev_id, "class": "stonith", "type": dev_type})
        meta = XNode("meta_attributes", {"id": f"{dev_id}-meta"})
        meta.append(XNode("nvpair", {"id": f"{dev_id}-role", "name": "target-role", "value": "Stopped"}))
        meta.append(XNode("nvpair", {"id": f"{dev_id}-from", "name": HACF_MARK, "value": "ha.cf"}))
        prim.append(meta)
        resources.append(prim)
    info: list[GroupInfo] = []
    for element, spec in zip(resources.findall("group"), groups):
        members = tuple(p.get("id") or "" for p in element.findall("primitive"))
        info.append((element.get("id") or "", spec.node, spec.resources[0].text, members))
        if provider_for is not None:
            for prim in element.findall("primitive"):
                if prim.get("class") == "ocf":
                    prim.set("provider", provider_for(prim.get("type") or ""))
    return root, tuple(info), warnings
