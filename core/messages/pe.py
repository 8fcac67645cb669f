"""The policy engine daemon's API: ROUTER `pengine.sock` in the node's run directory.

  PeSchedule(transition_id, cib)   the DC's crmd sends a CIB snapshot (XML, UTF-8 bytes: msgpack
                                   bin; the engine cuts, hashes, parses and saves it as bytes,
                                   never decoding it: a decoded copy of a 32-node / 10,000-
                                   resource CIB was 175 MB more at the daemon's peak; above
                                   1 MiB, from the crmd, it comes by file, core/spool.py: the
                                   field is then the file mapped, which the engine reads front
                                   to back giving each part back, so that it is never resident
                                   whole; from a client, as frames after the message's,
                                   core.wire's parts, held once); the reply's
                                   result is {"transition_id", "graph" (transition_graph XML),
                                   "input" (the saved pe-input file name, "" when not saved),
                                   "summary" (crm_simulate's "Transition Summary" lines),
                                   "actions" (how many synapses), "warnings" ([str])}
                                   or an error (a CIB the engine cannot read).
  PePrime(cib)                     a member's crmd sends its replica (UTF-8 bytes, as above)
                                   once it has been quiet for a
                                   while (no reply): the engine parses it into its input cache, so
                                   that if this node becomes DC its first schedule re-parses only
                                   what changed since (a DC's loss waits for that schedule)

Every input scheduled is saved (pe-input-N.xml, with `execution-date` set to the "now" it was
scheduled at), so `hb simulate -x FILE -R` replays the decision.
"""

from __future__ import annotations

from typing import ClassVar

from core.wire import message


@message("pe.schedule")
class PeSchedule:
    request_id: int
    transition_id: int
    cib: bytes
    BY_FILE: ClassVar[tuple[str, ...]] = ("cib",)  # (core.wire: a large one comes mapped)


@message("pe.prime")
class PePrime:
    cib: bytes
    BY_FILE: ClassVar[tuple[str, ...]] = ("cib",)
