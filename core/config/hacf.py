"""ha.cf(5): Heartbeat 3's main configuration file, parsed into a frozen `HaConfig`.

Every directive of heartbeat 3's ha.cf is accepted. Media (bcast, mcast, mcast6, ucast, ucast6,
serial), liveness times, nodes, ping nodes, respawn and apiauth entries are modelled; directives we
accept without acting on (compression, hbaping, coredumps, ...) give a warning that says so.

Rules kept from heartbeat:
- `#` starts a comment anywhere on a line; a directive is its first word, case-insensitive.
- Times are seconds unless suffixed (`100ms`); see `timeparse`.
- Defaults: keepalive 1 s, deadtime 30 s, warntime deadtime/2, deadping = deadtime, udpport 694,
  initdead = deadtime if deadtime > 10 s, 12 s if deadtime < 6 s, else 2 x deadtime.
- Errors (one line, `file:line: what is wrong`): unknown directive, bad value, unknown interface,
  no media, no node list containing this node, deadtime not above keepalive, initdead below
  deadtime. Warnings: deadtime under 2 x keepalive, initdead under 2 x deadtime, warntime not
  between keepalive and deadtime, no auto_failback given.

Unlike heartbeat, `udpport` may come after the media lines: media without an explicit port use
the final `udpport` (heartbeat's "must precede media statements" error confused its own users).

pyheartbeat extensions: `bind_address IP` binds the ucast receive socket to one address (several
nodes on one host over loopback), `max_rexmit_delay` is heartbeat's own. `cluster NAME` names the
cluster: the sealing methods of authkeys (aes-256-gcm, chacha20-poly1305) derive their keys from
the secret *and* this name, so two clusters that share a secret still cannot read each other
(default `linux-ha`). `max_clock_skew TIME` (default 300 s, 0 = off): a packet whose `ts` differs
from our wall clock by more than this is dropped as a replay (docs/security.md).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Callable, Optional

from core.config.timeparse import parse_time_ms
from core.errors import ConfigError

TRUE_WORDS = {"true", "on", "yes", "y", "1"}
FALSE_WORDS = {"false", "off", "no", "n", "0"}
BAUD_RATES = {300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400}
SYSLOG_FACILITIES = {
    "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news", "syslog",
    "user", "uucp", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7", "none",
}
DEFAULT_UDPPORT = 694
DEFAULT_CLUSTER = "linux-ha"
DEFAULT_MAX_CLOCK_SKEW_MS = 300_000


@dataclass(frozen=True)
class Medium:
    """One heartbeat medium. `name` is what heartbeat calls the link (`eth0`, `/dev/ttyS0`)."""

    kind: str  # bcast | mcast | mcast6 | ucast | ucast6 | serial
    dev: str
    line: int
    group: Optional[str] = None
    port: Optional[int] = None
    ttl: Optional[int] = None
    loop: Optional[bool] = None
    peer: Optional[str] = None

    @property
    def name(self) -> str:
        return self.dev


@dataclass(frozen=True)
class Respawn:
    user: str
    command: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class ApiAuth:
    client: str
    uids: tuple[str, ...]
    gids: tuple[str, ...]


@dataclass(frozen=True)
class HaConfig:
    path: str
    nodes: tuple[str, ...]
    media: tuple[Medium, ...]
    keepalive_ms: int
    deadtime_ms: int
    warntime_ms: int
    initdead_ms: int
    deadping_ms: int
    udpport: int
    baud: int
    hopfudge: int
    auto_failback: str  # on | off | legacy
    crm: str  # "off" | "on" | "respawn"
    logfile: Optional[str]
    debugfile: Optional[str]
    logfacility: Optional[str]
    use_logd: bool
    conn_logd_time_ms: int
    stonith: Optional[tuple[str, str]]
    stonith_hosts: tuple[tuple[str, ...], ...]
    watchdog: Optional[str]
    autojoin: str
    ping_nodes: tuple[str, ...]
    ping_groups: tuple[tuple[str, tuple[str, ...]], ...]
    respawns: tuple[Respawn, ...]
    apiauth: tuple[ApiAuth, ...]
    uuidfrom: str
    hbgenmethod: str
    realtime: bool
    rtprio: Optional[int]
    debug: int
    msgfmt: str
    max_rexmit_delay_ms: int
    bind_address: Optional[str]
    env: tuple[tuple[str, str], ...]
    parameters: tuple[tuple[str, str], ...]  # directive -> value as written, for hbparameter
    warnings: tuple[str, ...] = field(default=())
    cluster: str = DEFAULT_CLUSTER
    max_clock_skew_ms: int = DEFAULT_MAX_CLOCK_SKEW_MS

    def parameter(self, name: str) -> Optional[str]:
        for key, value in self.parameters:
            if key == name:
                return value
        return None

    @property
    def crm_enabled(self) -> bool:
        return self.crm != "off"


class _State:
    """Mutable accumulator while reading; frozen into HaConfig at the end."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.values: dict[str, object] = {}
        self.seen_line: dict[str, int] = {}
        self.nodes: list[str] = []
        self.media: list[tuple[str, list[str], int]] = []
        self.ping_nodes: list[str] = []
        self.ping_groups: list[tuple[str, tuple[str, ...]]] = []
        self.respawns: list[Respawn] = []
        self.apiauth: list[ApiAuth] = []
        self.stonith_hosts: list[tuple[str, ...]] = []
        self.env: list[tuple[str, str]] = []
        self.parameters: dict[str, str] = {}
        self.warnings: list[str] = []

    def error(self, line: Optional[int], message: str) -> ConfigError:
        return ConfigError(self.path, line, message)

    def warn(self, line: Optional[int], message: str) -> None:
        where = f"{self.path}:{line}" if line else self.path
        self.warnings.append(f"{where}: {message}")


