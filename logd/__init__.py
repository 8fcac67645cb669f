"""ha-logd: receives log records from the local daemons and writes them out."""
