"""The lab's hands on the host: run `ip`, `iptables` and friends (with a timeout and a clear error),
and find, signal and wait for processes by PID. Nothing here ever matches processes by name.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from typing import Iterable, Optional, Sequence

from lab.plan import LabError

COMMAND_TIMEOUT_S = 20.0

# processes this Python process started (so it can reap them and never leaves zombies behind)
_children: dict[int, subprocess.Popen] = {}


def is_root() -> bool:
    return os.geteuid() == 0


def have_tool(name: str) -> bool:
    return shutil.which(name) is not None


def run(argv: Sequence[str], check: bool = True, timeout_s: float = COMMAND_TIMEOUT_S,
        input_text: Optional[str] = None) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout_s, input=input_text)
    except FileNotFoundError:
        raise LabError(f"{argv[0]}: command not found") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(argv)}: no answer within {timeout_s:.0f} s") from None
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise LabError(f"{' '.join(argv)}: {detail[-1] if detail else f'exit status {done.returncode}'}")
    return done


def ns_argv(ns: Optional[str], argv: Sequence[str]) -> list[str]:
    return (["ip", "netns", "exec", ns] if ns else []) + list(argv)


def netns_list() -> set[str]:
    if not os.path.isdir("/run/netns"):
        return set()
    return set(os.listdir("/run/netns"))


def link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


# -- files ---------------------------------------------------------------------------------

def read_int_file(path: str) -> Optional[int]:
    """A pid file's number (None: missing, empty, zero or not a number)."""
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def file_tail(path: str, lines: int = 12) -> str:
    """The end of a log file, indented under its name, for error messages ('' when empty)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            tail = handle.read().splitlines()[-lines:]
    except OSError:
        return ""
    return f"\n--- {path}:\n" + "\n".join("    " + line for line in tail) if tail else ""


# -- processes -----------------------------------------------------------------------------

def spawn(argv: Sequence[str], env: dict[str, str], log_path: str) -> tuple[int, int]:
    """Start argv in its own session with output appended to log_path; (pid, start time)."""
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True, close_fds=True)
    _children[proc.pid] = proc
    start = start_time(proc.pid)
    assert start is not None, "a process we just started has a /proc entry"
    return proc.pid, start


def reap() -> None:
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]


def _stat_fields(pid: int) -> Optional[list[str]]:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            data = handle.read()
    except OSError:
        return None
    return data.rsplit(")", 1)[1].split()  # fields from 3 (state) on


def start_time(pid: int) -> Optional[int]:
    """The process's start time in clock ticks since boot (tells a PID apart from a reused one)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def alive(pid: int, start: Optional[int] = None) -> bool:
    """Running (not a zombie) and, when start is given, the same process that was recorded."""
    reap()
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return start is None or int(fields[19]) == start


def stopped(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] in ("T", "t")


def descendants(pid: int) -> list[int]:
    """pid's children, grandchildren, ... (scanning /proc; no procfs `children` file needed)."""
    by_parent: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None:
            by_parent.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in by_parent.get(todo.pop(), []):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


def tree(pid: int, start: Optional[int] = None) -> list[tuple[int, int]]:
    """[(pid, start time)] of a recorded process and its descendants; empty when it is gone."""
    if not alive(pid, start):
        return []
    out = [(pid, start_time(pid) or 0)]
    for child in descendants(pid):
        child_start = start_time(child)
        if child_start is not None:
            out.append((child, child_start))
    return out


def signal_all(procs: Iterable[tuple[int, int]], signum: int) -> None:
    for pid, start in procs:
        if alive(pid, start):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass


def wait_gone(procs: Iterable[tuple[int, int]], timeout_s: float) -> bool:
    procs = list(procs)
    deadline = time.monotonic() + timeout_s
    while True:
        if not any(alive(pid, start) for pid, start in procs):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def wait_stopped(procs: Iterable[tuple[int, int]], want: bool, timeout_s: float) -> bool:
    """Wait until every process still alive is stopped (want=True) or running (want=False).
    A signal is delivered when its target is next scheduled, so SIGSTOP/SIGCONT take effect a
    moment after kill() returns, longer on a busy machine."""
    procs = list(procs)
    deadline = time.monotonic() + timeout_s
    while True:
        if all(stopped(pid) == want for pid, start in procs if alive(pid, start)):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def kill_all(procs: Iterable[tuple[int, int]], term_wait_s: float = 3.0) -> bool:
    """SIGTERM (and SIGCONT, in case they are stopped), wait, then SIGKILL what is left."""
    procs = list(procs)
    signal_all(procs, signal.SIGTERM)
    signal_all(procs, signal.SIGCONT)
    if wait_gone(procs, term_wait_s):
        return True
    signal_all(procs, signal.SIGKILL)
    return wait_gone(procs, 5.0)


def netns_pids(ns: str) -> list[tuple[int, int]]:
    """Every process inside a namespace (all of them were started by the lab)."""
    done = run(["ip", "netns", "pids", ns], check=False)
    out = []
    for word in done.stdout.split():
        start = start_time(int(word))
        if start is not None:
            out.append((int(word), start))
    return out


def netns_inode(ns: str) -> Optional[int]:
    try:
        return os.stat(f"/run/netns/{ns}").st_ino
    except OSError:
        return None


def process_netns_inode(pid: int) -> Optional[int]:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None
