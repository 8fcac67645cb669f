"""The method table for every variant: what `rsc.methods` is, by `rsc.variant`.

The engine hands this table to the working set before unpacking (`ws.variant_methods`), and
every resource picks its record when it is created (pengine.methods explains why).

Primitives and groups are in every CIB worth scheduling, so their modules are imported here.
The clone variant (clone.py with clone_placement, promotable and clone_actions: a tenth of
`hb simulate`'s own modules) is imported the first time a resource of that variant is created,
i.e. when the unpacker meets a `<clone>` or `<master>`: a run on a CIB without clones never
loads it (docs/pengine.md, "hb simulate's start-up"). The variant module fills its own entry
when it is imported (`VARIANT_METHODS.register`), so after the first look-up the table is a
plain dict look-up."""

from __future__ import annotations

from pengine.group import GROUP_METHODS
from pengine.methods import VariantTable
from pengine.model import CLONE, GROUP, PRIMITIVE
from pengine.primitive import PRIMITIVE_METHODS

# the variants whose module is imported on first use, and that module
ON_DEMAND: dict[int, str] = {CLONE: "pengine.clone"}

VARIANT_METHODS = VariantTable(ON_DEMAND)
VARIANT_METHODS.register(PRIMITIVE, PRIMITIVE_METHODS)
VARIANT_METHODS.register(GROUP, GROUP_METHODS)


def load_all() -> VariantTable:
    """The table with every variant's record (each on-demand module imported): for whatever
    needs all of them at once (tests, the daemon's warm-up)."""
    for variant in ON_DEMAND:
        VARIANT_METHODS[variant]
    return VARIANT_METHODS
