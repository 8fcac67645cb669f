"""Pacemaker 2.1 + Corosync 3 (Debian's packages) in the lab's node namespaces, so our stack can be
measured against the one Linux-HA became, on the same hosts, wire and client.

Corosync and Pacemaker only know fixed paths (/etc/corosync, /var/lib/pacemaker, /run, /dev/shm
for libqb's ring buffers) and pids repeat across nodes, so each node runs the way
shared/anchors/pacemaker does it, as PID 1 of its own pid, mount, UTS and IPC namespaces inside the
lab node's network namespace:

    ip netns exec NS unshare --pid --fork --mount-proc --mount --uts --ipc -- bash D/init.sh

`init.sh` sets the hostname (= the node name), mounts a fresh tmpfs on /run and /dev/shm,
bind-mounts the node's directories over /etc/corosync, /var/lib/corosync, /var/lib/pacemaker,
/var/log/corosync, /var/log/pacemaker and /etc/init.d (where the LSB class finds the service's
script), starts `corosync -f`, then `pacemakerd`, and stays as the namespace's init (reaping
orphans) until killed. The host's own directories are only hidden, never written. libqb's IPC
uses abstract unix sockets, which belong to the network namespace: each node's daemons talk only
to each other.

The configuration is loaded before the start, as the node's CIB on disk (`cib.xml`, no
signature), so options that matter from the first second on (dc-deadtime) are in force at a cold
start. Tools (`crm_mon`, `crm_resource`, `crmadmin`) run inside the node with
`nsenter -t <init> -n -m -p -u -i` and Pacemaker's own binaries (absolute paths: our venv has
tools of the same names).

Processes are tracked by PID and start time, never by name: the init (the holder of the
namespaces: SIGKILL to it makes the kernel kill everything in its pid namespace, the mounts
vanish with it), and corosync's and pacemakerd's host PIDs (read from the pid files the init
writes, translated with /proc/PID/status NSpid) for `kill_stack`, which kills the cluster daemons
and leaves the services and addresses they started in place, as a crash of the stack would.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Optional, Sequence

from lab import host, plan
from lab.plan import LabError

if TYPE_CHECKING:
    from lab.lab import Lab

COROSYNC = "/usr/sbin/corosync"
PACEMAKERD = "/usr/sbin/pacemakerd"
SBIN = "/usr/sbin"
IPADDR2_OCF = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2"
TOOL_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"  # Pacemaker's crm_* first, never our venv's
PCMK_SUBDIR = "pcmk"  # a lab node's Pacemaker directory: <lab root>/nodeK/pcmk
CLUSTER_NAME = "cmpcl"
GROUP = "g_web"

START_TIMEOUT_S = 15.0
KILL_TIMEOUT_S = 10.0
TOOL_TIMEOUT_S = 10.0

# node directory -> where init.sh mounts it
MOUNTS = (("etc-corosync", "/etc/corosync"), ("var-lib-corosync", "/var/lib/corosync"),
          ("var-lib-pacemaker", "/var/lib/pacemaker"), ("log-corosync", "/var/log/corosync"),
          ("log-pacemaker", "/var/log/pacemaker"), ("initd", "/etc/init.d"))
PCMK_STATE_SUBDIRS = ("blackbox", "cib", "cores", "pengine")


def missing() -> list[str]:
    """What this machine lacks to run Pacemaker nodes in the lab (empty when nothing), phrased so
    the user knows what to install or how to run."""
    problems = []
    if not host.is_root():
        problems.append("needs root (network, pid, mount, UTS and IPC namespaces)")
    for tool, package in (("unshare", "util-linux"), ("nsenter", "util-linux"), ("socat", "socat")):
        if not host.have_tool(tool):
            problems.append(f"{tool} not in PATH: apt-get install {package}")
    for path, package in ((COROSYNC, "corosync"), (PACEMAKERD, "pacemaker"),
                          (f"{SBIN}/crm_mon", "pacemaker-cli-utils"), (f"{SBIN}/crm_resource", "pacemaker-cli-utils"),
                          (IPADDR2_OCF, "resource-agents")):
        if not os.path.exists(path):
            problems.append(f"{path} missing: apt-get install {package}")
    for _, target in MOUNTS:
        if not os.path.isdir(target):
            problems.append(f"{target} missing (a bind mount target): apt-get install corosync pacemaker")
    try:
        import pwd
        pwd.getpwnam("hacluster")
    except KeyError:
        problems.append("no user hacluster: apt-get install pacemaker")
    return problems


# -- configuration (pure) ------------------------------------------------------------------------

@dataclass(frozen=True)
class Timings:
    """Corosync's and Pacemaker's timing knobs. The defaults are the packages' own (knet, token
    3000 ms, dc-deadtime 20 s); `fast()` is the fastest setting the anchor found stable on this
    kind of machine (udpu, token 300 ms: with knet, its 150 ms link ping timeout made the ring
    re-form every few seconds while idle)."""

    transport: str = "knet"
    token_ms: Optional[int] = None  # None: corosync's default (3000)
    dc_deadtime: Optional[str] = None  # None: Pacemaker's default (20s)

    @classmethod
    def fast(cls) -> "Timings":
        return cls(transport="udpu", token_ms=300, dc_deadtime="2s")

    def describe(self) -> str:
        token = f"token {self.token_ms} ms" if self.token_ms else "token 3000 ms (default)"
        dc = f"dc-deadtime {self.dc_deadtime}" if self.dc_deadtime else "dc-deadtime 20s (default)"
        return f"corosync {self.transport}, {token}; pacemaker {dc}"


def render_corosync_conf(nodes: Sequence[tuple[str, str]], timings: Timings) -> str:
    """corosync.conf for nodes [(name, address)]: two_node quorum for 2 nodes (the survivor keeps
    quorum; it implies wait_for_all), logging to the node's own /var/log/corosync."""
    token = f"    token: {timings.token_ms}\n" if timings.token_ms else ""
    nodelist = "".join(f"    node {{\n        ring0_addr: {addr}\n        name: {name}\n        nodeid: {i}\n    }}\n"
                       for i, (name, addr) in enumerate(nodes, 1))
    two_node = "    two_node: 1\n" if len(nodes) == 2 else ""
    return (f"# generated by lab/pacemaker.py\ntotem {{\n    version: 2\n    cluster_name: {CLUSTER_NAME}\n"
            f"    transport: {timings.transport}\n{token}    crypto_cipher: none\n    crypto_hash: none\n}}\n"
            f"nodelist {{\n{nodelist}}}\nquorum {{\n    provider: corosync_votequorum\n{two_node}}}\n"
            "logging {\n    to_logfile: yes\n    logfile: /var/log/corosync/corosync.log\n    to_syslog: no\n"
            "    to_stderr: no\n    timestamp: hires\n}\n")


