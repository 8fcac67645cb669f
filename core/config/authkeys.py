"""authkeys(5): which key signs and checks every packet between nodes.

    auth 1
    1 sha1 SomeSecret
    2 md5 Other
    3 crc
    4 sha256 Secret      # pyheartbeat addition (HMAC-SHA256); Heartbeat peers do not know it

`auth N` picks the key used to sign; every listed key is accepted when checking, as heartbeat
does, so keys can be rolled one node at a time. The file must not be readable or writable by
group or others (mode 600): heartbeat refuses to start otherwise, and so do we.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from typing import Optional

from core.errors import ConfigError

METHODS = ("crc", "md5", "sha1", "sha256")


@dataclass(frozen=True)
class AuthKey:
    index: int
    method: str
    secret: bytes


@dataclass(frozen=True)
class AuthKeys:
    path: str
    active: int
    keys: tuple[AuthKey, ...]

    def key(self, index: int) -> Optional[AuthKey]:
        for key in self.keys:
            if key.index == index:
                return key
        return None

    @property
    def active_key(self) -> AuthKey:
        key = self.key(self.active)
        assert key is not None, "parse_authkeys guarantees the active key exists"
        return key


def parse_authkeys(text: str, path: str = "authkeys") -> AuthKeys:
    active: Optional[int] = None
    active_line = 0
    keys: dict[int, AuthKey] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if words[0].lower() == "auth":
            if len(words) != 2 or not words[1].isdigit():
                raise ConfigError(path, number, "auth wants one key index, e.g. 'auth 1'")
            active, active_line = int(words[1]), number
            continue
        if not words[0].isdigit():
            raise ConfigError(path, number, f"expected 'auth N' or 'N method [secret]', got {words[0]!r}")
        index = int(words[0])
        if not 1 <= index <= 15:
            raise ConfigError(path, number, f"key index {index} is out of range 1..15")
        if len(words) < 2:
            raise ConfigError(path, number, f"key {index} has no method (crc, md5, sha1 or sha256)")
        method = words[1].lower()
        if method not in METHODS:
            raise ConfigError(path, number, f"unknown auth method {words[1]!r} (crc, md5, sha1 or sha256)")
        secret = " ".join(words[2:]).encode()
        if method != "crc" and not secret:
            raise ConfigError(path, number, f"key {index} ({method}) has no secret")
        if index in keys:
            raise ConfigError(path, number, f"key {index} is defined twice")
        keys[index] = AuthKey(index, method, secret)
    if active is None:
        raise ConfigError(path, None, "no 'auth N' line selects a key")
    if active not in keys:
        raise ConfigError(path, active_line, f"auth {active}: no key with index {active} is defined")
    return AuthKeys(path=path, active=active, keys=tuple(keys[i] for i in sorted(keys)))


def check_mode(path: str, st_mode: int) -> None:
    """Refuse keys that group or others may read or write."""
    if st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(path, None, f"bad permissions {stat.S_IMODE(st_mode):03o}: authkeys must be "
                          f"mode 600 (chmod 600 {path})")
