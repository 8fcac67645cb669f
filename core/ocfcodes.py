"""OCF resource agent exit codes (the OCF RA API 1.1), shared by the lrmd, our agents and the pengine.

One set of numbers for everyone who reads or writes an agent's exit code: the pengine judges recorded
operation results (`rc-code`) with the same constants the lrmd returns them with."""

OCF_SUCCESS = 0
OCF_ERR_GENERIC = 1
OCF_ERR_ARGS = 2
OCF_ERR_UNIMPLEMENTED = 3
OCF_ERR_PERM = 4
OCF_ERR_INSTALLED = 5
OCF_ERR_CONFIGURED = 6
OCF_NOT_RUNNING = 7
OCF_RUNNING_PROMOTED = 8
OCF_FAILED_PROMOTED = 9
OCF_DEGRADED = 190
OCF_DEGRADED_PROMOTED = 191

# Pacemaker extensions in the "reserved for application use" range (include/crm/common/results.h)
OCF_CONNECTION_DIED = 189  # deprecated: the executor lost the node (now an execution status)
OCF_EXEC_ERROR = 192       # deprecated: the agent could not be run

# How crm_simulate/crm_mon print an exit code in failed-action and resource lines.
OCF_EXIT_TEXT = {
    OCF_SUCCESS: "ok", OCF_ERR_GENERIC: "error", OCF_ERR_ARGS: "invalid parameter",
    OCF_ERR_UNIMPLEMENTED: "unimplemented feature", OCF_ERR_PERM: "insufficient privileges",
    OCF_ERR_INSTALLED: "not installed", OCF_ERR_CONFIGURED: "not configured",
    OCF_NOT_RUNNING: "not running", OCF_RUNNING_PROMOTED: "promoted",
    OCF_FAILED_PROMOTED: "promoted (failed)", OCF_DEGRADED: "OCF_DEGRADED",
    OCF_DEGRADED_PROMOTED: "OCF_DEGRADED_PROMOTED", OCF_CONNECTION_DIED: "OCF_TIMEOUT",
    OCF_EXEC_ERROR: "OCF_ERROR",
}