def render_cib(vip: str, prefix: int, nic: str, service: str, timings: Timings, stickiness: int = 100,
               monitor: str = "10s", constraints: str = "") -> str:
    """The CIB every node starts with: fencing off (no fence device reaches a namespace; see
    bench/compare.py), stickiness, and the group g_web = IPaddr2 `vip` + the LSB script `service`
    (in the node's /etc/init.d)."""
    props = [("stonith-enabled", "false"), ("no-quorum-policy", "stop"), ("cluster-name", CLUSTER_NAME)]
    if timings.dc_deadtime:
        props.append(("dc-deadtime", timings.dc_deadtime))
    nvpairs = "".join(f'<nvpair id="opt-{name}" name="{name}" value="{value}"/>' for name, value in props)
    return f"""<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.0" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config><cluster_property_set id="cib-bootstrap-options">{nvpairs}</cluster_property_set></crm_config>
    <nodes/>
    <resources>
      <group id="{GROUP}">
        <primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2">
          <instance_attributes id="vip-ia">
            <nvpair id="vip-ip" name="ip" value="{vip}"/>
            <nvpair id="vip-mask" name="cidr_netmask" value="{prefix}"/>
            <nvpair id="vip-nic" name="nic" value="{nic}"/>
          </instance_attributes>
          <operations><op id="vip-mon" name="monitor" interval="{monitor}" timeout="20s"/></operations>
        </primitive>
        <primitive id="svc" class="lsb" type="{service}">
          <operations><op id="svc-mon" name="monitor" interval="{monitor}" timeout="20s"/></operations>
        </primitive>
      </group>
    </resources>
    <constraints>{constraints}</constraints>
    <rsc_defaults><meta_attributes id="rsc-options">
      <nvpair id="rsc-stickiness" name="resource-stickiness" value="{stickiness}"/></meta_attributes></rsc_defaults>
    <op_defaults><meta_attributes id="op-options">
      <nvpair id="op-timeout" name="timeout" value="20s"/></meta_attributes></op_defaults>
  </configuration>
  <status/>
</cib>
"""


