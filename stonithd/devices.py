"""Fence devices as configured, and the rules that say which targets a device can fence, how it
is asked, how long it may take and how long it waits first. Pure functions of the configuration.

Where devices come from:
- the CIB: class `stonith` primitives (`type` = `external/ssh`, `fence_ipmilan`, ...), their
  instance attributes as the device's parameters (Pacemaker's own `pcmk_*` ones included), and
  `fencing-topology` levels; crmd sends them (`StDevices source=cib`) after every change;
- ha.cf, heartbeat's way: `stonith_host <from-node|*> <type> <parameters...>` (a device the named
  node may run, `*` any node) and `stonith <type> <parameter file>`. Parameters written
  `name=value` are taken as they are; positional ones (cluster-glue's `-p` shape) are given the
  names the device's `getconfignames` lists, which stonithd asks the device once.

Targeting (Pacemaker's fenced_commands.c, `pcmk_host_check`): `static-list` (the default when
`pcmk_host_list` or `pcmk_host_map` is set) - the target is in the list or the map;
`dynamic-list` (the default otherwise) - the target (or its alias from the map) is in what the
device's `gethosts`/`list` prints, asked at most once a minute; `status` - the device's
`target-status` for the target answers on or off; `none` - any target. The manual device
(`meatware`, cluster-glue's name) fences whatever its `hostlist` names, or anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional

from core.cib.durations import interval_ms, msec
from core.errors import ConfigError
from stonithd.plugins import EXTERNAL, FENCE, Plugin, kind_of, positional_params

MANUAL = "meatware"  # the device an operator confirms by hand (meatclient, hb stonith confirm)
WATCHDOG = "watchdog"  # watchdog fencing: the target resets itself; waiting stonith-watchdog-timeout is the fencing
DEFAULT_TIMEOUT_MS = 60_000  # stonith-timeout's default
DEFAULT_RETRIES = 2
LIST_CACHE_MS = 60_000
HOST_CHECKS = ("static-list", "dynamic-list", "status", "none")
_SPLIT = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class Device:
    id: str
    type: str
    params: dict[str, str] = field(default_factory=dict)
    source: str = "cib"  # cib | ha.cf
    runs_on: tuple[str, ...] = ()  # ha.cf's from-node; empty: any node
    positional: tuple[str, ...] = ()  # ha.cf words still to be named by getconfignames

    @property
    def kind(self) -> str:
        if self.type in (MANUAL, WATCHDOG):
            return self.type
        return kind_of(self.type) or ""

    def plugin(self) -> Plugin:
        """For `plugins.invocation`/`interpret`, which need the kind only (the shell finds the
        program itself)."""
        return Plugin(self.type, self.kind, "")

    def may_run_on(self, node: str) -> bool:
        return not self.runs_on or "*" in self.runs_on or node in self.runs_on

    def host_map(self) -> dict[str, str]:
        """pcmk_host_map `n1:p1;n2:p2` (also `n1=p1`, separated by spaces or commas)."""
        mapping: dict[str, str] = {}
        for item in _SPLIT.split(self.params.get("pcmk_host_map", "").strip()):
            name, sep, port = item.partition(":") if ":" in item else item.partition("=")
            if name and sep:
                mapping[name] = port or name
        return mapping

    def host_list(self) -> list[str]:
        text = self.params.get("pcmk_host_list", "")
        if self.kind == MANUAL and not text:
            text = self.params.get("hostlist", "")
        return [h for h in _SPLIT.split(text.strip()) if h]

    def host_check(self) -> str:
        chosen = self.params.get("pcmk_host_check", "")
        if chosen in HOST_CHECKS:
            return chosen
        if self.params.get("pcmk_host_list") or self.params.get("pcmk_host_map"):
            return "static-list"
        if self.kind == MANUAL:
            return "static-list" if self.host_list() else "none"
        if self.kind == WATCHDOG:
            return "none"
        return "dynamic-list"

    def static_can(self, target: str) -> bool:
        return target in self.host_list() or target in self.host_map()

    def alias(self, target: str) -> str:
        """The name the device knows the target by (pcmk_host_map), else the node name."""
        return self.host_map().get(target, target)

    def device_action(self, action: str) -> str:
        """The device operation (plugins.OPERATIONS) for a fencing action, after
        pcmk_<action>_action (e.g. reboot done as off)."""
        chosen = self.params.get(f"pcmk_{action}_action", action)
        return {"reboot": "reset"}.get(chosen, chosen)

    def timeout_ms(self, action: str, default_ms: int) -> int:
        value = self.params.get(f"pcmk_{action}_timeout")
        parsed = interval_ms(value) if value else 0
        return parsed if parsed > 0 else default_ms

    def retries(self, action: str) -> int:
        value = self.params.get(f"pcmk_{action}_retries", "")
        try:
            return max(0, int(value))
        except ValueError:
            return DEFAULT_RETRIES

    def delay_range_ms(self, target: str) -> tuple[int, int]:
        """(base, max) of the random delay before this device fences `target`:
        pcmk_delay_base (one value, or per target `n1:5s;n2:0`) and pcmk_delay_max; the delay
        is base + random in [0, max - base] (Pacemaker 2.1: max below base means base)."""
        base = 0
        text = self.params.get("pcmk_delay_base", "").strip()
        if text:
            if ":" in text:
                for item in _SPLIT.split(text):
                    name, _, value = item.partition(":")
                    if name == target:
                        base = max(0, msec(value) or 0)
            else:
                base = max(0, msec(text) or 0)
        top = max(0, msec(self.params.get("pcmk_delay_max", "0") or "0") or 0)
        return base, max(base, top)


@dataclass(frozen=True)
class Level:
    target: str
    index: int
    devices: tuple[str, ...]
    pattern: bool = False  # `target` is a regular expression (fencing-level target-pattern)

    def matches(self, node: str) -> bool:
        if not self.pattern:
            return node == self.target
        try:
            return re.search(self.target, node) is not None
        except re.error:
            return False


def levels_for(levels: list[Level], node: str) -> list[Level]:
    """The topology of one node, in index order: the levels naming it, else those whose pattern
    matches it (Pacemaker looks a target up by name first)."""
    named = [lv for lv in levels if not lv.pattern and lv.matches(node)]
    chosen = named or [lv for lv in levels if lv.pattern and lv.matches(node)]
    return sorted(chosen, key=lambda lv: lv.index)


def from_wire(devices: list[dict], levels: list[dict]) -> tuple[list[Device], list[Level]]:
    out = [Device(str(d["id"]), str(d["type"]), {str(k): str(v) for k, v in dict(d.get("params", {})).items()},
                  str(d.get("source", "cib")), tuple(d.get("runs_on", ())), tuple(d.get("positional", ())))
           for d in devices]
    return out, sorted((Level(str(lv["target"]), int(lv["index"]), tuple(lv["devices"]), bool(lv.get("pattern")))
                        for lv in levels), key=lambda lv: (lv.target, lv.index))


def to_wire(device: Device) -> dict:
    return {"id": device.id, "type": device.type, "params": dict(device.params), "source": device.source,
            "runs_on": list(device.runs_on), "positional": list(device.positional)}


def from_hacf(stonith: Optional[tuple[str, str]], stonith_hosts: tuple[tuple[str, ...], ...],
              read_file: Callable[[str], str], where: str = "ha.cf") -> list[Device]:
    """ha.cf's `stonith_host from type params...` lines and `stonith type file`."""
    found: list[Device] = []
    for n, words in enumerate(stonith_hosts, 1):
        if len(words) < 2:
            raise ConfigError(where, None, "stonith_host: want a host (or *), a device type and its parameters")
        host, dtype, rest = words[0], words[1], list(words[2:])
        found.append(_hacf_device(f"stonith_host-{n}", dtype, rest, (host,), where))
    if stonith is not None:
        dtype, path = stonith
        try:
            text = read_file(path)
        except OSError as exc:
            raise ConfigError(where, None, f"stonith: cannot read {path}: {exc.strerror}") from exc
        words = [w for line in text.splitlines() if not line.lstrip().startswith("#") for w in line.split()]
        found.append(_hacf_device("stonith-1", dtype, words, (), where))
    return found


def _hacf_device(dev_id: str, dtype: str, words: list[str], runs_on: tuple[str, ...], where: str) -> Device:
    if dtype != MANUAL and kind_of(dtype) is None:
        raise ConfigError(where, None, f"stonith device type {dtype!r}: only external/* plugins, fence_* agents "
                                       f"and {MANUAL} are run by this stack")
    if words and all("=" in w for w in words):
        params = dict(w.split("=", 1) for w in words)
        return Device(dev_id, dtype, params, "ha.cf", runs_on)
    if dtype == MANUAL:
        return Device(dev_id, dtype, {"hostlist": " ".join(words)}, "ha.cf", runs_on)
    return Device(dev_id, dtype, {}, "ha.cf", runs_on, tuple(words))


def name_positional(device: Device, names: list[str]) -> Device:
    """A positional ha.cf device once getconfignames answered (cluster-glue's -p rule: the last
    name takes the remaining words)."""
    params = positional_params(names, list(device.positional))
    return Device(device.id, device.type, {**params, **device.params}, device.source, device.runs_on)


def known_kind(device: Device) -> bool:
    return device.kind in (EXTERNAL, FENCE, MANUAL, WATCHDOG)
