"""ocf:pyheartbeat:daemon — run a service such as httpd or tomcat: a command line started as a
daemon with pid tracking, or an LSB init script; health checks by process and, optionally, by
HTTP or TCP.

start    command: run `sh -c "exec <command>"` in a new session (stdin /dev/null, output to
         `logfile`), record pid and process start time in the pid file, then wait until the
         process is still alive after `settle_time` ms and the health check passes (within the
         op timeout). init_script: `<script> start`.
monitor  0 running and healthy; 7 cleanly stopped (no pid file); 1 failed: the process died
         leaving its pid file, or the health check fails. init_script: `<script> status`
         mapped from LSB codes, then the health check.
stop     TERM to the daemon's process group, KILL when it outlives the op timeout; remove the
         pid file. init_script: `<script> stop`.
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Optional

from agents import ocfagent as ocf
from agents.metadata import Action, AgentSpec, Param, ParamError

SPEC = AgentSpec(
    name="daemon",
    shortdesc="Manages a daemon started from a command line or an init script",
    longdesc="Starts a service from a command line (tracked by a pid file that also records the "
             "process start time, so a recycled pid is not mistaken for the service) or through "
             "an LSB init script, and monitors it by process and optionally by an HTTP or TCP "
             "check.",
    params=(
        Param("command", "command line", "The command line of the daemon; it must stay in the "
              "foreground (it is run through sh -c \"exec ...\")."),
        Param("init_script", "init script", "An LSB init script to use instead of a command."),
        Param("pidfile", "pid file", "Where to record the pid (default: in HA_RSCTMP)."),
        Param("user", "user", "Run the command as this user."),
        Param("workdir", "working directory", "Working directory of the command.", default="/"),
        Param("logfile", "log file", "File that receives the daemon's stdout and stderr.",
              default="/dev/null"),
        Param("settle_time", "settle time in ms", "How long a started process must stay alive "
              "before start succeeds.", type="integer", default="200"),
        Param("http_url", "HTTP URL to check", "If set, monitor GETs this URL and wants a status "
              "below 400."),
        Param("tcp_port", "TCP port to check", "If set, monitor connects to tcp_host:tcp_port.",
              type="integer"),
        Param("tcp_host", "TCP host to check", "Host for the TCP check.", default="127.0.0.1"),
        Param("check_timeout", "health check timeout in seconds",
              "Timeout of one HTTP or TCP check.", type="integer", default="5"),
    ),
    actions=(Action("start", 60), Action("stop", 60),
             Action("monitor", 20, interval_s=10, depth=0), Action("meta-data", 5),
             Action("validate-all", 5)),
)


# -- pid file --------------------------------------------------------------------------------
def _pidfile(ctx: ocf.Context) -> str:
    return ctx.params.get("pidfile") or ctx.state_file("pid")


def _starttime(pid: int) -> Optional[str]:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == "Z":
        return None
    return fields[19]


def _read_pidfile(ctx: ocf.Context) -> Optional[tuple[int, str]]:
    try:
        with open(_pidfile(ctx), encoding="ascii") as handle:
            words = handle.read().split()
        return int(words[0]), (words[1] if len(words) > 1 else "")
    except (OSError, ValueError, IndexError):
        return None


def _alive(record: Optional[tuple[int, str]]) -> bool:
    if record is None:
        return False
    pid, started = record
    now = _starttime(pid)
    return now is not None and (not started or now == started)


# -- health checks ---------------------------------------------------------------------------
def health(ctx: ocf.Context) -> Optional[str]:
    """None when healthy (or no check configured), else what is wrong."""
    timeout = int(ctx.params["check_timeout"])
    url = ctx.params.get("http_url", "")
    if url:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as reply:
                if reply.status >= 400:
                    return f"{url} answered {reply.status}"
        except urllib.error.HTTPError as exc:
            return f"{url} answered {exc.code}"
        except (OSError, ValueError) as exc:
            return f"{url}: {exc}"
    port = ctx.params.get("tcp_port", "")
    if port:
        try:
            with socket.create_connection((ctx.params["tcp_host"], int(port)), timeout=timeout):
                pass
        except OSError as exc:
            return f"tcp {ctx.params['tcp_host']}:{port}: {exc.strerror or exc}"
    return None


# -- actions -------------------------------------------------------------------------------------
def validate(ctx: ocf.Context) -> int:
    command, script = ctx.params.get("command", ""), ctx.params.get("init_script", "")
    if bool(command.strip()) == bool(script.strip()):
        raise ParamError("set exactly one of command and init_script")
    if script and not os.access(script, os.X_OK):
        raise ctx.fail(ocf.OCF_ERR_INSTALLED, f"init script {script} is not executable")
    user = ctx.params.get("user", "")
    if user:
        try:
            pwd.getpwnam(user)
        except KeyError:
            raise ctx.fail(ocf.OCF_ERR_ARGS, f"no such user {user}")
    if not os.path.isdir(ctx.params["workdir"]):
        raise ctx.fail(ocf.OCF_ERR_ARGS, f"no directory {ctx.params['workdir']}")
    return ocf.OCF_SUCCESS


def _script(ctx: ocf.Context, action: str) -> subprocess.CompletedProcess:
    return subprocess.run([ctx.params["init_script"], action], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=max(1.0, ctx.remaining_s()))


def monitor(ctx: ocf.Context) -> int:
    if ctx.params.get("init_script"):
        code = _script(ctx, "status").returncode
        if code == 3:
            return ocf.OCF_NOT_RUNNING
        if code != 0:
            raise ctx.fail(ocf.OCF_ERR_GENERIC, f"init script status says {code}")
    else:
        record = _read_pidfile(ctx)
        if record is None:
            return ocf.OCF_NOT_RUNNING
        if not _alive(record):
            raise ctx.fail(ocf.OCF_ERR_GENERIC, f"process {record[0]} died")
    problem = health(ctx)
    if problem:
        raise ctx.fail(ocf.OCF_ERR_GENERIC, f"health check failed: {problem}")
    return ocf.OCF_SUCCESS


def _spawn(ctx: ocf.Context) -> int:
    log = os.open(ctx.params["logfile"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        user = ctx.params.get("user") or None
        proc = subprocess.Popen(["/bin/sh", "-c", "exec " + ctx.params["command"]],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                cwd=ctx.params["workdir"], start_new_session=True, close_fds=True,
                                user=user, env=_daemon_env(ctx.env))
    finally:
        os.close(log)
    proc.returncode = 0  # never waited for here: the daemon outlives this agent
    return proc.pid


def _daemon_env(env: dict) -> dict:
    keep = ("PATH", "LANG", "LC_ALL", "HOME", "TZ")
    return {k: v for k, v in env.items() if k in keep or not k.startswith(("OCF_", "HA_", "PYHB_"))}


def start(ctx: ocf.Context) -> int:
    validate(ctx)
    if ctx.params.get("init_script"):
        proc = _script(ctx, "start")
        if proc.returncode != 0:
            raise ctx.fail(ocf.OCF_ERR_GENERIC, f"init script start exited {proc.returncode}")
    else:
        if _alive(_read_pidfile(ctx)):
            return ocf.OCF_SUCCESS
        pid = _spawn(ctx)
        started = _starttime(pid) or ""
        tmp = _pidfile(ctx) + ".tmp"
        with open(tmp, "w", encoding="ascii") as handle:
            handle.write(f"{pid} {started}\n")
        os.replace(tmp, _pidfile(ctx))
        settle = int(ctx.params["settle_time"]) / 1000.0
        if ocf.wait_until(lambda: not _alive((pid, started)), settle):
            _reap(pid)
            os.unlink(_pidfile(ctx))
            raise ctx.fail(ocf.OCF_ERR_GENERIC, f"{ctx.params['command']} exited at once (see "
                           f"{ctx.params['logfile']})")
    budget = ctx.remaining_s()
    if not ocf.wait_until(lambda: health(ctx) is None, budget, step_s=0.2):
        raise ctx.fail(ocf.OCF_ERR_GENERIC, f"started, but the health check still fails: {health(ctx)}")
    return ocf.OCF_SUCCESS


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop(ctx: ocf.Context) -> int:
    if ctx.params.get("init_script"):
        proc = _script(ctx, "stop")
        if proc.returncode not in (0, 7) and _script(ctx, "status").returncode != 3:
            raise ctx.fail(ocf.OCF_ERR_GENERIC, f"init script stop exited {proc.returncode}")
        return ocf.OCF_SUCCESS
    record = _read_pidfile(ctx)
    if record is not None and _alive(record):
        pid = record[0]
        _signal(pid, signal.SIGTERM)
        if not ocf.wait_until(lambda: not _alive(record), ctx.remaining_s(margin_s=2.0)):
            ctx.log("WARNING", f"process {pid} ignored SIGTERM; killing it")
            _signal(pid, signal.SIGKILL)
            if not ocf.wait_until(lambda: not _alive(record), 5.0):
                raise ctx.fail(ocf.OCF_ERR_GENERIC, f"process {pid} survived SIGKILL")
    try:
        os.unlink(_pidfile(ctx))
    except FileNotFoundError:
        pass
    return ocf.OCF_SUCCESS


def _signal(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the daemon leads its own session: take its children too
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


HANDLERS = {"start": start, "stop": stop, "monitor": monitor, "status": monitor,
            "validate-all": validate}


def main(argv: list[str]) -> int:
    return ocf.run(SPEC, HANDLERS, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