def render_lsb_wrapper(script: str, port: int) -> str:
    """An LSB init script (`NAME start|stop|status`) around a heartbeat-class script that takes
    its port first (bench/svc/tcpsvc): Pacemaker's lsb class passes only the action."""
    return f'#!/bin/sh\n# generated by lab/pacemaker.py\nexec {shlex.quote(script)} {port} "$@"\n'


def render_init(node: str, root: str) -> str:
    """The node's init (PID 1 of its pid namespace); see the module docstring."""
    mounts = "\n".join(f"mount --bind {shlex.quote(os.path.join(root, d))} {target}" for d, target in MOUNTS)
    return f"""#!/bin/bash
# generated by lab/pacemaker.py: PID 1 of node {node}'s pid+mount+uts+ipc namespaces
set -e
mount --make-rprivate /
hostname {shlex.quote(node)}
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/resource-agents /run/lock /run/crm /run/corosync
chown hacluster:haclient /run/crm; chmod 750 /run/crm
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
{mounts}
set +e
export PATH={TOOL_PATH}
export PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_logfacility=none PCMK_debug=no
{COROSYNC} -f > /var/log/corosync/stdout.log 2>&1 &
echo $! > /run/lab_corosync.pid
for i in $(seq 1 100); do corosync-cfgtool -s >/dev/null 2>&1 && break; sleep 0.1; done
{PACEMAKERD} > /var/log/pacemaker/stdout.log 2>&1 &
echo $! > /run/lab_pacemakerd.pid
# the namespace's init: reap orphans until killed from outside (bounded: one day)
for i in $(seq 1 86400); do sleep 1; done
"""


# -- one node ------------------------------------------------------------------------------------