def _bool(state: _State, line: int, name: str, word: str) -> bool:
    low = word.lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    raise state.error(line, f"{name}: {word!r} is not a boolean (use on/off, yes/no, true/false)")


def _int(state: _State, line: int, name: str, word: str, low: int, high: int) -> int:
    try:
        value = int(word, 10)
    except ValueError:
        raise state.error(line, f"{name}: {word!r} is not a whole number") from None
    if not low <= value <= high:
        raise state.error(line, f"{name}: {value} is out of range {low}..{high}")
    return value


def _time(state: _State, line: int, name: str, word: str) -> int:
    try:
        value = parse_time_ms(word)
    except ValueError as exc:
        raise state.error(line, f"{name}: {exc}") from None
    if value <= 0:
        raise state.error(line, f"{name}: time must be greater than zero")
    return value


def _ip(state: _State, line: int, name: str, word: str, version: int = 4) -> str:
    try:
        addr = ipaddress.ip_address(word)
    except ValueError:
        raise state.error(line, f"{name}: {word!r} is not an IP address") from None
    if addr.version != version:
        raise state.error(line, f"{name}: {word!r} is not an IPv{version} address")
    return str(addr)


def _one(state: _State, line: int, name: str, args: list[str]) -> str:
    if len(args) != 1:
        raise state.error(line, f"{name} takes exactly one value, got {len(args)}")
    return args[0]


Handler = Callable[[_State, int, str, list[str]], None]


def _single(convert: Callable[[_State, int, str, str], object]) -> Handler:
    def handle(state: _State, line: int, name: str, args: list[str]) -> None:
        word = _one(state, line, name, args)
        if name in state.seen_line:
            state.warn(line, f"{name} given again (first at line {state.seen_line[name]}); the last one counts")
        state.values[name] = convert(state, line, name, word)
        state.seen_line[name] = line
        state.parameters[name] = word

    return handle


def _as_time(state: _State, line: int, name: str, word: str) -> int:
    return _time(state, line, name, word)


def _as_bool(state: _State, line: int, name: str, word: str) -> bool:
    return _bool(state, line, name, word)


def _as_text(state: _State, line: int, name: str, word: str) -> str:
    return word


def _choice(*choices: str) -> Callable[[_State, int, str, str], str]:
    def convert(state: _State, line: int, name: str, word: str) -> str:
        if word.lower() not in choices:
            raise state.error(line, f"{name}: {word!r} is not one of {', '.join(choices)}")
        return word.lower()

    return convert


def _as_udpport(state: _State, line: int, name: str, word: str) -> int:
    return _int(state, line, name, word, 1, 65535)


