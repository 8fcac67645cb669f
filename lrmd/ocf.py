"""Pure helpers of the lrmd: OCF exit codes, the agent environment, the argument vector of each
resource class, and the mapping of an agent's exit (code, signal, stdout) to an OCF result.

Nothing here touches the system: paths are computed, not checked; the shell checks them.

Resource classes:
  ocf        $OCF_ROOT/resource.d/<provider>/<type> <action>; input in the environment
  lsb        /etc/init.d/<type> <action>; monitor runs `status`, whose LSB codes are mapped
  heartbeat  <resource.d>/<type> <arg1> <arg2> ... <action>; params "1", "2", ... are the args;
             start/stop succeed on exit 0; status is judged from the words it prints
  service    a command line run as a daemon by our `daemon` agent (or an init script by name)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Optional

from core.agentproc import AgentExit  # noqa: F401  (re-exported: lrmd callers and the simulator use it here)

# -- OCF exit codes ------------------------------------------------------------------------------
from core.ocfcodes import (OCF_DEGRADED, OCF_DEGRADED_PROMOTED, OCF_ERR_ARGS, OCF_ERR_CONFIGURED,  # noqa: E402,F401
                           OCF_ERR_GENERIC, OCF_ERR_INSTALLED, OCF_ERR_PERM, OCF_ERR_UNIMPLEMENTED,
                           OCF_FAILED_PROMOTED, OCF_NOT_RUNNING, OCF_RUNNING_PROMOTED, OCF_SUCCESS)

RC_NAMES = {
    0: "ok", 1: "unknown error", 2: "invalid parameter", 3: "unimplemented feature",
    4: "insufficient privileges", 5: "not installed", 6: "not configured", 7: "not running",
    8: "promoted", 9: "promoted (failed)",
}

# op status values (see core.messages.lrm)
DONE = "done"
CANCELLED = "cancelled"
TIMEOUT = "timeout"
ERROR = "error"
NOT_SUPPORTED = "not_supported"

CLASSES = ("ocf", "lsb", "heartbeat", "service", "stonith")
OPERATIONS = ("start", "stop", "monitor", "meta-data", "validate-all", "promote", "demote", "notify",
              "reload", "reload-agent", "migrate_to", "migrate_from", "status", "recover")

RA_VERSION_MAJOR = "1"
RA_VERSION_MINOR = "1"
DEFAULT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_RSC_ID = re.compile(r"^[A-Za-z0-9_.:@+-]{1,200}\Z")
_TYPE_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,200}\Z")


def rc_name(rc: int) -> str:
    return RC_NAMES.get(rc, f"rc {rc}")


def check_param_name(name: str) -> Optional[str]:
    """Why `name` cannot be an instance attribute (it becomes OCF_RESKEY_<name>); None if fine."""
    if not _PARAM_NAME.match(name):
        return f"parameter name {name!r} is not a valid environment name"
    if name.startswith("CRM_meta_"):
        return f"parameter name {name!r} is reserved for operation meta attributes"
    return None


def check_value(value: str) -> Optional[str]:
    if "\0" in value:
        return "value contains a NUL byte"
    return None


def check_resource(rsc_id: str, rsc_class: str, provider: str, rsc_type: str,
                   params: Mapping[str, str]) -> Optional[str]:
    """Why this resource definition is unusable; None when it is fine."""
    if not _RSC_ID.match(rsc_id):
        return f"bad resource id {rsc_id!r}"
    if rsc_class not in CLASSES:
        return f"unknown resource class {rsc_class!r} (known: {', '.join(CLASSES)})"
    if rsc_class == "ocf" and not _TYPE_NAME.match(provider or ""):
        return f"ocf resources need a provider (got {provider!r})"
    if rsc_class == "service":
        if not rsc_type.strip() or "\0" in rsc_type:
            return "service resources need a command line or script name as type"
    elif rsc_class == "stonith":
        if not (rsc_type == "meatware" or (rsc_type.startswith("external/") and _TYPE_NAME.match(rsc_type[9:]))
                or (rsc_type.startswith("fence_") and _TYPE_NAME.match(rsc_type))):
            return f"bad fence device type {rsc_type!r} (external/NAME, fence_NAME or meatware)"
    elif not _TYPE_NAME.match(rsc_type):
        return f"bad resource type {rsc_type!r}"
    if rsc_class == "heartbeat":
        for key in params:
            if not key.isdigit() or int(key) < 1:
                return f"heartbeat resources take positional params 1, 2, ...; got {key!r}"
    else:
        for key in params:
            problem = check_param_name(key)
            if problem:
                return problem
    for value in params.values():
        problem = check_value(value)
        if problem:
            return problem
    return None


# -- environment -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgentContext:
    """What the shell knows about the node that goes into every agent's environment."""

    ocf_root: str
    rsctmp: str
    node_name: str
    extra: tuple[tuple[str, str], ...] = ()  # HA_LOGFILE, PYHB_RUNDIR, ... from the shell


