"""What a node's messaging layer says, asked from the host over the node's API socket (an ipc://
socket in the node's run directory, reachable whatever network namespace the node is in).

    view(paths)                -> {"node1": "active", "node3": "dead", ...} or None (not answering)
    Events(paths)              -> a signed-on client: .next(timeout_ms) yields NodeStatusEvent, ...
"""

from __future__ import annotations

import os
from typing import Any, Optional

from core.clock import monotonic_ms
from core.ipc import Client, DaemonUnavailable, next_request_id
from core.messages.hbapi import Query, SignOff, SignOn
from core.paths import NodePaths


def query(paths: NodePaths, what: str, args: Optional[dict[str, Any]] = None, timeout_ms: int = 1000) -> Any:
    """One query to the node's messaging daemon; raises DaemonUnavailable if it does not answer."""
    client = Client(paths, "messaging")
    try:
        return client.request(Query(request_id=next_request_id(), what=what, args=args or {}), timeout_ms)
    finally:
        client.close()


def view(paths: NodePaths, timeout_ms: int = 1000) -> Optional[dict[str, str]]:
    """{node: status} as this node sees it (normal nodes and ping nodes); None when messaging does
    not answer."""
    try:
        nodes = query(paths, "nodes", timeout_ms=timeout_ms)
    except (DaemonUnavailable, RuntimeError):
        return None
    return {entry["name"]: entry["status"] for entry in nodes}


class Events:
    """A signed-on API client that receives the node's status events as they happen."""

    def __init__(self, paths: NodePaths, client_name: str = "hb-lab", timeout_ms: int = 2000) -> None:
        self.client = Client(paths, "messaging")
        self.name = client_name
        try:
            self.client.request(SignOn(request_id=next_request_id(), client=client_name, pid=os.getpid(),
                                       msgtypes=[], events=True), timeout_ms)
        except BaseException:
            self.client.close()
            raise

    def next(self, timeout_ms: int) -> Optional[Any]:
        return self.client.recv(timeout_ms)

    def wait_for(self, predicate, timeout_ms: int) -> Optional[tuple[Any, int]]:
        """The first event for which predicate(event) holds, with monotonic_ms() at its arrival;
        None if none came within timeout_ms."""
        deadline = monotonic_ms() + timeout_ms
        while True:
            remaining = deadline - monotonic_ms()
            if remaining <= 0:
                return None
            event = self.client.recv(remaining)
            if event is not None and predicate(event):
                return event, monotonic_ms()

    def close(self) -> None:
        """Sign off (waiting briefly for the answer, so the daemon forgets this client) and close."""
        try:
            self.client.request(SignOff(request_id=next_request_id(), client=self.name), 500)
        except (DaemonUnavailable, RuntimeError):
            pass  # the daemon is gone or hung: nothing to sign off from
        finally:
            self.client.close()

    def __enter__(self) -> "Events":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
