"""Set the kernel's name for this process (what `ps -o comm` and `top` show), e.g. hb-messaging,
so operators can tell the forked daemons apart.

Written to /proc/self/comm (the calling thread's name; the daemons name themselves before they
start any thread), so no daemon imports ctypes for it: every module a forked daemon imports
costs each of them private memory."""

from __future__ import annotations


def set_process_name(name: str) -> bool:
    try:
        with open("/proc/self/comm", "wb") as handle:
            handle.write(name.encode()[:15])
        return True
    except OSError:
        return False
