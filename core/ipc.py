"""ZeroMQ plumbing for local IPC: one context per process, ipc:// sockets in the node's run
directory, and a small synchronous request client for CLIs and daemons that ask each other
questions.

Servers bind a ROUTER at `paths.endpoint(name)`; clients connect a DEALER and send one-frame
requests (`core.wire` frames carrying a `request_id`); the server answers with `Reply` frames. A
client that gets no answer within its timeout gets `DaemonUnavailable`, never a hang.

Who may connect: the run directory is mode 0750 and every socket 0660, both owned by root and the
`haclient` group (created when missing and we run as root; without it the group stays the
daemon's own and only root and the daemon's uid get in). A socket file is created by bind() with
the mode the umask leaves, and a client could connect between bind() and a later chmod(): so the
umask is 0117 *during* bind (the file is born 0660) and the directory around it is already 0750
root:haclient, so nobody outside the group can even reach the name. Who may *ask what* is decided
per request (core/access.py) from the peer's credentials: libzmq reads SO_PEERCRED when it
accepts an ipc connection and hands it out as the `Peer-Address` property of every frame
(`localhost:UID:GID:PID`), so the credentials are the connecting process's at connect time and
cannot be forged by anything the client sends.
"""

from __future__ import annotations

import grp
import itertools
import os
import pwd
import subprocess
from typing import Any, Callable, Iterator, Optional

import zmq

from core import wire
from core.access import HACLIENT, ApiGrant, Creds
from core.heaptrim import trim_heap
from core.messages.common import Reply
from core.paths import NodePaths


class DaemonUnavailable(Exception):
    """The daemon behind an endpoint did not answer in time (or is not running)."""


class AccessDenied(RuntimeError):
    """This process may not reach the daemon's socket (not root, not in group haclient)."""


_ids = itertools.count(1)


def next_request_id() -> int:
    return next(_ids)


def context() -> zmq.Context:
    return zmq.Context.instance()


SOCKET_MODE = 0o660
RUNDIR_MODE = 0o750
BIND_UMASK = 0o117  # what bind() creates is 0660 from the start

_group: Optional[tuple[Optional[int], str]] = None


def haclient_gid() -> tuple[Optional[int], str]:
    """(gid of `haclient` or None, a note for the log). As root a missing group is created
    (`groupadd --system haclient`); otherwise (a lab run by a plain user) it stays missing and
    only root and the daemons' own uid may use the sockets. Looked up once per process."""
    global _group
    if _group is not None:
        return _group
    try:
        _group = (grp.getgrnam(HACLIENT).gr_gid, "")
    except KeyError:
        note = f"group {HACLIENT} does not exist: only root and uid {os.geteuid()} may use the local sockets"
        if os.geteuid() == 0:
            done = subprocess.run(["groupadd", "--system", HACLIENT], capture_output=True, text=True)
            try:
                _group = (grp.getgrnam(HACLIENT).gr_gid, f"created group {HACLIENT}")
                return _group
            except KeyError:
                note += f" (groupadd failed: {done.stderr.strip() or done.returncode})"
        _group = (None, note)
    return _group


def api_grants(entries: Any) -> tuple[tuple[ApiGrant, ...], list[str]]:
    """ha.cf `apiauth` entries with user and group names resolved to ids (numbers are taken as
    they are); also the names this host does not know."""
    grants: list[ApiGrant] = []
    unknown: list[str] = []

    def ids(names: Any, lookup: Callable[[str], int]) -> frozenset[int]:
        found = set()
        for name in names:
            if str(name).isdigit():
                found.add(int(name))
                continue
            try:
                found.add(lookup(str(name)))
            except KeyError:
                unknown.append(str(name))
        return frozenset(found)

    for entry in entries:
        grants.append(ApiGrant(entry.client, ids(entry.uids, lambda n: pwd.getpwnam(n).pw_uid),
                               ids(entry.gids, lambda n: grp.getgrnam(n).gr_gid)))
    return tuple(grants), unknown


def secure_rundir(paths: NodePaths) -> None:
    """The run directory: 0750, and owned by root:haclient when we are root and the group exists."""
    paths.ensure_dirs()
    gid, _ = haclient_gid()
    if os.geteuid() == 0 and gid is not None:
        os.chown(paths.rundir, 0, gid)
    if os.stat(paths.rundir).st_uid == os.geteuid():  # (a directory someone else owns stays theirs)
        os.chmod(paths.rundir, RUNDIR_MODE)


def _bind(sock: zmq.Socket, paths: NodePaths, name: str) -> None:
    secure_rundir(paths)
    old = os.umask(BIND_UMASK)
    try:
        sock.bind(paths.endpoint(name))
    finally:
        os.umask(old)
    path = paths.socket_path(name)
    gid, _ = haclient_gid()
    if os.geteuid() == 0 and gid is not None:
        os.chown(path, 0, gid)
    os.chmod(path, SOCKET_MODE)


def bind_router(paths: NodePaths, name: str, ctx: Optional[zmq.Context] = None) -> zmq.Socket:
    sock = (ctx or context()).socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 0)
    sock.setsockopt(zmq.SNDHWM, 100_000)
    sock.setsockopt(zmq.RCVHWM, 100_000)
    _bind(sock, paths, name)
    return sock


def bind_pull(paths: NodePaths, name: str, ctx: Optional[zmq.Context] = None) -> zmq.Socket:
    sock = (ctx or context()).socket(zmq.PULL)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVHWM, 100_000)
    _bind(sock, paths, name)
    return sock


