"""Who may ask a daemon what: the decision, without I/O.

Every local socket (`<daemon>.sock` in the run directory) is reachable only by root and the
`haclient` group (mode 0660 in a 0750 directory, see core/ipc.py). That keeps strangers out, but
a member of `haclient` must still not be able to *change* anything: Heartbeat let its group read
the cluster's state and kept changes for root. The shell (core/driver.py) learns the peer's
uid/gid/pid from the kernel (SO_PEERCRED, captured by libzmq when the connection was accepted)
and the peer's groups from the user database, and asks `decide()` for every request:

- *privileged* peers (root, or the uid the daemon itself runs as: a lab run by a plain user, the
  daemons talking to each other) may do everything;
- members of `haclient` may ask what is read-only (`READ_ONLY` below: status queries, views,
  subscriptions to events, the CIB itself) and, at the crmd, the requests whose effect the crmd
  checks against the CIB's ACLs (`ACL_CHECKED`: the crmd filters the query or refuses the change
  for that user, see core/cib/acl.py);
- everybody else, and every request not listed (a new message type is refused until someone
  decides who may send it), is refused.

The answer says why, in words a user can act on; the shell sends it back as the reply's error and
logs one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

HACLIENT = "haclient"

# request tags any member of haclient may send, per socket
READ_ONLY: dict[str, frozenset[str]] = {
    "messaging": frozenset({"hb.query", "hb.signoff", "ping.req"}),
    "ccm": frozenset({"ccm.query", "ccm.subscribe", "ping.req"}),
    "crmd": frozenset({"crm.status", "crm.subscribe", "ping.req"}),
    "lrmd": frozenset({"lrm.list", "lrm.history", "lrm.metadata", "lrm.query", "ping.req"}),
    "stonithd": frozenset({"st.history", "st.query", "ping.req"}),
    "pengine": frozenset({"ping.req"}),
    "tengine": frozenset({"ping.req"}),
    "logd": frozenset(),
}

# requests a haclient member may send to the crmd; the crmd then applies the CIB's ACLs for them
ACL_CHECKED: dict[str, frozenset[str]] = {
    "crmd": frozenset({"crm.cib_query", "crm.cib_update", "crm.node_attr", "crm.standby", "crm.cleanup"}),
}


@dataclass(frozen=True)
class Creds:
    """The connecting process, as the kernel saw it when it connected, and the user's groups."""

    uid: int
    gid: int
    pid: int
    user: str = ""  # the login name of uid ("" when the user database has none)
    groups: frozenset[int] = frozenset()  # supplementary groups of that user (gid included)
    group_names: tuple[str, ...] = ()  # the same, by name (what acl_group names)


@dataclass(frozen=True)
class ApiGrant:
    """ha.cf `apiauth CLIENT uid=... gid=...`, names resolved to ids by the shell: processes of
    these users or groups may sign on to messaging as CLIENT and use the whole API."""

    client: str
    uids: frozenset[int]
    gids: frozenset[int]

    def matches(self, creds: "Creds") -> bool:
        return creds.uid in self.uids or creds.gid in self.gids or bool(self.gids & creds.groups)


@dataclass(frozen=True)
class Policy:
    """What the daemon knows about itself: the uid it runs as, the gid of `haclient` (None when
    the group does not exist on this host: then only privileged peers are let in), and the
    messaging API grants of ha.cf's `apiauth` lines."""

    daemon_uid: int
    haclient_gid: Optional[int]
    api_grants: tuple[ApiGrant, ...] = ()


@dataclass(frozen=True)
class Decision:
    allowed: bool
    acl_user: str = ""  # non-empty: allowed, but the crmd must apply the CIB ACLs of this user
    acl_groups: tuple[str, ...] = ()  # the groups of that user (for acl_group)
    reason: str = ""  # why not (for the client's error and the log line)


PRIVILEGED = Decision(True)


def acl_required(user: str) -> bool:
    """Whether the CIB ACLs apply to requests made as `user` ("" = root or a daemon; root and
    hacluster never have ACLs applied, as in Pacemaker, even when named by CIB_user)."""
    return bool(user) and user not in ("root", "hacluster")


def privileged(creds: Creds, policy: Policy) -> bool:
    return creds.uid == 0 or creds.uid == policy.daemon_uid


def member(creds: Creds, policy: Policy) -> bool:
    gid = policy.haclient_gid
    return gid is not None and (creds.gid == gid or gid in creds.groups)


# the messaging requests an `apiauth` grant opens (Heartbeat's API clients could do all of them)
API_REQUESTS = frozenset({"hb.signon", "hb.signoff", "hb.query", "hb.send", "hb.set_rsc", "ping.req"})


def _api_grant(tag: str, msg: Any, creds: Creds, policy: Policy) -> Optional[Decision]:
    """Heartbeat's apiauth: signing on as a client needs that client's grant; a peer holding any
    grant may then use the API (which client it signed on as is the messaging core's state)."""
    grants = [g for g in policy.api_grants if g.matches(creds)]
    if not grants or tag not in API_REQUESTS:
        return None
    if tag == "hb.signon" and not any(g.client == getattr(msg, "client", None) for g in grants):
        return None  # the usual rules (a member may still sign on for events only)
    return PRIVILEGED


def _who(creds: Creds) -> str:
    name = creds.user or "?"
    return f"user {name} (uid {creds.uid}, pid {creds.pid})"


def decide(daemon: str, tag: str, msg: Any, creds: Creds, policy: Policy) -> Decision:
    """May the peer `creds` send `msg` (tag `tag`) to `daemon`'s socket?"""
    if privileged(creds, policy):
        return PRIVILEGED
    if daemon == "messaging":
        granted = _api_grant(tag, msg, creds, policy)
        if granted is not None:
            return granted
    if not member(creds, policy):
        group = HACLIENT if policy.haclient_gid is not None else f"{HACLIENT} (missing on this host)"
        return Decision(False, reason=f"permission denied: {_who(creds)} is neither root nor in group {group}")
    if tag == "hb.signon":
        # events only: a client that asks for cluster messages would read every node's traffic
        if getattr(msg, "msgtypes", None):
            return Decision(False, reason=f"permission denied: {_who(creds)} may sign on for events only; "
                                          f"receiving cluster messages ({', '.join(msg.msgtypes)}) needs root")
        return PRIVILEGED
    if tag in READ_ONLY.get(daemon, frozenset()):
        return PRIVILEGED
    if tag in ACL_CHECKED.get(daemon, frozenset()):
        if not creds.user:
            return Decision(False, reason=f"permission denied: uid {creds.uid} has no user name for the CIB's ACLs")
        return Decision(True, acl_user=creds.user, acl_groups=creds.group_names)
    return Decision(False, reason=f"permission denied: {_who(creds)} may not send {tag} to {daemon}; "
                                  f"changes need root (or, at the crmd, an ACL)")