def _as_baud(state: _State, line: int, name: str, word: str) -> int:
    value = _int(state, line, name, word, 1, 10_000_000)
    if value not in BAUD_RATES:
        raise state.error(line, f"baud: {value} is not a serial speed ({', '.join(map(str, sorted(BAUD_RATES)))})")
    return value


def _as_facility(state: _State, line: int, name: str, word: str) -> str:
    if word.lower() not in SYSLOG_FACILITIES:
        raise state.error(line, f"logfacility: unknown syslog facility {word!r}")
    return word.lower()


def _as_auto_failback(state: _State, line: int, name: str, word: str) -> str:
    low = word.lower()
    if low == "legacy":
        return "legacy"
    return "on" if _bool(state, line, name, word) else "off"


def _as_crm(state: _State, line: int, name: str, word: str) -> str:
    low = word.lower()
    if low == "respawn":
        return "respawn"
    if low == "manual":
        return "on"
    return "on" if _bool(state, line, name, word) else "off"


def _as_nonneg_int(state: _State, line: int, name: str, word: str) -> int:
    return _int(state, line, name, word, 0, 1_000_000)


def _as_rtprio(state: _State, line: int, name: str, word: str) -> int:
    return _int(state, line, name, word, 1, 99)


def _as_ms_int(state: _State, line: int, name: str, word: str) -> int:
    return _int(state, line, name, word, 50, 60_000)


def _as_cluster(state: _State, line: int, name: str, word: str) -> str:
    if len(word) > 64 or not word.isprintable():
        raise state.error(line, f"cluster {word!r}: want a printable name of at most 64 characters")
    return word


def _as_skew(state: _State, line: int, name: str, word: str) -> int:
    """0 turns the timestamp check off (clusters whose clocks are not kept in step)."""
    return 0 if word.strip() in ("0", "0s", "0ms") else _time(state, line, name, word)


def _as_bind(state: _State, line: int, name: str, word: str) -> str:
    return _ip(state, line, name, word)


def _not_implemented(convert: Callable[[_State, int, str, str], object]) -> Handler:
    inner = _single(convert)

    def handle(state: _State, line: int, name: str, args: list[str]) -> None:
        inner(state, line, name, args)
        state.warn(line, f"{name} is accepted but not implemented by pyheartbeat; it has no effect")

    return handle


def _node(state: _State, line: int, name: str, args: list[str]) -> None:
    if not args:
        raise state.error(line, "node: no node name given")
    for word in args:
        low = word.lower()
        if low not in state.nodes:
            state.nodes.append(low)


def _medium(state: _State, line: int, name: str, args: list[str]) -> None:
    state.media.append((name, args, line))
    state.parameters.setdefault(name, " ".join(args))


def _ping(state: _State, line: int, name: str, args: list[str]) -> None:
    if not args:
        raise state.error(line, "ping: no address given")
    for word in args:
        state.ping_nodes.append(_ip(state, line, name, word))


def _ping_group(state: _State, line: int, name: str, args: list[str]) -> None:
    if len(args) < 2:
        raise state.error(line, "ping_group: want a group name and at least one address")
    addresses = tuple(_ip(state, line, name, word) for word in args[1:])
    state.ping_groups.append((args[0].lower(), addresses))


def _respawn(state: _State, line: int, name: str, args: list[str]) -> None:
    if len(args) < 2:
        raise state.error(line, "respawn: want a user and a command")
    state.respawns.append(Respawn(user=args[0], command=tuple(args[1:]), line=line))


def _apiauth(state: _State, line: int, name: str, args: list[str]) -> None:
    if len(args) < 2:
        raise state.error(line, "apiauth: want a client name and uid=... and/or gid=...")
    uids: list[str] = []
    gids: list[str] = []
    for word in args[1:]:
        key, sep, value = word.partition("=")
        if not sep or key not in ("uid", "gid") or not value:
            raise state.error(line, f"apiauth: {word!r} is not uid=LIST or gid=LIST")
        (uids if key == "uid" else gids).extend(v for v in value.split(",") if v)
    state.apiauth.append(ApiAuth(client=args[0], uids=tuple(uids), gids=tuple(gids)))


