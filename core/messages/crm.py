"""The cluster resource manager's vocabulary: its local API (`crmd.sock`) and the messages the
crmds of a cluster exchange (cluster messages of type `crmd`, payload = one of these frames).

Local API (ROUTER `crmd.sock`; every request answered by one `Reply`):
  CibQuery(section, scope)       {"xml", "version", "digest", "dc"}: this node's replica
                                 (section None = the whole CIB)
  CibUpdate(op, section, xml)    op replace | modify | create | delete; carried out by the DC
                                 (forwarded there); replied {"version"} once applied, or an
                                 error listing every problem as `<input>:line: ...`
  NodeAttr(node, name, value, lifetime)   set (value) or delete (None) a node attribute;
                                 lifetime reboot (status section) | forever (nodes section)
  Cleanup(rsc, node)             forget a resource's history and fail counts (all nodes when
                                 node is empty); it is probed again
  Standby(node, which, takeover) hb_standby / hb_takeover: which all | foreign | local
  CrmStatus()                    {"node", "role", "dc", "view", "quorum", "state", "joined",
                                  "transition", "members"}
  CrmSubscribe(client, pid)      pushed `CrmNotice`s (DC changes, transitions) to the client

The `user` (and `groups`) of the first five is filled in by the socket (core/driver.py), never trusted from a
non-root client: "" = root or a daemon (no ACLs), else the login name whose CIB ACLs the crmd
applies (core/cib/acl.py). A root client may set it itself to try a user's ACLs (CIB_user).

Between crmds (all carry the ccm view instance they belong to):
  Hello        a crmd (re)started or saw a new view: here is my incarnation
  JoinOffer    the DC of `view` invites members to join round `join_id`
  JoinRequest  a member's answer: its CIB version and digest, and its own resource history
  CibFetch     the DC wants the CIB of the member that had the newest one
  CibFull      a whole CIB (DC to a member that differs; a member to the DC when fetched)
  JoinAck      the round is complete: here is the CIB; the member follows the DC's diffs from now on
  CibDiff      one change: edits, the version before and after, the digest after
  CibAck       a member has applied a diff the DC asked to be acknowledged
  CibResync    a member's copy went wrong: please send the whole CIB
  CibRequest   a change for the DC to make (a tool's request, an operation result)
  CibReply     the DC's answer to a CibRequest
  LrmInvoke    run this graph action on your node (and its chain, as each step succeeds)
  LrmRecall    the DC's graph was aborted: drop these chained actions if they have not begun
  ChainRecalled  a member's answer: the chained actions it dropped (they did not run)
  LrmForget    forget a resource (cleanup): unregister it from the lrmd
  LrmForgotten a member's answer: it forgot the resource (its results sent before this one are
               older than the cleanup)
  ActionDone   an action without a CIB record (cancel, forget) finished
  ShutdownOk   the DC has moved everything off the node: its crmd may stop
  DcState      the DC's state changed (idle after a transition, ...): for logs and tools
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Optional

from core.wire import message


# -- local API -----------------------------------------------------------------------------------
@message("crm.cib_query")
class CibQuery:
    request_id: int
    section: Optional[str] = None
    user: str = ""  # set by the crmd's socket for a non-root peer: whose ACLs apply
    groups: list[str] = field(default_factory=list)  # that user's groups (acl_group)


@message("crm.cib_update")
class CibUpdate:
    request_id: int
    op: str  # replace | modify | create | delete
    xml: str
    section: Optional[str] = None
    origin: str = ""  # what to call the input in error messages (a file name)
    user: str = ""  # set by the crmd's socket for a non-root peer: whose ACLs apply
    groups: list[str] = field(default_factory=list)  # that user's groups (acl_group)


@message("crm.node_attr")
class NodeAttr:
    request_id: int
    node: str
    name: str
    value: Optional[str] = None
    lifetime: str = "reboot"  # reboot | forever
    user: str = ""  # set by the crmd's socket for a non-root peer: whose ACLs apply
    groups: list[str] = field(default_factory=list)  # that user's groups (acl_group)


@message("crm.cleanup")
class Cleanup:
    request_id: int
    rsc: str = ""
    node: str = ""
    user: str = ""  # set by the crmd's socket for a non-root peer: whose ACLs apply
    groups: list[str] = field(default_factory=list)  # that user's groups (acl_group)


@message("crm.standby")
class Standby:
    request_id: int
    node: str
    which: str = "all"  # all | foreign | local
    takeover: bool = False
    user: str = ""  # set by the crmd's socket for a non-root peer: whose ACLs apply
    groups: list[str] = field(default_factory=list)  # that user's groups (acl_group)


@message("crm.status")
class CrmStatus:
    request_id: int


@message("crm.subscribe")
class CrmSubscribe:
    request_id: int
    client: str
    pid: int


@message("crm.notice")
class CrmNotice:
    kind: str  # dc | idle | transition
    dc: str
    view: int
    transition: int = 0
    detail: str = ""


# -- between crmds ---------------------------------------------------------------------------------
@message("crmd.hello")
class Hello:
    node: str
    incarnation: int
    view: int
    reply: bool = False  # an answer to another node's hello (do not answer it)
    joined_to: str = ""  # the DC this crmd is joined to ("" = none): the DC offers a join if not it
    join_id: int = 0  # the join it last asked for (its acknowledgement may be on its way) ...
    join_dc: str = ""  # ... and the DC it asked (join ids are each DC's own counter)


@message("crmd.join_offer")
class JoinOffer:
    dc: str
    dc_incarnation: int
    view: int
    join_id: int


@message("crmd.join_request")
class JoinRequest:
    node: str
    incarnation: int
    view: int
    join_id: int
    version: list[int]
    digest: str
    lrm: str  # the node's own <lrm> element (XML)
    shutdown: bool = False
    serial: int = 0  # which change of its history this is (echoed in the JoinAck)
    # nodes this node saw fenced while in a quorate view and has seen in no view since, staying in
    # quorate views all along (crmd/machine.py `fenced_out`): the DC records them as fenced
    fenced: list[str] = field(default_factory=list)
    # (view instance, admin_epoch, epoch) of the last configuration change a DC made in a view
    # holding a majority of the cluster's nodes ([] = none known): joins prefer the replica with
    # the newest such change, then the newest version (crmd/machine.py, "Configuration changes")
    quorate: list[int] = field(default_factory=list)


@message("crmd.cib_fetch")
class CibFetch:
    view: int
    join_id: int


@message("crmd.cib_full")
class CibFull:
    view: int
    join_id: int
    xml: str
    digest: str
    sender: str = ""
    quorate: list[int] = field(default_factory=list)  # the sender's (see JoinRequest)


@message("crmd.join_ack")
class JoinAck:
    view: int
    join_id: int
    dc: str
    version: list[int]
    digest: str
    xml: str  # the whole CIB as of the end of the join (the member replaces its copy with it)
    serial: int = 0  # the history serial of the member's request that the DC used
    quorate: list[int] = field(default_factory=list)  # the DC's, for the CIB it sends (see JoinRequest)
    dc_incarnation: int = 0  # the DC's crmd incarnation (a restarted DC counts its joins from 1 again)
    # the member's requests (CibRequest ids) the DC holds and answers after this acknowledgement:
    # one the member forwarded before its join request, neither answered nor here, was lost
    pending: list[int] = field(default_factory=list)


@message("crmd.cib_diff")
class CibDiff:
    view: int
    source: list[int]  # version before
    target: list[int]  # version after
    edits: list[Any]
    digest: str
    ack: bool = False  # members answer with CibAck once applied (a DC that leaves waits for them)
    quorate: list[int] = field(default_factory=list)  # the DC's after the change (see JoinRequest)


@message("crmd.cib_ack")
class CibAck:
    node: str
    version: list[int]  # the member's version after applying the diff


@message("crmd.cib_resync")
class CibResync:
    node: str
    view: int
    version: list[int]


@message("crmd.cib_request")
class CibRequest:
    origin: str
    request_id: int
    op: str
    args: dict[str, Any] = field(default_factory=dict)


@message("crmd.cib_reply")
class CibReply:
    request_id: int
    ok: bool
    result: Any = None
    error: Optional[str] = None


@message("crmd.lrm_invoke")
class LrmInvoke:
    view: int
    transition_id: int
    key: str  # the transition key the result must carry
    action: dict[str, Any]
    # its chain: [{"key": ..., "action": ..., "after": [action ids]}], run on this node as what
    # each waits for succeeds here (tengine/machine.py, "Chains")
    then: tuple[Any, ...] = ()


@message("crmd.lrm_recall")
class LrmRecall:
    """DC -> member: drop these chained actions of the transition if they have not begun."""

    view: int
    transition_id: int
    action_ids: tuple[int, ...]


@message("crmd.chain_recalled")
class ChainRecalled:
    """member -> DC: the chained actions it dropped before they began (they did not run)."""

    node: str
    transition_id: int
    action_ids: tuple[int, ...]


@message("crmd.lrm_forget")
class LrmForget:
    view: int
    rsc: str


@message("crmd.lrm_forgotten")
class LrmForgotten:
    """member -> DC: it has forgotten `rsc` (the answer to LrmForget). Messages between two
    nodes arrive in order, so every result it sent for `rsc` before this one ran before the
    cleanup: the DC records none of those, from its cleanup until this arrives."""

    node: str
    rsc: str


@message("crmd.action_done")
class ActionDone:
    node: str
    transition_id: int
    action_id: int
    key: str
    ok: bool
    detail: str = ""


@message("crmd.shutdown_ok")
class ShutdownOk:
    view: int
    node: str


@message("crmd.dc_state")
class DcState:
    view: int
    dc: str
    state: str  # joining | idle | scheduling | transition
    transition: int = 0
    active: list[str] = field(default_factory=list)  # resources active on the DC
    version: list[int] = field(default_factory=list)  # the DC's CIB version and digest: members
    digest: str = ""  # whose copy differs at the same version re-sync
