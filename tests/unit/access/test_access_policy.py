"""core.access.decide: who may send what to which daemon (the pure decision the sockets apply)."""

from __future__ import annotations

from core import access
from core.access import Creds, Policy, decide
from core.messages import crm
from core.messages.hbapi import Query, SendCluster, SignOn

HACLIENT_GID = 4242
POLICY = Policy(daemon_uid=0, haclient_gid=HACLIENT_GID)
ROOT = Creds(0, 0, 100, "root", frozenset({0}))
MEMBER = Creds(1500, 1500, 200, "alice", frozenset({1500, HACLIENT_GID}), ("alice", "haclient"))
PRIMARY_MEMBER = Creds(1501, HACLIENT_GID, 201, "carol", frozenset({HACLIENT_GID}))
STRANGER = Creds(1600, 1600, 300, "mallory", frozenset({1600}))


def test_root_and_the_daemons_own_uid_may_do_everything():
    upd = crm.CibUpdate(1, "modify", "<cib/>")
    assert decide("crmd", "crm.cib_update", upd, ROOT, POLICY) == access.PRIVILEGED
    lab = Policy(daemon_uid=1500, haclient_gid=None)  # a lab run by alice: her tools are the admin
    assert decide("crmd", "crm.cib_update", upd, MEMBER, lab).allowed
    assert decide("messaging", "hb.send", SendCluster(1, "crmd", b""), MEMBER, lab).allowed


def test_members_may_read_everywhere_but_not_change():
    for daemon, tag, msg in [("messaging", "hb.query", Query(1, "nodes")), ("ccm", "ccm.query", None),
                             ("crmd", "crm.status", crm.CrmStatus(1)), ("lrmd", "lrm.list", None),
                             ("stonithd", "st.history", None)]:
        for who in (MEMBER, PRIMARY_MEMBER):
            assert decide(daemon, tag, msg, who, POLICY).allowed, (daemon, tag, who)
    for daemon, tag in [("messaging", "hb.send"), ("messaging", "hb.set_rsc"), ("lrmd", "lrm.exec"),
                        ("lrmd", "lrm.register"), ("stonithd", "st.fence"), ("stonithd", "st.confirm"),
                        ("pengine", "pe.schedule"), ("tengine", "te.graph"), ("logd", "log.record")]:
        d = decide(daemon, tag, None, MEMBER, POLICY)
        assert not d.allowed and d.reason.startswith("permission denied: user alice (uid 1500, pid 200)"), d
        assert tag in d.reason and "need root" in d.reason


def test_crmd_changes_of_members_go_to_the_acls_with_the_users_name_and_groups():
    for tag in ("crm.cib_query", "crm.cib_update", "crm.node_attr", "crm.standby", "crm.cleanup"):
        d = decide("crmd", tag, None, MEMBER, POLICY)
        assert d.allowed and d.acl_user == "alice" and d.acl_groups == ("alice", "haclient")
    nameless = Creds(1700, HACLIENT_GID, 5, "", frozenset({HACLIENT_GID}))
    d = decide("crmd", "crm.cib_update", None, nameless, POLICY)
    assert not d.allowed and "no user name" in d.reason


def test_strangers_get_nothing_and_unknown_requests_are_refused():
    d = decide("crmd", "crm.status", crm.CrmStatus(1), STRANGER, POLICY)
    assert not d.allowed and "neither root nor in group haclient" in d.reason
    no_group = Policy(daemon_uid=0, haclient_gid=None)
    d = decide("crmd", "crm.status", crm.CrmStatus(1), MEMBER, no_group)
    assert not d.allowed and "haclient (missing on this host)" in d.reason
    assert not decide("crmd", "crm.something_new", None, MEMBER, POLICY).allowed
    assert not decide("nosuchd", "ping.req", None, MEMBER, POLICY).allowed


def test_signing_on_for_cluster_messages_needs_root():
    assert decide("messaging", "hb.signon", SignOn(1, "mon", 5), MEMBER, POLICY).allowed
    d = decide("messaging", "hb.signon", SignOn(1, "spy", 5, ["crmd"]), MEMBER, POLICY)
    assert not d.allowed and "crmd" in d.reason
    assert decide("messaging", "hb.signon", SignOn(1, "crmd", 5, ["crmd"]), ROOT, POLICY).allowed


def test_every_registered_request_of_a_daemon_socket_is_classified_or_refused():
    """A tag in READ_ONLY/ACL_CHECKED that no message declares is a typo that would let nothing in."""
    from core import wire
    import core.messages  # noqa: F401  (registers every message)
    from core.messages import ccm, common, hbapi, lrm, stonith  # noqa: F401
    for table in (access.READ_ONLY, access.ACL_CHECKED):
        for daemon, tags in table.items():
            for tag in tags:
                assert wire.registered(tag) is not None, (daemon, tag)


def test_apiauth_grants_open_the_messaging_api_to_their_users_and_groups():
    grants = (access.ApiGrant("ipfail", frozenset({1600}), frozenset()),
              access.ApiGrant("pinger", frozenset(), frozenset({HACLIENT_GID})))
    policy = Policy(daemon_uid=0, haclient_gid=HACLIENT_GID, api_grants=grants)
    ipfail = decide("messaging", "hb.signon", SignOn(1, "ipfail", 5, ["ipfail"]), STRANGER, policy)
    assert ipfail.allowed  # uid=1600 (not even in haclient) may be ipfail
    assert decide("messaging", "hb.send", SendCluster(1, "ipfail", b""), STRANGER, policy).allowed
    assert not decide("messaging", "hb.signon", SignOn(1, "crmd", 5, ["crmd"]), STRANGER, policy).allowed
    assert decide("messaging", "hb.signon", SignOn(1, "pinger", 5, ["ping"]), MEMBER, policy).allowed
    assert not decide("messaging", "hb.signon", SignOn(1, "crmd", 5, ["crmd"]), MEMBER, policy).allowed
    assert not decide("lrmd", "lrm.exec", None, STRANGER, policy).allowed  # messaging's API only
    assert not decide("messaging", "hb.send", SendCluster(1, "x", b""), MEMBER, POLICY).allowed
