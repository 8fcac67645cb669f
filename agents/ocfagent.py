"""The runtime every pyheartbeat OCF agent shares: read the OCF environment, apply parameter
defaults, dispatch the action, log, and report exit reasons the way ocf-shellfuncs does
(`ocf-exit-reason:<text>` on stderr).

An agent module defines `SPEC` (agents.metadata.AgentSpec) and a dict of action handlers
`{"start": fn, ...}`, each `fn(ctx) -> rc`, and calls `run(SPEC, HANDLERS, argv)`.
"""

from __future__ import annotations

import os
import sys
import time

from agents.metadata import AgentSpec, ParamError, metadata_xml, parse_bool, resolve_params

from core.ocfcodes import (OCF_ERR_ARGS, OCF_ERR_CONFIGURED, OCF_ERR_GENERIC, OCF_ERR_INSTALLED,  # noqa: F401
                           OCF_ERR_PERM, OCF_ERR_UNIMPLEMENTED, OCF_NOT_RUNNING, OCF_SUCCESS)

DEFAULT_RSCTMP = "/run/resource-agents"


class AgentFailure(Exception):
    """Raised by handlers to end the action with rc and an exit reason."""

    def __init__(self, rc: int, reason: str) -> None:
        super().__init__(reason)
        self.rc = rc
        self.reason = reason


class Context:
    def __init__(self, spec: AgentSpec, action: str, env: dict[str, str],
                 params: dict[str, str]) -> None:
        self.spec = spec
        self.action = action
        self.env = env
        self.params = params
        self.instance = env.get("OCF_RESOURCE_INSTANCE") or "default"
        self.rsctmp = env.get("HA_RSCTMP") or DEFAULT_RSCTMP
        self.interval_ms = _int(env.get("OCF_RESKEY_CRM_meta_interval"), 0)
        self.timeout_ms = _int(env.get("OCF_RESKEY_CRM_meta_timeout"), 20_000)
        self.check_level = _int(env.get("OCF_CHECK_LEVEL"), 0)
        self.started = time.monotonic()
        self.logfile = env.get("HA_LOGFILE") or None

    @property
    def is_probe(self) -> bool:
        return self.action == "monitor" and self.interval_ms == 0

    def flag(self, name: str) -> bool:
        return parse_bool(self.params[name])

    def remaining_s(self, margin_s: float = 1.0) -> float:
        """Seconds left of this op's timeout, keeping a margin for cleanup."""
        return max(0.0, self.timeout_ms / 1000.0 - (time.monotonic() - self.started) - margin_s)

    def state_file(self, suffix: str) -> str:
        os.makedirs(self.rsctmp, mode=0o755, exist_ok=True)
        safe = self.instance.replace("/", "_")
        return os.path.join(self.rsctmp, f"{self.spec.name}-{safe}.{suffix}")

    def log(self, level: str, text: str) -> None:
        if self.is_probe and level in ("ERROR", "WARNING"):
            level = "INFO"  # probes must not cry wolf
        line = f"{self.spec.name}({self.instance})[{os.getpid()}]: {level}: {text}"
        print(line, file=sys.stderr)
        if self.logfile:
            try:
                with open(self.logfile, "a", encoding="utf-8") as handle:
                    handle.write(time.strftime("%b %d %H:%M:%S ") + line + "\n")
            except OSError:
                pass

    def fail(self, rc: int, reason: str) -> AgentFailure:
        return AgentFailure(rc, reason)


def exit_reason(text: str, env: dict[str, str] | None = None) -> None:
    prefix = (env or os.environ).get("OCF_EXIT_REASON_PREFIX", "ocf-exit-reason:")
    print(f"{prefix}{text}", file=sys.stderr)


def ocf_params(env: dict[str, str]) -> dict[str, str]:
    return {key[len("OCF_RESKEY_"):]: value for key, value in env.items()
            if key.startswith("OCF_RESKEY_") and not key.startswith("OCF_RESKEY_CRM_meta_")}


def usage(spec: AgentSpec) -> str:
    names = "|".join(a.name for a in spec.actions)
    return f"usage: {spec.name} {{{names}}}"


def run(spec: AgentSpec, handlers: dict, argv: list[str],
        env: dict[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    action = argv[-1] if argv else ""
    if action == "meta-data":
        sys.stdout.write(metadata_xml(spec))
        return OCF_SUCCESS
    if action in ("usage", "help", "methods"):
        if action == "methods":
            print("\n".join(a.name for a in spec.actions))
        else:
            print(usage(spec))
        return OCF_SUCCESS
    handler = handlers.get(action)
    if handler is None:
        print(usage(spec), file=sys.stderr)
        return OCF_ERR_UNIMPLEMENTED
    try:
        params = resolve_params(spec, ocf_params(env))
    except ParamError as exc:
        exit_reason(str(exc), env)
        if action == "stop":
            return OCF_SUCCESS  # nothing described this badly can have been started by us
        if action == "monitor" and _int(env.get("OCF_RESKEY_CRM_meta_interval"), 0) == 0:
            return OCF_NOT_RUNNING
        return OCF_ERR_CONFIGURED
    ctx = Context(spec, action, env, params)
    try:
        return int(handler(ctx))
    except AgentFailure as failure:
        ctx.log("ERROR" if failure.rc not in (OCF_NOT_RUNNING, OCF_SUCCESS) else "INFO", failure.reason)
        exit_reason(failure.reason, env)
        return failure.rc
    except ParamError as exc:
        exit_reason(str(exc), env)
        return OCF_ERR_CONFIGURED


def _int(text: str | None, default: int) -> int:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return default


def wait_until(predicate: object, budget_s: float, step_s: float = 0.05) -> bool:
    """Poll predicate until it is true or budget_s passed (bounded; returns the last answer)."""
    deadline = time.monotonic() + budget_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(step_s, max(0.0, deadline - time.monotonic())))
