"""The vocabulary of the local daemons: one module per protocol, frozen dataclasses only.

Importing this package registers every message tag with `core.wire`, so any process can decode
any frame it is sent. Protocol modules:

- `log`        records sent to ha-logd
- `hbapi`      the messaging daemon's local API (queries, sign-on, cluster messages, events)
- `common`     request/reply envelopes shared by every control socket
"""

from core.messages import common, hbapi, log  # noqa: F401  (registration side effect)
from core.messages import extra as _extra  # noqa: F401
