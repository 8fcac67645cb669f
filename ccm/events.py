"""Inputs and effects of the membership core (`ccm.machine.CcmMachine`): frozen dataclasses, so the
daemon shell and the simulator drive the same core the same way."""

from __future__ import annotations

from dataclasses import dataclass

from core.sansio import Log, Tick  # noqa: F401  (the shared input and effect types)


# -- inputs ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PeerStatus:
    """The messaging layer's status of a node (init | up | active | dead | ping) and generation."""

    node: str
    status: str
    generation: int = 0


@dataclass(frozen=True)
class PeerClient:
    """A client of the messaging layer on a node joined or left (we care about `ccm` leaving)."""

    node: str
    client: str
    status: str  # join | leave


@dataclass(frozen=True)
class PeerMessage:
    """A `ccm` cluster message from source (payload: `ccm.protocol` state)."""

    source: str
    payload: bytes
    generation: int = 0


@dataclass(frozen=True)
class PeerFenced:
    """The cluster fenced this incarnation of a node (stonithd confirmed it; the local crmd tells
    ccm): that life is powered off or reset, so it is not heard any more, what this node
    promised it binds nobody (as when its ccm leaves), and its messages still in flight are
    dropped. A newer incarnation (the node rebooted) is heard as any other."""

    node: str
    incarnation: int


# -- effects -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Broadcast:
    """Send payload to every node as a `ccm` cluster message."""

    payload: bytes


@dataclass(frozen=True)
class Persist:
    """Store the instance floor durably (fsync) before carrying out the effects after this one:
    every instance this incarnation proposes is at most this (reserved ahead, see the machine)."""

    max_instance: int


@dataclass(frozen=True)
class PromiseHorizon:
    """Store durably, before the effects after this one (the promises they carry), that no
    promise this incarnation gave is relied on after `until_ms` (this node's monotonic clock): a
    later incarnation stays quiet only until then (`machine.start_quiet_ms`)."""

    until_ms: int


@dataclass(frozen=True)
class ViewInfo:
    instance: int
    members: tuple[str, ...]  # in rank order (ha.cf node order)
    incarnations: tuple[int, ...]
    leader: str
    quorum: bool
    node: str  # this node
    incarnation: int  # this node's


@dataclass(frozen=True)
class ViewChanged:
    """A new view was installed (every member agreed to exactly this view)."""

    view: ViewInfo


@dataclass(frozen=True)
class QuorumChanged:
    view: ViewInfo
