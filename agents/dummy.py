"""ocf:pyheartbeat:Dummy — a resource that only exists as a state file, for tests and demos.

Running = the state file exists. Behaves like resource-agents' Dummy: idempotent start/stop,
migrate_to/migrate_from, reload, optional sleep in every action (op_sleep, seconds).
"""

from __future__ import annotations

import os
import sys
import time

from agents import ocfagent as ocf
from agents.metadata import Action, AgentSpec, Param

SPEC = AgentSpec(
    name="Dummy",
    shortdesc="Example stateless resource agent",
    longdesc="This is a dummy OCF resource agent. It does absolutely nothing except keep track "
             "of whether it is running or not, in a state file. Its purpose is testing and "
             "serving as a template for agent writers.",
    params=(
        Param("state", "State file", "Location to store the resource state in.", default=""),
        Param("fake", "Fake attribute that can be changed to cause a reload",
              "Fake attribute that can be changed to cause an agent reload.", default="dummy"),
        Param("op_sleep", "Operation sleep duration in seconds.",
              "Number of seconds to sleep during operations. This can be used to test how the "
              "cluster reacts to operation timeouts.", type="integer", default="0"),
    ),
    actions=(Action("start", 20), Action("stop", 20), Action("monitor", 20, interval_s=10, depth=0),
             Action("reload", 20), Action("migrate_to", 20), Action("migrate_from", 20),
             Action("meta-data", 5), Action("validate-all", 20)),
)


def _state(ctx: ocf.Context) -> str:
    return ctx.params["state"] or ctx.state_file("state")


def _sleep(ctx: ocf.Context) -> None:
    seconds = int(ctx.params["op_sleep"])
    if seconds > 0:
        time.sleep(seconds)


def validate(ctx: ocf.Context) -> int:
    if int(ctx.params["op_sleep"]) < 0:
        raise ctx.fail(ocf.OCF_ERR_CONFIGURED, "op_sleep must not be negative")
    directory = os.path.dirname(_state(ctx))
    if ctx.params["state"] and not os.path.isdir(directory):
        raise ctx.fail(ocf.OCF_ERR_ARGS, f"state directory {directory} does not exist")
    return ocf.OCF_SUCCESS


def monitor(ctx: ocf.Context) -> int:
    _sleep(ctx)
    return ocf.OCF_SUCCESS if os.path.exists(_state(ctx)) else ocf.OCF_NOT_RUNNING


def start(ctx: ocf.Context) -> int:
    validate(ctx)
    _sleep(ctx)
    if os.path.exists(_state(ctx)):
        return ocf.OCF_SUCCESS
    with open(_state(ctx), "w", encoding="ascii") as handle:
        handle.write(f"{ctx.params['fake']}\n")
    return ocf.OCF_SUCCESS


def stop(ctx: ocf.Context) -> int:
    _sleep(ctx)
    try:
        os.unlink(_state(ctx))
    except FileNotFoundError:
        pass
    return ocf.OCF_SUCCESS


def reload(ctx: ocf.Context) -> int:
    if os.path.exists(_state(ctx)):
        with open(_state(ctx), "w", encoding="ascii") as handle:
            handle.write(f"{ctx.params['fake']}\n")
    return ocf.OCF_SUCCESS


def migrate_to(ctx: ocf.Context) -> int:
    target = ctx.env.get("OCF_RESKEY_CRM_meta_migrate_target", "?")
    ctx.log("INFO", f"Migrating {ctx.instance} to {target}.")
    return stop(ctx)


def migrate_from(ctx: ocf.Context) -> int:
    source = ctx.env.get("OCF_RESKEY_CRM_meta_migrate_source", "?")
    ctx.log("INFO", f"Migrating {ctx.instance} from {source}.")
    return start(ctx)


HANDLERS = {"start": start, "stop": stop, "monitor": monitor, "reload": reload,
            "migrate_to": migrate_to, "migrate_from": migrate_from, "validate-all": validate,
            "status": monitor}


def main(argv: list[str]) -> int:
    return ocf.run(SPEC, HANDLERS, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
