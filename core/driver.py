"""The one shell driver: runs a sans-I/O core inside a daemon's loop.

Every daemon used to carry its own copy of "step the core, carry out each effect, re-arm the core
timer". `Driver` is that loop, once:

- `feed(input)` steps the core with the loop's clock and carries out the effects in order; inputs
  produced while effects are being carried out are queued and fed afterwards (no re-entrancy);
- the shared effects are handled here: `Send` through the `Bus` (ZeroMQ), `WatchPid` (a pidfd
  on the loop, so `PeerGone` is fed the moment the process ends; polled every second where pidfds
  are missing), `Persist` (a durable state file), `Log`;
  anything else goes to the handler the shell registered for its type (no handler: a bug, it
  fails loudly);
- after every step the "core" timer is re-armed at `core.next_deadline_ms()`;
- `WallClock` is fed at start and whenever the wall clock moved against the monotonic one.

`Bus` is the ZeroMQ side of `Send`/`Recv`: the daemon's own ROUTER (when it serves a socket) and
one DEALER per daemon it is a client of, created on first use. Frames that do not decode are
counted and logged, never fed to the core. Every request on the ROUTER passes `core.access.decide`
first, with the sender's kernel credentials: a refused one is answered with the reason as its
error, logged once and counted (`refused`), never fed to the core; one the crmd must check
against the CIB's ACLs gets the user's name in its `user` field (whatever the client put there).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Optional

import zmq

from core import access, ipc, spool, wire
from core.messages.common import Reply
from core.clock import monotonic_ms, wall_s
from core.daemon import DaemonContext, pid_alive
from core.sansio import Log, Peer, PeerGone, Persist, Recv, Send, Tick, WallClock, WatchPid
from core.statefile import write_durably, write_number

WATCH_INTERVAL_MS = 1000
REFUSAL_LOG_WINDOW_MS = 10_000
REFUSAL_LOG_LINES = 20  # at most this many refusal lines per window: a flood is counted, not logged
WALL_STEP_MS = 500  # a wall clock that moved this much against the monotonic one is re-sent
READ_BATCH = 512


def wall_offset_ms() -> int:
    return int(wall_s() * 1000) - monotonic_ms()


class Bus:
    """ZeroMQ sockets behind Send/Recv for one daemon."""

    def __init__(self, ctx: DaemonContext, deliver: Callable[[Recv], None], serve: Optional[str]) -> None:
        self.ctx = ctx
        self.deliver = deliver
        self.router: Optional[zmq.Socket] = None
        self.serve = serve
        self.dealers: dict[str, zmq.Socket] = {}
        self.counters: dict[str, int] = {}
        self.refusal_window = (0, 0, 0)  # (window start, lines logged in it, refusals not logged)
        gid, note = ipc.haclient_gid()
        grants, unknown = ipc.api_grants(getattr(ctx.config, "apiauth", ()) if serve == "messaging" else ())
        self.policy = access.Policy(os.geteuid(), gid, grants)
        # large request fields go to other daemons by file (core.spool), and come so
        self.spool = spool.Spool(ctx.paths.state_file(spool.SPOOL_DIR), ctx.name)
        for name in unknown:
            ctx.log.warn(f"apiauth: no user or group {name!r} on this host: that grant gives nothing")
        if serve is not None:
            self.router = ipc.bind_router(ctx.paths, serve)
            if note:
                ctx.log.info(f"{serve}.sock: {note}")
            ctx.loop.add_reader(self.router, self._on_router)

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def send(self, dest: Peer, msg: Any) -> None:
        if isinstance(dest, bytes):
            assert self.router is not None, "a daemon without a socket has no clients to answer"
            if not ipc.send_router(self.router, dest, msg):
                self.count("send_queue_full")
            return
        sock = self.dealers.get(dest)
        if sock is None:
            sock = ipc.context().socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.SNDHWM, 100_000)
            sock.setsockopt(zmq.RCVHWM, 100_000)
            sock.connect(self.ctx.paths.endpoint(dest))
            self.dealers[dest] = sock
            self.ctx.loop.add_reader(sock, lambda name=dest: self._on_dealer(name))
        spooled: list[str] = []
        try:
            sock.send_multipart(wire.encode_parts(msg, lambda data: self._spool(data, spooled)),
                                zmq.NOBLOCK)
        except zmq.Again:
            self.spool.discard(spooled)
            self.count("send_queue_full")

    def _spool(self, data: bytes, names: list[str]) -> str:
        """A large field of a request to another daemon, written into the spool (core.spool)."""
        names.append(self.spool.write(data))
        return names[-1]

    def _bad(self, exc: Exception) -> None:
        self.count("bad_frames")
        self.ctx.log.debug(f"bad frame: {exc}")

    def _on_router(self) -> None:
        assert self.router is not None
        for identity, msg, frame in ipc.requests(self.router, self._bad, limit=READ_BATCH,
                                                 by_file=self._spooled):
            msg = self._admit(identity, msg, frame)
            frame = None  # its properties are read: its buffer goes before the core's step
            if msg is not None:
                self.deliver(Recv(identity, msg))

    def _spooled(self, frame: Optional[zmq.Frame], name: str, length: int) -> Any:
        """A field another daemon of this node spooled (core.spool), mapped; only a privileged
        sender's (or any, where the kernel gives no credentials: the directory's mode is the
        guard), since opening the file removes it."""
        creds = ipc.peer_creds(frame, lookup=False) if frame is not None else None
        if creds is not None and not access.privileged(creds, self.policy):
            raise wire.WireError(f"a field by file from uid {creds.uid}: not a daemon's")
        return spool.open_mapped(self.spool.directory, name, length)

    def _admit(self, identity: bytes, msg: Any, frame: Optional[zmq.Frame]) -> Any:
        """msg as the core may see it, or None when the sender may not send it (answered here)."""
        creds = ipc.peer_creds(frame, lookup=False) if frame is not None else None
        if creds is None:
            self.count("no_peer_creds")  # not ipc, or libzmq without SO_PEERCRED: the file mode is the guard
            return msg
        if access.privileged(creds, self.policy):
            return msg
        assert frame is not None and self.serve is not None
        creds = ipc.peer_creds(frame) or creds
        decision = access.decide(self.serve, wire.tag_of(msg), msg, creds, self.policy)
        if not decision.allowed:
            self.count("refused")
            self._log_refusal(f"{self.serve}.sock: refused {wire.tag_of(msg)}: {decision.reason}")
            rid = getattr(msg, "request_id", None)
            if isinstance(rid, int):
                self.send(identity, Reply(rid, False, None, decision.reason))
            return None
        if decision.acl_user:
            # a message access.ACL_CHECKED lists must carry the user to the crmd: our bug if not
            assert any(f.name == "user" for f in dataclasses.fields(msg)), f"{wire.tag_of(msg)} has no user field"
            return dataclasses.replace(msg, user=decision.acl_user, groups=list(decision.acl_groups))
        return msg

    def _log_refusal(self, line: str) -> None:
        """One line per refusal, at most REFUSAL_LOG_LINES per window; the rest are summed up
        when the next window opens."""
        now = monotonic_ms()
        start, logged, silent = self.refusal_window
        if now - start >= REFUSAL_LOG_WINDOW_MS:
            if silent:
                self.ctx.log.warn(f"{self.serve}.sock: {silent} more refusals not logged in the last window")
            start, logged, silent = now, 0, 0
        if logged < REFUSAL_LOG_LINES:
            self.ctx.log.warn(line)
            logged += 1
        else:
            silent += 1
        self.refusal_window = (start, logged, silent)

    def _on_dealer(self, name: str) -> None:
        sock = self.dealers.get(name)
        for _ in range(READ_BATCH):
            if sock is None:
                return
            try:
                frame = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                msg = wire.decode(frame)
            except wire.WireError as exc:
                self._bad(exc)
                continue
            self.deliver(Recv(name, msg))

    def close(self) -> None:
        for name, sock in self.dealers.items():
            self.ctx.loop.remove_reader(sock)
            sock.close(200)  # a last goodbye (sign-off) may still be in the queue
        self.dealers.clear()
        if self.router is not None:
            self.ctx.loop.remove_reader(self.router)
            self.router.close(0)
            self.router = None
            # a clean stop leaves no socket behind: a client then learns at once that nobody
            # serves it, instead of waiting out its timeout on a file nobody listens on
            assert self.serve is not None
            ipc.remove_socket(self.ctx.paths, self.serve)


class Driver:
    """Feeds one core and carries out its effects (see the module docstring)."""

    def __init__(self, ctx: DaemonContext, core: Any, serve: Optional[str] = None,
                 handlers: Optional[dict[type, Callable[[Any], None]]] = None) -> None:
        self.ctx = ctx
        self.core = core
        self.handlers = dict(handlers or {})
        self.bus = Bus(ctx, self.feed, serve)
        self.watched: dict[Any, int] = {}  # polled (no pidfd)
        self.pidfds: dict[Any, int] = {}
        self.offset_ms = wall_offset_ms()
        self._queue: list[object] = []
        self._busy = False
        self._closed = False

    def start(self) -> None:
        self.feed(WallClock(self.offset_ms))
        self.feed(Tick())
        self.ctx.loop.set_timer("watch-pids", monotonic_ms() + WATCH_INTERVAL_MS, self._watch)

    def feed(self, event: object) -> None:
        if self._closed:
            return
        self._queue.append(event)
        if self._busy:
            return
        self._busy = True
        try:
            while self._queue:
                item = self._queue.pop(0)
                offset = wall_offset_ms()
                if abs(offset - self.offset_ms) >= WALL_STEP_MS:
                    self.offset_ms = offset
                    self._apply(self.core.step(self.ctx.loop.clock(), WallClock(offset)))
                self._apply(self.core.step(self.ctx.loop.clock(), item))
        finally:
            self._busy = False
        self.ctx.loop.set_timer("core", self.core.next_deadline_ms(), self._on_timer)

    def _on_timer(self) -> None:
        self.feed(Tick())

    def _apply(self, effects: list[object]) -> None:
        for effect in effects:
            kind = type(effect)
            if kind is Send:
                self.bus.send(effect.dest, effect.msg)  # type: ignore[attr-defined]
            elif kind is Log:
                self.ctx.log.log(effect.level, effect.text)  # type: ignore[attr-defined]
            elif kind is WatchPid:
                self.watch(effect.peer, effect.pid)  # type: ignore[attr-defined]
            elif kind is Persist:
                self.persist(effect)  # type: ignore[arg-type]
            else:
                handler = self.handlers.get(kind)
                if handler is None:
                    raise AssertionError(f"{self.ctx.name}: no handler for effect {effect!r}")
                handler(effect)

    def persist(self, effect: Persist) -> None:
        path = self.ctx.paths.state_file(effect.name)
        if isinstance(effect.value, int):
            write_number(path, effect.value)
        else:
            write_durably(path, effect.value.encode("utf-8"))

    def watch(self, peer: Any, pid: int) -> None:
        self._unwatch(peer)
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            self.feed(PeerGone(peer))
            return
        except (OSError, AttributeError):  # no pidfds here (old kernel): poll
            self.watched[peer] = pid
            return
        self.pidfds[peer] = fd
        self.ctx.loop.add_reader(fd, lambda p=peer, f=fd: self._pid_ended(p, f))

    def _pid_ended(self, peer: Any, fd: int) -> None:
        if self.pidfds.get(peer) != fd:
            return
        self._unwatch(peer)
        self.feed(PeerGone(peer))

    def _unwatch(self, peer: Any) -> None:
        self.watched.pop(peer, None)
        fd = self.pidfds.pop(peer, None)
        if fd is not None:
            self.ctx.loop.remove_reader(fd)
            os.close(fd)

    def _watch(self) -> None:
        for peer, pid in list(self.watched.items()):
            if not pid_alive(pid):
                del self.watched[peer]
                self.feed(PeerGone(peer))
        self.ctx.loop.set_timer("watch-pids", monotonic_ms() + WATCH_INTERVAL_MS, self._watch)

    def close(self) -> None:
        self._closed = True
        for peer in list(self.pidfds):
            self._unwatch(peer)
        self.ctx.loop.cancel_timer("core")
        self.ctx.loop.cancel_timer("watch-pids")
        self.bus.close()


def own_pid() -> int:
    return os.getpid()
