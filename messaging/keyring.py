"""Which authkeys key a node sends with, and how a new key is rolled out without downtime.

authkeys may list several keys; every listed key is accepted on receipt (Heartbeat's rule), and
`auth N` names the key the node *wants* to send with. Switching the sending key the moment a node
re-reads its authkeys would make it deaf to the peers that do not have key N yet (they drop its
packets as `unknown_key` and declare it dead), so:

- every pyheartbeat node advertises the key indexes it holds in its status heartbeats (field
  `keys`, e.g. `1,2`), whenever it holds more than one key or a sealing key (a node with one
  classic key sends exactly Heartbeat 3.0.6's status message);
- a peer that does not advertise (Heartbeat 3.0.6, or a single classic key) is taken to hold only
  the key it signs with;
- the sending key is `auth N` once every live peer holds N; until then the node keeps its current
  sending key while every live peer still holds it, else the highest-numbered key that every live
  peer holds, else N (nobody can hear us whatever we choose).

Rolling out key 2: add `2 aes-256-gcm NEWSECRET` and `auth 2` on every node and reload each one
(SIGHUP / `heartbeat -r`); each keeps sending with key 1 until the last node has reloaded, then all
switch within a keepalive. Remove key 1 afterwards with a second reload.
"""

from __future__ import annotations

from typing import Iterable, Optional

from core.config.authkeys import AuthKeys

KEYS_FIELD = "keys"


def advertises(keys: AuthKeys) -> bool:
    """Does a node with these keys put the `keys` field in its status messages?"""
    return len(keys.keys) > 1 or any(k.sealing for k in keys.keys)


def advertisement(keys: AuthKeys) -> str:
    return ",".join(str(k.index) for k in keys.keys)


def parse_advertisement(text: Optional[str]) -> Optional[frozenset[int]]:
    """The indexes in a `keys` field; None if absent or unreadable (then the signing key counts)."""
    if text is None:
        return None
    out = set()
    for word in text.split(",")[:16]:
        word = word.strip()
        if not word.isdigit() or not 1 <= int(word) <= 15:
            return None
        out.add(int(word))
    return frozenset(out) if out else None


def choose_sending_key(keys: AuthKeys, current: Optional[int], peers_hold: Iterable[frozenset[int]]) -> int:
    """The key index to send with, given what every live peer holds (see the module text)."""
    held = list(peers_hold)
    ours = {k.index for k in keys.keys}

    def everyone(index: int) -> bool:
        return all(index in peer for peer in held)

    if everyone(keys.active):
        return keys.active
    if current is not None and current in ours and everyone(current):
        return current
    common = [index for index in sorted(ours, reverse=True) if everyone(index)]
    return common[0] if common else keys.active
