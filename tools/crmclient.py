"""The tools' way to the local crmd (`crmd.sock`): one request, one answer, bounded in time.

Every CRM tool (crm_mon, cibadmin, crm_resource, crm_attribute, hb_standby, ...) talks to the
crmd of the node it runs on; that crmd answers queries from its replica and forwards changes to
the DC, answering once the DC carried them out.
"""

from __future__ import annotations

import dataclasses
import grp
import os
import pwd
from typing import Any, Optional

from core import ipc
from core.messages import crm
from core.paths import NodePaths

DEFAULT_TIMEOUT_MS = 10_000
EXIT_UNAVAILABLE = 102  # what Pacemaker's tools return when the cluster cannot be reached


class CrmUnavailable(RuntimeError):
    """The crmd did not answer (not running, or hung)."""


class CrmError(RuntimeError):
    """The crmd (or the DC) refused the request; str() is its reason."""


def acting_as(msg: Any) -> Any:
    """msg with the user `CIB_user` names, as in Pacemaker: root may try a user's ACLs that way
    (the crmd keeps what a root peer sends, and overwrites it for anybody else)."""
    name = os.environ.get("CIB_user", "")
    if not name or not any(f.name == "user" for f in dataclasses.fields(msg)):
        return msg
    try:
        entry = pwd.getpwnam(name)
        groups = [grp.getgrgid(g).gr_name for g in os.getgrouplist(name, entry.pw_gid)]
    except (KeyError, OSError):
        groups = []
    return dataclasses.replace(msg, user=name, groups=groups)


def request(paths: NodePaths, make: Any, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Any:
    """make(request_id) -> a core.messages.crm request; returns the reply's result."""
    client = ipc.Client(paths, "crmd")
    try:
        return client.request(acting_as(make(ipc.next_request_id())), timeout_ms)
    except ipc.DaemonUnavailable as exc:
        raise CrmUnavailable(f"the crmd on {paths.node_name} did not answer: {exc}") from None
    except RuntimeError as exc:
        raise CrmError(str(exc)) from None
    finally:
        client.close()


def query_cib(paths: NodePaths, section: Optional[str] = None, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> dict:
    """{"xml", "version", "digest", "dc", "joined"} of this node's replica."""
    return request(paths, lambda rid: crm.CibQuery(rid, section), timeout_ms)


def update_cib(paths: NodePaths, op: str, xml: str, section: Optional[str] = None, origin: str = "",
               timeout_ms: int = DEFAULT_TIMEOUT_MS) -> dict:
    return request(paths, lambda rid: crm.CibUpdate(rid, op, xml, section, origin), timeout_ms)


def node_attr(paths: NodePaths, node: str, name: str, value: Optional[str], lifetime: str = "reboot",
              timeout_ms: int = DEFAULT_TIMEOUT_MS) -> dict:
    return request(paths, lambda rid: crm.NodeAttr(rid, node, name, value, lifetime), timeout_ms)


def cleanup(paths: NodePaths, rsc: str = "", node: str = "", timeout_ms: int = DEFAULT_TIMEOUT_MS) -> dict:
    return request(paths, lambda rid: crm.Cleanup(rid, rsc, node), timeout_ms)


def standby(paths: NodePaths, which: str = "all", takeover: bool = False, node: str = "",
            timeout_ms: int = DEFAULT_TIMEOUT_MS) -> dict:
    return request(paths, lambda rid: crm.Standby(rid, node or paths.node_name, which, takeover), timeout_ms)


def status(paths: NodePaths, timeout_ms: int = 2000) -> dict:
    return request(paths, lambda rid: crm.CrmStatus(rid), timeout_ms)
