"""Where the tools get the live CIB when no file is named (`-x FILE` / `CIB_file`).

The cluster daemon that holds the CIB answers this; until it does, asking fails with an error
saying so, and crm_mon turns that into Pacemaker's "cluster is not available" exit status.
"""

from __future__ import annotations

from core.paths import NodePaths


def fetch_live_cib(paths: NodePaths) -> str:
    """The current CIB of the local node's cluster as XML text.

    Raises RuntimeError (with a message a user can act on) when the cluster cannot be asked.
    """
    raise RuntimeError(
        f"the crmd is not running on {paths.node_name} (no CIB to read under {paths.rundir}); "
        "start the cluster, or read a saved CIB with -x FILE or CIB_file=FILE")
