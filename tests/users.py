"""Real Unix users for access tests: created with groupadd/useradd, removed afterwards even when the
test fails, and a way to run Python code (a tool's `main`) as one of them.

The interpreter lives where other users may not read (/root/.pyenv on the CI image), so a tool is
not exec'd as the user (`runuser` would fail to start Python): the test process forks, the child
drops to the user's uid, gid and groups (setgroups, setgid, setuid: no way back) and calls the
tool's entry point in-process; its exit code, stdout and stderr come back through a pipe. Every
module the tool needs must be imported before the fork (`preload`).
"""

from __future__ import annotations

import contextlib
import grp
import io
import json
import os
import pwd
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import pytest

# codecs and modules the tools load lazily: the child, once it is the user, may not read them
import encodings.ascii  # noqa: F401,E402
import encodings.latin_1  # noqa: F401,E402
import encodings.utf_8  # noqa: F401,E402


def need_root() -> None:
    """Skip without root; under CI (root) a missing privilege is a failure, not a skip."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            raise RuntimeError("CI runs as root: the access tests with real users must run there")
        pytest.skip("needs root to create users")
    for tool in ("useradd", "userdel", "groupadd", "groupdel"):
        if not any(os.access(os.path.join(d, tool), os.X_OK) for d in ("/usr/sbin", "/sbin", "/usr/bin")):
            if os.environ.get("CI"):
                raise RuntimeError(f"{tool} is missing")
            pytest.skip(f"{tool} is missing")


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")


@contextlib.contextmanager
def temporary_users(prefix: str, specs: dict[str, list[str]]) -> Iterator[dict[str, User]]:
    """Users `<prefix><key>` for each key, members of the listed groups (groups not existing yet
    are created and removed afterwards); everything created is removed in `finally`."""
    made_groups: list[str] = []
    made_users: list[str] = []
    try:
        for groups in specs.values():
            for group in groups:
                try:
                    grp.getgrnam(group)
                except KeyError:
                    _run(["groupadd", "--system", group])
                    made_groups.append(group)
        users: dict[str, User] = {}
        for key, groups in specs.items():
            name = f"{prefix}{key}"
            if _exists(name):  # left by a killed run: start clean
                _run(["userdel", name])
            argv = ["useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                    "--user-group"]
            if groups:
                argv += ["--groups", ",".join(groups)]
            _run(argv + [name])
            made_users.append(name)
            entry = pwd.getpwnam(name)
            users[key] = User(name, entry.pw_uid, entry.pw_gid, tuple(os.getgrouplist(name, entry.pw_gid)))
        yield users
    finally:
        for name in made_users:
            subprocess.run(["userdel", name], capture_output=True, timeout=30)
        for group in made_groups:
            subprocess.run(["groupdel", group], capture_output=True, timeout=30)
        for name in made_users:
            if _exists(name):
                raise RuntimeError(f"user {name} could not be removed")


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_as(user: Optional[User], fn: Callable[[], int], env: Optional[dict[str, str]] = None,
           timeout_s: float = 60) -> Result:
    """fn() in a forked child running as `user` (None: as we are), with `env` added to its
    environment and sys.stdout/sys.stderr captured."""
    import select
    import signal
    import time

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code, out, err = 70, io.StringIO(), io.StringIO()
        try:
            os.close(read_fd)
            if user is not None:
                os.setgroups(list(user.groups))
                os.setgid(user.gid)
                os.setuid(user.uid)
            os.environ.update(env or {})
            sys.stdout, sys.stderr = out, err
            try:
                code = fn()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                err.write(f"child raised {exc.__class__.__name__}: {exc}\n")
                code = 71
        finally:
            data = json.dumps({"rc": code, "out": out.getvalue(), "err": err.getvalue()}).encode()
            with contextlib.suppress(OSError):
                os.write(write_fd, data)
            os._exit(0)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        else:
            pass
    finally:
        os.close(read_fd)
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    if not chunks:
        raise AssertionError(f"the child as {user.name if user else 'us'} gave no answer within {timeout_s:g} s")
    got = json.loads(b"".join(chunks))
    return Result(got["rc"], got["out"], got["err"])
