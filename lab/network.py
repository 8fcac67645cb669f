"""Namespaces, the bridge, veth pairs, link state and packet filters of a netns lab.

Every object is recorded in the state (`created`) right after it exists, so `down` can remove
exactly what `up` made even when `up` failed half-way. Filter rules live inside the namespaces
(chains PYHBLAB-IN / PYHBLAB-OUT), so they vanish with them.
"""

from __future__ import annotations

from typing import Callable, Iterable

from lab import host, plan
from lab.plan import CHAIN_IN, CHAIN_OUT, IFACE, LabError, LabSpec

Record = Callable[[str, str], None]  # record(kind, name): kind "netns" | "link"


def check_free(spec: LabSpec) -> None:
    """Refuse to touch names that exist already (another lab, or leftovers of this one)."""
    existing = host.netns_list()
    taken = [ns for ns in plan.namespaces(spec) if ns in existing]
    taken += [ln for ln in [plan.bridge(spec)] + [plan.host_veth(spec, n) for n in plan.node_names(spec) + ["client"]]
              if host.link_exists(ln)]
    if taken:
        raise LabError(f"lab {spec.name}: {', '.join(taken)} exist already (hb lab down --name {spec.name})")


def create(spec: LabSpec, record: Record) -> None:
    check_free(spec)
    br = plan.bridge(spec)
    host.run(["ip", "link", "add", br, "type", "bridge", "forward_delay", "0", "stp_state", "0",
              "mcast_snooping", "0"])
    record("link", br)
    _sysctl(None, f"net.ipv6.conf.{br}.disable_ipv6", "1")
    host.run(["ip", "link", "set", br, "up"])
    prefix = plan.network(spec).prefixlen
    broadcast = str(plan.network(spec).broadcast_address)
    for node in plan.node_names(spec) + ["client"]:
        ns = plan.namespace(spec, node)
        veth = plan.host_veth(spec, node)
        host.run(["ip", "netns", "add", ns])
        record("netns", ns)
        host.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", IFACE, "netns", ns])
        record("link", veth)
        _sysctl(None, f"net.ipv6.conf.{veth}.disable_ipv6", "1")
        host.run(["ip", "link", "set", veth, "master", br, "up"])
        _sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1")
        _sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1")
        host.run(["ip", "-n", ns, "link", "set", "lo", "up"])
        host.run(["ip", "-n", ns, "addr", "add", f"{plan.address(spec, node)}/{prefix}", "brd", broadcast,
                  "dev", IFACE])
        host.run(["ip", "-n", ns, "link", "set", IFACE, "up"])
        if node != "client":
            setup_filters(ns)
        routes = host.run(["ip", "-n", ns, "route", "show"]).stdout
        assert "default" not in routes, f"{ns} has a default route"


def _sysctl(ns: str | None, key: str, value: str) -> None:
    path = "/proc/sys/" + key.replace(".", "/")
    host.run(host.ns_argv(ns, ["sh", "-c", f"test ! -e {path} || echo {value} > {path}"]))


def destroy(spec: LabSpec, netns: Iterable[str], links: Iterable[str]) -> list[str]:
    """Delete namespaces (their veth ends and filter rules go with them) and host links; returns
    what could not be removed."""
    problems = []
    existing = host.netns_list()
    for ns in netns:
        if ns in existing:
            done = host.run(["ip", "netns", "del", ns], check=False)
            if done.returncode != 0:
                problems.append(f"netns {ns}: {done.stderr.strip()}")
    for link in links:
        if host.link_exists(link):
            done = host.run(["ip", "link", "del", link], check=False)
            if done.returncode != 0 and host.link_exists(link):
                problems.append(f"link {link}: {done.stderr.strip()}")
    return problems


def set_link(spec: LabSpec, node: str, up: bool) -> None:
    """The cable: the host side of the node's veth, so the node sees its carrier go."""
    host.run(["ip", "link", "set", plan.host_veth(spec, node), "up" if up else "down"])


def link_up(spec: LabSpec, node: str) -> bool:
    with open(f"/sys/class/net/{plan.host_veth(spec, node)}/operstate", encoding="ascii") as handle:
        return handle.read().strip() != "down"


def setup_filters(ns: str) -> None:
    for chain, hook in ((CHAIN_IN, "INPUT"), (CHAIN_OUT, "OUTPUT")):
        host.run(["ip", "netns", "exec", ns, "iptables", "-w", "-N", chain])
        host.run(["ip", "netns", "exec", ns, "iptables", "-w", "-I", hook, "1", "-j", chain])


def apply_filters(spec: LabSpec, node: str, rules: list[list[str]]) -> None:
    """Make the node's chains hold exactly `rules` (one iptables-restore transaction)."""
    ns = plan.namespace(spec, node)
    lines = ["*filter", f":{CHAIN_IN} - [0:0]", f":{CHAIN_OUT} - [0:0]"]
    lines += [" ".join(rule) for rule in rules]
    lines.append("COMMIT")
    host.run(["ip", "netns", "exec", ns, "iptables-restore", "-w", "--noflush"], input_text="\n".join(lines) + "\n")


def current_rules(spec: LabSpec, node: str) -> list[str]:
    ns = plan.namespace(spec, node)
    out = []
    for chain in (CHAIN_IN, CHAIN_OUT):
        done = host.run(["ip", "netns", "exec", ns, "iptables", "-w", "-S", chain])
        out += [line for line in done.stdout.splitlines() if line.startswith("-A ")]
    return out


def set_node_iface(spec: LabSpec, node: str, up: bool) -> None:
    """The node's own interface (inside its namespace) down or up: what losing power does to its
    NIC. Works from any namespace (the lab's power switch runs in a node's)."""
    host.run(["ip", "-n", plan.namespace(spec, node), "link", "set", IFACE, "up" if up else "down"])


def flush_taken_addresses(spec: LabSpec, node: str) -> None:
    """Remove every IPv4 address of the node's interface but its own (what a reboot does to the
    addresses its resources added)."""
    import json

    ns = plan.namespace(spec, node)
    done = host.run(["ip", "-n", ns, "-j", "addr", "show", "dev", IFACE], check=False)
    try:
        entries = json.loads(done.stdout or "[]")
    except ValueError:
        return
    own = plan.address(spec, node)
    for entry in entries:
        for info in entry.get("addr_info", []):
            if info.get("family") == "inet" and info.get("local") != own:
                host.run(["ip", "-n", ns, "addr", "del", f"{info['local']}/{info['prefixlen']}", "dev", IFACE],
                         check=False)
