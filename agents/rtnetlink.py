"""The few rtnetlink requests the IP agents make, straight over an AF_NETLINK socket.

IPaddr2 sits on the failover path: every millisecond its start takes is outage. pyroute2 does the
same job but costs about 130 ms to import, more than the rest of the agent's run; these requests
(list links, addresses and routes; add and delete an IPv4 address) are a few struct layouts of
linux/rtnetlink.h, so they are written out here.

Errors the kernel reports come back as OSError with its errno.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from dataclasses import dataclass
from typing import Iterator, Optional

NETLINK_ROUTE = 0
RTM_GETLINK, RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR, RTM_GETROUTE = 18, 20, 21, 22, 26
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_DUMP, NLM_F_EXCL, NLM_F_CREATE = 0x300, 0x200, 0x400
IFLA_ADDRESS, IFLA_IFNAME = 1, 3
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST = 1, 2, 3, 4
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")
_RTATTR = struct.Struct("=HH")


@dataclass(frozen=True)
class Link:
    index: int
    ifname: str
    flags: int
    mac: str  # aa:bb:..., "" when the link has none


@dataclass(frozen=True)
class Address:
    index: int
    address: str
    prefixlen: int
    label: str


@dataclass(frozen=True)
class Route:
    dst: str
    dst_len: int
    oif: Optional[int]
    gateway: Optional[str]
    table: int
    type: int


def _align(n: int) -> int:
    return (n + 3) & ~3


def _attr(kind: int, data: bytes) -> bytes:
    length = _RTATTR.size + len(data)
    return _RTATTR.pack(length, kind) + data + b"\0" * (_align(length) - length)


def _attrs(data: bytes, offset: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    while offset + _RTATTR.size <= len(data):
        length, kind = _RTATTR.unpack_from(data, offset)
        if length < _RTATTR.size:
            break
        out.setdefault(kind, data[offset + _RTATTR.size: offset + length])
        offset += _align(length)
    return out


def _text(raw: Optional[bytes]) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace") if raw else ""


class RtNetlink:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RtNetlink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the exchange ---------------------------------------------------------------------------------
    def _request(self, kind: int, flags: int, body: bytes) -> Iterator[tuple[int, bytes]]:
        """Send one request; yield (message type, payload) of every answer until it is done."""
        self.seq += 1
        seq = self.seq
        self.sock.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, flags | NLM_F_REQUEST, seq, 0) + body)
        while True:
            data = self.sock.recv(65536)
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                length, mtype, mflags, mseq, _ = _NLMSGHDR.unpack_from(data, offset)
                if length < _NLMSGHDR.size:
                    return
                payload = data[offset + _NLMSGHDR.size: offset + length]
                offset += _align(length)
                if mseq != seq:
                    continue
                if mtype == NLMSG_DONE:
                    return
                if mtype == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", payload)[0]
                    if code:
                        raise OSError(code, os.strerror(code))
                    return  # the acknowledgement of a change
                yield mtype, payload
                if not mflags & NLM_F_MULTI and not flags & NLM_F_DUMP:
                    return

    # -- questions ------------------------------------------------------------------------------------
    def links(self) -> list[Link]:
        out = []
        for _, payload in self._request(RTM_GETLINK, NLM_F_DUMP, _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)):
            _, _, index, flags, _ = _IFINFOMSG.unpack_from(payload)
            attrs = _attrs(payload, _IFINFOMSG.size)
            mac = attrs.get(IFLA_ADDRESS, b"")
            out.append(Link(index, _text(attrs.get(IFLA_IFNAME)), flags, ":".join(f"{b:02x}" for b in mac)))
        return out

    def addresses(self) -> list[Address]:
        """Every IPv4 address: (ifindex, address, prefix, label)."""
        out = []
        for _, payload in self._request(RTM_GETADDR, NLM_F_DUMP, _IFADDRMSG.pack(socket.AF_INET, 0, 0, 0, 0)):
            family, prefixlen, _, _, index = _IFADDRMSG.unpack_from(payload)
            if family != socket.AF_INET:
                continue
            attrs = _attrs(payload, _IFADDRMSG.size)
            raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
            if raw is None or len(raw) != 4:
                continue
            out.append(Address(index, socket.inet_ntoa(raw), prefixlen, _text(attrs.get(IFA_LABEL))))
        return out

    def routes(self) -> list[Route]:
        out = []
        for _, payload in self._request(RTM_GETROUTE, NLM_F_DUMP, _RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)):
            family, dst_len, _, _, table, _, _, rtype, _ = _RTMSG.unpack_from(payload)
            if family != socket.AF_INET:
                continue
            attrs = _attrs(payload, _RTMSG.size)
            dst = attrs.get(RTA_DST)
            oif = attrs.get(RTA_OIF)
            gateway = attrs.get(RTA_GATEWAY)
            table_attr = attrs.get(RTA_TABLE)
            out.append(Route(socket.inet_ntoa(dst) if dst else "0.0.0.0", dst_len,
                             struct.unpack("=I", oif)[0] if oif else None,
                             socket.inet_ntoa(gateway) if gateway else None,
                             struct.unpack("=I", table_attr)[0] if table_attr else table, rtype))
        return out

    # -- changes --------------------------------------------------------------------------------------
    def add_address(self, index: int, address: str, prefixlen: int, broadcast: Optional[str] = None,
                    label: Optional[str] = None) -> None:
        raw = socket.inet_aton(address)
        body = _IFADDRMSG.pack(socket.AF_INET, prefixlen, 0, 0, index) + _attr(IFA_LOCAL, raw) + _attr(IFA_ADDRESS, raw)
        if broadcast:
            body += _attr(IFA_BROADCAST, socket.inet_aton(broadcast))
        if label:
            body += _attr(IFA_LABEL, label.encode() + b"\0")
        for _ in self._request(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body):
            pass

    def delete_address(self, index: int, address: str, prefixlen: int) -> None:
        raw = socket.inet_aton(address)
        body = _IFADDRMSG.pack(socket.AF_INET, prefixlen, 0, 0, index) + _attr(IFA_LOCAL, raw) + _attr(IFA_ADDRESS, raw)
        try:
            for _ in self._request(RTM_DELADDR, NLM_F_ACK, body):
                pass
        except OSError as exc:
            if exc.errno != errno.EADDRNOTAVAIL:
                raise
