"""The lrmd daemon as one sans-I/O core: `machine.LrmMachine` plus the `lrmd.sock` API around it.

Local frames (`core.messages.lrm`) come in as `Recv(identity, request)` and become machine inputs;
the machine's replies and published results go out as `Send(identity, ...)`, with monotonic times
turned into wall-clock seconds (the `WallClock` offset). A client that signed on and whose process
ends (`PeerGone`) stops receiving results.

Two requests need the file system (the list of installed agents, the header of an LSB or
heartbeat script for its synthesized meta-data) and one needs the shell's own counters; they go
out unchanged as `ShellRequest` for the shell to answer. The simulator answers them itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

from core.messages import lrm as api
from core.messages.common import PingRequest, Reply
from core.sansio import PeerGone, Recv, Send, Tick, WallClock, WatchPid
from lrmd import machine as m

SCRIPT_CLASSES = ("lsb", "heartbeat")


@dataclass(frozen=True)
class ShellRequest:
    """A request only the shell can answer (it looks at the file system); reply with Send."""

    client: bytes
    request: Any


class LrmProcess:
    def __init__(self, machine: m.LrmMachine, pid: int) -> None:
        self.machine = machine
        self.pid = pid
        self.wall_offset_ms = 0
        self.garbage = 0

    # -- the surface ---------------------------------------------------------------------------------
    def step(self, now_ms: int, event: object) -> list[object]:
        kind = type(event)
        if kind is Recv:
            return self._request(now_ms, event.src, event.msg)  # type: ignore[attr-defined]
        if kind is PeerGone:
            self.machine.subscribers.pop(event.peer, None)  # type: ignore[attr-defined, arg-type]
            return []
        if kind is WallClock:
            self.wall_offset_ms = event.offset_ms  # type: ignore[attr-defined]
            return []
        if kind in _DIRECT:  # the shell's own inputs (agent exits, saved resources, probes, meta-data)
            return self._carry(self.machine.step(now_ms, event))
        raise AssertionError(f"lrmd got an unknown input {event!r}")

    def next_deadline_ms(self) -> Optional[int]:
        return self.machine.next_deadline_ms()

    def wall_s(self, mono_ms: int) -> float:
        return round((mono_ms + self.wall_offset_ms) / 1000.0, 3)

    # -- requests ------------------------------------------------------------------------------------
    def _request(self, now_ms: int, ident: Any, msg: Any) -> list[object]:
        if not isinstance(ident, bytes):
            self.garbage += 1
            return []
        rid = getattr(msg, "request_id", 0)
        machine = self.machine
        if isinstance(msg, api.SignOn):
            out = self._carry(machine.step(now_ms, m.SignOn(ident, rid, msg.client)))
            return out + [WatchPid(ident, msg.pid)] if msg.pid else out
        if isinstance(msg, api.Register):
            return self._carry(machine.step(now_ms, m.Register(
                ident, rid, msg.rsc_id, msg.rsc_class, msg.rsc_type, msg.provider, tuple(sorted(msg.params.items())))))
        if isinstance(msg, api.Unregister):
            return self._carry(machine.step(now_ms, m.Unregister(ident, rid, msg.rsc_id)))
        if isinstance(msg, api.Execute):
            params = None if msg.params is None else tuple(sorted(msg.params.items()))
            return self._carry(machine.step(now_ms, m.Execute(
                ident, rid, msg.rsc_id, msg.operation, msg.interval_ms, msg.timeout_ms, msg.start_delay_ms, params,
                tuple(sorted(msg.meta.items())), msg.expected_rc, msg.notify, msg.user_data)))
        if isinstance(msg, api.Cancel):
            return self._carry(machine.step(now_ms, m.Cancel(ident, rid, msg.rsc_id, msg.operation, msg.interval_ms,
                                                             msg.call_id)))
        if isinstance(msg, api.ListResources):
            return [Send(ident, Reply(rid, True, machine.describe_resources()))]
        if isinstance(msg, api.History):
            return [Send(ident, Reply(rid, True, self.history(now_ms, msg.rsc_id)))]
        if isinstance(msg, api.Metadata):
            if msg.rsc_class in SCRIPT_CLASSES or msg.rsc_class == "service":
                return [ShellRequest(ident, msg)]  # synthesized from the script's header, or an OCF agent
            return self._carry(machine.step(now_ms, m.GetMetadata(ident, rid, msg.rsc_class, msg.provider,
                                                                  msg.rsc_type)))
        if isinstance(msg, api.Query):
            return [ShellRequest(ident, msg)]
        if isinstance(msg, PingRequest):
            return [Send(ident, Reply(rid, True, {"daemon": "lrmd", "pid": self.pid}))]
        self.garbage += 1
        return [Send(ident, Reply(rid, False, None, f"lrmd does not handle {type(msg).__name__}"))]

    def history(self, now_ms: int, rsc_id: Optional[str]) -> dict:
        def convert(rec: dict) -> dict:
            out = dict(rec)
            for key in ("started_ms", "rc_changed_ms"):
                if key in out:
                    out[key.replace("_ms", "_wall_s")] = self.wall_s(out.pop(key))
            return out

        return {rid: {"recent": [convert(r) for r in h["recent"]], "last": [convert(r) for r in h["last"]],
                      "pending": h["pending"], "recurring": h["recurring"]}
                for rid, h in self.machine.history(rsc_id).items()}

    # -- machine effects -----------------------------------------------------------------------------
    def _carry(self, effects: list[Any]) -> list[object]:
        out: list[object] = []
        for effect in effects:
            kind = type(effect)
            if kind is m.Reply:
                if effect.client is not None:
                    out.append(Send(effect.client, Reply(effect.request_id, effect.error is None, effect.result,
                                                         effect.error)))
            elif kind is m.Publish:
                result = dataclasses.replace(effect.result, started_wall_s=self.wall_s(effect.started_ms),
                                             rc_changed_wall_s=self.wall_s(effect.rc_changed_ms or effect.started_ms))
                out.extend(Send(client, result) for client in effect.clients)
                out.append(Published(result))
            else:
                out.append(effect)  # RunAgent, SignalAgent, SaveResources, Log
        return out


def restart_inputs(resources: list[Any], probe: bool = True) -> tuple[list[object], list[str]]:
    """What a starting lrmd feeds itself from its saved resource table: each resource registered
    again, and probed (a monitor with interval 0) so that its state is learnt again. Returns
    (inputs, problems with entries that are not resources)."""
    inputs: list[object] = []
    problems: list[str] = []
    for index, rsc in enumerate(resources):
        try:
            reg = m.Register(None, 0, str(rsc["rsc_id"]), str(rsc["rsc_class"]), str(rsc["rsc_type"]),
                             str(rsc.get("provider", "")),
                             tuple(sorted((str(k), str(v)) for k, v in dict(rsc.get("params", {})).items())),
                             persist=False)
        except (KeyError, TypeError, ValueError, AttributeError):
            problems.append(f"entry #{index} is not a resource")
            continue
        inputs.append(reg)
        if probe:
            inputs.append(m.Execute(None, 0, reg.rsc_id, "monitor", 0, 20_000))
    return inputs, problems


@dataclass(frozen=True)
class Published:
    """Effect: a result went to its clients (the shell logs it; the simulator observes it)."""

    result: api.OpResult


_DIRECT = (Tick, m.AgentExited, m.Register, m.Execute, m.GetMetadata)
