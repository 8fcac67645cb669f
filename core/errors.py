"""The few exception types of the project.

`ConfigError` is what a user can act on: it prints as `file:line: what is wrong`. `RemoteError`
marks garbage from a peer or a local client: it is caught at the edge, counted and logged, never
allowed to take a daemon down. Our own bugs are plain assertions and crash loudly.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Optional


class ConfigError(Exception):
    """A configuration file is wrong; str() is the one line the user sees."""

    def __init__(self, path: str, line: Optional[int], message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


class RemoteError(Exception):
    """Input from outside (a packet, a client request, an agent's output) is malformed."""


class WireError(RemoteError):
    """A local IPC frame could not be decoded or validated."""
