"""lrmd: the local resource manager daemon (shell around `lrmd.machine.LrmMachine`).

    python -m lrmd.daemon [--confdir D --rundir R --statedir S --node-name N]
                          [--ocf-root DIR]... [--rsctmp DIR] [--lsb-dir DIR]
                          [--heartbeat-dir DIR]... [--max-children N]

It serves `core.messages.lrm` requests on `lrmd.sock`, forks agents (core.agentrun) for the core's
RunAgent effects and feeds their exits back. Resource definitions are kept in
`<statedir>/lrmd.resources.json`; after a restart every known resource is probed (monitor with
interval 0) so its state is learnt again: an lrmd restart never stops or restarts a resource.
At shutdown, agents still running are served for up to 10 s, then left to finish on their own.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import Any, Optional

from core.clock import monotonic_ms
from core.daemon import DaemonContext, run_daemon
from core.driver import Driver
from core.messages import common
from core.messages import lrm as api
from core.paths import DEFAULT_RUNDIR, ocf_roots
from lrmd import machine as m
from lrmd import resolve
from lrmd.ocf import CLASSES, AgentContext, AgentExit, build_env, synthesized_metadata
from lrmd.process import LrmProcess, Published, ShellRequest, restart_inputs
from lrmd.inproc import InProcess
from core.agentrun import AgentRunner

STATE_FILE = "lrmd.resources.json"
SHUTDOWN_WAIT_MS = 10_000
PERSIST_DELAY_MS = 200  # registrations in a burst are written once
_SIGNALS = {"TERM": signal.SIGTERM, "KILL": signal.SIGKILL}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ocf-root", action="append", default=None,
                        help="OCF root to search for agents (repeatable; first = OCF_ROOT; default "
                             "$PYHB_OCF_ROOTS, colon-separated, else $OCF_ROOT or /usr/lib/ocf)")
    parser.add_argument("--rsctmp", help="HA_RSCTMP for agents (default /run/resource-agents, or "
                                         "<rundir>/rsctmp when --rundir is not the default)")
    parser.add_argument("--lsb-dir", default="/etc/init.d", help="where lsb scripts live")
    parser.add_argument("--heartbeat-dir", action="append", default=None,
                        help="where heartbeat-class scripts live (repeatable; default "
                             "<confdir>/resource.d then /etc/ha.d/resource.d)")
    parser.add_argument("--max-children", type=int, default=max(4, (os.cpu_count() or 2) // 2),
                        help="agents running at once (default max(4, nproc/2))")
    parser.add_argument("--kill-grace-ms", type=int, default=m.DEFAULT_KILL_GRACE_MS,
                        help="after a timeout, ms between SIGTERM and SIGKILL (default 5000)")
    parser.add_argument("--no-probe", action="store_true", help="do not probe known resources at start")


class LrmService:
    def __init__(self, ctx: DaemonContext) -> None:
        args = ctx.args
        self.ctx = ctx
        self.log = ctx.log
        self.loop = ctx.loop
        paths = ctx.paths
        roots = args.ocf_root or ocf_roots()
        hb_dirs = args.heartbeat_dir or [os.path.join(paths.confdir, "resource.d"), "/etc/ha.d/resource.d"]
        rsctmp = args.rsctmp or ("/run/resource-agents" if paths.rundir == DEFAULT_RUNDIR
                                 else os.path.join(paths.rundir, "rsctmp"))
        os.makedirs(rsctmp, mode=0o755, exist_ok=True)
        self.resolver = resolve.Resolver(ocf_roots=list(dict.fromkeys(roots)),
                                         lsb_dir=args.lsb_dir,
                                         heartbeat_dirs=list(dict.fromkeys(hb_dirs)))
        self.agent_ctx = AgentContext(ocf_root=roots[0], rsctmp=rsctmp, node_name=paths.node_name,
                                      extra=_extra_env(ctx))
        self.state_path = paths.state_file(STATE_FILE)
        self.machine = m.LrmMachine(max_children=max(1, args.max_children),
                                    kill_grace_ms=max(1, args.kill_grace_ms))
        self.core = LrmProcess(self.machine, os.getpid())
        # our own agents run in a forked copy of the lrmd (no interpreter start); PYHB_LRMD_EXEC_AGENTS=1
        # exec's them like any other agent
        in_process = None
        if os.environ.get("PYHB_LRMD_EXEC_AGENTS", "") in ("", "0"):
            in_process = InProcess().agent_name
        self.runner = AgentRunner(self.loop, in_process=in_process)
        self.run_pgids: dict[int, int] = {}
        self.persist_pending: Optional[tuple[dict, ...]] = None
        os.chdir("/")
        self.driver = Driver(ctx, self.core, serve="lrmd", handlers={
            m.RunAgent: self._run, m.SignalAgent: self._signal, m.SaveResources: self._save,
            Published: self._log_result, ShellRequest: self._shell_request})
        self.driver.start()
        self._load_and_probe(probe=not args.no_probe)
        self.log.info("lrmd started: OCF roots %s, HA_RSCTMP %s, max-children %d, %d known resources",
                      ",".join(self.resolver.ocf_roots), rsctmp, self.machine.max_children,
                      len(self.machine.resources))

    # -- effects -------------------------------------------------------------------------------
    def _signal(self, effect: m.SignalAgent) -> None:
        pgid = self.run_pgids.get(effect.run_id)
        if pgid is not None:
            self.runner.signal_group(pgid, _SIGNALS[effect.signal])

    def _run(self, run: m.RunAgent) -> None:
        params = dict(run.params)
        env = build_env(self.agent_ctx, run.rsc_id, run.rsc_class, run.provider, run.rsc_type,
                        run.operation, params, run.interval_ms, run.timeout_ms, dict(run.meta))
        plan = self.resolver.plan(run.rsc_class, run.provider, run.rsc_type, run.operation, params)
        env.update(plan.env)
        if plan.env.get("OCF_ROOT"):
            env["OCF_ROOT"] = plan.env["OCF_ROOT"]
        run_id = run.run_id

        def exited(result: AgentExit) -> None:
            self.run_pgids.pop(run_id, None)
            self.driver.feed(m.AgentExited(run_id, result))

        if plan.error is not None:
            self.loop.set_timer(f"exec-error-{run_id}", 0,
                                lambda: exited(AgentExit(exec_error=plan.error, exec_errno_class=plan.error_class)))
            return
        pid = self.runner.spawn(plan.argv, env, lambda result: self.loop.set_timer(
            f"exit-{run_id}", 0, lambda: exited(result)))
        if pid is not None:
            self.run_pgids[run_id] = pid

    def _log_result(self, effect: Published) -> None:
        result = effect.result
        level = "info" if result.status == "done" and result.rc in (0, 7, 8) else "warn"
        if result.interval_ms == 0 or level == "warn":
            self.log.log(level, "%s_%s_%d (call %d): rc=%d status=%s%s", result.rsc_id, result.operation,
                         result.interval_ms, result.call_id, result.rc, result.status,
                         f" ({result.exit_reason})" if result.exit_reason else "")

    def _save(self, effect: m.SaveResources) -> None:
        first = self.persist_pending is None
        self.persist_pending = effect.resources
        if first:
            self.loop.set_timer("persist", monotonic_ms() + PERSIST_DELAY_MS, self._persist_now)

    def _persist_now(self) -> None:
        resources, self.persist_pending = self.persist_pending, None
        if resources is None:
            return
        tmp = f"{self.state_path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"version": 1, "resources": list(resources)}, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.state_path)

    # -- requests that need the file system -------------------------------------------------------
    def _shell_request(self, effect: ShellRequest) -> None:
        msg = effect.request
        if isinstance(msg, api.Metadata):
            self._metadata(effect.client, msg)
        elif isinstance(msg, api.Query):
            self._query(effect.client, msg)

    def _reply(self, ident: bytes, rid: int, result: Any = None, error: Optional[str] = None) -> None:
        self.driver.bus.send(ident, common.Reply(rid, error is None, result, error))

    def _metadata(self, ident: bytes, msg: api.Metadata) -> None:
        rid = msg.request_id
        if msg.rsc_class in ("lsb", "heartbeat") or (msg.rsc_class == "service"
                                                      and self.resolver.is_init_script(msg.rsc_type)):
            path = self.resolver.script_path(msg.rsc_class if msg.rsc_class != "service" else "lsb", msg.rsc_type)
            if path is None:
                self._reply(ident, rid, error=f"{msg.rsc_class}:{msg.rsc_type} is not installed")
                return
            self._reply(ident, rid, synthesized_metadata(
                "lsb" if msg.rsc_class == "service" else msg.rsc_class, msg.rsc_type, _head(path)))
            return
        self.driver.feed(m.GetMetadata(ident, rid, msg.rsc_class, msg.provider, msg.rsc_type))

    def _query(self, ident: bytes, msg: api.Query) -> None:
        args = msg.args
        if msg.what == "classes":
            result: Any = list(CLASSES)
        elif msg.what == "providers":
            result = self.resolver.providers(args.get("rsc_type"))
        elif msg.what == "types":
            result = self.resolver.types(str(args.get("rsc_class", "ocf")), args.get("provider"))
        elif msg.what == "status":
            result = {"pid": os.getpid(), "resources": len(self.machine.resources),
                      "running": self.machine.running_count(), "max_children": self.machine.max_children,
                      "garbage_frames": self.core.garbage + self.driver.bus.counters.get("bad_frames", 0),
                      "counters": dict(self.machine.counters),
                      "ocf_roots": self.resolver.ocf_roots, "rsctmp": self.agent_ctx.rsctmp}
        else:
            self._reply(ident, msg.request_id, error=f"unknown query {msg.what!r}")
            return
        self._reply(ident, msg.request_id, result)

    # -- restart ---------------------------------------------------------------------------------
    def _load_and_probe(self, probe: bool) -> None:
        try:
            with open(self.state_path, encoding="utf-8") as handle:
                saved = json.load(handle)
            resources = saved["resources"]
            assert isinstance(resources, list)
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, AssertionError, TypeError) as exc:
            self.log.error("ignoring unreadable %s: %s", self.state_path, exc)
            return
        inputs, problems = restart_inputs(resources, probe)
        for problem in problems:
            self.log.error("ignoring %s in %s", problem, self.state_path)
        for item in inputs:
            if isinstance(item, m.Execute) and item.rsc_id not in self.machine.resources:
                continue
            self.driver.feed(item)

    # -- lifecycle -------------------------------------------------------------------------------
    def reload(self) -> None:
        self.log.info("lrmd: reload requested (nothing to reload)")

    def shutdown(self) -> None:
        self.driver.close()
        self.machine.max_children = 0  # start nothing new
        if self.runner.children:
            self.log.info("lrmd stopping: waiting for %d running agents", len(self.runner.children))
            self.runner.wait_all(SHUTDOWN_WAIT_MS)
        self._persist_now()
        self.runner.close()
        try:
            os.unlink(self.ctx.paths.socket_path("lrmd"))
        except OSError:
            pass


def _head(path: str, limit: int = 65536) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""


def _extra_env(ctx: DaemonContext) -> tuple[tuple[str, str], ...]:
    config = ctx.config
    env = dict(ctx.paths.environ())
    if config.logfile:
        env["HA_LOGFILE"] = config.logfile
    if config.debugfile:
        env["HA_DEBUGLOG"] = config.debugfile
    if config.logfacility:
        env["HA_LOGFACILITY"] = config.logfacility
    env["HA_debug"] = "1" if config.debug else "0"
    return tuple(sorted(env.items()))


def build(ctx: DaemonContext) -> LrmService:
    return LrmService(ctx)


def main(argv: Optional[list[str]] = None) -> int:
    return run_daemon("lrmd", build, argv, extra_args=add_arguments)


if __name__ == "__main__":
    sys.exit(main())
