"""Reading the configuration files from disk (the parsers themselves are pure)."""

from __future__ import annotations

import os
from typing import Optional

from core.config.authkeys import AuthKeys, check_mode, parse_authkeys
from core.config.hacf import HaConfig, parse_hacf
from core.config.haresources import ResourceGroup, parse_haresources
from core.errors import ConfigError


def read_hacf(path: str, node_name: Optional[str] = None,
              interfaces: Optional[set[str]] = None) -> HaConfig:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read: {exc.strerror}") from None
    return parse_hacf(text, path, node_name, interfaces)

def read_authkeys(path: str) -> AuthKeys:
    try:
        info = os.stat(path)
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read: {exc.strerror}") from None
    check_mode(path, info.st_mode)
    return parse_authkeys(text, path)

def read_haresources(path: str, nodes: Optional[tuple[str, ...]] = None) -> tuple[ResourceGroup, ...]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read: {exc.strerror}") from None
    return parse_haresources(text, path, nodes)
