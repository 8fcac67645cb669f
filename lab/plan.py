"""What a lab looks like, computed from its spec alone (sans-I/O): names of namespaces, bridge and
veths, addresses, per-node directories, the ha.cf and authkeys each node gets, and the packet
filter rules that partitions and packet loss turn into.

Naming (the lab name is at most 6 characters so every interface name fits Linux's 15):

| what                      | netns mode               | loopback mode         |
|---------------------------|--------------------------|-----------------------|
| node K namespace          | `{name}-nodeK`           | none                  |
| client namespace          | `{name}-client`          | none                  |
| bridge                    | `{name}br`               | none                  |
| host side of node K veth  | `{name}nK` (eth0 inside) | none                  |
| host side of client veth  | `{name}cl`               | none                  |
| node K address            | subnet + 10 + K          | 127.0.0.(10 + K)      |
| client address            | subnet + 50              | none                  |
"""

from __future__ import annotations

import ipaddress
import re
import zlib
from dataclasses import asdict, dataclass, field
from typing import Iterable, Optional

from core.config.authkeys import METHODS as AUTH_METHODS

LAB_SPACE = ipaddress.ip_network("198.18.0.0/15")
DEFAULT_SUBNET = "198.18.0.0/24"
DEFAULT_NAME = "phb"
NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,5}$")
MODES = ("netns", "loopback")
MEDIA = ("bcast", "mcast", "ucast")
NODE_OFFSET = 10
CLIENT_OFFSET = 50
MAX_NODES = CLIENT_OFFSET - NODE_OFFSET - 1
IFACE = "eth0"
CHAIN_IN = "PYHBLAB-IN"
CHAIN_OUT = "PYHBLAB-OUT"


class LabError(Exception):
    """Something the user can fix: a bad option, a lab that exists already, missing privileges."""


@dataclass(frozen=True)
class LabSpec:
    name: str = DEFAULT_NAME
    nodes: int = 3
    mode: str = "netns"
    subnet: str = DEFAULT_SUBNET
    media: str = "bcast"
    keepalive_ms: int = 100
    deadtime_ms: int = 500
    warntime_ms: Optional[int] = None
    initdead_ms: Optional[int] = None
    udpport: Optional[int] = None
    realtime: bool = True
    debug: int = 0
    root: str = ""
    extra_hacf: tuple[str, ...] = field(default=())
    # False: `Lab.up` prepares every node's directories but starts no pyheartbeat stack, so the
    # namespaces can host other software (bench/failover.py runs Heartbeat 3.0.6 there, through
    # lab/heartbeat306.py) or a stack started later with `Lab.start_node`.
    run_stack: bool = True
    # the resource layer: `crm yes` with a CIB file loaded into every node's replica, or haresources
    # lines (crm off). `{vip}`, `{vip2}`, ... in them become the lab's service addresses
    # (subnet + 100, + 101, ...), which the client namespace reaches.
    crm: bool = False
    cib: str = ""
    haresources: tuple[str, ...] = field(default=())
    auto_failback: str = "on"
    scripts: tuple[str, ...] = field(default=())  # copied into every node's <confdir>/resource.d
    # fencing: "lab" configures the lab's power switch (external/lab, lab.pdu) on every node: in
    # the CIB (crm yes) or as an ha.cf stonith_host line (crm off)
    stonith: str = ""
    # > 0: every node's launcher feeds a lab watchdog (lab.wdog: a FIFO) that powers the node off
    # when not fed for this long
    watchdog_ms: int = 0
    # the authkeys method of every node (`hb lab up --auth`): sha1 as Heartbeat's default, or a
    # sealing method (aes-256-gcm, chacha20-poly1305) so every lab test and benchmark can run encrypted
    auth: str = "sha1"

    def to_dict(self) -> dict:
        out = asdict(self)
        for name in ("extra_hacf", "haresources", "scripts"):
            out[name] = list(getattr(self, name))
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "LabSpec":
        data = dict(data)
        for name in ("extra_hacf", "haresources", "scripts"):
            data[name] = tuple(data.get(name, ()))
        return cls(**data)


def default_root(name: str) -> str:
    return f"/tmp/pyhb-lab-{name}"


