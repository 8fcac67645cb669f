"""The one daemon loop every shell runs: readiness of ZeroMQ sockets and plain file descriptors,
named timers at monotonic-millisecond deadlines, and signals, all on one thread.

A shell wires its sans-I/O core to the loop like this:

    loop = Loop()
    loop.add_reader(sock, on_readable)
    ...after every core.step():  loop.set_timer("core", core.next_deadline_ms(), on_tick)
    loop.on_signal(signal.SIGTERM, lambda signum: loop.stop())
    loop.run()

Callbacks run one at a time; a callback that raises is a bug and ends the loop loudly (the
supervisor restarts the daemon). The poll timeout is always the nearest deadline (zguide: "do not
use an infinite timeout" when timers exist).
"""

from __future__ import annotations

import heapq
import os
import signal
import socket
from typing import Any, Callable, Optional

import zmq

from core.clock import monotonic_ms

Callback = Callable[[], None]


class Loop:
    def __init__(self, clock: Callable[[], int] = monotonic_ms) -> None:
        self.clock = clock
        self._poller = zmq.Poller()
        self._readers: dict[Any, Callback] = {}
        self._timers: dict[str, tuple[int, Callback]] = {}
        self._heap: list[tuple[int, int, str]] = []
        self._heap_seq = 0
        self._running = False
        self._signal_handlers: dict[int, Callable[[int], None]] = {}
        self._pending_signals: list[int] = []
        self._wake_r: Optional[socket.socket] = None
        self._wake_w: Optional[socket.socket] = None

    # -- readers -------------------------------------------------------------------------
    def add_reader(self, source: Any, callback: Callback) -> None:
        """source: a zmq.Socket or an int file descriptor (or object with fileno())."""
        key = source if isinstance(source, (zmq.Socket, int)) else source.fileno()
        self._readers[key] = callback
        self._poller.register(key, zmq.POLLIN)

    def remove_reader(self, source: Any) -> None:
        key = source if isinstance(source, (zmq.Socket, int)) else source.fileno()
        if key in self._readers:
            del self._readers[key]
            self._poller.unregister(key)

    # -- timers --------------------------------------------------------------------------
    def set_timer(self, name: str, deadline_ms: Optional[int], callback: Callback) -> None:
        """(Re)arm the timer `name` for deadline_ms; None cancels it."""
        if deadline_ms is None:
            self._timers.pop(name, None)
            return
        self._timers[name] = (deadline_ms, callback)
        self._heap_seq += 1
        heapq.heappush(self._heap, (deadline_ms, self._heap_seq, name))

    def cancel_timer(self, name: str) -> None:
        self._timers.pop(name, None)

    def _next_deadline(self) -> Optional[int]:
        while self._heap:
            deadline, _, name = self._heap[0]
            current = self._timers.get(name)
            if current is not None and current[0] == deadline:
                return deadline
            heapq.heappop(self._heap)  # stale entry
        return None

    def _run_due_timers(self, now_ms: int) -> None:
        while True:
            deadline = self._next_deadline()
            if deadline is None or deadline > now_ms:
                return
            _, _, name = heapq.heappop(self._heap)
            _, callback = self._timers.pop(name)
            callback()

    # -- signals -------------------------------------------------------------------------
    def on_signal(self, signum: int, handler: Callable[[int], None]) -> None:
        if self._wake_r is None:
            self._wake_r, self._wake_w = socket.socketpair()
            self._wake_r.setblocking(False)
            self._wake_w.setblocking(False)
            signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
            self.add_reader(self._wake_r.fileno(), self._drain_wakeup)
        self._signal_handlers[signum] = handler
        signal.signal(signum, self._record_signal)

    def _record_signal(self, signum: int, frame: Any) -> None:
        self._pending_signals.append(signum)

    def _drain_wakeup(self) -> None:
        assert self._wake_r is not None
        try:
            while self._wake_r.recv(512):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        self._dispatch_signals()

    def _dispatch_signals(self) -> None:
        while self._pending_signals:
            signum = self._pending_signals.pop(0)
            handler = self._signal_handlers.get(signum)
            if handler is not None:
                handler(signum)

    # -- running -------------------------------------------------------------------------
    def stop(self) -> None:
        self._running = False

    def run_once(self, max_wait_ms: Optional[int] = None) -> None:
        now = self.clock()
        self._run_due_timers(now)
        self._dispatch_signals()
        deadline = self._next_deadline()
        timeout: Optional[int] = None
        if deadline is not None:
            timeout = max(0, deadline - self.clock())
        if max_wait_ms is not None:
            timeout = max_wait_ms if timeout is None else min(timeout, max_wait_ms)
        if not self._running and max_wait_ms is None:
            return
        for key, _ in self._poller.poll(timeout):
            callback = self._readers.get(key)
            if callback is not None:
                callback()
        self._run_due_timers(self.clock())
        self._dispatch_signals()

    def run(self) -> None:
        self._running = True
        while self._running:
            self.run_once()

    def close(self) -> None:
        if self._wake_r is not None:
            try:
                signal.set_wakeup_fd(-1)
            except ValueError:
                pass
            self._wake_r.close()
            assert self._wake_w is not None
            self._wake_w.close()
            self._wake_r = self._wake_w = None


def drain_fd(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except (BlockingIOError, InterruptedError):
        pass
