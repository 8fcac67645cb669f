"""A lab of cluster nodes in network namespaces (or on loopback) for tests, benchmarks and the demo.

- `plan`     names, addresses, per-node config files and filter rules, from the spec alone (pure)
- `host`     running `ip`/`iptables`, finding and signalling processes by PID
- `network`  namespaces, bridge, veths, links and packet filters
- `stack`    per-node directories and starting/stopping `heartbeat` in a node
- `state`    the JSON state file that lets every `hb lab` command find what `up` created
- `lab`      the `Lab` object that ties them together (used by the CLI, the demo, tests, bench)
- `observe`  what a node's messaging layer says (queries and events over its API socket)
- `cli`      `hb lab ...`; `demo` is `hb demo` / `make demo`
"""

SANS_IO_MODULES = ("plan",)
