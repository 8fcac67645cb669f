"""Policy engine: CIB in, transition graph out (Pacemaker 2.1.5-compatible scheduler).

The whole algorithm is pure, and so is `process` (the daemon as a core: a CIB snapshot in, a
graph out); `daemon`, `simulate` and `haresources2cib` are the shells that touch files and the
clock.
"""

SANS_IO_MODULES = (
    "model", "unpack", "status", "actions", "digest", "assign", "ordering", "rscactions",
    "probes", "fencing", "clone", "graph", "summary", "display", "simexec", "engine", "process",
    "placement", "values", "methods", "primitive", "group", "variants", "instances",
    "clone_unpack", "clone_placement", "promotable", "clone_actions", "templates", "tickets",
    "capacity", "utilization", "glibhash", "health", "opconfig", "migration", "notify", "inputcache",
    "rscsettings", "nodegroups", "dotfile",
)
