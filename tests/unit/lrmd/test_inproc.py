"""Our installed agents run in a forked copy of the lrmd (no interpreter start), with what their
wrapper would give them; anything that is not exactly our wrapper is exec'ed as written."""

from __future__ import annotations

import os
import time

import pytest

import agents.main
from agents.install import install
from core.loop import Loop
from lrmd.inproc import InProcess
from lrmd.ocf import AgentExit
from core.agentrun import AgentRunner


@pytest.fixture
def ocf_root(tmp_path):
    root = tmp_path / "ocf"
    install(str(root), hadir=str(tmp_path / "ha.d"))
    return root


def test_only_our_own_wrappers_are_run_in_process(ocf_root, tmp_path):
    known = InProcess()
    agent = ocf_root / "resource.d" / "pyheartbeat"
    assert known.agent_name(str(agent / "Dummy")) == "Dummy"
    assert known.agent_name(str(agent / "IPaddr2")) == "IPaddr2"
    assert known.agent_name(str(tmp_path / "ha.d" / "resource.d" / "IPaddr")) == "legacy:IPaddr"
    other = tmp_path / "other"
    other.write_text((agent / "Dummy").read_text().replace("exec ", "exec /usr/bin/env "))
    assert known.agent_name(str(other)) is None, "a wrapper for another interpreter or checkout is exec'ed"
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\nexit 0\n")
    assert known.agent_name(str(script)) is None
    assert known.agent_name(str(tmp_path / "missing")) is None


def run_one(runner: AgentRunner, loop: Loop, argv: list[str], env: dict[str, str]) -> AgentExit:
    results: list[AgentExit] = []
    runner.spawn(argv, env, results.append)
    deadline = time.monotonic() + 20
    while not results and time.monotonic() < deadline:  # bounded
        loop.run_once(max_wait_ms=100)
    assert results, "the agent did not finish"
    return results[0]


def test_a_forked_agent_gets_its_arguments_environment_and_session(ocf_root, monkeypatch):
    parent = os.getpid()

    def fake_run(name: str, argv: list[str]) -> int:
        print(name, argv, sorted(os.environ.items()), os.getsid(0) == os.getpid(), os.getppid() == parent)
        os.write(2, b"to stderr\n")
        return 3
    monkeypatch.setattr(agents.main, "run", fake_run)  # the forked copy runs this: proof of the fork
    loop = Loop()
    runner = AgentRunner(loop, in_process=InProcess().agent_name)
    try:
        result = run_one(runner, loop, [str(ocf_root / "resource.d" / "pyheartbeat" / "Dummy"), "monitor"],
                         {"OCF_RESKEY_state": "/x", "PATH": "/usr/bin:/bin"})
    finally:
        runner.close()
        loop.close()
    assert result.exit_code == 3 and result.stderr == "to stderr\n"
    assert result.stdout.startswith("Dummy ['monitor'] [('OCF_RESKEY_state', '/x'), ('PATH', '/usr/bin:/bin')] True True")


def test_the_real_dummy_agent_behaves_the_same_forked_or_exec_ed(ocf_root, tmp_path):
    agent = str(ocf_root / "resource.d" / "pyheartbeat" / "Dummy")
    env = {"OCF_ROOT": str(ocf_root), "OCF_RESOURCE_INSTANCE": "d1", "OCF_RESKEY_state": str(tmp_path / "d1.state"),
           "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HA_RSCTMP": str(tmp_path)}
    outcomes = {}
    for mode, in_process in (("forked", InProcess().agent_name), ("exec", None)):
        loop = Loop()
        runner = AgentRunner(loop, in_process=in_process)
        try:
            outcomes[mode] = [run_one(runner, loop, [agent, op], env).exit_code
                              for op in ("monitor", "start", "monitor", "stop", "monitor")]
        finally:
            runner.close()
            loop.close()
    assert outcomes["forked"] == outcomes["exec"] == [7, 0, 0, 0, 7]
