"""A TCP probe for failover measurements: who answers on ADDR:PORT, every few milliseconds.

Run it inside the client's namespace (bench/failover.py does, through `Lab.exec_argv("client", ...)`):

    python bench/probe.py 198.18.0.100:8080 [--interval-ms 10] [--connect-timeout-ms 50]

Every interval it opens a new non-blocking connection and reads the one line the service sends
(bench/svc/tcpsvc answers "NODE ADDR"). Attempts overlap: one that waits for its connect timeout
does not delay the next, so the probe keeps its 10 ms resolution through an outage, when every
attempt runs into its timeout (a sequential probe would only look every timeout + interval).

It prints one line per change of what the service answers (a failure of an attempt older than the
last one reported is left out), as

    <monotonic time the attempt finished> <monotonic time it started> <answer or -reason>

with time.monotonic() seconds (the system-wide clock, the same in every network namespace, so the
caller can compare them with its own), and "ready <time>" once first. It stops at EOF on stdin,
after --max-s, or on SIGTERM.
"""

from __future__ import annotations

import argparse
import errno
import os
import selectors
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass
from typing import Optional

MAX_LINE = 256
MAX_PENDING = 64  # overlapping attempts at most (10 ms interval and 50 + 100 ms timeouts need 15)


@dataclass
class Attempt:
    sock: socket.socket
    started: float
    deadline: float
    connected: bool = False
    data: bytes = b""


@dataclass(frozen=True)
class Change:
    """One line of the probe's output, parsed."""

    done: float
    started: float
    answer: str  # the service's line, or "-" + why the attempt failed

    @property
    def ok(self) -> bool:
        return not self.answer.startswith("-")


def parse_line(line: str) -> Optional[Change]:
    """A Change from one output line; None for the ready line, blank or foreign lines."""
    words = line.strip().split(" ", 2)
    if len(words) != 3:
        return None
    try:
        return Change(float(words[0]), float(words[1]), words[2])
    except ValueError:
        return None


class Probe:
    def __init__(self, addr: str, port: int, interval_s: float, connect_timeout_s: float,
                 read_timeout_s: float) -> None:
        self.target = (addr, port)
        self.interval_s = interval_s
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.sel = selectors.DefaultSelector()
        self.pending: dict[int, Attempt] = {}
        self.last: Optional[str] = None
        self.last_started = 0.0

    def report(self, attempt: Attempt, answer: str) -> None:
        # Attempts overlap: a failure of an attempt older than the one reported last is stale
        # (it timed out after a newer one was refused or answered) and would only make the output
        # flap. Answers are never dropped: the first one is what the caller measures.
        if not answer.startswith("-") or attempt.started >= self.last_started:
            self.last_started = max(self.last_started, attempt.started)
        else:
            return
        if answer != self.last:
            self.last = answer
            sys.stdout.write(f"{time.monotonic():.6f} {attempt.started:.6f} {answer}\n")
            sys.stdout.flush()

    def finish(self, attempt: Attempt, answer: str) -> None:
        self.sel.unregister(attempt.sock)
        del self.pending[attempt.sock.fileno()]
        attempt.sock.close()
        self.report(attempt, answer)

    def launch(self) -> None:
        if len(self.pending) >= MAX_PENDING:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        # close with RST: no TIME_WAIT pile-up on either side at 100 connections a second
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        now = time.monotonic()
        attempt = Attempt(sock, now, now + self.connect_timeout_s)
        code = sock.connect_ex(self.target)
        self.pending[sock.fileno()] = attempt
        self.sel.register(sock, selectors.EVENT_WRITE, attempt)
        if code not in (0, errno.EINPROGRESS):
            self.finish(attempt, "-" + errno.errorcode.get(code, str(code)))

    def on_ready(self, attempt: Attempt) -> None:
        if not attempt.connected:
            code = attempt.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                self.finish(attempt, "-" + errno.errorcode.get(code, str(code)))
                return
            attempt.connected = True
            attempt.deadline = time.monotonic() + self.read_timeout_s
            self.sel.modify(attempt.sock, selectors.EVENT_READ, attempt)
            return
        try:
            chunk = attempt.sock.recv(MAX_LINE)
        except BlockingIOError:
            return
        except OSError as exc:
            self.finish(attempt, "-" + errno.errorcode.get(exc.errno or 0, "error"))
            return
        attempt.data += chunk
        if b"\n" in attempt.data or not chunk or len(attempt.data) >= MAX_LINE:
            line = attempt.data.split(b"\n", 1)[0].decode("ascii", "replace").strip()
            self.finish(attempt, line or "-empty")

    def run(self, max_s: float) -> int:
        stop = {"now": False}
        signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
        stdin = sys.stdin.buffer
        os.set_blocking(stdin.fileno(), False)
        self.sel.register(stdin, selectors.EVENT_READ, None)
        started = time.monotonic()
        end = started + max_s
        next_launch = started
        sys.stdout.write(f"ready {started:.6f}\n")
        sys.stdout.flush()
        while not stop["now"]:
            now = time.monotonic()
            if now >= end:
                break
            if now >= next_launch:
                self.launch()
                next_launch += self.interval_s
                if next_launch < now:  # fell behind (a busy machine): do not burst to catch up
                    next_launch = now + self.interval_s
            for attempt in [a for a in self.pending.values() if a.deadline <= now]:
                self.finish(attempt, "-timeout" if not attempt.connected else "-noanswer")
            wake = min([next_launch, end] + [a.deadline for a in self.pending.values()])
            for key, _ in self.sel.select(max(0.0, wake - time.monotonic())):
                if key.data is None:  # stdin: EOF (or anything) from the caller ends the probe
                    try:
                        if not stdin.read(4096):
                            stop["now"] = True
                    except BlockingIOError:
                        pass
                    continue
                if key.fileobj.fileno() in self.pending:  # type: ignore[union-attr]
                    self.on_ready(key.data)
        for attempt in list(self.pending.values()):
            self.sel.unregister(attempt.sock)
            attempt.sock.close()
        return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", help="ADDR:PORT, e.g. 198.18.0.100:8080")
    parser.add_argument("--interval-ms", type=float, default=10.0, help="a new attempt every ... (default 10)")
    parser.add_argument("--connect-timeout-ms", type=float, default=50.0, help="default 50")
    parser.add_argument("--read-timeout-ms", type=float, default=100.0,
                        help="after connecting, wait this long for the line (default 100)")
    parser.add_argument("--max-s", type=float, default=300.0, help="stop after this many seconds (default 300)")
    args = parser.parse_args(argv)
    addr, _, port = args.target.rpartition(":")
    if not addr or not port.isdigit():
        parser.error(f"target {args.target!r}: want ADDR:PORT")
    if args.interval_ms <= 0 or args.connect_timeout_ms <= 0 or args.read_timeout_ms <= 0:
        parser.error("intervals and timeouts must be positive")
    probe = Probe(addr, int(port), args.interval_ms / 1000, args.connect_timeout_ms / 1000,
                  args.read_timeout_ms / 1000)
    return probe.run(args.max_s)


if __name__ == "__main__":
    sys.exit(main())