def build_env(ctx: AgentContext, rsc_id: str, rsc_class: str, provider: str, rsc_type: str,
              operation: str, params: Mapping[str, str], interval_ms: int, timeout_ms: int,
              meta: Mapping[str, str]) -> dict[str, str]:
    """The complete, clean environment an agent runs with.

    The op's own values (interval, timeout, name) win over `meta` entries of the same name; meta
    names and param names that cannot be environment names are dropped (check_resource rejects
    them at registration, so that only happens for meta)."""
    env: dict[str, str] = {"PATH": DEFAULT_PATH, "LC_ALL": "C", "LANG": "C", "HOME": "/"}
    for key, value in ctx.extra:
        env[key] = value
    env["HA_RSCTMP"] = ctx.rsctmp
    env["OCF_ROOT"] = ctx.ocf_root
    if rsc_class in ("ocf", "service", "stonith"):
        env["OCF_RA_VERSION_MAJOR"] = RA_VERSION_MAJOR
        env["OCF_RA_VERSION_MINOR"] = RA_VERSION_MINOR
        if rsc_id:  # meta-data runs have no instance (ocf-shellfuncs then uses RESOURCE_ID)
            env["OCF_RESOURCE_INSTANCE"] = rsc_id
        env["OCF_RESOURCE_TYPE"] = rsc_type if rsc_class in ("ocf", "stonith") else "daemon"
        env["OCF_RESOURCE_PROVIDER"] = provider if rsc_class == "ocf" else "pyheartbeat"
        for key, value in params.items():
            if check_param_name(key) is None and check_value(value) is None:
                env[f"OCF_RESKEY_{key}"] = value
        op_meta = dict(meta)
        op_meta["interval"] = str(interval_ms)
        op_meta["timeout"] = str(timeout_ms)
        op_meta["name"] = operation
        op_meta.setdefault("on_node", ctx.node_name)
        for key, value in op_meta.items():
            if _PARAM_NAME.match(key) and check_value(value) is None:
                env[f"OCF_RESKEY_CRM_meta_{key}"] = value
        if "OCF_CHECK_LEVEL" in meta and meta["OCF_CHECK_LEVEL"].isdigit():
            env["OCF_CHECK_LEVEL"] = meta["OCF_CHECK_LEVEL"]
    return env


# -- argument vectors ----------------------------------------------------------------------------
def ocf_agent_path(ocf_root: str, provider: str, rsc_type: str) -> str:
    return f"{ocf_root.rstrip('/')}/resource.d/{provider}/{rsc_type}"


def agent_action(rsc_class: str, operation: str) -> str:
    """The action word passed to the script: LSB and heartbeat scripts know `status`, not monitor."""
    if rsc_class in ("lsb", "heartbeat") and operation == "monitor":
        return "status"
    return operation