def validate(spec: LabSpec) -> LabSpec:
    """Check a spec; returns it with the root and udpport filled in."""
    if not NAME_RE.match(spec.name):
        raise LabError(f"lab name {spec.name!r}: want 1-6 lower-case letters or digits, starting with a letter")
    if spec.mode not in MODES:
        raise LabError(f"mode {spec.mode!r}: want one of {', '.join(MODES)}")
    if spec.media not in MEDIA:
        raise LabError(f"media {spec.media!r}: want one of {', '.join(MEDIA)}")
    if spec.mode == "loopback" and spec.media != "ucast":
        raise LabError(f"loopback mode has no {spec.media}: use --media ucast (or run as root for namespaces)")
    if not 1 <= spec.nodes <= MAX_NODES:
        raise LabError(f"--nodes {spec.nodes}: want 1..{MAX_NODES}")
    if spec.media == "ucast" and spec.nodes < 2:
        raise LabError("ucast needs at least 2 nodes (a node does not send heartbeats to itself)")
    try:
        net = ipaddress.ip_network(spec.subnet, strict=True)
    except ValueError as exc:
        raise LabError(f"subnet {spec.subnet!r}: {exc}") from None
    if net.version != 4 or not net.subnet_of(LAB_SPACE):  # type: ignore[arg-type]
        raise LabError(f"subnet {spec.subnet}: lab addresses must lie within {LAB_SPACE}")
    if net.num_addresses < 64:
        raise LabError(f"subnet {spec.subnet}: too small, want /26 or larger")
    if spec.keepalive_ms <= 0 or spec.deadtime_ms <= spec.keepalive_ms:
        raise LabError(f"deadtime ({spec.deadtime_ms} ms) must be greater than keepalive ({spec.keepalive_ms} ms)")
    if spec.udpport is not None and not 1 <= spec.udpport <= 65535:
        raise LabError(f"udpport {spec.udpport}: want 1..65535")
    if spec.cib and not spec.crm:
        raise LabError("--cib needs --crm (crm yes); haresources clusters derive their CIB")
    if spec.haresources and spec.crm:
        raise LabError("--haresources is for crm off; with --crm give a CIB (--cib)")
    if spec.stonith not in ("", "lab"):
        raise LabError(f"--stonith {spec.stonith!r}: the lab offers 'lab' (its power switch)")
    if spec.watchdog_ms and spec.mode != "netns":
        raise LabError("--watchdog powers namespaces off: it needs netns mode (root)")
    if spec.watchdog_ms < 0:
        raise LabError(f"--watchdog {spec.watchdog_ms} ms: want a positive time")
    if spec.stonith and spec.mode != "netns":
        raise LabError("--stonith lab powers namespaces off: it needs netns mode (root)")
    if spec.auth not in AUTH_METHODS:
        raise LabError(f"--auth {spec.auth!r}: want one of {', '.join(AUTH_METHODS)}")
    if spec.auto_failback not in ("on", "off", "legacy"):
        raise LabError(f"auto_failback {spec.auto_failback!r}: want on, off or legacy")
    udpport = spec.udpport if spec.udpport is not None else default_udpport(spec)
    root = spec.root or default_root(spec.name)
    return LabSpec(**{**spec.to_dict(), "root": root, "udpport": udpport, "extra_hacf": spec.extra_hacf,
                      "haresources": spec.haresources, "scripts": spec.scripts})


def default_udpport(spec: LabSpec) -> int:
    """694 (heartbeat's port) inside namespaces; on loopback an unprivileged port that differs
    between lab names, so several loopback labs can coexist."""
    if spec.mode == "netns":
        return 694
    return 20_000 + zlib.crc32(spec.name.encode()) % 10_000


def node_names(spec: LabSpec) -> list[str]:
    return [f"node{k}" for k in range(1, spec.nodes + 1)]


def node_index(spec: LabSpec, node: str) -> int:
    if node not in node_names(spec):
        raise LabError(f"no node {node!r} in lab {spec.name} (nodes: {', '.join(node_names(spec))})")
    return int(node[4:])


def namespace(spec: LabSpec, node: str) -> str:
    if node == "client":
        return f"{spec.name}-client"
    node_index(spec, node)
    return f"{spec.name}-{node}"


def namespaces(spec: LabSpec) -> list[str]:
    return [namespace(spec, n) for n in node_names(spec)] + [namespace(spec, "client")]


def bridge(spec: LabSpec) -> str:
    return f"{spec.name}br"


def host_veth(spec: LabSpec, node: str) -> str:
    if node == "client":
        return f"{spec.name}cl"
    return f"{spec.name}n{node_index(spec, node)}"


def network(spec: LabSpec) -> ipaddress.IPv4Network:
    return ipaddress.ip_network(spec.subnet)  # type: ignore[return-value]


def address(spec: LabSpec, node: str) -> str:
    if node == "client":
        return str(network(spec).network_address + CLIENT_OFFSET)
    k = node_index(spec, node)
    if spec.mode == "loopback":
        return f"127.0.0.{NODE_OFFSET + k}"
    return str(network(spec).network_address + NODE_OFFSET + k)


VIP_OFFSET = 100