def peer_creds(frame: zmq.Frame, lookup: bool = True) -> Optional[Creds]:
    """The credentials of the process that sent `frame` over an ipc:// connection (None over any
    other transport, or when libzmq was built without SO_PEERCRED). With `lookup` the user's name
    and supplementary groups come from the user database."""
    try:
        address = frame.get("Peer-Address")
    except zmq.ZMQError:
        return None
    parts = str(address).rsplit(":", 3)
    if len(parts) != 4:
        return None
    try:
        uid, gid, pid = int(parts[1]), int(parts[2]), int(parts[3])
    except ValueError:
        return None
    if not lookup:
        return Creds(uid, gid, pid)
    user, groups, names = _user_entry(uid, gid)
    return Creds(uid, gid, pid, user, groups, names)


USER_CACHE_MS = 30_000  # the user database is asked at most this often per (uid, gid)
_users: dict[tuple[int, int], tuple[int, str, frozenset[int], tuple[str, ...]]] = {}


def _user_entry(uid: int, gid: int) -> tuple[str, frozenset[int], tuple[str, ...]]:
    """(name, groups, group names) of uid from the user database, kept USER_CACHE_MS: a directory
    service (LDAP, sssd) may be slow, and a daemon's loop must not wait on it at every request."""
    from core.clock import monotonic_ms

    now = monotonic_ms()
    cached = _users.get((uid, gid))
    if cached is not None and now - cached[0] < USER_CACHE_MS:
        return cached[1], cached[2], cached[3]
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        found: tuple[str, frozenset[int], tuple[str, ...]] = ("", frozenset({gid}), ())
    else:
        try:
            groups = frozenset(os.getgrouplist(entry.pw_name, gid))
        except OSError:
            groups = frozenset({gid})
        names = []
        for g in sorted(groups):
            try:
                names.append(grp.getgrgid(g).gr_name)
            except KeyError:
                pass
        found = (entry.pw_name, groups, tuple(names))
    if len(_users) > 1000:
        _users.clear()
    _users[(uid, gid)] = (now, *found)
    return found


def remove_socket(paths: NodePaths, name: str) -> None:
    """Remove a socket file we served (at a clean stop)."""
    try:
        os.unlink(paths.socket_path(name))
    except FileNotFoundError:
        pass


def recv_router(sock: zmq.Socket) -> Optional[tuple[bytes, bytes]]:
    """One (identity, payload) from a ROUTER without blocking; None when nothing is waiting."""
    got = recv_router_frame(sock)
    if got is None:
        return None
    identity, frame = got
    return identity, (frame.bytes if frame is not None else b"")


def recv_router_frame(sock: zmq.Socket) -> Optional[tuple[bytes, Optional[zmq.Frame]]]:
    """One (identity, last frame) from a ROUTER without blocking (the frame keeps the connection's
    properties, see `peer_creds`); None when nothing is waiting."""
    try:
        frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
    except zmq.Again:
        return None
    if len(frames) < 2:
        return (frames[0].bytes if frames else b""), None
    return frames[0].bytes, frames[-1]


def recv_router_parts(sock: zmq.Socket) -> Optional[tuple[bytes, list[zmq.Frame]]]:
    """One (identity, frames after it) from a ROUTER without blocking, the frames not copied
    (zmq.Frame: the message's frame, then any parts, see core.wire); None when nothing is
    waiting."""
    try:
        frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
    except zmq.Again:
        return None
    if not frames:
        return b"", []
    identity = frames.pop(0).bytes
    return identity, frames


def requests(sock: zmq.Socket, on_garbage: Callable[[Exception], None],
             limit: int = 1000,
             by_file: Optional[Callable[[Optional[zmq.Frame], str, int], Any]] = None
             ) -> Iterator[tuple[bytes, Any, Optional[zmq.Frame]]]:
    """(identity, decoded message, its first frame) for what waits on a ROUTER, at most `limit`
    per call (the loop calls again while more is waiting); a message that does not decode goes
    to on_garbage.

    A large message (the CIB the DC sends the pengine, 175 MB at 32 nodes / 10,000 resources)
    must be in memory once while it is handled: its large field comes as parts (core.wire),
    each copied into the field and dropped as it is (`decode_parts` empties the list), the
    msgpack frame is decoded from its own buffer (`frame.bytes` would copy it, and keep the
    copy on the frame), the parts' freed memory goes back to the kernel as they are copied
    (core.heaptrim), and nothing here refers to a frame while the caller handles the
    request (a suspended generator keeps its locals), so the first frame goes as soon as the
    caller drops it, before the core's step. A field sent by file (core.wire, core.spool) is
    `by_file(first frame, name, length)` (the frame: whose credentials say whether the sender
    may); without `by_file` such a message is garbage."""
    for _ in range(limit):
        got = recv_router_parts(sock)
        if got is None:
            return
        identity, frames = got
        del got
        frame = frames.pop(0) if frames else None
        try:
            opener = None if by_file is None else \
                (lambda name, length, first=frame: by_file(first, name, length))
            msg = wire.decode_parts(frame.buffer if frame is not None else b"", frames, trim_heap,
                                    opener)
            del opener
        except wire.WireError as exc:
            on_garbage(exc)
            continue
        finally:
            frames.clear()
        handed = [(identity, msg, frame)]
        del identity, msg, frame
        yield handed.pop()


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
        self.sock.send_multipart(wire.encode_parts(msg))

    def request(self, msg: Any, timeout_ms: int = 2000) -> Any:
        """Send msg (which has a request_id) and wait for its Reply's result; raise on error."""
        try:
            os.stat(self.socket_path)
        except FileNotFoundError:
            raise DaemonUnavailable(f"{self.name} is not running (no socket {self.socket_path})") from None
        except PermissionError:
            raise AccessDenied(f"permission denied: cannot reach {self.socket_path}: the local sockets are for "
                               f"root and members of group {HACLIENT}") from None
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
