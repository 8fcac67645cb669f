"""Set the kernel's name for this process (what `ps -o comm` and `top` show), e.g. hb-messaging,
so operators can tell the forked daemons apart."""

from __future__ import annotations

import ctypes
import ctypes.util

PR_SET_NAME = 15


def set_process_name(name: str) -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0) == 0
    except OSError:
        return False
