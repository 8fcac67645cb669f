"""core.cib.acl: Pacemaker's CIB ACLs (selection, precedence, filtered reads, checked writes)."""

from __future__ import annotations

import pytest

from core.cib import acl
from core.cib.xmltree import parse_xml, to_xml

CIB = """\
<cib epoch="3" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="opts-acl" name="enable-acl" value="true"/>
        <nvpair id="opts-stonith" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes><node id="n1" uname="node1"/></nodes>
    <resources>
      <primitive id="web" class="ocf" provider="heartbeat" type="apache">
        <instance_attributes id="web-params"><nvpair id="web-secret" name="password" value="hunter2"/></instance_attributes>
        <meta_attributes id="web-meta"><nvpair id="web-role" name="target-role" value="Started"/></meta_attributes>
      </primitive>
      <primitive id="db" class="ocf" provider="heartbeat" type="pgsql" description="x"/>
    </resources>
    <constraints/>
    <acls>
      <acl_target id="alice"><role id="observer"/></acl_target>
      <acl_target id="bob"><role id="none"/></acl_target>
      <acl_group id="ops"><role id="operator"/></acl_group>
      <acl_target id="eve"><role id="broken"/></acl_target>
      <acl_role id="observer">
        <acl_permission id="o-read" kind="read" xpath="/cib"/>
        <acl_permission id="o-role" kind="write" xpath="//nvpair[@name='target-role']"/>
        <acl_permission id="o-secret" kind="deny" reference="web-params"/>
      </acl_role>
      <acl_role id="none"/>
      <acl_role id="operator">
        <acl_permission id="op-res" kind="write" object-type="primitive" attribute="description"/>
        <acl_permission id="op-read" kind="read" xpath="/cib/configuration/resources"/>
      </acl_role>
      <acl_role id="broken"><acl_permission id="b1" kind="read" xpath="//primitive[position()=1]"/></acl_role>
    </acls>
  </configuration>
  <status/>
</cib>
"""


def root():
    return parse_xml(CIB)


def changed(edit) -> tuple:
    old = root()
    new = root()
    edit(new)
    return old, new


def node_by_id(doc, ident):
    return next(n for n in doc.iter() if n.get("id") == ident)


def test_enable_acl_is_false_unless_set_true():
    assert acl.enabled(root())
    assert not acl.enabled(parse_xml(CIB.replace('name="enable-acl" value="true"', 'name="enable-acl" value="false"')))
    assert not acl.enabled(parse_xml(CIB.replace('name="enable-acl"', 'name="other"')))


def test_xpath_subset_selects_like_xpath():
    doc = root()
    ids = lambda xp: [n.get("id") for n in acl.select(doc, acl.compile_xpath(xp))]  # noqa: E731
    assert ids("/cib/configuration/resources/primitive") == ["web", "db"]
    assert ids("//nvpair[@name='target-role']") == ["web-role"]
    assert ids("//primitive[@type=\"pgsql\" or @id='web']") == ["web", "db"]
    assert ids("//*[@id='web-params']") == ["web-params"]
    assert ids("/cib/configuration/resources/*[@description]") == ["db"]
    assert ids("//primitive[@id!='web']") == ["db"]
    assert ids("/nosuch") == []
    for bad in ("cib/configuration", "//primitive[position()=1]", "/cib/..", "//a[@b=c]"):
        with pytest.raises(acl.XPathError):
            acl.compile_xpath(bad)


def test_reads_are_filtered_deny_pruned_and_scaffolding_kept():
    doc = root()
    alice = acl.user_acl(doc, "alice", [])
    seen = to_xml(acl.filter_read(doc, alice), indent=None)
    assert "hunter2" not in seen and 'id="web-params"' not in seen and 'value="Started"' in seen
    assert "<acls>" in seen  # read /cib: she sees the ACLs too, as in Pacemaker
    ops = acl.user_acl(doc, "carol", ["users", "ops"])
    got = acl.filter_read(doc, ops)
    # only the resources, inside bare scaffolding: cib and configuration keep no attribute
    assert to_xml(got, indent=None).startswith("<cib><configuration><resources><primitive id=\"web\" class=")
    assert got.find("status") is None and got.get("epoch") is None
    assert "hunter2" in to_xml(got, indent=None)  # nothing denies the operator the params


