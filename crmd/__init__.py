"""Cluster resource manager: the CIB replica, the DC and its join, and each node's share of the
transitions.

`cib` (replica and edits), `requests` (what a change request does to the CIB), `lrmstate` (a
node's own resource history), `startup` (which CIB to start with), `derive` (the CIB of a
haresources cluster), `standby` (hb_standby/hb_takeover, heartbeat's log lines) and `machine`
(the daemon as one core) are sans-I/O; `daemon` is the shell.
"""

SANS_IO_MODULES = ("cib", "requests", "lrmstate", "startup", "derive", "standby", "fencing", "machine")
