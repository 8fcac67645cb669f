"""Where the tools get the live CIB when no file is named (`-x FILE` / `CIB_file`): the local
crmd's replica (`tools.crmclient`). If the crmd does not answer, the error says so and crm_mon
turns it into Pacemaker's "cluster is not available" exit status.
"""

from __future__ import annotations

from core.paths import NodePaths
from tools import crmclient


def fetch_live_cib(paths: NodePaths) -> str:
    """The current CIB of the local node's cluster as XML text.

    Raises RuntimeError (with a message a user can act on) when the cluster cannot be asked.
    """
    try:
        return str(crmclient.query_cib(paths, timeout_ms=5000)["xml"])
    except crmclient.CrmUnavailable:
        raise RuntimeError(
            f"the crmd is not running on {paths.node_name} (no answer on {paths.socket_path('crmd')}); "
            "start the cluster, or read a saved CIB with -x FILE or CIB_file=FILE") from None
    except crmclient.CrmError as exc:
        raise RuntimeError(f"the crmd refused to give its CIB: {exc}") from None
