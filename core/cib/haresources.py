"""haresources -> CIB: what Heartbeat 2's haresources2cib.py did, as a pure function.

A non-CRM cluster says "node1 IP Filesystem::/dev/sdb1::/data httpd": one line is one group of
resources started in order on the preferred node and moved together. The CRM expresses the same
thing as:

- one `group` per line (`group_1`, `group_2`, ... in file order) holding one primitive per
  resource, in the listed order (groups start members in order and stop them in reverse);
- a `rsc_location` per group with a rule `#uname eq <node>` scoring 100, so the named node is
  preferred but any other node may run the group;
- `auto_failback on` -> resource-stickiness 0 (the group goes back to its preferred node as soon
  as it is up again, the score 100 wins); `off` -> INFINITY (it stays where it runs);
  `legacy` has no CRM equivalent and is translated as `on`, with a warning;
- resource agents: the OCF heartbeat agents heartbeat shipped scripts for get named parameters
  (IPaddr ip/cidr_netmask/nic/broadcast, Filesystem device/directory/fstype/options, ...);
  any other script with arguments becomes class `heartbeat` with positional parameters "1", "2",
  ... (how the CRM calls /etc/ha.d/resource.d scripts); a bare name becomes an `lsb` init script.
  Each primitive gets a monitor every 120 s (timeout 60 s), as the original tool did.

Primitive ids are the agent name (`IPaddr_198_18_0_100` for addresses), made unique with a
numeric suffix (`Filesystem_2`), so the same haresources always gives the same CIB.
"""

from __future__ import annotations

import re
from typing import Optional, Sequence

from core.cib.xmltree import XNode
from core.config.haresources import ResourceGroup, ResourceSpec

# agent -> names of its positional haresources arguments (after splitting on "::"; IPaddr-like
# agents also accept "ip/bits/nic/broadcast" in one argument)
OCF_PARAMS: dict[str, tuple[str, ...]] = {
    "IPaddr": ("ip", "cidr_netmask", "nic", "broadcast"),
    "IPaddr2": ("ip", "cidr_netmask", "nic", "broadcast"),
    "IPsrcaddr": ("ipaddress",),
    "Filesystem": ("device", "directory", "fstype", "options"),
    "Delay": ("startdelay", "stopdelay"),
    "MailTo": ("email", "subject"),
    "SendArp": ("ip", "nic"),
    "WAS": ("config",),
    "apache": ("configfile",),
    "db2": ("instance",),
    "drbd": ("drbd_resource",),
    "LVM": ("volgrpname",),
    "Xinetd": ("service",),
    "ServeRAID": ("serveraid", "mergegroup"),
    "Raid1": ("raidconf", "raiddev"),
    "AudibleAlarm": ("nodelist",),
    "ICP": ("driveid", "device"),
    "LinuxSCSI": ("scsi",),
    "portblock": ("protocol", "portno", "action"),
}

_IP_LIKE = ("IPaddr", "IPaddr2", "SendArp")
_BAD_ID = re.compile(r"[^A-Za-z0-9_.-]")


def _ident(text: str) -> str:
    ident = _BAD_ID.sub("_", text).strip("_") or "rsc"
    return ident if not ident[0].isdigit() and ident[0] not in ".-" else "rsc_" + ident


def _resource_id(spec: ResourceSpec, klass: str, params: list[tuple[str, str]]) -> str:
    """IPaddr_198_18_0_100 for addresses (as heartbeat's tool named them), else the agent name."""
    if spec.name in _IP_LIKE and params:
        return _ident(f"{spec.name}_{params[0][1]}".replace(".", "_").replace(":", "_"))
    return _ident(spec.name)


def _params(spec: ResourceSpec) -> tuple[str, list[tuple[str, str]]]:
    """(class, [(name, value)]) for one resource."""
    names = OCF_PARAMS.get(spec.name)
    args = list(spec.args)
    if names is not None:
        if spec.name in _IP_LIKE and len(args) == 1 and "/" in args[0]:
            args = args[0].split("/")
        if len(args) > len(names):
            raise ValueError(f"{spec.text}: {spec.name} takes at most {len(names)} arguments "
                             f"({', '.join(names)})")
        return "ocf", [(n, v) for n, v in zip(names, args) if v != ""]
    if args:
        return "heartbeat", [(str(i), v) for i, v in enumerate(args, start=1)]
    return "lsb", []


