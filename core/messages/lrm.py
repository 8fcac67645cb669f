"""The local resource manager's API (what cluster-glue's lrm_api/lrm_msg were to crmd and lrmadmin).

Transport: a ROUTER socket `lrmd.sock` in the node's run directory. Every request carries a
`request_id` and is answered by exactly one `core.messages.common.Reply`. Operation results are
pushed as `OpResult` events to the client that asked for the operation and to every client that
signed on with `SignOn` (the CRM does; `hb lrm` does not need to).

Requests and their Reply results:
  SignOn         {"client": name}
  Register       the resource as a dict (rsc_id, rsc_class, provider, rsc_type, params)
  Unregister     {"removed": rsc_id, "late": bool}   late = an operation was still running
  Execute        {"call_id": n}; then one OpResult per run (recurring: on change and each failure)
  Cancel         {"cancelled": [call_id, ...]}
  ListResources  [resource dicts]
  History        {rsc_id: [history records, oldest first]}  (all resources when rsc_id is None)
  Metadata       the agent's meta-data XML (str); cached per class/provider/type
  Query          what = classes | providers | types | status  (args: rsc_class, provider, rsc_type)

Operation status values (`OpResult.status`), separate from the agent's rc:
  done, cancelled, timeout, error (could not run or finished abnormally), not_supported, pending
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Optional

from core.wire import message

# notify policies for Execute.notify (cluster-glue's target_rc EVERYTIME / CHANGED)
NOTIFY_EVERYTIME = "always"
NOTIFY_CHANGED = "changed"  # only when rc changes, and on every failure (recurring default)


@message("lrm.signon")
class SignOn:
    request_id: int
    client: str
    pid: int = 0  # the client's pid: results stop going to it once that process ends


@message("lrm.register")
class Register:
    request_id: int
    rsc_id: str
    rsc_class: str  # ocf | lsb | heartbeat | service
    rsc_type: str
    provider: str = ""
    params: dict[str, str] = field(default_factory=dict)


@message("lrm.unregister")
class Unregister:
    request_id: int
    rsc_id: str


@message("lrm.exec")
class Execute:
    """Run `operation` on a registered resource. interval_ms > 0 makes it recurring (monitors).
    params None = the resource's registered params; a dict replaces them for this op (and its
    recurrences). meta adds OCF_RESKEY_CRM_meta_<name> values (clone, notify_*, ...)."""

    request_id: int
    rsc_id: str
    operation: str
    interval_ms: int = 0
    timeout_ms: int = 20_000
    start_delay_ms: int = 0
    params: Optional[dict[str, str]] = None
    meta: dict[str, str] = field(default_factory=dict)
    expected_rc: int = 0  # a recurring result other than this counts as a failure (reported each time)
    notify: str = ""  # "" = default: changed for recurring ops, always for one-shot ops
    user_data: str = ""  # kept with the op and returned in its results and history (the CRM's key)


@message("lrm.cancel")
class Cancel:
    """Cancel the recurring (or queued) op `operation`/`interval_ms` of a resource; call_id, when
    given, picks one request exactly."""

    request_id: int
    rsc_id: str
    operation: str = ""
    interval_ms: int = 0
    call_id: int = 0


@message("lrm.list")
class ListResources:
    request_id: int


@message("lrm.history")
class History:
    request_id: int
    rsc_id: Optional[str] = None


@message("lrm.metadata")
class Metadata:
    request_id: int
    rsc_class: str
    rsc_type: str
    provider: str = ""


@message("lrm.query")
class Query:
    request_id: int
    what: str
    args: dict[str, Any] = field(default_factory=dict)


@message("lrm.op_result")
class OpResult:
    call_id: int
    rsc_id: str
    operation: str
    interval_ms: int
    rc: int  # the agent's result mapped to OCF codes (0-9)
    status: str  # done | cancelled | timeout | error | not_supported
    exit_reason: str = ""
    exit_code: Optional[int] = None  # the raw exit status (None when killed or never started)
    output: str = ""  # stdout, capped
    stderr: str = ""  # capped
    started_wall_s: float = 0.0
    exec_ms: int = 0
    queue_ms: int = 0
    rc_changed: bool = True
    user_data: str = ""
    rc_changed_wall_s: float = 0.0  # when the rc last became what it is (recurring ops: earlier runs)
