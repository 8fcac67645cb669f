"""Policy engine: CIB in, transition graph out (Pacemaker 2.1.5-compatible scheduler).

The whole algorithm is pure; only `simulate` and `haresources2cib` (CLI shells) touch files
and the clock.
"""

SANS_IO_MODULES = (
    "model", "unpack", "status", "actions", "digest", "assign", "ordering", "rscactions",
    "probes", "fencing", "clone", "graph", "summary", "display", "simexec", "engine",
)
