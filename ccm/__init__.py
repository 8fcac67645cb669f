"""Consensus cluster membership: one agreed view of the cluster, with quorum.

`protocol`, `graph`, `quorum`, `events` and `machine` are the sans-I/O core; `daemon` is the
shell (a messaging API client that publishes views to local clients); `cli` is `hb membership`
and `crm_node`.
"""

SANS_IO_MODULES = ("events", "protocol", "graph", "quorum", "machine")