def _ns_pid_of(pid: int) -> Optional[int]:
    """The PID a process has in its own (innermost) pid namespace."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return None





class PacemakerNode:
    """One Corosync + Pacemaker node: its directory, its namespaces' init and the daemons."""

    def __init__(self, name: str, netns: str, root: str, corosync_conf: str, cib_xml: str,
                 init_scripts: Optional[Mapping[str, str]] = None) -> None:
        """name: node name (hostname and corosync name); netns: an existing network namespace;
        root: a directory of its own (created by prepare, removed by cleanup); init_scripts:
        /etc/init.d name -> script text (the LSB services)."""
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            raise LabError(f"node name {name!r}: want letters, digits, - or _")
        self.name = name
        self.netns = netns
        self.root = os.path.abspath(root)
        self.corosync_conf = corosync_conf
        self.cib_xml = cib_xml
        self.init_scripts = dict(init_scripts or {})
        self.holder: Optional[tuple[int, int]] = None  # the namespaces' init: (host pid, start time)
        self.corosync: Optional[tuple[int, int]] = None
        self.pacemakerd: Optional[tuple[int, int]] = None
        self._launcher: Optional[subprocess.Popen] = None
        self.killed_at_ms: Optional[float] = None  # monotonic ms of kill_stack's first signal

    def dir(self, which: str) -> str:
        return os.path.join(self.root, which)

    # -- files -----------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the node's directories (owners as the packages make them) and files."""
        os.makedirs(self.root, mode=0o755, exist_ok=True)
        for which, _ in MOUNTS:
            os.makedirs(self.dir(which), mode=0o755, exist_ok=True)
        os.makedirs(self.dir("etc-corosync/uidgid.d"), exist_ok=True)
        with open(self.dir("etc-corosync/corosync.conf"), "w", encoding="utf-8") as handle:
            handle.write(self.corosync_conf)
        for name, text in self.init_scripts.items():
            path = os.path.join(self.dir("initd"), name)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(path, 0o755)
        host.run(["chown", "hacluster:haclient", self.dir("log-pacemaker")])
        os.chmod(self.dir("log-pacemaker"), 0o770)
        with open(self.dir("init.sh"), "w", encoding="utf-8") as handle:
            handle.write(render_init(self.name, self.root))
        self.reset_state()

    def reset_state(self) -> None:
        """/var/lib/pacemaker as on a fresh install with our configuration: the CIB on disk (what
        a node reads at start; a node that rejoins takes the cluster's newer CIB) and nothing else
        (no old transitions, no corosync ring state)."""
        lib = self.dir("var-lib-pacemaker")
        shutil.rmtree(lib, ignore_errors=True)
        shutil.rmtree(self.dir("var-lib-corosync"), ignore_errors=True)
        os.makedirs(self.dir("var-lib-corosync"), mode=0o755)
        for sub in PCMK_STATE_SUBDIRS:
            os.makedirs(os.path.join(lib, sub), mode=0o750)
        with open(os.path.join(lib, "cib", "cib.xml"), "w", encoding="utf-8") as handle:
            handle.write(self.cib_xml)
        os.chmod(os.path.join(lib, "cib", "cib.xml"), 0o600)
        host.run(["chown", "-R", "hacluster:haclient"] + [os.path.join(lib, s) for s in PCMK_STATE_SUBDIRS])

    # -- life cycle --------------------------------------------------------------------------------
    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Start the node (prepare() first if not done); returns once corosync and pacemakerd run,
        with their host PIDs known. LabError with the end of the logs otherwise."""
        if self.running():
            raise LabError(f"{self.name}: Pacemaker node runs already [init pid {self.holder and self.holder[0]}]")
        if not os.path.isfile(self.dir("init.sh")):
            self.prepare()
        if host.netns_inode(self.netns) is None:
            raise LabError(f"{self.name}: network namespace {self.netns} does not exist")
        self.holder = self.corosync = self.pacemakerd = None
        argv = ["ip", "netns", "exec", self.netns, "unshare", "--pid", "--fork", "--mount-proc", "--mount",
                "--uts", "--ipc", "--", "bash", self.dir("init.sh")]
        with open(self.dir("init.out"), "ab") as out:
            self._launcher = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                              start_new_session=True, close_fds=True,
                                              env={"PATH": TOOL_PATH, "LANG": "C"})
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                self._adopt()
                if self.corosync is not None and self.pacemakerd is not None:
                    return
                code = self._launcher.poll()
                if code is not None:
                    raise LabError(f"{self.name}: the node's init exited ({code}){self.log_tail()}")
                if time.monotonic() >= deadline:
                    raise LabError(f"{self.name}: corosync/pacemakerd not running within {timeout_s:g} s"
                                   f"{self.log_tail()}")
                time.sleep(0.05)
        except BaseException:
            self.hard_stop()
            raise

    def _adopt(self) -> None:
        """Find the init (the child of the unshare process we started) and the daemons it started
        (its children whose namespace PID is in its pid files)."""
        assert self._launcher is not None
        if self.holder is None:
            for child in host.descendants(self._launcher.pid):
                if _ns_pid_of(child) == 1:
                    start = host.start_time(child)
                    if start is not None:
                        self.holder = (child, start)
                        break
            if self.holder is None:
                return
        pid = self.holder[0]
        for attr, pidfile in (("corosync", "lab_corosync.pid"), ("pacemakerd", "lab_pacemakerd.pid")):
            if getattr(self, attr) is not None:
                continue
            ns_pid = host.read_int_file(f"/proc/{pid}/root/run/{pidfile}")
            if ns_pid is None:
                continue
            for child in host.descendants(pid):
                if _ns_pid_of(child) == ns_pid:
                    start = host.start_time(child)
                    if start is not None:
                        setattr(self, attr, (child, start))
                    break

    def running(self) -> bool:
        """The node's init runs (the node is "powered"), whatever its daemons do."""
        return self.holder is not None and host.alive(*self.holder)

    def stack_alive(self) -> bool:
        return any(p is not None and host.alive(*p) for p in (self.corosync, self.pacemakerd))

    def kill_stack(self, timeout_s: float = KILL_TIMEOUT_S) -> bool:
        """SIGKILL corosync, pacemakerd and every process they forked (a crash of the cluster
        stack); the services and addresses they started stay. The trees are frozen (SIGSTOP) and
        collected again until nothing new appears, so no child forked meanwhile escapes. True when
        all are gone."""
        roots = [p for p in (self.corosync, self.pacemakerd) if p is not None and host.alive(*p)]
        host.signal_all(roots, signal.SIGSTOP)  # the stack stops here; the rest is bookkeeping
        self.killed_at_ms = time.monotonic_ns() / 1e6
        frozen: set[tuple[int, int]] = set(roots)
        deadline = time.monotonic() + timeout_s
        for _ in range(100):  # bounded by count as well as by time
            found = {q for root in roots for q in host.tree(*root)}
            found |= {(c, s) for p, _ in frozen for c in host.descendants(p)
                      for s in [host.start_time(c)] if s is not None}
            new = found - frozen
            if not new or time.monotonic() >= deadline:
                break
            host.signal_all(new, signal.SIGSTOP)
            frozen |= new
        host.signal_all(frozen, signal.SIGKILL)
        return host.wait_gone(frozen, max(0.5, deadline - time.monotonic()))

    def hard_stop(self, timeout_s: float = KILL_TIMEOUT_S) -> bool:
        """SIGKILL the namespaces' init: the kernel kills every process of its pid namespace (the
        daemons, the services, the agents) and the mounts go with the last of them. True when
        the init and the process we started are gone."""
        ok = True
        if self.holder is not None and host.alive(*self.holder):
            host.signal_all([self.holder], signal.SIGKILL)
            ok = host.wait_gone([self.holder], timeout_s)
        if self._launcher is not None:
            if self._launcher.poll() is None:
                start = host.start_time(self._launcher.pid)
                if start is not None:
                    host.signal_all([(self._launcher.pid, start)], signal.SIGKILL)
            try:
                self._launcher.wait(timeout_s)
            except subprocess.TimeoutExpired:
                ok = False
        return ok

    def cleanup(self, remove_dir: bool = True) -> list[str]:
        """Leave nothing behind: kill the node, check no mount of its directory is left on the host,
        remove the directory. Returns the problems (empty when everything is gone)."""
        problems: list[str] = []
        if not self.hard_stop():
            problems.append(f"{self.name}: the node's init [pid {self.holder and self.holder[0]}] would not die")
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
            if any(self.root in line for line in handle):
                problems.append(f"{self.name}: the host has mounts under {self.root}")
        if remove_dir and not problems:
            shutil.rmtree(self.root, ignore_errors=True)
        return problems

    # -- inside the node ---------------------------------------------------------------------------
    def tool_argv(self, argv: Sequence[str]) -> list[str]:
        if not self.running():
            raise LabError(f"{self.name}: the node is not running")
        assert self.holder is not None
        return ["nsenter", "-t", str(self.holder[0]), "-n", "-m", "-p", "-u", "-i", "--"] + list(argv)

    def tool(self, argv: Sequence[str], timeout_s: float = TOOL_TIMEOUT_S) -> subprocess.CompletedProcess:
        """Run a command inside the node (Pacemaker's tools: give absolute paths or bare names,
        found in /usr/sbin first)."""
        return subprocess.run(self.tool_argv(argv), capture_output=True, text=True, timeout=timeout_s,
                              stdin=subprocess.DEVNULL, env={"PATH": TOOL_PATH, "LANG": "C"})

    def status(self) -> Optional["ClusterView"]:
        """What crm_mon says on this node (None when it cannot say: node or daemons down)."""
        if not self.running():
            return None
        try:
            done = self.tool([f"{SBIN}/crm_mon", "-1", "--output-as=xml"], timeout_s=5)
        except (subprocess.TimeoutExpired, LabError):
            return None
        if done.returncode not in (0,) or "<pacemaker-result" not in done.stdout:
            return None
        return parse_crm_mon(done.stdout)

    def log_tail(self, lines: int = 12) -> str:
        return (host.file_tail(self.dir("init.out"), lines)
                + host.file_tail(self.dir("log-corosync/corosync.log"), lines)
                + host.file_tail(self.dir("log-pacemaker/pacemaker.log"), lines))


