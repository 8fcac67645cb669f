"""Fencing: the stonithd daemon (`machine` its core, `daemon` its shell), the fence devices as
configured (`devices`) and how their programs are called and answered (`plugins`), shared with
the `stonith` tool."""

SANS_IO_MODULES = ("plugins", "devices", "machine")
