"""A seeded generator of random CIBs with every feature area's generator at once.

Why: each area generator (setsgen, rulesgen, lifecyclegen, ordersgen, notifymigrategen,
attrsgen, historygen, containergen) adds one area to cibgen's model, so a rule that only shows
where two areas meet (a notify clone ordered by a set, a location rule on a node shutting down, a
degraded history under a rule-bound meta attribute, an orphan during a migration) is drawn
rarely or never. This generator composes them: one class inheriting from all of them in turn,
each one's methods calling the next one's (`super()`), so every case draws from every area
(their tags say which were drawn). Half the cases are calm (tag `calm`).

`generate(seed)` is pure and deterministic like cibgen's, with its own seed space.

    python tests/pengine/mixgen.py SEED [OUT.xml]   # print the features, write the CIB
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # tests/pengine: no package
from attrsgen import _AttrsGen  # noqa: E402
from containergen import _ContainerGen  # noqa: E402
from historygen import _HistoryGen  # noqa: E402
from lifecyclegen import _LifecycleGen  # noqa: E402
from notifymigrategen import _NotifyMigrateGen, cibgen  # noqa: E402
from ordersgen import _OrdersGen  # noqa: E402
from rulesgen import _RulesGen  # noqa: E402
from setsgen import _SetsGen  # noqa: E402


class _MixGen(_HistoryGen, _AttrsGen, _RulesGen, _SetsGen, _OrdersGen, _LifecycleGen,
              _ContainerGen, _NotifyMigrateGen):
    """Every area generator's model at once (historygen first: its operation entries are
    written around attrsgen's, which writes each primitive whole)."""

    CALM_CASES = True


generate = cibgen.generator(_MixGen)


if __name__ == "__main__":
    sys.exit(cibgen.main(sys.argv[1:], generate, __doc__))
