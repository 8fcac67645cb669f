"""systemd's sd_notify protocol (READY=1, WATCHDOG=1, STATUS=...) without libsystemd.

Does nothing when NOTIFY_SOCKET is not set (not started by systemd with Type=notify).
`watchdog_interval_ms()` is half of WATCHDOG_USEC, the interval systemd recommends.
"""

from __future__ import annotations

import os
import socket
from typing import Optional


def notify(state: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
        return True
    except OSError:
        return False


def watchdog_interval_ms() -> Optional[int]:
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(1, int(usec) // 2000)
    except ValueError:
        return None
