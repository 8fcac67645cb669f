"""`realtime on`: run at a real-time priority with memory locked, so CPU load or paging cannot
delay a heartbeat long enough to fake a death (heartbeat did the same: SCHED_RR + mlockall).

Both steps degrade with a warning: without CAP_SYS_NICE there is no real-time class, and without
CAP_IPC_LOCK (or a large enough RLIMIT_MEMLOCK) memory cannot be locked. Returns the warnings.
"""

from __future__ import annotations

import os
from typing import Optional

MCL_CURRENT = 1
MCL_FUTURE = 2
MCL_ONFAULT = 4  # lock pages as they are touched, not whole reservations (thread stacks)
DEFAULT_RTPRIO = 5  # heartbeat's default: above normal tasks, below kernel threads that matter


def make_realtime(rtprio: Optional[int] = None, lock_memory: bool = True) -> list[str]:
    warnings: list[str] = []
    priority = rtprio or DEFAULT_RTPRIO
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(priority))
    except (PermissionError, OSError) as exc:
        warnings.append(f"cannot set real-time priority {priority} (SCHED_RR): {exc.strerror or exc}")
    if lock_memory:
        import ctypes  # here: only messaging locks its memory, the other daemons never load ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)  # the process's own symbols: libc is among them
            # ONFAULT: without it every thread stack (8 MiB each for ZeroMQ's threads) would be
            # faulted in and locked whole, tripling the daemon's memory for nothing
            if libc.mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0:
                errno = ctypes.get_errno()
                warnings.append(f"cannot lock memory (mlockall): {os.strerror(errno)}; "
                                "RLIMIT_MEMLOCK is too small and CAP_IPC_LOCK is missing")
        except OSError as exc:
            warnings.append(f"cannot lock memory: {exc}")
    return warnings


def current_policy() -> str:
    policy = os.sched_getscheduler(0)
    return {os.SCHED_OTHER: "SCHED_OTHER", os.SCHED_RR: "SCHED_RR", os.SCHED_FIFO: "SCHED_FIFO"}.get(policy, str(policy))
