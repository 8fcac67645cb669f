"""`hb simulate`: the policy engine's crm_simulate (pengine/simulate.py), with the status
sections of `-A` and `-c` drawn by crm_mon's renderer (tools/simstatus.py).

The renderer is imported only when one of those options asks for it, so a plain `hb simulate`
starts as fast as pengine.simulate alone (`hb simulate` is mostly start-up on a small cluster:
docs/pengine.md).
"""

from __future__ import annotations

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


def main(argv: Optional[list[str]] = None) -> int:
    engine_cli.STATUS_SECTIONS = _sections
    return engine_cli.main(argv)
