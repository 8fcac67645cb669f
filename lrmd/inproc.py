"""Our own agents without an interpreter start: which installed agents the lrmd may run in a
forked copy of itself instead of exec'ing them.

An agent installed by `hb lrm install-agents` is a /bin/sh wrapper that execs a Python
interpreter on `agents.main.run(NAME, ARGS)`. Starting that interpreter and importing the agent
costs tens of milliseconds per operation, which a failover pays for every address and file
system it starts. The lrmd has the same code at hand: forking itself and calling `run` gives the
agent the same arguments, environment, session, file descriptors and exit code in about a
millisecond. Only wrappers whose exec line is exactly what this interpreter and this project
would install are run that way (`agent_name`); anything else, including a wrapper installed by
another checkout, is exec'ed as written.
"""

from __future__ import annotations

import os
import shlex
from typing import Optional

from agents.install import MARKER, agent_argv
from agents.main import load

_HEAD_BYTES = 64 * 1024


class InProcess:
    """Remembers, per agent path and file version, whether it is one of ours to fork."""

    def __init__(self) -> None:
        self.cache: dict[str, tuple[tuple[int, int], Optional[str]]] = {}

    def agent_name(self, path: str) -> Optional[str]:
        """The name to pass to agents.main.run, or None (exec the file)."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        version = (st.st_mtime_ns, st.st_size)
        known = self.cache.get(path)
        if known is not None and known[0] == version:
            return known[1]
        name = _read_name(path)
        if name is not None:
            try:
                load(name)  # here, once: every forked run then starts with it loaded
            except (ImportError, KeyError):
                name = None  # not an agent this code knows: exec the wrapper
        self.cache[path] = (version, name)
        return name


def _read_name(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEAD_BYTES).decode("utf-8", "replace")
    except OSError:
        return None
    lines = head.splitlines()
    if len(lines) < 3 or not lines[1].startswith(MARKER):
        return None
    words = lines[1][len(MARKER):].split()
    if not words:
        return None
    name = f"legacy:{words[1]}" if words[0] == "legacy" and len(words) > 1 else words[0]
    expected = "exec " + " ".join(shlex.quote(a) for a in agent_argv(name)) + ' "$@"'
    return name if lines[-1] == expected else None
