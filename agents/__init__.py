"""OCF resource agents shipped with pyheartbeat (installed under OCF_ROOT/resource.d/pyheartbeat)
and the legacy heartbeat resource scripts. See agents/install.py."""

SANS_IO_MODULES = ("metadata", "ipspec", "mounts")
