"""Pure helpers of the IP address agents: parsing the legacy `ip[/cidr[/nic[/broadcast]]]` form,
netmask conversions, interface labels, choosing the interface from a routing table, and
building gratuitous ARP frames.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Iterable, Optional

from agents.metadata import ParamError

_IFNAME = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}\Z")


@dataclass(frozen=True)
class LegacyIp:
    ip: str
    cidr_netmask: str = ""
    nic: str = ""
    broadcast: str = ""


def parse_legacy(text: str) -> LegacyIp:
    """`192.168.60.200/24/eth0/192.168.60.255` -> its parts (heartbeat's IPaddr grammar).

    The third part is a broadcast address instead of a nic when it starts with a digit."""
    parts = text.strip().split("/")
    if not parts[0] or len(parts) > 4:
        raise ParamError(f"cannot parse {text!r} as ip[/cidr[/nic[/broadcast]]]")
    ip = parts[0]
    mask = parts[1] if len(parts) > 1 else ""
    nic = parts[2] if len(parts) > 2 else ""
    bcast = parts[3] if len(parts) > 3 else ""
    if nic[:1].isdigit():
        if bcast:
            raise ParamError(f"cannot parse {text!r}: two broadcast addresses")
        nic, bcast = "", nic
    return LegacyIp(ip, mask, nic, bcast)


def check_ipv4(text: str) -> ipaddress.IPv4Address:
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        raise ParamError(f"{text!r} is not an IP address") from None
    if not isinstance(addr, ipaddress.IPv4Address):
        raise ParamError(f"{text!r}: only IPv4 addresses are supported")
    if addr.is_unspecified or addr.is_multicast or addr == ipaddress.IPv4Address("255.255.255.255"):
        raise ParamError(f"{text!r} cannot be a service address")
    return addr


def prefix_len(mask: str) -> int:
    """`24` or `255.255.255.0` -> 24; ParamError for anything else (non-contiguous masks too)."""
    text = mask.strip()
    if text.isdigit():
        value = int(text)
        if 1 <= value <= 32:
            return value
        raise ParamError(f"netmask /{text} out of range 1..32")
    try:
        net = ipaddress.IPv4Network(f"0.0.0.0/{text}")
    except ValueError:
        raise ParamError(f"{mask!r} is not a netmask") from None
    if net.prefixlen == 0:
        raise ParamError(f"{mask!r} is not a usable netmask")
    return net.prefixlen


def broadcast_for(ip: str, prefix: int, given: str = "") -> Optional[str]:
    """The broadcast to configure: the given one, else the network's (none for /31 and /32)."""
    if given and given not in ("+", "-"):
        try:
            ipaddress.IPv4Address(given)
        except ValueError:
            raise ParamError(f"{given!r} is not a broadcast address") from None
        return given
    if given == "-" or prefix >= 31:
        return None
    return str(ipaddress.IPv4Network(f"{ip}/{prefix}", strict=False).broadcast_address)


def check_ifname(name: str) -> str:
    if not _IFNAME.match(name):
        raise ParamError(f"{name!r} is not an interface name")
    return name


def make_label(nic: str, iflabel: str) -> str:
    """IPaddr2's label rule: `<nic>:<iflabel>`, at most 15 characters."""
    label = f"{nic}:{iflabel}"
    if len(label) > 15:
        raise ParamError(f"label {label!r} is longer than 15 characters")
    if not re.match(r"^[A-Za-z0-9_]+$", iflabel):
        raise ParamError(f"iflabel {iflabel!r} may contain letters, digits and _ only")
    return label


def free_alias_label(nic: str, labels_in_use: Iterable[str]) -> str:
    """IPaddr (the legacy agent) puts each address on the first free alias `<nic>:<n>`."""
    used = set(labels_in_use)
    for n in range(0, 1000):
        label = f"{nic}:{n}"
        if label not in used and len(label) <= 15:
            return label
    raise ParamError(f"no free alias label on {nic}")


@dataclass(frozen=True)
class Route:
    dst: str  # network address
    prefix: int
    ifname: str
    gateway: Optional[str] = None
    table: int = 254


def find_interface(ip: str, routes: Iterable[Route], nic: str = "") -> Optional[tuple[str, int]]:
    """findif: the most specific directly connected IPv4 route covering ip (on nic when given)
    -> (ifname, prefix); None when there is none."""
    addr = ipaddress.IPv4Address(ip)
    best: Optional[Route] = None
    for route in routes:
        if route.gateway or route.table != 254 or route.prefix == 0:
            continue
        if nic and route.ifname != nic:
            continue
        net = ipaddress.IPv4Network(f"{route.dst}/{route.prefix}", strict=False)
        if addr in net and (best is None or route.prefix > best.prefix):
            best = route
    return (best.ifname, best.prefix) if best else None


# -- gratuitous ARP ------------------------------------------------------------------------------
BROADCAST_MAC = b"\xff" * 6
ETH_P_ARP = 0x0806


def arp_frame(mac: bytes, ip: str, reply: bool) -> bytes:
    """A gratuitous ARP frame announcing ip at mac: an unsolicited request (who-has ip tell ip)
    or an unsolicited reply (ip is-at mac), both broadcast; padded to the 60-byte minimum."""
    assert len(mac) == 6
    spa = ipaddress.IPv4Address(ip).packed
    tha = BROADCAST_MAC if reply else b"\x00" * 6
    oper = 2 if reply else 1
    eth = BROADCAST_MAC + mac + ETH_P_ARP.to_bytes(2, "big")
    arp = (b"\x00\x01" + b"\x08\x00" + b"\x06\x04" + oper.to_bytes(2, "big")
           + mac + spa + tha + spa)
    frame = eth + arp
    return frame + b"\x00" * (60 - len(frame))


def parse_arp_frame(frame: bytes) -> Optional[dict]:
    """The fields of an Ethernet ARP frame (for tests and captures); None if it is not one."""
    if len(frame) < 42 or frame[12:14] != ETH_P_ARP.to_bytes(2, "big"):
        return None
    arp = frame[14:42]
    return {"oper": int.from_bytes(arp[6:8], "big"), "sha": arp[8:14].hex(":"),
            "spa": str(ipaddress.IPv4Address(arp[14:18])), "tha": arp[18:24].hex(":"),
            "tpa": str(ipaddress.IPv4Address(arp[24:28])), "dst": frame[0:6].hex(":")}
