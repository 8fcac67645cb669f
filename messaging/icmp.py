"""ICMP echo for ping nodes (shell side): send one echo request per address per keepalive and
report which addresses answered. A raw socket needs root; otherwise the kernel's unprivileged
ICMP datagram socket is used when `net.ipv4.ping_group_range` allows it.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import Callable


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return (~total) & 0xFFFF


def echo_request(ident: int, seq: int, payload: bytes) -> bytes:
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, seq) + payload


class Pinger:
    PAYLOAD = b"pyheartbeat ping"

    def __init__(self, count: Callable[[str], None]) -> None:
        self.count = count
        self.ident = os.getpid() & 0xFFFF
        self.seq = 0
        try:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            self.raw = True
        except PermissionError:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
            self.raw = False
        self.sock.setblocking(False)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, addresses: tuple[str, ...]) -> None:
        self.seq = (self.seq + 1) & 0xFFFF
        packet = echo_request(self.ident, self.seq, self.PAYLOAD)
        for address in addresses:
            try:
                self.sock.sendto(packet, (address, 0))
            except OSError:
                self.count("ping_send_errors")

    def receive(self) -> list[str]:
        answered = []
        for _ in range(256):
            try:
                data, (address, _) = self.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.count("ping_recv_errors")
                break
            if self.raw:
                if len(data) < 20:
                    continue
                data = data[(data[0] & 0x0F) * 4:]
            if len(data) < 8:
                continue
            kind, _, _, ident, _ = struct.unpack("!BBHHH", data[:8])
            if kind == 0 and (ident == self.ident or not self.raw):
                answered.append(address)
        return answered

    def close(self) -> None:
        self.sock.close()
