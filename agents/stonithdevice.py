"""The lrmd's `stonith` class: what starting, stopping and monitoring a fence device resource means
(Pacemaker's executor does this through its fencer).

A class `stonith` primitive in the CIB (`type` = `external/ssh`, `fence_ipmilan`, `meatware`)
is a fence device. stonithd knows every configured device whether it is "started" or not (crmd
sends it the CIB's devices); the resource says the device works from where it is started:
- start: the device answers its status check (`external/*`: `status`; `fence_*`: `monitor`),
  then it is recorded as started (a state file in HA_RSCTMP, as Dummy does);
- monitor: not started -> 7; started -> its status check again (0, or 1 when it fails);
- stop: recorded as stopped (nothing to run).
A `meatware` (manual) device has nothing to check. Parameters are the resource's instance
attributes (OCF_RESKEY_*), Pacemaker's `pcmk_*` ones not passed to the device.
"""

from __future__ import annotations

import os
import sys

from core.ocfcodes import OCF_ERR_ARGS, OCF_ERR_GENERIC, OCF_ERR_UNIMPLEMENTED, OCF_NOT_RUNNING, OCF_SUCCESS

META_KEYS = ("crm_feature_set",)
MANUAL = "meatware"


def _params(env: dict[str, str]) -> dict[str, str]:
    out = {}
    for key, value in env.items():
        if key.startswith("OCF_RESKEY_") and not key.startswith("OCF_RESKEY_CRM_meta_"):
            name = key[len("OCF_RESKEY_"):]
            if name not in META_KEYS:
                out[name] = value
    return out


def _state(env: dict[str, str]) -> str:
    rsctmp = env.get("HA_RSCTMP") or "/run/resource-agents"
    os.makedirs(rsctmp, mode=0o755, exist_ok=True)
    return os.path.join(rsctmp, f"stonith-{(env.get('OCF_RESOURCE_INSTANCE') or 'default').replace('/', '_')}.state")


def _check(dtype: str, params: dict[str, str], timeout_s: float) -> tuple[bool, str]:
    if dtype == MANUAL:
        return True, ""
    from tools.stonith import Failed, find, run

    try:
        plugin = find(dtype)
        outcome, err = run(plugin, "status", params, timeout_s=timeout_s)
    except Failed as exc:
        return False, str(exc)
    if outcome.ok:
        return True, ""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    return False, (outcome.detail or (lines[-1] if lines else "")) + f" (exit status {outcome.rc})"


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    action = argv[0] if argv else ""
    dtype = env.get("PYHB_STONITH_TYPE", "")
    if action == "meta-data":
        sys.stdout.write(f'<?xml version="1.0"?>\n<resource-agent name="{dtype or "stonith"}">\n'
                         '<version>1.0</version><shortdesc lang="en">fence device</shortdesc>\n'
                         '<parameters/><actions><action name="start" timeout="20s"/>'
                         '<action name="stop" timeout="15s"/><action name="monitor" timeout="20s" interval="60s"/>'
                         '<action name="meta-data" timeout="5s"/></actions></resource-agent>\n')
        return OCF_SUCCESS
    if not dtype:
        sys.stderr.write("ocf-exit-reason:no device type (PYHB_STONITH_TYPE)\n")
        return OCF_ERR_ARGS
    state = _state(env)
    try:
        timeout_s = max(1.0, int(env.get("OCF_RESKEY_CRM_meta_timeout", "20000")) / 1000.0 - 1.0)
    except ValueError:
        timeout_s = 19.0
    if action == "stop":
        try:
            os.unlink(state)
        except FileNotFoundError:
            pass
        return OCF_SUCCESS
    if action in ("monitor", "status") and not os.path.exists(state):
        return OCF_NOT_RUNNING
    if action not in ("start", "monitor", "status", "validate-all"):
        return OCF_ERR_UNIMPLEMENTED
    ok, why = _check(dtype, _params(env), timeout_s)
    if not ok:
        sys.stderr.write(f"ocf-exit-reason:fence device {dtype} does not answer: {why}\n")
        return OCF_ERR_GENERIC
    if action == "start":
        with open(state, "w", encoding="ascii") as handle:
            handle.write("started\n")
    return OCF_SUCCESS


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