def stickiness_for(auto_failback: str) -> str:
    return "INFINITY" if auto_failback == "off" else "0"


def haresources_to_cib(groups: Sequence[ResourceGroup], auto_failback: str = "on",
                       nodes: Sequence[str] = (), stonith_enabled: bool = False,
                       path: str = "haresources") -> tuple[XNode, list[str]]:
    """Build the CIB for `groups`; returns (cib element, warnings). Raises ValueError with a
    `path:line: ...` message for a resource that cannot be translated."""
    warnings: list[str] = []
    if auto_failback == "legacy":
        warnings.append("auto_failback legacy has no CRM equivalent: translated as 'on' "
                        "(resource-stickiness 0)")
    cib = XNode("cib", {"admin_epoch": "0", "epoch": "1", "num_updates": "0",
                        "validate-with": "pacemaker-3.0", "have-quorum": "1"})
    config = cib.sub("configuration")
    crm_config = config.sub("crm_config")
    props = crm_config.sub("cluster_property_set", {"id": "cib-bootstrap-options"})
    for name, value in (("symmetric-cluster", "true"),
                        ("stonith-enabled", "true" if stonith_enabled else "false"),
                        ("no-quorum-policy", "stop")):
        props.sub("nvpair", {"id": f"cib-bootstrap-options-{name}", "name": name, "value": value})
    node_section = config.sub("nodes")
    for uname in nodes:
        node_section.sub("node", {"id": uname, "uname": uname, "type": "member"})
    resources = config.sub("resources")
    constraints = config.sub("constraints")
    used: set[str] = set()

    def unique(base: str) -> str:
        ident, n = base, 1
        while ident in used:
            n += 1
            ident = f"{base}_{n}"
        used.add(ident)
        return ident

    for number, group in enumerate(groups, start=1):
        gid = unique(f"group_{number}")
        gnode = resources.sub("group", {"id": gid})
        for spec in group.resources:
            try:
                klass, params = _params(spec)
            except ValueError as exc:
                raise ValueError(f"{path}:{group.line}: {exc}") from None
            rid = unique(_resource_id(spec, klass, params))
            attrs = {"id": rid, "class": klass}
            if klass == "ocf":
                attrs["provider"] = "heartbeat"
            attrs["type"] = spec.name
            prim = gnode.sub("primitive", attrs)
            if params:
                inst = prim.sub("instance_attributes", {"id": f"{rid}-instance_attributes"})
                for name, value in params:
                    inst.sub("nvpair", {"id": f"{rid}-instance_attributes-{name}",
                                        "name": name, "value": value})
            ops = prim.sub("operations")
            ops.sub("op", {"id": f"{rid}-monitor-120s", "name": "monitor", "interval": "120s",
                           "timeout": "60s"})
        loc = constraints.sub("rsc_location", {"id": f"rsc_location_{gid}", "rsc": gid})
        rule = loc.sub("rule", {"id": f"prefered_location_{gid}", "score": "100"})
        rule.sub("expression", {"id": f"prefered_location_{gid}_expr", "attribute": "#uname",
                                "operation": "eq", "value": group.node})
    defaults = config.sub("rsc_defaults")
    meta = defaults.sub("meta_attributes", {"id": "rsc-options"})
    meta.sub("nvpair", {"id": "rsc-options-resource-stickiness", "name": "resource-stickiness",
                        "value": stickiness_for(auto_failback)})
    cib.sub("status")
    return cib, warnings


def group_node_names(groups: Sequence[ResourceGroup], nodes: Optional[Sequence[str]]) -> list[str]:
    """Nodes for the CIB's node section: ha.cf's list, else the nodes haresources names."""
    if nodes:
        return list(nodes)
    seen: list[str] = []
    for group in groups:
        if group.node not in seen:
            seen.append(group.node)
    return seen
