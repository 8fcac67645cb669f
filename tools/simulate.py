"""`hb simulate`: the policy engine's crm_simulate (pengine/simulate.py), with what needs the
tools: the status sections of `-A` and `-c` drawn by crm_mon's renderer (tools/simstatus.py),
and `-L`, the running cluster's CIB as input, asked of the local crmd as crm_mon asks it
(tools/cibsource.py).

Both are imported only when one of those options asks for them, so a plain `hb simulate`
starts as fast as pengine.simulate alone (`hb simulate` is mostly start-up on a small cluster,
and its entry script skips the interpreter's `site` step: docs/pengine.md); `-L` brings that
step back, since asking the cluster needs the ZeroMQ and msgpack packages.
"""

from __future__ import annotations

import sys

from pengine import simulate as engine_cli

TYPE_CHECKING = False  # typing's own flag, without importing typing (start-up, as pengine's)
if TYPE_CHECKING:
    from typing import Optional

    from pengine.model import WorkingSet

# what core/codebundle.py puts in this command's bundle besides what it imports at start
ON_DEMAND_MODULES = engine_cli.ON_DEMAND_MODULES + ("tools.simstatus",)


def _sections(ws: WorkingSet, attrs: bool, failcounts: bool) -> list[str]:
    from tools import simstatus  # only for -A/-c (see the module's docstring)
    return simstatus.sections(ws, attrs, failcounts)


def _live_cib() -> str:
    """The local node's cluster's CIB (the node from PYHB_* as for every tool); RuntimeError
    saying why when the cluster cannot be asked."""
    if "site" not in sys.modules:  # started by `hb` without site-packages (core/entryscript.py)
        import site
        site.main()
    from core import paths
    from tools import cibsource  # only for -L (see the module's docstring)
    try:
        return cibsource.fetch_live_cib(paths.resolve())
    except OSError as exc:
        raise RuntimeError(f"cannot ask the cluster: {exc}") from None


def main(argv: Optional[list[str]] = None) -> int:
    engine_cli.STATUS_SECTIONS = _sections
    engine_cli.LIVE_CIB = _live_cib
    return engine_cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
