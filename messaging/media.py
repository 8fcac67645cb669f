"""The heartbeat media: the sockets and serial ports packets travel on (shell side).

Every medium sends each packet and hands what it receives to the core as `PacketIn(link, bytes)`,
where `link` is the medium's name (the interface or the serial device). Send errors (interface
down, no route, full serial buffer) are counted, never raised: a dead medium is exactly what the
liveness logic is there to notice.

- bcast: UDP socket bound to *:udpport on the interface (SO_BINDTODEVICE), sending to the
  interface's broadcast address.
- mcast: UDP socket joined to the group on the interface, TTL and loopback as configured.
- ucast: UDP socket bound to *:udpport on the interface (or to `bind_address` when several nodes
  share a host), sending to the peer.
- serial: a tty at `baud`, packets framed as 0x7e 'H' 'B' + 2-byte length + packet, so a reader can
  find the next frame after line noise; the packet's own authenticator catches corruption.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import os
import socket
import struct
from typing import Callable, Optional

from core.config.hacf import HaConfig, Medium
from core.errors import ConfigError

SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
SIOCGIFBRDADDR = 0x8919
SIOCGIFADDR = 0x8915
IP_MULTICAST_ALL = 49
SERIAL_MAGIC = b"\x7eHB"
SERIAL_MAX_BUFFER = 64 * 1024


def interface_ipv4(dev: str, request: int) -> Optional[str]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            raw = fcntl.ioctl(sock.fileno(), request, struct.pack("256s", dev.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(raw[20:24])


def broadcast_address(dev: str) -> Optional[str]:
    return interface_ipv4(dev, SIOCGIFBRDADDR)


class UdpMedium:
    def __init__(self, medium: Medium, bind_address: Optional[str], count: Callable[[str], None]) -> None:
        self.medium = medium
        self.name = medium.name
        self.count = count
        self.port = medium.port or 694
        self.destinations: list[tuple[str, int]] = []
        family = socket.AF_INET6 if medium.kind in ("mcast6", "ucast6") else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        bind_host = ""
        if medium.kind in ("ucast", "ucast6") and bind_address:
            bind_host = bind_address
        else:
            self._bind_device(medium.dev)
        if medium.kind == "bcast":
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            address = broadcast_address(medium.dev)
            if address is None or address == "0.0.0.0":
                raise OSError(errno.EADDRNOTAVAIL, f"bcast: interface {medium.dev} has no IPv4 broadcast address")
            self.destinations = [(address, self.port)]
        elif medium.kind in ("mcast", "mcast6"):
            self._join_group(medium)
            bind_host = ""
        else:
            assert medium.peer is not None
            self.destinations = [(medium.peer, self.port)]
        self.sock.bind((bind_host, self.port))

    def _bind_device(self, dev: str) -> None:
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, dev.encode())
        except PermissionError:
            # without CAP_NET_RAW the socket hears every interface; packets are still authenticated
            self.count("bindtodevice_denied")

    def _join_group(self, medium: Medium) -> None:
        assert medium.group is not None
        index = socket.if_nametoindex(medium.dev)
        if medium.kind == "mcast":
            mreqn = struct.pack("=4s4si", socket.inet_aton(medium.group), socket.inet_aton("0.0.0.0"), index)
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, medium.ttl or 1)
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1 if medium.loop else 0)
            self.sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)  # only the groups joined here
        else:
            mreq = socket.inet_pton(socket.AF_INET6, medium.group) + struct.pack("@I", index)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, medium.ttl or 1)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 1 if medium.loop else 0)
        self.destinations = [(medium.group, medium.port or 694)]

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, packet: bytes) -> None:
        for destination in self.destinations:
            try:
                self.sock.sendto(packet, destination)
            except OSError as exc:
                self.count(f"send_error_{errno.errorcode.get(exc.errno or 0, 'other').lower()}")

    def receive(self) -> list[bytes]:
        packets = []
        for _ in range(256):
            try:
                data, _ = self.sock.recvfrom(65_535)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self.count(f"recv_error_{errno.errorcode.get(exc.errno or 0, 'other').lower()}")
                break
            packets.append(data)
        return packets

    def close(self) -> None:
        self.sock.close()


def frame_serial(packet: bytes) -> bytes:
    return SERIAL_MAGIC + struct.pack("!H", len(packet)) + packet


def unframe_serial(buffer: bytearray) -> list[bytes]:
    """Pop complete frames off the front of buffer (resynchronising on the magic)."""
    packets = []
    while True:
        start = buffer.find(SERIAL_MAGIC)
        if start < 0:
            del buffer[:max(0, len(buffer) - len(SERIAL_MAGIC) + 1)]
            return packets
        if start:
            del buffer[:start]
        if len(buffer) < 5:
            return packets
        (length,) = struct.unpack("!H", bytes(buffer[3:5]))
        if len(buffer) < 5 + length:
            return packets
        packets.append(bytes(buffer[5:5 + length]))
        del buffer[:5 + length]


class SerialMedium:
    def __init__(self, medium: Medium, baud: int, count: Callable[[str], None]) -> None:
        import serial  # pyserial: imported only by nodes that use a serial medium

        self.name = medium.name
        self.count = count
        self.port = serial.Serial(medium.dev, baudrate=baud, timeout=0, write_timeout=0)
        self.buffer = bytearray()

    def fileno(self) -> int:
        return self.port.fileno()

    def send(self, packet: bytes) -> None:
        if self.port.out_waiting > SERIAL_MAX_BUFFER:
            self.count("serial_overrun")
            return
        try:
            os.write(self.port.fileno(), frame_serial(packet))
        except BlockingIOError:
            self.count("serial_overrun")
        except OSError:
            self.count("send_error_serial")

    def receive(self) -> list[bytes]:
        try:
            chunk = os.read(self.port.fileno(), 65_536)
        except (BlockingIOError, InterruptedError):
            return []
        except OSError:
            self.count("recv_error_serial")
            return []
        self.buffer += chunk
        if len(self.buffer) > 4 * SERIAL_MAX_BUFFER:
            del self.buffer[:len(self.buffer) - SERIAL_MAX_BUFFER]
        return unframe_serial(self.buffer)

    def close(self) -> None:
        self.port.close()


def open_media(config: HaConfig, count: Callable[[str], None]) -> list:
    """Open every medium; a medium that cannot be opened is a configuration error of its line."""
    media = []
    try:
        for medium in config.media:
            try:
                if medium.kind == "serial":
                    media.append(SerialMedium(medium, config.baud, count))
                else:
                    media.append(UdpMedium(medium, config.bind_address, count))
            except (OSError, ValueError) as exc:
                reason = getattr(exc, "strerror", None) or str(exc)
                raise ConfigError(config.path, medium.line, f"{medium.kind} {medium.dev}: cannot open: {reason}") from None
    except ConfigError:
        for opened in media:
            opened.close()
        raise
    return media


RTMGRP_LINK = 1


class LinkMonitor:
    """Tells at once when an interface changes state (rtnetlink link events), so a node whose
    NIC loses its carrier knows within milliseconds, not at the next once-a-second poll: an
    isolated node gives up its resources before its peers even declare it dead. The poll stays
    (events can be lost when the socket's buffer overflows)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK, socket.NETLINK_ROUTE)
        try:
            self.sock.bind((0, RTMGRP_LINK))
        except OSError:
            self.sock.close()
            raise

    def fileno(self) -> int:
        return self.sock.fileno()

    def drain(self) -> None:
        """Read every pending event; the caller re-reads the states it cares about."""
        for _ in range(1000):  # bounded: the events are only a wake-up
            try:
                if not self.sock.recv(65536):
                    return
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ENOBUFS: events were lost; the re-read covers them
                return

    def close(self) -> None:
        self.sock.close()


def link_is_up(dev: str) -> Optional[bool]:
    """Operational state of an interface from sysfs; None for non-interfaces (serial)."""
    try:
        with open(f"/sys/class/net/{dev}/operstate", encoding="ascii") as handle:
            state = handle.read().strip()
    except OSError:
        return None
    if state == "unknown":  # loopback and some virtual devices
        try:
            with open(f"/sys/class/net/{dev}/flags", encoding="ascii") as handle:
                return bool(int(handle.read().strip(), 16) & 0x1)
        except (OSError, ValueError):
            return None
    return state == "up"


def is_local_address(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((address, 0))
        except OSError:
            return False
    return True
