"""The per-variant method table: what a phase calls when the work depends on the resource's kind.

Pacemaker gives each resource a record of functions for its variant (`rsc->fns`,
resource_object_functions_t in lib/pengine/variant.h, and `rsc->cmds`,
resource_alloc_functions_t in lib/pacemaker/pcmk_sched_*.c). We do the same: every resource
carries `rsc.methods`, one `VariantMethods` record shared by all resources of its variant, set
when the resource is unpacked. The phase modules (unpack, assign, ordering, rscactions, probes,
display) call `rsc.methods.assign(...)` and so never import the variant modules (primitive,
group, clone); those import the phase helpers they build on and fill the records
(`pengine.variants.VARIANT_METHODS`). That is what keeps the module graph free of cycles.

This module holds the record type and the table type; it imports nothing from pengine at run
time. `VariantTable.__missing__` is the one place in pengine where a module is imported by name
while the program runs (tests/unit/test_pengine_imports.py allows it there only): a variant
that few CIBs use (clones) is loaded when the first resource of that variant is created.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)

if TYPE_CHECKING:
    from typing import Callable, Optional
    from pengine.display import ShowOptions
    from pengine.graph import Synapse
    from pengine.model import Action, Colocation, Location, Node, Resource, WorkingSet

    NodeScores = Optional[dict[Node, int]]


class VariantMethods:
    """One variant's implementation of each step that differs between variants.

    Field names follow our functions; the Pacemaker member each one stands for is given.
    A read-only record built with every field named; a plain class rather than a dataclass,
    whose import (inspect, ast, ...) would cost every `hb simulate` start-up milliseconds."""

    __slots__ = ("name", "unpack", "active", "assign", "apply_location", "coloc_rh", "coloc_lh",
                 "merge_weights", "create_actions", "internal_constraints", "action_flags",
                 "update_ordered_actions", "create_probe", "expand", "add_graph_meta", "display")

    name: str
    # fns->unpack: the variant's own unpacking after the common part; False drops the resource
    unpack: Callable[[WorkingSet, Resource], bool]
    # fns->active: is it active (all_: every part of it, else any part)
    active: Callable[[Resource, bool], bool]
    # cmds->allocate: choose a node (None: stopped)
    assign: Callable[[WorkingSet, Resource, Optional[Node]], Optional[Node]]
    # cmds->rsc_location: apply a location constraint
    apply_location: Callable[[Resource, Location], None]
    # cmds->rsc_colocation_rh: this resource is the primary of a colocation
    coloc_rh: Callable[[Resource, Resource, Colocation], None]
    # cmds->rsc_colocation_lh: this resource is the dependent of a colocation
    coloc_lh: Callable[[Resource, Resource, Colocation], None]
    # cmds->merge_weights: fold this resource's node scores into a dependent's
    merge_weights: Callable[[Resource, str, NodeScores, Optional[str], float, int], NodeScores]
    # cmds->create_actions
    create_actions: Callable[[WorkingSet, Resource], None]
    # cmds->internal_constraints
    internal_constraints: Callable[[WorkingSet, Resource], None]
    # cmds->action_flags: the flags an action of this resource has for ordering purposes
    action_flags: Callable[[Action, Optional[Node]], int]
    # cmds->update_actions: apply one ordering's effect on `then` (returns pe_graph_updated_*)
    update_ordered_actions: Callable[[WorkingSet, Action, Action, Optional[Node], int, int, int],
                                     int]
    # cmds->create_probe: probe this resource on node; True if any probe was created
    create_probe: Callable[[WorkingSet, Resource, Node], bool]
    # cmds->expand: add its actions (and its children's) to the transition graph
    expand: Callable[[WorkingSet, Resource, list[Synapse]], None]
    # cmds->add_graph_meta: the CRM_meta_* it adds to its (and its members') actions
    add_graph_meta: Callable[[Resource, dict[str, str]], None]
    # fns->print: its lines in crm_simulate's status sections
    display: Callable[[WorkingSet, Resource, int, ShowOptions], list[str]]

    def __init__(self, **methods: object) -> None:
        missing = [name for name in self.__slots__ if name not in methods]
        unknown = sorted(set(methods) - set(self.__slots__))
        if missing or unknown:
            raise TypeError(f"VariantMethods: missing {missing}, unknown {unknown}")
        for name, value in methods.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"VariantMethods is read-only ({name})")

    def __repr__(self) -> str:
        return f"VariantMethods({self.name!r})"


class VariantTable(dict):
    """variant -> VariantMethods. A variant listed in `on_demand` whose record is not in the
    table yet has its module imported at the first look-up; the module registers its record
    when it is imported (`register`), as Pacemaker's variant table is filled statically.

    Why on demand: `hb simulate` is one short process, and importing a variant's modules costs
    it their bytecode and module bodies whether or not the CIB has such a resource. A plain
    dict subclass, so that a look-up of a loaded variant costs what a dict look-up costs."""

    def __init__(self, on_demand: dict[int, str]) -> None:
        super().__init__()
        self.on_demand = dict(on_demand)

    def register(self, variant: int, record: VariantMethods) -> None:
        """Called by each variant module when it is imported."""
        self[variant] = record

    def __missing__(self, variant: int) -> VariantMethods:
        module = self.on_demand.get(variant)
        if module is None:
            raise KeyError(variant)
        # the builtin behind the import statement: importlib itself is not loaded at start-up
        __import__(module)
        if variant not in self:
            raise KeyError(f"{module} did not register variant {variant}")
        return dict.__getitem__(self, variant)
