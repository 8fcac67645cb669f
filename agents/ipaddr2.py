"""ocf:pyheartbeat:IPaddr2 (and, with legacy=True, ocf:pyheartbeat:IPaddr) — a service IPv4
address, managed over rtnetlink (agents.rtnetlink), announced with gratuitous ARP.

start    add ip/prefix (label, broadcast) to the interface — given, or the one whose directly
         connected route covers ip (findif) — then send `arp_count` unsolicited ARP requests
         and replies, `arp_interval` ms apart
monitor  0 = the address is on the interface and the link is up; 7 = not there; 1 = there but
         the link is down
stop     remove the address (0 also when it was not there)
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from agents import ipspec
from agents import ocfagent as ocf
from agents.metadata import Action, AgentSpec, Param, ParamError

IFF_UP = 0x1
IFF_LOOPBACK = 0x8
IFF_NOARP = 0x80
IFF_LOWER_UP = 0x10000

_COMMON = (
    Param("cidr_netmask", "CIDR netmask",
          "The netmask for the interface in CIDR format (e.g. 24) or dotted quad. If unspecified, "
          "it is taken from the routing table entry that covers the address."),
    Param("nic", "Network interface",
          "The interface to add the address to. If unspecified, the interface of the directly "
          "connected route that covers the address is used."),
    Param("broadcast", "Broadcast address",
          "Broadcast address for the IP. If unspecified it is computed from the netmask; '-' "
          "means none."),
    Param("arp_count", "ARP packet count",
          "How many rounds of gratuitous ARP (an unsolicited request and reply each) to send "
          "after adding the address.", type="integer", default="5"),
    Param("arp_interval", "ARP packet interval in ms",
          "Milliseconds between gratuitous ARP rounds.", type="integer", default="200"),
    Param("arp_mode", "ARP mode",
          "Which gratuitous ARP packets to send: both, request or reply.", default="both"),
)

IPADDR2_SPEC = AgentSpec(
    name="IPaddr2",
    shortdesc="Manages virtual IPv4 addresses (Linux specific version)",
    longdesc="This Linux-specific resource manages IP alias IP addresses. It can add an IP alias, "
             "or remove one. In addition, it announces the address with gratuitous ARP so that "
             "neighbours update their caches when the address moves.",
    params=(Param("ip", "IPv4 address", "The IPv4 address to be configured in dotted quad "
                  "notation, for example \"192.168.1.1\".", required=True, unique=True),)
    + _COMMON
    + (Param("iflabel", "Interface label",
             "You can specify an additional label for your IP address here. The full label is "
             "<nic>:<iflabel> and may not exceed 15 characters."),),
    actions=(Action("start", 20), Action("stop", 20), Action("status", 20),
             Action("monitor", 20, interval_s=10, depth=0), Action("meta-data", 5),
             Action("validate-all", 20)),
)

IPADDR_SPEC = AgentSpec(
    name="IPaddr",
    shortdesc="Manages virtual IPv4 addresses (portable version, heartbeat's IPaddr)",
    longdesc="The legacy IPaddr resource: the address may be written as ip/cidr/nic/broadcast "
             "(the form of haresources, e.g. 192.168.60.200/24/eth0); each address gets the next "
             "free alias label <nic>:<n> unless iflabel is given.",
    params=(Param("ip", "IPv4 address", "The IPv4 address, optionally as ip/cidr/nic/broadcast.",
                  required=True, unique=True),)
    + _COMMON
    + (Param("iflabel", "Interface label", "Alias label suffix; default: the next free number."),),
    actions=IPADDR2_SPEC.actions,
)


@dataclass(frozen=True)
class Wanted:
    ip: str
    nic: str  # "" = not given and not needed yet
    prefix: Optional[int]
    broadcast: str
    iflabel: str


def wanted(ctx: ocf.Context, legacy: bool) -> Wanted:
    p = ctx.params
    ip, mask, nic, bcast = p["ip"].strip(), p.get("cidr_netmask", ""), p.get("nic", ""), p.get("broadcast", "")
    if legacy or "/" in ip:
        parts = ipspec.parse_legacy(ip)
        ip = parts.ip
        mask, nic, bcast = mask or parts.cidr_netmask, nic or parts.nic, bcast or parts.broadcast
    ipspec.check_ipv4(ip)
    prefix = ipspec.prefix_len(mask) if mask else None
    if nic:
        ipspec.check_ifname(nic)
    for name in ("arp_count", "arp_interval"):
        if int(p[name]) < 0:
            raise ParamError(f"{name} must not be negative")
    if p["arp_mode"] not in ("both", "request", "reply"):
        raise ParamError(f"arp_mode must be both, request or reply, not {p['arp_mode']!r}")
    iflabel = p.get("iflabel", "")
    if iflabel and nic:
        ipspec.make_label(nic, iflabel)
    return Wanted(ip, nic, prefix, bcast, iflabel)


class Net:
    """The few netlink questions the agent asks (agents.rtnetlink: no 130 ms pyroute2 import on
    the failover path)."""

    def __init__(self) -> None:
        from agents.rtnetlink import RtNetlink

        self.nl = RtNetlink()
        self._links: Optional[dict[int, Any]] = None

    def close(self) -> None:
        self.nl.close()

    def _all_links(self, fresh: bool = False) -> dict[int, Any]:
        if self._links is None or fresh:
            self._links = {link.index: link for link in self.nl.links()}
        return self._links

    def index(self, ifname: str) -> Optional[int]:
        for link in self._all_links().values():
            if link.ifname == ifname:
                return link.index
        return None

    def link(self, index: int) -> Any:
        return self._all_links(fresh=True)[index]

    def ifname(self, index: int) -> str:
        return self._all_links()[index].ifname

    def addresses(self) -> list[tuple[int, str, int, str]]:
        """(ifindex, address, prefix, label) of every IPv4 address."""
        return [(a.index, a.address, a.prefixlen, a.label) for a in self.nl.addresses()]

    def routes(self) -> list[ipspec.Route]:
        names = {link.index: link.ifname for link in self._all_links().values()}
        return [ipspec.Route(r.dst, r.dst_len, names.get(r.oif, "") if r.oif is not None else "", r.gateway, r.table)
                for r in self.nl.routes() if r.type == 1]  # unicast only

    def add(self, index: int, address: str, prefixlen: int, broadcast: Optional[str], label: Optional[str]) -> None:
        self.nl.add_address(index, address, prefixlen, broadcast, label)

    def delete(self, index: int, address: str, prefixlen: int) -> None:
        self.nl.delete_address(index, address, prefixlen)


def served(net: Net, want: Wanted, anywhere: bool = False) -> Optional[tuple[int, str, int, str]]:
    """Where our address is configured (on want.nic when one is named, unless anywhere), or None."""
    nic_index = None
    if want.nic and not anywhere:
        nic_index = net.index(want.nic)
        if nic_index is None:
            return None
    for entry in net.addresses():
        if entry[1] == want.ip and (nic_index is None or entry[0] == nic_index):
            return entry
    return None


def link_up(net: Net, index: int) -> bool:
    flags = net.link(index).flags
    return bool(flags & IFF_UP) and bool(flags & (IFF_LOWER_UP | IFF_LOOPBACK))


def placement(net: Net, want: Wanted) -> tuple[str, int]:
    """(nic, prefix) for a start: given values, else derived from the routing table."""
    if want.nic and net.index(want.nic) is None:
        raise ocf.AgentFailure(ocf.OCF_ERR_ARGS, f"interface {want.nic} does not exist here")
    if want.nic and want.prefix is not None:
        return want.nic, want.prefix
    found = ipspec.find_interface(want.ip, net.routes(), want.nic)
    if found is None:
        if want.nic:
            return want.nic, want.prefix if want.prefix is not None else 32
        raise ocf.AgentFailure(ocf.OCF_ERR_ARGS, f"no interface has a route covering {want.ip}; "
                               "set nic and cidr_netmask")
    return (want.nic or found[0]), (want.prefix if want.prefix is not None else found[1])


def send_garp(ctx: ocf.Context, ifname: str, mac: bytes, ip: str,
              still_ours: Optional[Callable[[], bool]] = None) -> int:
    """The first round of gratuitous ARP now; the other rounds from a detached child, so that
    start returns at once (as resource-agents' IPaddr2 runs send_arp in the background): the
    address is usable the moment it is added, and a failover must not wait for the repeats.
    Before each later round the child checks `still_ours()`: once the address was stopped here
    (a quick move), announcing it again would pull the clients back from its new owner (whose
    own announcements a client ignores for a second after ours: Linux's neighbour locktime).

    The packet socket is opened with no protocol and never bound (frames go out by `sendto` to
    the interface): binding one to an interface costs the kernel an RCU grace period (~10 ms).
    So does releasing it: with repeats, the detached child, which sleeps before its first round,
    holds the last reference."""
    count, interval = int(ctx.params["arp_count"]), int(ctx.params["arp_interval"])
    mode = ctx.params["arp_mode"]
    if count == 0:
        return 0
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    address = (ifname, ipspec.ETH_P_ARP)
    try:
        sent = _garp_round(sock, address, mac, ip, mode)
        if count > 1 and _detach():
            try:
                for _ in range(count - 1):
                    if interval > 0:
                        time.sleep(interval / 1000.0)
                    if still_ours is not None and not still_ours():
                        break
                    _garp_round(sock, address, mac, ip, mode)
            finally:
                sock.close()
                os._exit(0)
    finally:
        sock.close()  # (with repeats, the child's copy is the last: it pays for the release)
    return sent * count


def _garp_round(sock: socket.socket, address: tuple[str, int], mac: bytes, ip: str, mode: str) -> int:
    sent = 0
    if mode in ("both", "request"):
        sock.sendto(ipspec.arp_frame(mac, ip, reply=False), address)
        sent += 1
    if mode in ("both", "reply"):
        sock.sendto(ipspec.arp_frame(mac, ip, reply=True), address)
        sent += 1
    return sent


def _detach() -> bool:
    """Fork a grandchild in its own session with no standard streams (the lrmd must not wait for
    it); True in the grandchild, False in the agent."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return False
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    return True


def _make(legacy: bool):
    def validate(ctx: ocf.Context) -> int:
        want = wanted(ctx, legacy)
        net = Net()
        try:
            placement(net, want)
        finally:
            net.close()
        return ocf.OCF_SUCCESS

    def monitor(ctx: ocf.Context) -> int:
        want = wanted(ctx, legacy)
        net = Net()
        try:
            entry = served(net, want)
            if entry is None:
                return ocf.OCF_NOT_RUNNING
            if not link_up(net, entry[0]):
                raise ocf.AgentFailure(ocf.OCF_ERR_GENERIC,
                                       f"{want.ip} is on {net.ifname(entry[0])} but its link is down")
            return ocf.OCF_SUCCESS
        finally:
            net.close()

    def start(ctx: ocf.Context) -> int:
        want = wanted(ctx, legacy)
        net = Net()
        try:
            if served(net, want) is not None:
                return ocf.OCF_SUCCESS
            nic, prefix = placement(net, want)
            index = net.index(nic)
            assert index is not None
            label = None
            if want.iflabel:
                label = ipspec.make_label(nic, want.iflabel)
            elif legacy:
                label = ipspec.free_alias_label(nic, [a[3] for a in net.addresses()])
            bcast = ipspec.broadcast_for(want.ip, prefix, want.broadcast)
            try:
                net.add(index, want.ip, prefix, bcast or None, label or None)
            except OSError as exc:
                raise ocf.AgentFailure(ocf.OCF_ERR_GENERIC, f"cannot add {want.ip}/{prefix} to {nic}: {exc}")
            link = net.link(index)
            if not link_up(net, index):
                raise ocf.AgentFailure(ocf.OCF_ERR_GENERIC, f"{want.ip} added but link {nic} is down")
            mac = link.mac
            if not link.flags & (IFF_NOARP | IFF_LOOPBACK) and mac:
                def still_ours() -> bool:
                    try:
                        check = Net()
                    except OSError:
                        return False
                    try:
                        return served(check, want, anywhere=True) is not None
                    except OSError:
                        return False
                    finally:
                        check.close()
                sent = send_garp(ctx, nic, bytes.fromhex(mac.replace(":", "")), want.ip, still_ours)
                ctx.log("INFO", f"added {want.ip}/{prefix} to {nic}; {sent} gratuitous ARP packets (all but the first round in the background)")
            return ocf.OCF_SUCCESS
        finally:
            net.close()

    def stop(ctx: ocf.Context) -> int:
        want = wanted(ctx, legacy)
        net = Net()
        try:
            entry = served(net, want, anywhere=True)
            if entry is None:
                return ocf.OCF_SUCCESS
            try:
                net.delete(entry[0], entry[1], entry[2])
            except OSError as exc:
                raise ocf.AgentFailure(ocf.OCF_ERR_GENERIC, f"cannot remove {want.ip}: {exc}")
            if served(net, want, anywhere=True) is not None:
                raise ocf.AgentFailure(ocf.OCF_ERR_GENERIC, f"{want.ip} is still configured")
            return ocf.OCF_SUCCESS
        finally:
            net.close()

    return {"start": start, "stop": stop, "monitor": monitor, "status": monitor,
            "validate-all": validate}


IPADDR2_HANDLERS = _make(legacy=False)
IPADDR_HANDLERS = _make(legacy=True)


def main(argv: list[str]) -> int:
    return ocf.run(IPADDR2_SPEC, IPADDR2_HANDLERS, argv)


def main_ipaddr(argv: list[str]) -> int:
    return ocf.run(IPADDR_SPEC, IPADDR_HANDLERS, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