def _stonith(state: _State, line: int, name: str, args: list[str]) -> None:
    if len(args) != 2:
        raise state.error(line, "stonith: want a device type and a config file")
    state.values["stonith"] = (args[0], args[1])
    state.parameters["stonith"] = " ".join(args)


def _stonith_host(state: _State, line: int, name: str, args: list[str]) -> None:
    if len(args) < 2:
        raise state.error(line, "stonith_host: want a host (or *), a device type and its parameters")
    state.stonith_hosts.append(tuple(args))


def _env(state: _State, line: int, name: str, args: list[str]) -> None:
    word = _one(state, line, name, args)
    key, sep, value = word.partition("=")
    if not sep or not key:
        raise state.error(line, f"env: {word!r} is not NAME=VALUE")
    state.env.append((key, value))


def _hbaping(state: _State, line: int, name: str, args: list[str]) -> None:
    state.warn(line, "hbaping (Fibre Channel ping) is accepted but not implemented by pyheartbeat")


DIRECTIVES: dict[str, Handler] = {
    "node": _node,
    "bcast": _medium, "mcast": _medium, "mcast6": _medium,
    "ucast": _medium, "ucast6": _medium, "serial": _medium,
    "ping": _ping, "ping_group": _ping_group, "hbaping": _hbaping,
    "respawn": _respawn, "apiauth": _apiauth,
    "stonith": _stonith, "stonith_host": _stonith_host, "env": _env,
    "keepalive": _single(_as_time), "deadtime": _single(_as_time),
    "warntime": _single(_as_time), "initdead": _single(_as_time),
    "deadping": _single(_as_time), "conn_logd_time": _single(_as_time),
    "udpport": _single(_as_udpport), "baud": _single(_as_baud),
    "hopfudge": _single(_as_nonneg_int), "debug": _single(_as_nonneg_int),
    "auto_failback": _single(_as_auto_failback), "nice_failback": _single(_as_bool),
    "crm": _single(_as_crm), "pacemaker": _single(_as_crm),
    "logfile": _single(_as_text), "debugfile": _single(_as_text),
    "logfacility": _single(_as_facility), "use_logd": _single(_as_bool),
    "watchdog": _single(_as_text),
    "autojoin": _single(_choice("none", "other", "any")),
    "uuidfrom": _single(_choice("file", "nodename")),
    "hbgenmethod": _single(_choice("file", "time")),
    "realtime": _single(_as_bool), "rtprio": _single(_as_rtprio),
    "msgfmt": _single(_choice("classic", "netstring")),
    "max_rexmit_delay": _single(_as_ms_int),
    "bind_address": _single(_as_bind),
    "cluster": _single(_as_cluster), "max_clock_skew": _single(_as_skew),
    "syslogmsgfmt": _single(_as_bool), "normalpoll": _single(_as_bool),
    "badpack": _single(_as_bool),
    "record_config_changes": _single(_as_bool), "record_pengine_inputs": _single(_as_bool),
    "enable_config_writes": _single(_as_bool),
    "compression": _not_implemented(_as_text),
    "compression_threshold": _not_implemented(_as_nonneg_int),
    "traditional_compression": _not_implemented(_as_bool),
    "coredumps": _not_implemented(_as_bool), "coreroot": _not_implemented(_as_text),
    "memreserve": _not_implemented(_as_nonneg_int),
    "register_to_apphbd": _not_implemented(_as_bool),
}


