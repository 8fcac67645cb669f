"""ha-logd: receives log records from the local daemons and writes them out.

- `core`       the sans-I/O logic: validate frames, count garbage, split lines
- `daemon`     the shell: PULL socket `logd.sock`, writes through `core.logsink`
- `ha_logger`  the classic CLI that sends one line to the cluster log
"""

SANS_IO_MODULES = ("core",)
