"""The heartbeat messaging layer: media, authentication, liveness, reliable cluster messages.

`packet` (ha_msg codec + authkeys digests), `seal` (the AEAD methods), `replay` (replay windows
and the clock-skew bound), `keyring` (which key to send with, key rotation), `liveness`, `reliable` and `machine` are the sans-I/O
protocol core, `process` adds the local API to it (the whole daemon as one core); `daemon` is the shell (UDP/serial media, ICMP pings, the local ZeroMQ API); `cl_status` the
classic query tool.
"""

SANS_IO_MODULES = ("packet", "seal", "replay", "keyring", "reliable", "liveness", "events", "machine", "process")
