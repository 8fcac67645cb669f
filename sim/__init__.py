"""Deterministic whole-cluster simulator: N nodes' real sans-I/O cores (messaging + ccm) on a
manual clock over an in-memory network, driven by one seeded RNG (`sim.membership.run_seed`).
`sim.cli` (`hb sim ...`) is the command-line front end and the only part that does I/O."""

SANS_IO_MODULES = ("network", "trace", "checkers", "cluster", "stacks", "membership", "agents", "crm", "crmrun")
