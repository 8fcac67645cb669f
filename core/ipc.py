"""ZeroMQ plumbing for local IPC: one context per process, ipc:// sockets in the node's run
directory, and a small synchronous request client for CLIs and daemons that ask each other
questions.

Servers bind a ROUTER at `paths.endpoint(name)`; clients connect a DEALER and send one-frame
requests (`core.wire` frames carrying a `request_id`); the server answers with `Reply` frames. A
client that gets no answer within its timeout gets `DaemonUnavailable`, never a hang.
"""

from __future__ import annotations

import itertools
import os
from typing import Any, Callable, Iterator, Optional

import zmq

from core import wire
from core.messages.common import Reply
from core.paths import NodePaths


class DaemonUnavailable(Exception):
    """The daemon behind an endpoint did not answer in time (or is not running)."""


_ids = itertools.count(1)


def next_request_id() -> int:
    return next(_ids)


def context() -> zmq.Context:
    return zmq.Context.instance()


def bind_router(paths: NodePaths, name: str, ctx: Optional[zmq.Context] = None) -> zmq.Socket:
    paths.ensure_dirs()
    sock = (ctx or context()).socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 0)
    sock.setsockopt(zmq.SNDHWM, 100_000)
    sock.setsockopt(zmq.RCVHWM, 100_000)
    sock.bind(paths.endpoint(name))
    os.chmod(paths.socket_path(name), 0o660)
    return sock


def bind_pull(paths: NodePaths, name: str, ctx: Optional[zmq.Context] = None) -> zmq.Socket:
    paths.ensure_dirs()
    sock = (ctx or context()).socket(zmq.PULL)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVHWM, 100_000)
    sock.bind(paths.endpoint(name))
    os.chmod(paths.socket_path(name), 0o660)
    return sock


def remove_socket(paths: NodePaths, name: str) -> None:
    """Remove a socket file we served (at a clean stop)."""
    try:
        os.unlink(paths.socket_path(name))
    except FileNotFoundError:
        pass


def recv_router(sock: zmq.Socket) -> Optional[tuple[bytes, bytes]]:
    """One (identity, payload) from a ROUTER without blocking; None when nothing is waiting."""
    try:
        frames = sock.recv_multipart(zmq.NOBLOCK)
    except zmq.Again:
        return None
    if len(frames) < 2:
        return (frames[0] if frames else b""), b""
    return frames[0], frames[-1]


def requests(sock: zmq.Socket, on_garbage: Callable[[Exception], None],
             limit: int = 1000) -> Iterator[tuple[bytes, Any]]:
    """(identity, decoded message) for what waits on a ROUTER, at most `limit` per call (the loop
    calls again while more is waiting); a frame that does not decode goes to on_garbage."""
    for _ in range(limit):
        frame = recv_router(sock)
        if frame is None:
            return
        identity, payload = frame
        try:
            msg = wire.decode(payload)
        except wire.WireError as exc:
            on_garbage(exc)
            continue
        yield identity, msg


def send_router(sock: zmq.Socket, identity: bytes, msg: Any) -> bool:
    """Send to one peer of a ROUTER; False when its queue is full (the message is dropped)."""
    try:
        sock.send_multipart([identity, wire.encode(msg)], zmq.NOBLOCK)
        return True
    except zmq.Again:
        return False


def reply(sock: zmq.Socket, identity: bytes, request_id: int, result: Any = None,
          error: Optional[str] = None) -> None:
    send_router(sock, identity, Reply(request_id=request_id, ok=error is None, result=result, error=error))


class Client:
    """A DEALER to one daemon, for request/reply; events that arrive meanwhile are queued."""

    def __init__(self, paths: NodePaths, name: str, ctx: Optional[zmq.Context] = None) -> None:
        self.name = name
        self.endpoint = paths.endpoint(name)
        self.socket_path = paths.socket_path(name)
        self.sock = (ctx or context()).socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVHWM, 100_000)
        self.sock.connect(self.endpoint)
        self.pending_events: list[Any] = []

    def send(self, msg: Any) -> None:
        self.sock.send(wire.encode(msg))

    def request(self, msg: Any, timeout_ms: int = 2000) -> Any:
        """Send msg (which has a request_id) and wait for its Reply's result; raise on error."""
        if not os.path.exists(self.socket_path):
            raise DaemonUnavailable(f"{self.name} is not running (no socket {self.socket_path})")
        self.send(msg)
        reply_msg = self.wait_reply(msg.request_id, timeout_ms)
        if not reply_msg.ok:
            raise RuntimeError(reply_msg.error or "request failed")
        return reply_msg.result

    def wait_reply(self, request_id: int, timeout_ms: int) -> Reply:
        from core.clock import monotonic_ms

        deadline = monotonic_ms() + timeout_ms
        while True:
            remaining = deadline - monotonic_ms()
            if remaining <= 0 or not self.sock.poll(remaining, zmq.POLLIN):
                raise DaemonUnavailable(f"{self.name} did not answer within {timeout_ms} ms")
            msg = wire.decode(self.sock.recv())
            if isinstance(msg, Reply) and msg.request_id == request_id:
                return msg
            if not isinstance(msg, Reply):
                self.pending_events.append(msg)

    def recv(self, timeout_ms: Optional[int] = None) -> Optional[Any]:
        """Next queued or arriving message (event or reply), None on timeout."""
        if self.pending_events:
            return self.pending_events.pop(0)
        if not self.sock.poll(timeout_ms, zmq.POLLIN):
            return None
        return wire.decode(self.sock.recv())

    def close(self) -> None:
        self.sock.close(0)
