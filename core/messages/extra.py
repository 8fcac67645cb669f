"""Registers the protocol modules that later parts of the stack add (ccm, lrm, cib, ...).

Each import is optional so that this package never pretends a protocol exists before the
module defining it does.
"""

import importlib

for _name in ("ccm", "lrm", "stonith", "crm", "pe", "te"):
    try:
        importlib.import_module(f"core.messages.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"core.messages.{_name}":
            raise
