"""Fencing. So far: how fence device programs are called and what they answer (`plugins`),
used by the `stonith` tool; the daemon comes with issue 9."""
