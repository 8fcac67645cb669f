"""The fencing daemon's vocabulary: its local API (`stonithd.sock`) and the messages the stonithds
of a cluster exchange (cluster messages of type `stonithd`, payload = one of these frames).

Local API (ROUTER `stonithd.sock`; every request answered by one `Reply`):
  StSignOn(client, pid)          the client is pushed every `StNotify` from now on
  StDevices(source, devices, levels, options)
                                 the devices of `source` ("cib": crmd sends its replica's class
                                 `stonith` primitives and fencing-topology levels after every
                                 configuration change) replace what that source gave before;
                                 ha.cf's devices (`stonith`, `stonith_host`) stonithd reads itself
  StFence(target, action, timeout_ms, delay_ms, requester)
                                 fence `target` (action reboot | off | on); replied {"op_id"} at
                                 once (a request for a target and action already in progress
                                 joins that operation); the outcome is pushed as `StNotify`
  StHistory(target)              [op, ...] of this node's fencing history (every node records
                                 every result), newest last; target "" = all
  StQuery(target)                {"devices": [{"node", "device", "can"}...]} after asking every
                                 stonithd which of its devices can fence the target
  StConfirm(target)              manual confirmation (meatclient, `hb stonith confirm`): the
                                 operator swears the node is down; recorded as fenced by
                                 "manual", and any operation waiting to fence it succeeds
Pushed to signed-on clients:
  StNotify(op)                   an operation ended; `op` is an `op_record` dict (below)

Between stonithds:
  StcQuery(op_id, origin, target, action)        who can fence `target`?
  StcQueryReply(op_id, devices)  [{"id", "timeout_ms", "retries"}]: my devices that can
  StcExec(op_id, origin, target, action, device, timeout_ms, delay_ms, last)
                                 run `device` against `target` (after the delay); `last`: its
                                 success completes the operation (the last device of a level)
  StcResult(op)                  the executor's outcome of one device run (state done or
                                 failed; `final` when a success completes the operation), or the
                                 origin's final failure (state failed, final);
                                 broadcast, so every node's history and clients learn it even
                                 when the origin is gone

  StcHistoryWant()               a stonithd that (re)started asks for the others' history
  StcHistory(records)            the answer: the sender's history, merged by the asker

An op record: {"id", "target", "action", "origin", "requester", "executor", "device",
"state": pending | done | failed, "final": bool, "reason", "created_s", "completed_s"}.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from core.wire import message

MSGTYPE = "stonithd"
ACTIONS = ("reboot", "off", "on")


@message("st.signon")
class StSignOn:
    request_id: int
    client: str
    pid: int


@message("st.devices")
class StDevices:
    request_id: int
    source: str
    devices: list[dict[str, Any]] = field(default_factory=list)  # {"id", "type", "params"}
    levels: list[dict[str, Any]] = field(default_factory=list)  # {"target", "index", "devices"}
    options: dict[str, Any] = field(default_factory=dict)  # {"stonith_timeout_ms", "enabled"}


@message("st.fence")
class StFence:
    request_id: int
    target: str
    action: str = "reboot"
    timeout_ms: int = 0  # 0: the configured stonith-timeout
    delay_ms: int = 0  # requested delay before the device runs (priority-fencing-delay); -1: none
    requester: str = ""


@message("st.history")
class StHistory:
    request_id: int
    target: str = ""


@message("st.query")
class StQuery:
    request_id: int
    target: str


@message("st.confirm")
class StConfirm:
    request_id: int
    target: str
    requester: str = ""


@message("st.notify")
class StNotify:
    op: dict[str, Any]


@message("stc.query")
class StcQuery:
    op_id: str
    origin: str
    target: str
    action: str


@message("stc.query_reply")
class StcQueryReply:
    op_id: str
    devices: list[dict[str, Any]]


@message("stc.exec")
class StcExec:
    op_id: str
    origin: str
    target: str
    action: str
    device: str
    timeout_ms: int
    delay_ms: int
    last: bool = True  # the device completes the operation (the last of its level)


@message("stc.result")
class StcResult:
    op: dict[str, Any]


@message("stc.history_want")
class StcHistoryWant:
    pass


@message("stc.history")
class StcHistory:
    records: list[dict[str, Any]]
