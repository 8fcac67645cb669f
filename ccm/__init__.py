"""Consensus cluster membership: one agreed view of the cluster, with quorum.

`protocol`, `graph`, `quorum`, `events` and `machine` are the sans-I/O protocol core; `process` is
the whole daemon as one core (its messaging connection and its API); `daemon` is the shell; `cli`
is `hb membership` and `crm_node`.
"""

SANS_IO_MODULES = ("events", "protocol", "graph", "quorum", "machine", "process")