@dataclass(frozen=True)
class ClusterView:
    """The part of `crm_mon --output-as=xml` a benchmark waits on."""

    dc: Optional[str]
    quorum: bool
    online: tuple[str, ...]
    group_on: tuple[str, ...]  # nodes where every member of the group is Started
    pending: bool  # some resource is starting, stopping, failed or unmanaged

    def settled(self, nodes: Sequence[str]) -> bool:
        return (self.dc is not None and self.quorum and sorted(self.online) == sorted(nodes)
                and len(self.group_on) == 1 and not self.pending)


def parse_crm_mon(text: str) -> ClusterView:
    """ClusterView from crm_mon's XML (Pacemaker 2.1's `--output-as=xml`)."""
    root = ET.fromstring(text)
    dc_el = root.find("summary/current_dc")
    dc = dc_el.get("name") if dc_el is not None and dc_el.get("present") == "true" else None
    quorum = dc_el is not None and dc_el.get("with_quorum") == "true"
    online = tuple(n.get("name", "") for n in root.findall("nodes/node") if n.get("online") == "true")
    members = []
    pending = False
    for group in root.findall("resources/group"):
        if group.get("id") != GROUP:
            continue
        for rsc in group.findall("resource"):
            where = {n.get("name", "") for n in rsc.findall("node")}
            started = rsc.get("role") == "Started" and rsc.get("active") == "true"
            members.append(where if started else set())
            if rsc.get("failed") == "true" or rsc.get("managed") == "false" or rsc.get("role") not in ("Started", "Stopped"):
                pending = True
    common = set.intersection(*members) if members else set()
    return ClusterView(dc=dc, quorum=quorum, online=online, group_on=tuple(sorted(common)), pending=pending)