def _build_medium(state: _State, kind: str, args: list[str], line: int, udpport: int,
                  interfaces: Optional[set[str]]) -> list[Medium]:
    def check_dev(dev: str) -> str:
        if interfaces is not None and dev not in interfaces:
            raise state.error(line, f"{kind}: unknown interface {dev!r}")
        return dev

    if kind == "bcast":
        if not args:
            raise state.error(line, "bcast: no interface given")
        return [Medium(kind, check_dev(dev), line, port=udpport) for dev in args]
    if kind == "serial":
        if not args:
            raise state.error(line, "serial: no serial device given")
        return [Medium(kind, dev, line) for dev in args]
    if kind in ("ucast", "ucast6"):
        if len(args) != 2:
            raise state.error(line, f"{kind}: want an interface and a peer address")
        version = 6 if kind == "ucast6" else 4
        return [Medium(kind, check_dev(args[0]), line, port=udpport,
                       peer=_ip(state, line, kind, args[1], version))]
    if len(args) != 5:
        raise state.error(line, f"{kind}: want interface group port ttl loop")
    version = 6 if kind == "mcast6" else 4
    group = _ip(state, line, kind, args[1], version)
    if not ipaddress.ip_address(group).is_multicast:
        raise state.error(line, f"{kind}: {group} is not a multicast group")
    port = _int(state, line, f"{kind} port", args[2], 1, 65535)
    ttl = _int(state, line, f"{kind} ttl", args[3], 1, 255)
    loop = _int(state, line, f"{kind} loop", args[4], 0, 1) == 1
    return [Medium(kind, check_dev(args[0]), line, group=group, port=port, ttl=ttl, loop=loop)]


def _default_initdead(deadtime_ms: int) -> int:
    if deadtime_ms > 10_000:
        return deadtime_ms
    if deadtime_ms < 6_000:
        return 12_000
    return 2 * deadtime_ms


def parse_hacf(text: str, path: str = "ha.cf", node_name: Optional[str] = None,
               interfaces: Optional[set[str]] = None) -> HaConfig:
    """Parse ha.cf text. `node_name` (when given) must be in the node list unless autojoin is on;
    `interfaces` (when given) is the set of interface names the media may use."""
    state = _State(path)
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        name = words[0].lower()
        handler = DIRECTIVES.get(name)
        if handler is None:
            raise state.error(number, f"unknown directive {words[0]!r}")
        handler(state, number, name, words[1:])
    return _finish(state, node_name, interfaces)


