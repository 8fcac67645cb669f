"""Configuration files of the classic stack: ha.cf, authkeys and haresources.

Parsers are pure (text in, frozen model out) and raise `ConfigError` with `file:line`; the few
checks that need the host (does that interface exist, is the key file mode 600) take what they
need as arguments so that tests can drive them. `core.config.load` reads the files.
"""

from core.config.authkeys import AuthKeys, parse_authkeys
from core.config.hacf import HaConfig, Medium, parse_hacf
from core.config.haresources import ResourceGroup, ResourceSpec, parse_haresources
from core.config.timeparse import parse_time_ms

__all__ = [
    "AuthKeys", "parse_authkeys",
    "HaConfig", "Medium", "parse_hacf",
    "ResourceGroup", "ResourceSpec", "parse_haresources",
    "parse_time_ms",
]