def vip(spec: LabSpec, k: int = 1) -> str:
    """The k-th service address of the lab (floating addresses of its resources)."""
    assert 1 <= k <= 100, "service addresses are subnet + 100 .. + 199"
    return str(network(spec).network_address + VIP_OFFSET + k - 1)


def expand(spec: LabSpec, text: str) -> str:
    """`{vip}`, `{vip2}`, ..., `{prefix}` (the subnet's length) and `{nic}` in haresources lines
    and CIBs become the lab's values."""
    out = text.replace("{vip}", vip(spec, 1)).replace("{prefix}", str(network(spec).prefixlen))
    out = out.replace("{nic}", IFACE if spec.mode == "netns" else "lo")
    for k in range(2, 10):
        out = out.replace(f"{{vip{k}}}", vip(spec, k))
    return out


def render_haresources(spec: LabSpec) -> str:
    return "# generated by `hb lab up`\n" + "".join(expand(spec, line) + "\n" for line in spec.haresources)


def ocf_root(spec: LabSpec) -> str:
    """Where the lab installs our own OCF agents (searched before /usr/lib/ocf)."""
    return f"{spec.root}/ocf"


def mcast_group(spec: LabSpec) -> str:
    net = network(spec).network_address.packed
    return f"239.{net[1]}.{net[2]}.1"


def node_dir(spec: LabSpec, node: str) -> str:
    node_index(spec, node)
    return f"{spec.root}/{node}"


def node_dirs(spec: LabSpec, node: str) -> dict[str, str]:
    base = node_dir(spec, node)
    return {"etc": f"{base}/etc", "run": f"{base}/run", "state": f"{base}/state", "log": f"{base}/log"}


def node_environ(spec: LabSpec, node: str) -> dict[str, str]:
    dirs = node_dirs(spec, node)
    return {"PYHB_CONFDIR": dirs["etc"], "PYHB_RUNDIR": dirs["run"], "PYHB_STATEDIR": dirs["state"],
            "PYHB_NODENAME": node, "PYHB_OCF_ROOTS": f"{ocf_root(spec)}:/usr/lib/ocf", "PYHB_LOG_MS": "1"}


def _ms(value: int) -> str:
    return f"{value}ms"


def render_hacf(spec: LabSpec, node: str) -> str:
    """ha.cf for one node of the lab."""
    dirs = node_dirs(spec, node)
    initdead = spec.initdead_ms if spec.initdead_ms is not None else max(2 * spec.deadtime_ms, 2000)
    lines = [
        f"# generated by `hb lab up` for lab {spec.name}, {node} ({spec.mode} mode)",
        f"logfile {dirs['log']}/ha-log",
        f"debugfile {dirs['log']}/ha-debug",
        "logfacility none",
        "use_logd yes",
        f"debug {spec.debug}",
        f"keepalive {_ms(spec.keepalive_ms)}",
        f"deadtime {_ms(spec.deadtime_ms)}",
    ]
    if spec.warntime_ms is not None:
        lines.append(f"warntime {_ms(spec.warntime_ms)}")
    lines += [f"initdead {_ms(initdead)}", f"udpport {spec.udpport}"]
    peers = [n for n in node_names(spec) if n != node]
    if spec.mode == "loopback":
        lines += [f"ucast lo {address(spec, p)}" for p in peers]
        lines.append(f"bind_address {address(spec, node)}")
    elif spec.media == "bcast":
        lines.append(f"bcast {IFACE}")
    elif spec.media == "mcast":
        lines.append(f"mcast {IFACE} {mcast_group(spec)} {spec.udpport} 1 0")
    else:
        lines += [f"ucast {IFACE} {address(spec, p)}" for p in peers]
    lines += [
        f"auto_failback {spec.auto_failback}",
        f"crm {'yes' if spec.crm else 'off'}",
        f"realtime {'on' if spec.realtime else 'off'}",
        "node " + " ".join(node_names(spec)),
    ]
    if spec.watchdog_ms:
        lines.append(f"watchdog {watchdog_path(spec, node)}")
    if spec.stonith == "lab" and not spec.crm:
        params = fence_params(spec)
        lines.append("stonith_host * external/lab " + " ".join(f"{k}={v}" for k, v in params.items()))
    lines += list(spec.extra_hacf)
    return "\n".join(lines) + "\n"


FENCE_DEVICE = "fence-lab"


def watchdog_path(spec: LabSpec, node: str) -> str:
    """The node's watchdog device: a FIFO read by the lab (lab.wdog)."""
    return f"{node_dir(spec, node)}/watchdog"


