"""A lab node's watchdog device: a FIFO the node's launcher opens as `watchdog` (ha.cf), read by
this process, which powers the node off (lab.Lab.power_off) when it is not fed in time.

    python -m lab.wdog ROOT NODE FIFO TIMEOUT_MS

Linux watchdog semantics: any byte written feeds it and arms it (the first write); `V` is the
magic close, which disarms it until the next byte (a clean stop); a writer that closes without
`V` (a crash, a kill) leaves it armed, so the node is powered off `TIMEOUT_MS` after the last
byte. After firing it stays disarmed until the node's next launcher writes again. The FIFO is
opened read-write, so it never reports end-of-file and writers never block on a missing reader.
Runs until SIGTERM (`hb lab down` ends it by PID).
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from typing import Optional


def main(argv: Optional[list[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    root, node, path, timeout_text = args
    timeout_s = int(timeout_text) / 1000.0
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    if not os.path.exists(path):
        os.mkfifo(path, 0o600)
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    armed = False
    last = 0.0
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while not stopping and os.path.isdir(root):  # (a lab removed under it: nothing left to guard)
        wait_ms = 1000 if not armed else max(0, int((last + timeout_s - time.monotonic()) * 1000))
        try:
            events = poller.poll(min(wait_ms, 1000))
        except InterruptedError:
            continue
        if events:
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                data = b""
            if data:
                last = time.monotonic()
                armed = not data.endswith(b"V")  # the magic close disarms
            continue
        if armed and time.monotonic() >= last + timeout_s:
            armed = False
            _fire(root, node, int((time.monotonic() - last) * 1000))
    os.close(fd)
    return 0


def _fire(root: str, node: str, starved_ms: int) -> None:
    from lab import state as statemod
    from lab.lab import Lab
    from lab.plan import LabError

    print(f"{time.strftime('%H:%M:%S')} watchdog of {node}: not fed for {starved_ms} ms: powering it off",
          file=sys.stderr, flush=True)
    try:
        with statemod.locked(root):
            Lab(statemod.load(root)).power_off(node)
    except (LabError, OSError) as exc:
        print(f"watchdog of {node}: power off failed: {exc}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
