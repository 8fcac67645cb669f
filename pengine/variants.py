"""The method table for every variant: what `rsc.methods` is, by `rsc.variant`.

The engine hands this table to the working set before unpacking (`ws.variant_methods`), and
every resource picks its record when it is created (pengine.methods explains why)."""

from __future__ import annotations

from pengine.clone import CLONE_METHODS
from pengine.group import GROUP_METHODS
from pengine.methods import VariantMethods
from pengine.model import CLONE, GROUP, PRIMITIVE
from pengine.primitive import PRIMITIVE_METHODS

VARIANT_METHODS: dict[int, VariantMethods] = {
    PRIMITIVE: PRIMITIVE_METHODS,
    GROUP: GROUP_METHODS,
    CLONE: CLONE_METHODS,
}
