"""The heartbeat messaging layer: media, authentication, liveness, reliable cluster messages.

`packet` (ha_msg codec + authkeys digests), `liveness`, `reliable` and `machine` are the sans-I/O
protocol core, `process` adds the local API to it (the whole daemon as one core); `daemon` is the shell (UDP/serial media, ICMP pings, the local ZeroMQ API); `cl_status` the
classic query tool.
"""

SANS_IO_MODULES = ("packet", "reliable", "liveness", "events", "machine", "process")
