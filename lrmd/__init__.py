"""Local resource manager: runs resource agent operations on this node (cluster-glue's lrmd).

`machine` is the sans-I/O core (queues, recurring ops, timeouts, history), `process` the whole
daemon (machine + its `lrmd.sock` API) as one core; `ocf` the pure OCF
helpers (environment, argv, exit-code mapping); `daemon`, `runner` and `resolve` the shell.
"""

SANS_IO_MODULES = ("machine", "ocf", "process")
