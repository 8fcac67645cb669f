"""haresources mode (`crm off`): the CIB crmd runs with is derived from haresources + ha.cf at every
start (core.cib.haresources: one group per line, a location preference for the line's node,
`auto_failback` as stickiness), plus what heartbeat's log lines and hb_standby need to know about
each line: its group id, its node, how the line named its first resource, its members.

Heartbeat v1 had no quorum: with two nodes, the one that starts alone (after initdead, which crmd
waits for in this mode) or survives takes every group. The derived CIB says so for two-node
clusters (`no-quorum-policy=ignore`; ccm's two-node quorum would otherwise keep a lone node from
starting anything until it saw its peer once). Larger haresources clusters keep `stop`.

`provider_for(type)` picks the OCF provider of each known agent: our own agents
(`ocf:pyheartbeat:IPaddr2`, ...) when they are installed, heartbeat's otherwise, so the same
haresources runs with whatever agents the node has.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from core.cib.haresources import haresources_to_cib
from core.cib.xmltree import XNode
from core.config.haresources import ResourceGroup

GroupInfo = tuple[str, str, str, tuple[str, ...]]  # (group id, node, first resource as written, members)


def from_haresources(groups: Sequence[ResourceGroup], auto_failback: str, nodes: Sequence[str],
                     provider_for: Optional[Callable[[str], str]] = None,
                     path: str = "haresources") -> tuple[XNode, tuple[GroupInfo, ...], list[str]]:
    root, warnings = haresources_to_cib(groups, auto_failback, nodes, path=path)
    config = root.find("configuration")
    assert config is not None
    resources = config.find("resources")
    assert resources is not None
    if len(nodes) == 2:
        for nv in config.iter("nvpair"):
            if nv.get("name") == "no-quorum-policy":
                nv.set("value", "ignore")
    info: list[GroupInfo] = []
    for element, spec in zip(resources.findall("group"), groups):
        members = tuple(p.get("id") or "" for p in element.findall("primitive"))
        info.append((element.get("id") or "", spec.node, spec.resources[0].text, members))
        if provider_for is not None:
            for prim in element.findall("primitive"):
                if prim.get("class") == "ocf":
                    prim.set("provider", provider_for(prim.get("type") or ""))
    return root, tuple(info), warnings