def heartbeat_args(params: Mapping[str, str]) -> list[str]:
    """Positional args from params "1", "2", ... in numeric order (gaps are closed up)."""
    keys = sorted((k for k in params if k.isdigit() and int(k) >= 1), key=int)
    return [params[k] for k in keys]


def parse_heartbeat_spec(text: str) -> tuple[str, dict[str, str]]:
    """`IPaddr::192.168.60.200/24/eth0` -> ("IPaddr", {"1": "192.168.60.200/24/eth0"}).

    A bare IP address (as in haresources) means `IPaddr::<address>`."""
    if "::" not in text and _looks_like_ip(text):
        return "IPaddr", {"1": text}
    name, *args = text.split("::")
    return name, {str(i): arg for i, arg in enumerate(args, start=1)}


def _looks_like_ip(text: str) -> bool:
    head = text.split("/", 1)[0]
    parts = head.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts)


def parse_param(text: str) -> tuple[str, str]:
    """`name=value` (value may contain '=' and be empty) -> (name, value); ValueError if no '='."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    return name, value


# -- results -------------------------------------------------------------------------------------
# AgentExit (how a run ended) is shared with stonithd: core.agentproc
@dataclass(frozen=True)
class Mapped:
    rc: int
    status: str
    reason: str


_EXIT_REASON = "ocf-exit-reason:"


def exit_reason(stderr: str, prefix: str = _EXIT_REASON) -> str:
    """The last `ocf-exit-reason:` line an agent printed on stderr ('' if none)."""
    reason = ""
    for line in stderr.splitlines():
        if line.startswith(prefix):
            reason = line[len(prefix):].strip()
    return reason[:512]


def heartbeat_status_rc(stdout: str) -> int:
    """cluster-glue's raexechb rule: 'stopped' or 'not ... running' means stopped; otherwise
    'running' or 'OK' means running; anything else is stopped."""
    text = stdout.lower()
    if re.search(r"\bstopped\b", text) or re.search(r"\bnot\b[^\n]*\brunning\b", text):
        return OCF_NOT_RUNNING
    if re.search(r"\brunning\b", text) or re.search(r"\bOK\b", stdout):
        return OCF_SUCCESS
    return OCF_NOT_RUNNING


def lsb_rc(operation: str, code: int) -> tuple[int, str]:
    """LSB exit code -> (OCF rc, reason). status: 0 running, 1/2/3 not running, 4 unknown."""
    if operation in ("monitor", "status"):
        if code == 0:
            return OCF_SUCCESS, ""
        if code in (1, 2, 3):
            return OCF_NOT_RUNNING, {1: "dead but pid file exists", 2: "dead but lock file exists",
                                     3: ""}[code]
        if code == 4:
            return OCF_ERR_GENERIC, "status unknown"
        if code in (5, 6):
            return code, ""
        return OCF_ERR_GENERIC, f"unexpected LSB status code {code}"
    if 0 <= code <= 7:
        return code, ""
    return OCF_ERR_GENERIC, f"unexpected LSB exit code {code}"


def map_exit(rsc_class: str, operation: str, result: AgentExit) -> Mapped:
    """An agent run's end -> OCF rc, op status and a reason a human can read."""
    if result.exec_error is not None:
        rc = {"missing": OCF_ERR_INSTALLED, "permission": OCF_ERR_PERM}.get(result.exec_errno_class,
                                                                         OCF_ERR_GENERIC)
        if operation in ("monitor", "status") and rc == OCF_ERR_INSTALLED:
            return Mapped(rc, DONE, result.exec_error)
        return Mapped(rc, ERROR, result.exec_error)
    reason = exit_reason(result.stderr)
    if result.timed_out:
        return Mapped(OCF_ERR_GENERIC, TIMEOUT, reason or "timed out")
    if result.exit_code is None:
        sig = result.signal if result.signal is not None else 0
        return Mapped(OCF_ERR_GENERIC, ERROR, f"agent killed by signal {sig}")
    code = result.exit_code
    if rsc_class in ("ocf", "service", "stonith"):
        if 0 <= code <= 9:
            if code == OCF_ERR_UNIMPLEMENTED:
                return Mapped(code, NOT_SUPPORTED, reason or f"{operation} is not implemented")
            return Mapped(code, DONE, reason)
        if code == OCF_DEGRADED:
            return Mapped(OCF_SUCCESS, DONE, reason or "degraded")
        if code == OCF_DEGRADED_PROMOTED:
            return Mapped(OCF_RUNNING_PROMOTED, DONE, reason or "degraded")
        return Mapped(OCF_ERR_GENERIC, ERROR, reason or f"agent exited with unknown code {code}")
    if rsc_class == "lsb":
        rc, why = lsb_rc(operation, code)
        status = DONE if (0 <= code <= 7 or operation in ("monitor", "status")) else ERROR
        if rc == OCF_ERR_UNIMPLEMENTED:
            status = NOT_SUPPORTED
        return Mapped(rc, status, reason or why)
    # heartbeat scripts
    if operation in ("monitor", "status"):
        return Mapped(heartbeat_status_rc(result.stdout), DONE, reason)
    if code == 0:
        return Mapped(OCF_SUCCESS, DONE, reason)
    return Mapped(OCF_ERR_GENERIC, DONE, reason or f"script exited with code {code}")


