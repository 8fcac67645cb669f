import os
import stat

import pytest
from hypothesis import given, strategies as st

from core.config import parse_authkeys, parse_haresources
from core.config.load import read_authkeys
from core.errors import ConfigError


def test_authkeys_active_and_all_keys():
    keys = parse_authkeys("auth 2\n1 md5 one\n2 sha1 two words\n3 crc\n4 sha256 four\n")
    assert keys.active == 2 and keys.active_key.method == "sha1" and keys.active_key.secret == b"two words"
    assert [k.method for k in keys.keys] == ["md5", "sha1", "crc", "sha256"]


@pytest.mark.parametrize("text,needle", [
    ("1 sha1 x\n", "no 'auth N' line"),
    ("auth 2\n1 sha1 x\n", "authkeys:1: auth 2: no key with index 2"),
    ("auth 1\n1 blowfish x\n", "unknown auth method"),
    ("auth 1\n1 sha1\n", "has no secret"),
    ("auth 1\n16 sha1 x\n", "out of range"),
])
def test_authkeys_errors(text, needle):
    with pytest.raises(ConfigError) as info:
        parse_authkeys(text)
    assert needle in str(info.value)


def test_authkeys_mode_must_be_600(tmp_path):
    path = tmp_path / "authkeys"
    path.write_text("auth 1\n1 sha1 secret\n")
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError) as info:
        read_authkeys(str(path))
    assert "mode 600" in str(info.value)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    assert read_authkeys(str(path)).active == 1


def test_haresources_groups_continuations_and_ip_shorthand():
    text = """# comment
node1 198.18.0.100 Filesystem::/dev/sdb1::/data::ext4 \\
      httpd   # web
node2 IPaddr2::198.18.0.101/24/eth0 tomcat
"""
    groups = parse_haresources(text, nodes=("node1", "node2"))
    assert [g.node for g in groups] == ["node1", "node2"]
    first = groups[0].resources
    assert [(r.name, r.args) for r in first] == [
        ("IPaddr", ("198.18.0.100",)), ("Filesystem", ("/dev/sdb1", "/data", "ext4")), ("httpd", ())]
    assert groups[1].resources[0].args == ("198.18.0.101/24/eth0",)
    assert groups[0].line == 2 and groups[1].line == 4


def test_haresources_unknown_node():
    with pytest.raises(ConfigError) as info:
        parse_haresources("node9 httpd\n", "haresources", nodes=("node1",))
    assert str(info.value) == "haresources:1: node 'node9' is not in ha.cf's node list"


@given(st.text(max_size=200))
def test_haresources_never_crashes(text):
    try:
        parse_haresources(text)
    except ConfigError:
        pass


def test_sealing_methods_and_their_secrets():
    keys = parse_authkeys("auth 2\n1 sha1 old\n2 aes-256-gcm 0123456789abcdef01\n3 ChaCha20-Poly1305 0123456789abcdefXY\n")
    assert [k.sealing for k in keys.keys] == [False, True, True]
    assert keys.key(3).method == "chacha20-poly1305"
    with pytest.raises(ConfigError) as info:
        parse_authkeys("auth 1\n1 aes-256-gcm short\n")
    assert "authkeys:2: key 1 (aes-256-gcm): the secret is 5 bytes, want at least 16" in str(info.value)


def test_check_config_refuses_sealing_keys_others_can_read(tmp_path, capsys):
    from core import checkconfig

    (tmp_path / "ha.cf").write_text("keepalive 1\ndeadtime 10\nbcast eth0\nauto_failback on\nnode node1 node2\n")
    keys = tmp_path / "authkeys"
    keys.write_text("auth 2\n1 sha1 old\n2 aes-256-gcm 0123456789abcdef0123\n")
    argv = ["--confdir", str(tmp_path), "--node-name", "node1", "--no-host"]
    os.chmod(keys, 0o640)
    assert checkconfig.main(argv) == 2
    assert "bad permissions 640" in capsys.readouterr().err
    os.chmod(keys, 0o600)
    assert checkconfig.main(argv) == 0
    assert "sealing with key 2 (aes-256-gcm), 2 keys accepted" in capsys.readouterr().out