def test_users_without_usable_acls_get_nothing():
    doc = root()
    for user, groups, why in [("bob", [], "has no ACLs"), ("nobody", [], "has no ACLs"),
                              ("eve", [], "acl_permission b1: unsupported predicate")]:
        rules = acl.user_acl(doc, user, groups)
        assert acl.filter_read(doc, rules) is None
        assert why in acl.refusal(rules)
        old, new = changed(lambda d: node_by_id(d, "web-role").set("value", "Stopped"))
        assert acl.check_write(old, new, rules) == [acl.refusal(rules)]


def test_writes_only_where_write_is_granted():
    doc = root()
    alice = acl.user_acl(doc, "alice", [])
    old, new = changed(lambda d: node_by_id(d, "web-role").set("value", "Stopped"))
    assert acl.check_write(old, new, alice) == []
    old, new = changed(lambda d: node_by_id(d, "web").set("type", "nginx"))
    assert acl.check_write(old, new, alice) == [
        "may not change type of /cib/configuration/resources/primitive[@id='web']"]
    old, new = changed(lambda d: node_by_id(d, "web-params").children.clear()
                       if isinstance(node_by_id(d, "web-params").children, list) else None)
    problems = acl.check_write(old, new, alice)
    assert problems == ["may not delete /cib/configuration/resources/primitive[@id='web']"
                        "/instance_attributes[@id='web-params']/nvpair[@id='web-secret']"]
    # the version attributes the CIB maintains are not the user's change
    old, new = changed(lambda d: d.set("epoch", "99"))
    assert acl.check_write(old, new, alice) == []


def test_creating_needs_write_except_bare_scaffolding():
    doc = root()
    alice = acl.user_acl(doc, "alice", [])

    def add_meta(d):
        meta = node_by_id(d, "db").sub("meta_attributes", {"id": "db-meta"})
        meta.sub("nvpair", {"id": "db-role", "name": "target-role", "value": "Stopped"})
    old, new = changed(add_meta)
    assert acl.check_write(old, new, alice) == []  # scaffolding + a target-role nvpair

    def add_other(d):
        meta = node_by_id(d, "db").sub("meta_attributes", {"id": "db-meta"})
        meta.sub("nvpair", {"id": "db-prio", "name": "priority", "value": "5"})
    old, new = changed(add_other)
    assert acl.check_write(old, new, alice) == [
        "may not create /cib/configuration/resources/primitive[@id='db']/meta_attributes[@id='db-meta']"
        "/nvpair[@id='db-prio']"]

    def add_acl(d):
        node_by_id(d, "alice").sub("role", {"id": "admin"})
    old, new = changed(add_acl)
    assert acl.check_write(old, new, alice)  # a bare element under acls is no scaffolding


def test_deny_wins_over_write_on_the_same_element_and_above():
    text = CIB.replace('<acl_role id="none"/>', '<acl_role id="none">'
                       '<acl_permission id="n1" kind="write" xpath="/cib"/>'
                       '<acl_permission id="n2" kind="deny" xpath="//primitive[@id=\'db\']"/>'
                       '<acl_permission id="n3" kind="write" xpath="//primitive[@id=\'db\']"/></acl_role>')
    doc = parse_xml(text)
    bob = acl.user_acl(doc, "bob", [])
    old, new = parse_xml(text), parse_xml(text)
    node_by_id(new, "db").set("description", "y")
    node_by_id(new, "web").set("description", "y")
    assert acl.check_write(old, new, bob) == [
        "may not change description of /cib/configuration/resources/primitive[@id='db']"]
    assert 'id="db"' not in to_xml(acl.filter_read(doc, bob), indent=None)


def test_object_type_with_attribute_grants_the_whole_element_as_pacemaker():
    doc = root()
    ops = acl.user_acl(doc, "dave", ["ops"])
    old, new = changed(lambda d: node_by_id(d, "db").set("description", "changed"))
    assert acl.check_write(old, new, ops) == []
    old, new = changed(lambda d: node_by_id(d, "web").set("description", "new"))
    assert acl.check_write(old, new, ops)  # web has no description attribute: not selected
