"""Envelopes every control socket shares (zguide's "cheap" control dialog: each request gets
exactly one reply, a result or an explicit error)."""

from __future__ import annotations

from typing import Any, Optional

from core.wire import message


@message("reply")
class Reply:
    request_id: int
    ok: bool
    result: Any = None
    error: Optional[str] = None


@message("ping.req")
class PingRequest:
    """Liveness probe of a local daemon (answered with Reply(result={'daemon':..., 'pid':...}))."""

    request_id: int