def fence_params(spec: LabSpec) -> dict[str, str]:
    """The lab power switch's parameters. In a two-node lab fencing node2 waits 1 s first: in a
    fence race (both halves of a split lose each other at once, and each keeps quorum) node1 is
    shot at once and node2, whose fencing waits, survives whatever the timing (the delay protects
    its target). With three nodes or more only a quorate partition fences, and there is at most
    one, so no fencing waits (a delay there only lengthened every failover off node K, by K - 1 s
    when every node had one)."""
    names = node_names(spec)
    # pcmk_host_list: who the switch powers is known (static-list), so a fencing's query asks no
    # device run of any node (dynamic-list would run `gethosts` when its 60 s cache is cold)
    params = {"hostlist": ",".join(names), "lab_root": spec.root, "pcmk_host_list": ",".join(names)}
    if len(names) == 2:
        params["pcmk_delay_base"] = ",".join(f"{n}:{(k - 1)}s" for k, n in enumerate(names, 1))
    return params


def with_stonith(spec: LabSpec, cib_text: str) -> str:
    """The lab's CIB with fencing on and the power switch as a class stonith primitive."""
    from core.cib.xmltree import XNode, parse_xml, to_xml

    root = parse_xml(cib_text, spec.cib or "<cib>")
    config = root.find("configuration")
    if config is None:
        raise LabError(f"{spec.cib}: no configuration section")
    crm_config = config.find("crm_config")
    if crm_config is None:
        crm_config = config.sub("crm_config")
    props = crm_config.find("cluster_property_set")
    if props is None:
        props = crm_config.sub("cluster_property_set", {"id": "cib-bootstrap-options"})
    for nv in list(props.findall("nvpair")):
        if nv.get("name") == "stonith-enabled":
            props.remove(nv)
    props.sub("nvpair", {"id": "lab-stonith-enabled", "name": "stonith-enabled", "value": "true"})
    resources = config.find("resources")
    if resources is None:
        resources = config.sub("resources")
    prim = XNode("primitive", {"id": FENCE_DEVICE, "class": "stonith", "type": "external/lab"})
    attrs = prim.sub("instance_attributes", {"id": f"{FENCE_DEVICE}-params"})
    for name, value in fence_params(spec).items():
        attrs.sub("nvpair", {"id": f"{FENCE_DEVICE}-{name}", "name": name, "value": value})
    ops = prim.sub("operations")
    ops.sub("op", {"id": f"{FENCE_DEVICE}-monitor", "name": "monitor", "interval": "60s", "timeout": "20s"})
    resources.children = [prim] + list(resources.children)  # (an empty element's children are shared)
    return to_xml(root)


def render_authkeys(secret: str, method: str = "sha1") -> str:
    assert secret and secret.isalnum(), "lab secrets are plain alphanumerics"
    return f"# generated by `hb lab up`\nauth 1\n1 {method} {secret}\n"


# -- partitions and packet loss ------------------------------------------------------------

def parse_groups(spec: LabSpec, words: Iterable[str]) -> list[list[str]]:
    """`node1,node2 node3` -> [[node1, node2], [node3]]; nodes not named form one more group."""
    groups: list[list[str]] = []
    seen: set[str] = set()
    for word in words:
        group = [n for n in word.split(",") if n]
        if not group:
            raise LabError(f"empty group {word!r}")
        for n in group:
            node_index(spec, n)
            if n in seen:
                raise LabError(f"{n} is in two groups")
            seen.add(n)
        groups.append(group)
    rest = [n for n in node_names(spec) if n not in seen]
    if rest:
        groups.append(rest)
    if len(groups) < 2:
        raise LabError("a partition needs at least two groups")
    return groups


def cut_pairs(groups: list[list[str]]) -> set[tuple[str, str]]:
    """(a, b) for every a and b in different groups: a drops what comes from b."""
    pairs: set[tuple[str, str]] = set()
    for i, left in enumerate(groups):
        for j, right in enumerate(groups):
            if i != j:
                pairs.update((a, b) for a in left for b in right)
    return pairs


def filter_rules(spec: LabSpec, node: str, cuts: Iterable[tuple[str, str]],
                 loss_percent: float = 0.0) -> list[list[str]]:
    """iptables arguments (after `iptables`) that make node's chains match the wanted faults:
    drop everything from the nodes it is cut from, and lose loss_percent of packets each way."""
    rules = [["-A", CHAIN_IN, "-s", address(spec, peer), "-j", "DROP"]
             for a, peer in sorted(cuts) if a == node]
    if loss_percent > 0:
        probability = f"{min(loss_percent, 100.0) / 100.0:.4f}"
        statistic = ["-m", "statistic", "--mode", "random", "--probability", probability, "-j", "DROP"]
        rules.append(["-A", CHAIN_IN, "-i", IFACE] + statistic)
        rules.append(["-A", CHAIN_OUT, "-o", IFACE] + statistic)
    return rules
