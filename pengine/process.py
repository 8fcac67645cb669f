"""The policy engine daemon as a sans-I/O core: `PeSchedule` (a CIB snapshot) in, transition graph
out, each input saved for replay.

"Now" is the wall clock (`WallClock` offset + now_ms), written into the saved input as
`execution-date`, so `hb simulate -x pe-input-N.xml -R` decides exactly as the daemon did. Saving is
an effect (`SaveInput`); the shell writes the file and keeps the newest `keep` of them. A CIB the
engine cannot read is answered with an error, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from core.cib import dates
from core.cib.roottag import root_start_tag_splice
from core.cib.xmltree import to_xml
from core.errors import ConfigError
from core.messages.common import PingRequest, Reply
from core.messages.pe import PePrime, PeSchedule
from core.sansio import Log, Recv, Send, Tick, WallClock
from pengine import engine, summary
from pengine.graph import graph_xml
from pengine.inputcache import InputCache

DEFAULT_KEEP = 400  # pe-input files kept (crm_config pe-input-series-max overrides)


@dataclass(frozen=True)
class SaveInput:
    """Write `head + body[body_from:]` as pe-input-<seq>.xml, then keep only the newest `keep`
    inputs. In two parts so that the input received (175 MB at 32 nodes / 10,000 resources) is
    written as it came, behind a new root start tag, without building a copy of it in the step
    the DC waits for: the shell writes it after the reply has gone. `head` and `body` are both
    the input's type: UTF-8 bytes as received (PeSchedule.cib), or text; or `body` is the
    input handed over by file (core/spool.py's `Mapped`), which the shell writes in windows,
    giving each back, and `head` bytes."""

    seq: int
    head: str | bytes
    body: str | bytes
    body_from: int
    keep: int

    @property
    def xml(self) -> str | bytes:
        return self.head + self.body[self.body_from:]


@dataclass(frozen=True)
class Scheduled:
    """Effect (observed by the simulator, logged by the shell): one input was scheduled."""

    transition_id: int
    seq: int
    actions: int
    summary: tuple[str, ...]


class PengineProcess:
    def __init__(self, pid: int, first_seq: int = 0, save: bool = True) -> None:
        self.pid = pid
        self.seq = first_seq
        self.save = save
        self.wall_offset_ms = 0
        self.counters: dict[str, int] = {"scheduled": 0, "errors": 0}
        self.inputs = InputCache()  # unchanged node_state sections are not parsed again
        self.carry: dict[str, object] = {}  # WorkingSet.carry of each run

    def step(self, now_ms: int, event: object) -> list[object]:
        kind = type(event)
        if kind is WallClock:
            self.wall_offset_ms = event.offset_ms  # type: ignore[attr-defined]
            return []
        if kind is Tick:
            return []
        if kind is not Recv:
            raise AssertionError(f"pengine got an unknown input {event!r}")
        src, msg = event.src, event.msg  # type: ignore[attr-defined]
        if not isinstance(src, bytes):
            return []
        if isinstance(msg, PeSchedule):
            return self.schedule(now_ms, src, msg)
        if isinstance(msg, PePrime):
            return self.prime(msg)
        if isinstance(msg, PingRequest):
            return [Send(src, Reply(msg.request_id, True, {"daemon": "pengine", "pid": self.pid}))]
        rid = getattr(msg, "request_id", None)
        return [Send(src, Reply(rid, False, None, f"pengine does not handle {type(msg).__name__}"))] \
            if isinstance(rid, int) else []

    def next_deadline_ms(self) -> Optional[int]:
        return None

    def prime(self, msg: PePrime) -> list[object]:
        """A member's replica: parsed into the input cache only (sections parsed once, reused by
        the next schedule while their text is the same). Nothing is answered or saved; an
        unreadable one is counted and forgotten (the DC's schedule would report it)."""
        try:
            self.inputs.parse(msg.cib, "<pe prime>")
        except ConfigError:
            self.counters["prime_errors"] = self.counters.get("prime_errors", 0) + 1
            return []
        self.counters["primed"] = self.counters.get("primed", 0) + 1
        return []

    def schedule(self, now_ms: int, src: bytes, msg: PeSchedule) -> list[object]:
        wall_s = (now_ms + self.wall_offset_ms) // 1000
        try:
            cib = self.inputs.parse(msg.cib, "<pe input>")
        except ConfigError as exc:
            self.counters["errors"] += 1
            return [Send(src, Reply(msg.request_id, False, None, f"unreadable CIB: {exc}")),
                    Log("error", f"transition {msg.transition_id}: unreadable CIB: {exc}")]
        cib.set("execution-date", str(wall_s))
        now = dates.from_epoch(wall_s)
        out: list[object] = []
        try:
            ws = engine.unpack_cib(cib, now, keep_derived=True)  # (its configuration is reused)
            ws.carry = self.carry
            ws.transition_id = msg.transition_id
            ws = engine.schedule(cib, now, ws=ws)
            graph = graph_xml(ws, ws.graph)
            lines = tuple(summary.transition_summary(ws))
        except (ConfigError, ValueError, KeyError) as exc:
            self.counters["errors"] += 1
            return [Send(src, Reply(msg.request_id, False, None, f"cannot schedule: {exc}")),
                    Log("error", f"transition {msg.transition_id}: cannot schedule: {exc}")]
        self.counters["scheduled"] += 1
        self.seq += 1
        name = f"pe-input-{self.seq}.xml" if self.save else ""
        warnings = list(ws.warnings) + [f"unsupported: {u}" for u in ws.unsupported]
        result: dict[str, Any] = {"transition_id": msg.transition_id, "graph": graph, "input": name,
                                  "summary": list(lines), "actions": len(ws.graph.synapses),
                                  "warnings": warnings}
        # the answer first: writing the input down and logging are not on the failover path
        out.append(Send(src, Reply(msg.request_id, True, result)))
        if self.save:
            splice = root_start_tag_splice(msg.cib, cib)
            if splice is None:
                out.append(SaveInput(self.seq, to_xml(cib), "", 0, _keep(ws)))
            else:
                out.append(SaveInput(self.seq, splice[0], msg.cib, splice[1], _keep(ws)))
        out.append(Scheduled(msg.transition_id, self.seq, len(ws.graph.synapses), lines))
        return out


# A small cluster in the middle of a failover: a group and a clone, constraints, one node lost with
# its history, one running with recurring monitors and a fail count. Scheduling it once goes
# through the code paths a real decision takes (first-use costs: lazy imports, caches).
WARM_CIB = """<cib admin_epoch="0" epoch="1" num_updates="1" have-quorum="1" dc-uuid="b">
<configuration><crm_config><cluster_property_set id="o">
<nvpair id="o1" name="stonith-enabled" value="false"/><nvpair id="o2" name="no-quorum-policy" value="ignore"/>
</cluster_property_set></crm_config>
<nodes><node id="a" uname="a"/><node id="b" uname="b"/></nodes>
<resources><group id="g">
<primitive id="ip" class="ocf" provider="heartbeat" type="IPaddr2"><instance_attributes id="ip-ia">
<nvpair id="ip-ip" name="ip" value="198.18.0.1"/></instance_attributes>
<operations><op id="ip-m" name="monitor" interval="10s" timeout="20s"/></operations></primitive>
<primitive id="svc" class="lsb" type="svc"><operations><op id="svc-m" name="monitor" interval="10s"/></operations>
</primitive></group>
<clone id="c"><meta_attributes id="c-m"><nvpair id="c-m1" name="clone-max" value="2"/></meta_attributes>
<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/></clone></resources>
<constraints><rsc_location id="l" rsc="g" node="a" score="100"/>
<rsc_colocation id="co" rsc="g" with-rsc="c" score="INFINITY"/><rsc_order id="or" first="c" then="g"/></constraints>
<rsc_defaults><meta_attributes id="rd"><nvpair id="rd1" name="resource-stickiness" value="1"/></meta_attributes>
</rsc_defaults></configuration>
<status>
<node_state id="a" uname="a" in_ccm="false" crmd="offline" join="down" expected="member"><lrm id="a"><lrm_resources>
<lrm_resource id="ip" type="IPaddr2" class="ocf" provider="heartbeat"><lrm_rsc_op id="ip_last_0" operation_key="ip_start_0"
operation="start" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" on_node="a" call-id="2" rc-code="0" op-status="0"
interval="0" last-rc-change="1" exec-time="1" queue-time="0" op-digest="0"/></lrm_resource></lrm_resources></lrm></node_state>
<node_state id="b" uname="b" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="b"><lrm_resources>
<lrm_resource id="d" type="Dummy" class="ocf" provider="pacemaker"><lrm_rsc_op id="d_last_0" operation_key="d_start_0"
operation="start" transition-key="2:1:0:x" transition-magic="0:0;2:1:0:x" on_node="b" call-id="3" rc-code="0" op-status="0"
interval="0" last-rc-change="1" exec-time="1" queue-time="0" op-digest="0"/>
<lrm_rsc_op id="d_monitor_10000" operation_key="d_monitor_10000" operation="monitor" transition-key="3:1:0:x"
transition-magic="0:0;3:1:0:x" on_node="b" call-id="4" rc-code="0" op-status="0" interval="10000" last-rc-change="1"
exec-time="1" queue-time="0" op-digest="0"/></lrm_resource></lrm_resources></lrm>
<transient_attributes id="b"><instance_attributes id="s-b"><nvpair id="s-b1" name="fail-count-svc#start_0" value="1"/>
</instance_attributes></transient_attributes></node_state>
</status></cib>"""


def warm() -> None:
    """Schedule WARM_CIB once and forget the result, so that a daemon's first real decision (on
    a failover, typically) does not also pay for first use (a few milliseconds). The launcher
    calls it before it forks the daemons, so what it loads is shared by them."""
    core = PengineProcess(0, save=False)
    out = core.step(0, Recv(b"warm", PeSchedule(1, 1, WARM_CIB)))
    reply = next(e.msg for e in out if isinstance(e, Send))
    assert reply.ok, f"the policy engine cannot schedule its own warm-up CIB: {reply.error}"


def _keep(ws: Any) -> int:
    value = ws.config.get("pe-input-series-max") if hasattr(ws, "config") else None
    try:
        keep = int(value) if value is not None else DEFAULT_KEEP
    except ValueError:
        keep = DEFAULT_KEEP
    return keep if keep >= 0 else DEFAULT_KEEP