# -- synthesized meta-data for classes that have none ---------------------------------------------
def _xml_escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def lsb_header(script_text: str) -> dict[str, str]:
    """Fields of the `### BEGIN INIT INFO` block (Short-Description, Description, Provides...)."""
    fields: dict[str, str] = {}
    inside = False
    last = ""
    for line in script_text.splitlines():
        if line.startswith("### BEGIN INIT INFO"):
            inside = True
            continue
        if line.startswith("### END INIT INFO"):
            break
        if not inside or not line.startswith("#"):
            continue
        body = line[1:]
        match = re.match(r"\s*([A-Za-z-]+):\s*(.*)$", body)
        if match and not body.startswith(("\t", "  ")):
            last = match.group(1)
            fields[last] = match.group(2).strip()
        elif last and body.strip():
            fields[last] = (fields[last] + " " + body.strip()).strip()
    return fields


def synthesized_metadata(rsc_class: str, rsc_type: str, script_text: str = "") -> str:
    """Meta-data XML for LSB and heartbeat scripts, which cannot describe themselves."""
    header = lsb_header(script_text) if rsc_class == "lsb" else {}
    short = header.get("Short-Description") or f"{rsc_class} script {rsc_type}"
    long = header.get("Description") or short
    params = ""
    if rsc_class == "heartbeat":
        params = ('    <parameter name="1" unique="0" required="0">\n'
                  '      <longdesc lang="en">First positional argument (then 2, 3, ...)</longdesc>\n'
                  '      <shortdesc lang="en">argument 1</shortdesc>\n'
                  '      <content type="string"/>\n    </parameter>\n')
    return (f'<?xml version="1.0"?>\n<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">\n'
            f'<resource-agent name="{_xml_escape(rsc_type)}" version="0.1">\n'
            f'  <version>1.0</version>\n'
            f'  <longdesc lang="en">{_xml_escape(long)}</longdesc>\n'
            f'  <shortdesc lang="en">{_xml_escape(short)}</shortdesc>\n'
            f'  <parameters>\n{params}  </parameters>\n'
            f'  <actions>\n'
            f'    <action name="start" timeout="15s"/>\n'
            f'    <action name="stop" timeout="15s"/>\n'
            f'    <action name="status" timeout="15s"/>\n'
            f'    <action name="monitor" timeout="15s" interval="15s"/>\n'
            f'    <action name="meta-data" timeout="5s"/>\n'
            f'  </actions>\n</resource-agent>\n')
