"""authkeys(5): which key signs and checks every packet between nodes.

    auth 1
    1 sha1 SomeSecret
    2 md5 Other
    3 crc
    4 sha256 Secret      # pyheartbeat addition (HMAC-SHA256); Heartbeat peers do not know it
    5 aes-256-gcm Secret          # pyheartbeat: the whole packet sealed (AEAD), see messaging/seal.py
    6 chacha20-poly1305 Secret    # pyheartbeat: same, with ChaCha20-Poly1305

`auth N` picks the key used to sign; every listed key is accepted when checking, as heartbeat
does, so keys can be rolled one node at a time. For pyheartbeat nodes `auth N` is the key they
*want* to send with: they switch to it only once every live peer shows it holds key N (the
rotation protocol in messaging/keyring.py), so a new key can be rolled out without downtime. The file must not be readable or writable by
group or others (mode 600): heartbeat refuses to start otherwise, and so do we.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from typing import Optional

from core.errors import ConfigError

SIGNING_METHODS = ("crc", "md5", "sha1", "sha256")
SEALING_METHODS = ("aes-256-gcm", "chacha20-poly1305")  # AEAD: encrypt and authenticate the whole packet
METHODS = SIGNING_METHODS + SEALING_METHODS
MIN_SEALING_SECRET_BYTES = 16
_METHOD_LIST = ", ".join(METHODS)


@dataclass(frozen=True)
class AuthKey:
    index: int
    method: str
    secret: bytes

    @property
    def sealing(self) -> bool:
        """True for the AEAD methods: packets are sealed (encrypted), not signed."""
        return self.method in SEALING_METHODS


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
            raise ConfigError(path, number, f"key {index} has no method ({_METHOD_LIST})")
        method = words[1].lower()
        if method not in METHODS:
            raise ConfigError(path, number, f"unknown auth method {words[1]!r} ({_METHOD_LIST})")
        secret = " ".join(words[2:]).encode()
        if method != "crc" and not secret:
            raise ConfigError(path, number, f"key {index} ({method}) has no secret")
        if method in SEALING_METHODS and len(secret) < MIN_SEALING_SECRET_BYTES:
            raise ConfigError(path, number, f"key {index} ({method}): the secret is {len(secret)} bytes, want at "
                              f"least {MIN_SEALING_SECRET_BYTES} (e.g. `openssl rand -hex 32`)")
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