def _finish(state: _State, node_name: Optional[str], interfaces: Optional[set[str]]) -> HaConfig:
    v = state.values
    line = state.seen_line
    udpport = int(v.get("udpport", DEFAULT_UDPPORT))  # type: ignore[arg-type]
    media: list[Medium] = []
    for kind, args, number in state.media:
        media.extend(_build_medium(state, kind, args, number, udpport, interfaces))
    if not media:
        raise state.error(None, "no heartbeat media defined (want bcast, mcast, ucast or serial)")

    keepalive_ms = int(v.get("keepalive", 1000))  # type: ignore[arg-type]
    deadtime_ms = int(v.get("deadtime", 30_000))  # type: ignore[arg-type]
    if deadtime_ms <= keepalive_ms:
        raise state.error(line.get("deadtime") or line.get("keepalive"),
                          f"deadtime ({deadtime_ms} ms) must be greater than keepalive ({keepalive_ms} ms)")
    if deadtime_ms < 2 * keepalive_ms:
        state.warn(line.get("deadtime"), f"WARN: deadtime ({deadtime_ms} ms) is less than 2 x keepalive "
                   f"({keepalive_ms} ms); one lost packet will look like a death")
    warntime_ms = int(v.get("warntime", deadtime_ms // 2))  # type: ignore[arg-type]
    if warntime_ms >= deadtime_ms:
        state.warn(line.get("warntime"), f"WARN: warntime ({warntime_ms} ms) should be less than deadtime "
                   f"({deadtime_ms} ms)")
    if warntime_ms <= keepalive_ms:
        state.warn(line.get("warntime"), f"WARN: warntime ({warntime_ms} ms) should be greater than keepalive "
                   f"({keepalive_ms} ms)")
    initdead_ms = int(v.get("initdead", _default_initdead(deadtime_ms)))  # type: ignore[arg-type]
    if initdead_ms < deadtime_ms:
        raise state.error(line.get("initdead"), f"initdead ({initdead_ms} ms) must not be less than "
                          f"deadtime ({deadtime_ms} ms)")
    if initdead_ms < 2 * deadtime_ms:
        state.warn(line.get("initdead"), f"WARN: initdead ({initdead_ms} ms) is less than 2 x deadtime "
                   f"({deadtime_ms} ms)")
    if "initdead" in v and initdead_ms < 10_000:
        state.warn(line.get("initdead"), f"WARN: initdead ({initdead_ms} ms) is under 10 s: after a reboot "
                   "the network may not be up yet")

    auto_failback = v.get("auto_failback")
    if auto_failback is None:
        if "nice_failback" in v:
            auto_failback = "off" if v["nice_failback"] else "legacy"
            state.warn(line["nice_failback"], "nice_failback is obsolete; use auto_failback "
                       f"{'off' if v['nice_failback'] else 'legacy'}")
        else:
            auto_failback = "legacy"
            state.warn(None, "WARN: no auto_failback given; using \"legacy\". Say auto_failback on or off")

    autojoin = str(v.get("autojoin", "none"))
    nodes = tuple(state.nodes)
    if node_name is not None and autojoin == "none" and node_name.lower() not in nodes:
        where = min((ln for ln in [line.get("node")] if ln), default=None)
        listed = ", ".join(nodes) if nodes else "none"
        raise ConfigError(state.path, where, f"this node ({node_name}) is not in the node list (listed: {listed})")
    ping_targets = set(state.ping_nodes) | {a for _, g in state.ping_groups for a in g}
    for node in nodes:
        if node in ping_targets:
            raise state.error(None, f"node {node} is also a ping node")

    crm = str(v.get("crm", v.get("pacemaker", "off")))
    logfacility = v.get("logfacility")
    logfile = v.get("logfile")
    debugfile = v.get("debugfile")
    use_logd = bool(v.get("use_logd", logfacility is None and logfile is None and debugfile is None))
    defaults = {"keepalive": keepalive_ms, "deadtime": deadtime_ms, "warntime": warntime_ms,
                "initdead": initdead_ms, "deadping": int(v.get("deadping", deadtime_ms))}  # type: ignore[arg-type]
    parameters = dict(state.parameters)
    for name, value_ms in defaults.items():
        parameters.setdefault(name, f"{value_ms}ms")
    parameters.setdefault("udpport", str(udpport))
    parameters.setdefault("auto_failback", str(auto_failback))
    parameters.setdefault("hopfudge", str(v.get("hopfudge", 1)))
    parameters.setdefault("baud", str(v.get("baud", 19200)))
    parameters.setdefault("crm", crm)

    return HaConfig(
        path=state.path, nodes=nodes, media=tuple(media),
        keepalive_ms=keepalive_ms, deadtime_ms=deadtime_ms, warntime_ms=warntime_ms,
        initdead_ms=initdead_ms, deadping_ms=defaults["deadping"], udpport=udpport,
        baud=int(v.get("baud", 19200)), hopfudge=int(v.get("hopfudge", 1)),  # type: ignore[arg-type]
        auto_failback=str(auto_failback), crm=crm,
        logfile=logfile, debugfile=debugfile,  # type: ignore[arg-type]
        logfacility=logfacility,  # type: ignore[arg-type]
        use_logd=use_logd, conn_logd_time_ms=int(v.get("conn_logd_time", 60_000)),  # type: ignore[arg-type]
        stonith=v.get("stonith"),  # type: ignore[arg-type]
        stonith_hosts=tuple(state.stonith_hosts), watchdog=v.get("watchdog"),  # type: ignore[arg-type]
        autojoin=autojoin, ping_nodes=tuple(state.ping_nodes), ping_groups=tuple(state.ping_groups),
        respawns=tuple(state.respawns), apiauth=tuple(state.apiauth),
        uuidfrom=str(v.get("uuidfrom", "file")), hbgenmethod=str(v.get("hbgenmethod", "file")),
        realtime=bool(v.get("realtime", True)), rtprio=v.get("rtprio"),  # type: ignore[arg-type]
        debug=int(v.get("debug", 0)), msgfmt=str(v.get("msgfmt", "classic")),  # type: ignore[arg-type]
        max_rexmit_delay_ms=int(v.get("max_rexmit_delay", 250)),  # type: ignore[arg-type]
        bind_address=v.get("bind_address"),  # type: ignore[arg-type]
        env=tuple(state.env), parameters=tuple(sorted(parameters.items())),
        warnings=tuple(state.warnings),
        cluster=str(v.get("cluster", DEFAULT_CLUSTER)),
        max_clock_skew_ms=int(v.get("max_clock_skew", DEFAULT_MAX_CLOCK_SKEW_MS)),  # type: ignore[arg-type]
    )
