"""The order in which GLib 2.74 iterates a string-keyed GHashTable, as Pacemaker makes them.

Why: a few of Pacemaker's choices take the first of equals while walking a hash table, e.g.
pcmk__ban_insufficient_capacity keeps the first node of most free capacity it meets in
rsc->allowed_nodes (keyed by node id), and crm_simulate -U prints utilization tables in
their walk order. To match we need that order, which is the bucket order of GLib's
open-addressing table: bucket (hash * 11) mod prime, quadratic probing, and the table grown
(with its own re-insertion) as entries are added. Pacemaker's string tables
(pcmk__strkey_table) hash with pcmk__str_hash (h * 31 + c, GLib's hash before 2.28), not
g_str_hash. A port of glib/ghash.c (g_hash_table_lookup_node, g_hash_table_maybe_resize,
g_hash_table_resize with resize_map) for insertions only, and of both hash functions.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's own flag, without importing typing (hb start-up: docs/pengine.md)
if TYPE_CHECKING:
    from typing import Callable


_MIN_SHIFT = 3
_PRIME_MOD = (1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749,
              65521, 131071, 262139, 524287, 1048573, 2097143, 4194301, 8388593, 16777213,
              33554393, 67108859, 134217689, 268435399, 536870909, 1073741789, 2147483647)
_MASK32 = 0xFFFFFFFF


def _signed_char_hash(key: str, h: int, factor: int) -> int:
    """h = h * factor + c over the key's bytes as signed chars, 32-bit (both string hashes)."""
    for byte in key.encode():
        h = (h * factor + (byte - 256 if byte > 127 else byte)) & _MASK32
    return h


def str_hash(key: str) -> int:
    """g_str_hash: djb2 (from 5381, times 33) over the bytes as signed chars, 32-bit."""
    return _signed_char_hash(key, 5381, 33)


def pcmk_str_hash(key: str) -> int:
    """pcmk__str_hash (lib/common/strings.c): h = h * 31 + c from 0, signed chars, 32-bit."""
    return _signed_char_hash(key, 0, 31)


def _shift_for(size: int) -> int:
    """g_hash_table_set_shift_from_size."""
    shift = 0
    while size:
        size >>= 1
        shift += 1
    return max(shift, _MIN_SHIFT)


class _Table:
    def __init__(self, hash_func: Callable[[str], int]) -> None:
        self.hash_func = hash_func
        self.set_shift(_MIN_SHIFT)
        self.hashes: list[int] = [0] * self.size   # 0 = unused (no removals here)
        self.keys: list = [None] * self.size
        self.nnodes = 0
        self.noccupied = 0

    def set_shift(self, shift: int) -> None:
        self.size = 1 << shift
        self.mod = _PRIME_MOD[shift]
        self.mask = self.size - 1

    def index(self, hash_value: int) -> int:
        return ((hash_value * 11) & _MASK32) % self.mod

    def insert(self, key: str) -> None:
        hash_value = self.hash_func(key)
        if hash_value < 2:
            hash_value = 2
        i = self.index(hash_value)
        step = 0
        while self.hashes[i] != 0:
            if self.hashes[i] == hash_value and self.keys[i] == key:
                return  # replaced in place: the order does not change
            step += 1
            i = (i + step) & self.mask
        self.hashes[i] = hash_value
        self.keys[i] = key
        self.nnodes += 1
        self.noccupied += 1
        self.maybe_resize()

    def maybe_resize(self) -> None:
        size, occupied = self.size, self.noccupied
        if (size > self.nnodes * 4 and size > 1 << _MIN_SHIFT) or \
                size <= occupied + occupied // 16:
            self.resize()

    def resize(self) -> None:
        old_size = self.size
        self.set_shift(_shift_for(int(self.nnodes * 1.333)))
        if self.size > old_size:
            self.hashes += [0] * (self.size - old_size)
            self.keys += [None] * (self.size - old_size)
        moved = [False] * max(self.size, old_size)
        for i in range(old_size):
            node_hash = self.hashes[i]
            if node_hash < 2 or moved[i]:
                continue
            self.hashes[i] = 0
            key = self.keys[i]
            self.keys[i] = None
            while True:
                j = self.index(node_hash)
                step = 0
                while moved[j]:
                    step += 1
                    j = (j + step) & self.mask
                moved[j] = True
                replaced_hash, replaced_key = self.hashes[j], self.keys[j]
                self.hashes[j], self.keys[j] = node_hash, key
                if replaced_hash < 2:
                    break
                node_hash, key = replaced_hash, replaced_key
        if self.size < old_size:
            self.hashes = self.hashes[:self.size]
            self.keys = self.keys[:self.size]
        self.noccupied = self.nnodes


def iteration_order(keys: list[str],
                    hash_func: Callable[[str], int] = pcmk_str_hash) -> list[str]:
    """The keys in the order g_hash_table_iter_next yields them, after inserting them into
    a new table in the given order (a Pacemaker string table unless told otherwise)."""
    table = _Table(hash_func)
    for key in keys:
        table.insert(key)
    return [key for key in table.keys if key is not None]
