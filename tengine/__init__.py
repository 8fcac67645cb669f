"""Transition engine: executes the policy engine's graphs for the DC's crmd.

`machine` is the sans-I/O core; `daemon` is the shell.
"""

SANS_IO_MODULES = ("machine",)
