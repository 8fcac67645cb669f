"""ocf:pyheartbeat:Filesystem — mount a file system on a directory.

start    mkdir -p directory; mount [-t fstype] [-o options] device directory
monitor  /proc/mounts has directory (with this device): 0; not mounted: 7; another device: 1.
         OCF_CHECK_LEVEL 10 also reads from the mount, 20 writes and reads back a status file.
stop     umount; while it is busy and force_unmount is true, kill the processes using the
         mount (TERM, then KILL), within the op's timeout
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Optional

from agents import fsutil
from agents import ocfagent as ocf
from agents.metadata import Action, AgentSpec, Param, ParamError, parse_bool

SPEC = AgentSpec(
    name="Filesystem",
    shortdesc="Manages filesystem mounts",
    longdesc="Resource script for Filesystem. It manages a filesystem on a shared storage medium: "
             "mounts it on start, unmounts it on stop (killing the processes that keep it busy "
             "if force_unmount is set) and checks /proc/mounts on monitor. With OCF_CHECK_LEVEL "
             "20 the monitor also writes and reads back a status file on the filesystem.",
    params=(
        Param("device", "block device", "The name of block device for the filesystem, or -U, -L "
              "options for mount, or NFS mount specification.", required=True),
        Param("directory", "mount point", "The mount point for the filesystem.", required=True,
              unique=True),
        Param("fstype", "filesystem type", "The type of filesystem to be mounted (empty: let "
              "mount detect it)."),
        Param("options", "options", "Any extra options to be given as -o options to mount."),
        Param("force_unmount", "Kill processes before unmount",
              "Kill processes using the mount point when it cannot be unmounted: true (TERM, "
              "then KILL), safe (same, found through /proc only) or false.", default="true"),
        Param("statusfile_prefix", "status file prefix",
              "The prefix of the status file written by the depth 20 monitor.",
              default=".Filesystem_status/"),
    ),
    actions=(Action("start", 60), Action("stop", 60),
             Action("monitor", 40, interval_s=20, depth=0), Action("notify", 60),
             Action("meta-data", 5), Action("validate-all", 5)),
)


def _force(ctx: ocf.Context) -> bool:
    value = ctx.params["force_unmount"].strip().lower()
    if value == "safe":
        return True
    return parse_bool(value)


def validate(ctx: ocf.Context) -> int:
    directory = ctx.params["directory"]
    if not directory.startswith("/") or directory.rstrip("/") == "":
        raise ParamError(f"directory {directory!r} must be an absolute path other than /")
    if not ctx.params["device"].strip():
        raise ParamError("device is empty")
    _force(ctx)
    fstype = ctx.params.get("fstype", "")
    if fstype and not fsutil.fstype_known(fstype):
        raise ctx.fail(ocf.OCF_ERR_INSTALLED, f"file system type {fstype} is not supported by this kernel")
    device = fsutil.resolve_device(ctx.params["device"])
    if device.startswith("/dev/") and not os.path.exists(device):
        raise ctx.fail(ocf.OCF_ERR_INSTALLED, f"device {ctx.params['device']} does not exist")
    return ocf.OCF_SUCCESS


def _mount_entry(ctx: ocf.Context) -> Optional[fsutil.MountEntry]:
    return fsutil.find_mount(fsutil.read_mounts(), ctx.params["directory"])


def monitor(ctx: ocf.Context) -> int:
    entry = _mount_entry(ctx)
    if entry is None:
        return ocf.OCF_NOT_RUNNING
    if not fsutil.same_device(entry.device, ctx.params["device"]):
        raise ctx.fail(ocf.OCF_ERR_GENERIC, f"{entry.mountpoint} has {entry.device} mounted, "
                       f"not {ctx.params['device']}")
    if ctx.check_level >= 20:
        _write_probe(ctx, entry.mountpoint)
    elif ctx.check_level >= 10:
        try:
            os.listdir(entry.mountpoint)
        except OSError as exc:
            raise ctx.fail(ocf.OCF_ERR_GENERIC, f"cannot read {entry.mountpoint}: {exc.strerror}")
    return ocf.OCF_SUCCESS


def _write_probe(ctx: ocf.Context, mountpoint: str) -> None:
    node = ctx.env.get("OCF_RESKEY_CRM_meta_on_node") or os.uname().nodename
    path = os.path.join(mountpoint, ctx.params["statusfile_prefix"] + node)
    token = f"{os.getpid()} {time.time()}\n"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="ascii") as handle:
            handle.write(token)
            handle.flush()
            os.fsync(handle.fileno())
        with open(path, encoding="ascii") as handle:
            back = handle.read()
    except OSError as exc:
        raise ctx.fail(ocf.OCF_ERR_GENERIC, f"read/write probe on {mountpoint} failed: {exc.strerror}")
    if back != token:
        raise ctx.fail(ocf.OCF_ERR_GENERIC, f"read/write probe on {mountpoint} read back garbage")


def start(ctx: ocf.Context) -> int:
    validate(ctx)
    if monitor(ctx) == ocf.OCF_SUCCESS:
        return ocf.OCF_SUCCESS
    directory = ctx.params["directory"]
    os.makedirs(directory, mode=0o755, exist_ok=True)
    argv = ["mount"]
    if ctx.params.get("fstype"):
        argv += ["-t", ctx.params["fstype"]]
    if ctx.params.get("options"):
        argv += ["-o", ctx.params["options"]]
    argv += [*ctx.params["device"].split(), directory]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=max(1.0, ctx.remaining_s()))
    if proc.returncode != 0:
        raise ctx.fail(ocf.OCF_ERR_GENERIC, f"{' '.join(argv)} failed: {proc.stderr.strip()}")
    if monitor(ctx) != ocf.OCF_SUCCESS:
        raise ctx.fail(ocf.OCF_ERR_GENERIC, f"{directory} is not mounted after mount succeeded")
    return ocf.OCF_SUCCESS


def stop(ctx: ocf.Context) -> int:
    directory = os.path.realpath(ctx.params["directory"])
    force = _force(ctx)
    signals = [signal.SIGTERM, signal.SIGKILL]
    attempt = 0
    deadline = time.monotonic() + ctx.remaining_s(margin_s=2.0)
    while fsutil.find_mount(fsutil.read_mounts(), directory) is not None:
        proc = subprocess.run(["umount", directory], capture_output=True, text=True,
                              timeout=max(1.0, ctx.remaining_s()))
        if proc.returncode == 0:
            continue
        if not force or time.monotonic() >= deadline:
            raise ctx.fail(ocf.OCF_ERR_GENERIC, f"cannot unmount {directory}: {proc.stderr.strip()}")
        users = fsutil.users_of(directory, exclude={os.getpid(), os.getppid()})
        sig = signals[min(attempt, len(signals) - 1)]
        attempt += 1
        if users:
            ctx.log("WARNING", f"{directory} is busy; sending {signal.Signals(sig).name} to "
                    f"{' '.join(map(str, sorted(users)))}")
            for pid in users:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            ocf.wait_until(lambda: not fsutil.users_of(directory, exclude={os.getpid()}),
                           min(1.0, max(0.1, deadline - time.monotonic())))
        elif attempt > 20:
            raise ctx.fail(ocf.OCF_ERR_GENERIC, f"cannot unmount {directory}: {proc.stderr.strip()}")
        else:
            time.sleep(0.1)
    return ocf.OCF_SUCCESS


def notify(ctx: ocf.Context) -> int:
    return ocf.OCF_SUCCESS


HANDLERS = {"start": start, "stop": stop, "monitor": monitor, "status": monitor,
            "validate-all": validate, "notify": notify}


def main(argv: list[str]) -> int:
    return ocf.run(SPEC, HANDLERS, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