class PacemakerCluster:
    """Pacemaker nodes for every node of a netns lab (LabSpec(run_stack=False)), directories under
    <lab root>/nodeK/pcmk so `lab.down()` removes them too. As a context manager it always cleans
    up."""

    def __init__(self, nodes: Sequence[PacemakerNode]) -> None:
        self.nodes = list(nodes)

    def __enter__(self) -> "PacemakerCluster":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        problems = self.cleanup()
        if problems and exc_type is None:
            raise LabError("Pacemaker cleanup: " + "; ".join(problems))

    def node(self, name: str) -> PacemakerNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise LabError(f"no Pacemaker node {name!r} (nodes: {', '.join(n.name for n in self.nodes)})")

    def start(self) -> None:
        for node in self.nodes:
            node.start()

    def view(self) -> Optional[ClusterView]:
        """crm_mon's view from the first node that answers."""
        for node in self.nodes:
            got = node.status()
            if got is not None:
                return got
        return None

    def settled(self) -> bool:
        views = [n.status() for n in self.nodes]
        names = [n.name for n in self.nodes]
        return all(v is not None and v.settled(names) for v in views) and len({v.dc for v in views if v}) == 1

    def cleanup(self) -> list[str]:
        problems: list[str] = []
        for node in self.nodes:
            problems += node.cleanup()
        return problems

    def diagnostics(self) -> str:
        return "".join(n.log_tail() for n in self.nodes)


def cluster_for_lab(lab: "Lab", service_script: str, port: int, timings: Timings,
                    service_name: str = "tcpsvc", constraints: str = "") -> PacemakerCluster:
    """A Pacemaker node in every node namespace of a netns lab, running the group g_web =
    IPaddr2 on the lab's VIP + service_script (heartbeat-class, `SCRIPT PORT start|stop|status`,
    wrapped as the LSB script /etc/init.d/<service_name>)."""
    spec = lab.spec
    if spec.mode != "netns":
        raise LabError("Pacemaker nodes need a netns lab (run as root)")
    names = plan.node_names(spec)
    conf = render_corosync_conf([(n, plan.address(spec, n)) for n in names], timings)
    cib = render_cib(plan.vip(spec), plan.network(spec).prefixlen, plan.IFACE, service_name, timings,
                     constraints=constraints)
    nodes = []
    for name in names:
        root = os.path.join(plan.node_dir(spec, name), PCMK_SUBDIR)
        script = os.path.join(root, "svc", os.path.basename(service_script))
        os.makedirs(os.path.dirname(script), exist_ok=True)
        shutil.copyfile(service_script, script)
        os.chmod(script, 0o755)
        nodes.append(PacemakerNode(name, plan.namespace(spec, name), root, conf, cib,
                                   {service_name: render_lsb_wrapper(script, port)}))
    return PacemakerCluster(nodes)
