"""Shared plumbing of pyheartbeat: configuration model and parsers, the local message schema and
its msgpack codec, ZeroMQ IPC helpers, the logging client, the clock and the one daemon loop.

`core` imports nothing from the daemons; every daemon imports `core` and talks to the others only
through the messages defined in `core.messages`.
"""

SANS_IO_MODULES = ("sansio", "session", "timeout", "graph", "agentproc", "access", "cib.acl")
