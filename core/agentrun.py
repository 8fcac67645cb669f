"""Running programs for the shells of lrmd (agents) and stonithd (fence devices): spawn, feed stdin,
capture, signal, reap. No policy here (the timeout rule is `core.agentproc.KillClock`, in the cores).

Each agent is started with posix_spawn in a new session (so its process group can be signalled
as a whole), cwd inherited from the daemon (`/`), stdin from /dev/null (or a pipe holding what the caller
gave, for fence agents' `name=value` lines), SIGPIPE and friends
reset to default, and stdout/stderr on pipes. Its exit is noticed through a pidfd registered
with the loop, never through pipe EOF: an agent that leaves a daemon holding its pipes open is
finished when the agent itself exits. Output beyond the cap is read and thrown away, so an agent
printing megabytes never blocks.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional

from core.loop import Loop
from core.agentproc import AgentExit

STDOUT_CAP = 256 * 1024
STDERR_CAP = 64 * 1024
READ_CHUNK = 65536
STDIN_CAP = 60 * 1024  # below a pipe's default capacity, so writing it never blocks
_RESET_SIGNALS = tuple(s for s in (getattr(signal, n, None) for n in ("SIGPIPE", "SIGXFSZ", "SIGXFZ"))
                       if s is not None)


@dataclass
class _Capture:
    fd: int
    cap: int
    chunks: list[bytes] = field(default_factory=list)
    kept: int = 0
    dropped: int = 0
    open: bool = True

    def take(self, data: bytes) -> None:
        room = self.cap - self.kept
        if room > 0:
            piece = data[:room]
            self.chunks.append(piece)
            self.kept += len(piece)
        self.dropped += max(0, len(data) - max(room, 0))

    def text(self) -> str:
        body = b"".join(self.chunks).decode("utf-8", "replace")
        if self.dropped:
            body += f"\n[lrmd: {self.dropped} more bytes not kept]"
        return body


@dataclass
class _Child:
    pid: int
    pidfd: int
    out: _Capture
    err: _Capture
    on_exit: Callable[[AgentExit], None]


def _errno_class(exc: OSError) -> str:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "missing"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission"
    if exc.errno == errno.ENOEXEC:
        return "format"
    return "other"


class AgentRunner:
    def __init__(self, loop: Loop, stdout_cap: int = STDOUT_CAP, stderr_cap: int = STDERR_CAP,
                 in_process: Optional[Callable[[str], Optional[str]]] = None) -> None:
        """in_process(path) -> the name of one of our agents to run in a forked copy of this
        process (lrmd.inproc), or None to exec the file."""
        self.loop = loop
        self.in_process = in_process
        self.stdout_cap = stdout_cap
        self.stderr_cap = stderr_cap
        self.children: dict[int, _Child] = {}  # by pid
        self._devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)

    def spawn(self, argv: list[str], env: dict[str, str],
              on_exit: Callable[[AgentExit], None], stdin: Optional[bytes] = None) -> Optional[int]:
        """Start argv; returns the pid (= process group id), or None after calling on_exit with
        an exec error (missing file, no permission, bad format) right away. `stdin` (at most a
        pipe's capacity, 64 KiB: fence agents read a few lines) is what the program reads."""
        in_fd = self._devnull
        if stdin is not None:
            if len(stdin) > STDIN_CAP:
                raise ValueError(f"stdin of {len(stdin)} bytes is over {STDIN_CAP}")
            in_r, in_w = os.pipe2(os.O_CLOEXEC)
            try:
                os.write(in_w, stdin)  # fits in the pipe: never blocks
            finally:
                os.close(in_w)
            in_fd = in_r
        try:
            return self._spawn(argv, env, on_exit, in_fd)
        finally:
            if in_fd != self._devnull:
                os.close(in_fd)

    def _spawn(self, argv: list[str], env: dict[str, str], on_exit: Callable[[AgentExit], None],
               in_fd: int) -> Optional[int]:
        out_r, out_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        err_r, err_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        os.set_blocking(out_w, True)
        os.set_blocking(err_w, True)
        actions = [(os.POSIX_SPAWN_DUP2, in_fd, 0),
                   (os.POSIX_SPAWN_DUP2, out_w, 1),
                   (os.POSIX_SPAWN_DUP2, err_w, 2)]
        name = self.in_process(argv[0]) if self.in_process is not None else None
        try:
            if name is not None:
                pid = self._fork_agent(name, argv, env, in_fd, out_w, err_w)
            else:
                pid = os.posix_spawn(argv[0], argv, env, file_actions=actions, setsid=True,
                                     setsigdef=_RESET_SIGNALS, setsigmask=())
        except OSError as exc:
            for fd in (out_r, out_w, err_r, err_w):
                os.close(fd)
            what = {"missing": "not installed", "permission": "not executable",
                    "format": "not executable (bad format)"}.get(_errno_class(exc), "cannot run")
            on_exit(AgentExit(exec_error=f"{argv[0]}: {what} ({exc.strerror})",
                              exec_errno_class=_errno_class(exc)))
            return None
        os.close(out_w)
        os.close(err_w)
        pidfd = os.pidfd_open(pid)
        child = _Child(pid, pidfd, _Capture(out_r, self.stdout_cap), _Capture(err_r, self.stderr_cap), on_exit)
        self.children[pid] = child
        self.loop.add_reader(out_r, lambda: self._read(child.out))
        self.loop.add_reader(err_r, lambda: self._read(child.err))
        self.loop.add_reader(pidfd, lambda: self._exited(child))
        return pid

    def _fork_agent(self, name: str, argv: list[str], env: dict[str, str], in_fd: int, out_w: int, err_w: int) -> int:
        """Run one of our agents in a forked copy of this process, as its wrapper would run it:
        own session, stdin /dev/null, stdout/stderr on the pipes, default signal handling,
        exactly `env`, no other descriptor, exit code = what run() returns."""
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid:
            return pid
        code = 1
        try:
            os.setsid()
            os.dup2(in_fd, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.closerange(3, 1 << 16)
            signal.set_wakeup_fd(-1)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD, signal.SIGUSR1,
                           signal.SIGUSR2) + _RESET_SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            os.environ.clear()
            os.environ.update(env)
            # the streams an interpreter started on these descriptors would have (this process's
            # may point elsewhere: a log, a test's capture)
            sys.stdin = open(0, "r", encoding="utf-8", errors="replace", closefd=False)
            sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
            sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False,
                              buffering=1)
            sys.argv = [argv[0], *argv[1:]]
            from agents.main import run

            code = run(name, list(argv[1:]))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # an agent's bug: reported like an interpreter would, then exit 1
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code if 0 <= code <= 255 else 1)
        raise AssertionError("unreachable")

    def signal_group(self, pgid: int, signum: int) -> None:
        try:
            os.killpg(pgid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def _read(self, cap: _Capture) -> None:
        if not cap.open:
            return
        for _ in range(16):  # bounded per wake-up; the loop comes back while data remains
            try:
                data = os.read(cap.fd, READ_CHUNK)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._close(cap)
                return
            cap.take(data)

    def _drain(self, cap: _Capture) -> None:
        """After the agent exited: take what is buffered now, then let go of the pipe even if a
        process it left behind still holds the other end."""
        total = 0
        while cap.open and total < 64 * READ_CHUNK:
            try:
                data = os.read(cap.fd, READ_CHUNK)
            except (BlockingIOError, OSError):
                break
            if not data:
                break
            total += len(data)
            cap.take(data)
        self._close(cap)

    def _close(self, cap: _Capture) -> None:
        if cap.open:
            cap.open = False
            self.loop.remove_reader(cap.fd)
            os.close(cap.fd)

    def _exited(self, child: _Child) -> None:
        try:
            pid, status = os.waitpid(child.pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = child.pid, 0
        if pid == 0:
            return  # spurious wake-up
        self.loop.remove_reader(child.pidfd)
        os.close(child.pidfd)
        del self.children[child.pid]
        self._drain(child.out)
        self._drain(child.err)
        if os.WIFSIGNALED(status):
            result = AgentExit(exit_code=None, signal=os.WTERMSIG(status),
                               stdout=child.out.text(), stderr=child.err.text())
        else:
            result = AgentExit(exit_code=os.waitstatus_to_exitcode(status),
                               stdout=child.out.text(), stderr=child.err.text())
        child.on_exit(result)

    def wait_all(self, budget_ms: int) -> None:
        """Keep serving the agents still running for up to budget_ms (used at shutdown, so that
        an operation in flight is not cut off from its pipes)."""
        from core.clock import monotonic_ms

        deadline = monotonic_ms() + budget_ms
        while self.children and monotonic_ms() < deadline:
            self.loop.run_once(max_wait_ms=max(1, min(100, deadline - monotonic_ms())))

    def close(self) -> None:
        """Stop watching (agents keep running: an lrmd restart must not disturb them)."""
        for child in list(self.children.values()):
            self.loop.remove_reader(child.pidfd)
            os.close(child.pidfd)
            self._close(child.out)
            self._close(child.err)
        self.children.clear()
        os.close(self._devnull)
