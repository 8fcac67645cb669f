"""Inputs and effects of the messaging core (`messaging.machine.HeartbeatMachine`).

Inputs are what the shell observed; effects are what the shell must do. Both are plain frozen
dataclasses so the simulator can carry them between nodes without sockets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from core.config.authkeys import AuthKeys
from core.sansio import Log, Tick, WallClock  # noqa: F401  (the shared input and effect types)


# -- inputs ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PacketIn:
    link: str  # the medium's name (eth0, /dev/ttyS0)
    data: bytes


@dataclass(frozen=True)
class ClientSend:
    request_id: int
    msgtype: str
    payload: bytes
    dest: Optional[str] = None


@dataclass(frozen=True)
class LocalClient:
    client: str
    joined: bool


@dataclass(frozen=True)
class ClientStatusQuery:
    query_id: int
    node: str
    client: str


@dataclass(frozen=True)
class PingReply:
    address: str


@dataclass(frozen=True)
class LocalLinkState:
    link: str
    up: bool


@dataclass(frozen=True)
class LoadAverage:
    text: str


@dataclass(frozen=True)
class ReloadKeys:
    """authkeys was re-read (SIGHUP, `heartbeat -r`): accept these keys from now on; the sending
    key follows the rotation rule of messaging.keyring."""

    keys: AuthKeys


@dataclass(frozen=True)
class Shutdown:
    """Leaving the cluster on purpose: peers are told (t=shutdone) instead of waiting deadtime."""


# -- effects -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Transmit:
    packet: bytes  # send on every medium


@dataclass(frozen=True)
class Deliver:
    msgtype: str
    source: str
    payload: bytes
    dest: Optional[str]
    seq: int
    source_generation: int


@dataclass(frozen=True)
class NodeStatusChanged:
    node: str
    previous: str
    status: str
    node_type: str
    generation: int


@dataclass(frozen=True)
class LinkStatusChanged:
    node: str
    link: str
    status: str


@dataclass(frozen=True)
class ClientStatusChanged:
    node: str
    client: str
    status: str


@dataclass(frozen=True)
class ClientStatusAnswer:
    query_id: int
    node: str
    client: str
    status: Optional[str]


@dataclass(frozen=True)
class SendResult:
    request_id: int
    error: Optional[str] = None


@dataclass(frozen=True)
class SendPing:
    addresses: tuple[str, ...]


