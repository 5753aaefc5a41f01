"""``twinops shell`` driven headlessly (piped input, recorded console) and once in a real terminal (tmux).

The brain is the scripted one of test_agent_graph (the shell is under test, not the brain's judgement).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from agent_support import DESCRIBE, ScriptedBrain, running_config
from rich.console import Console

from agent.shell import OpsShell, classify


def test_classify_reads_symptoms_and_intents() -> None:
    assert classify("h1 cannot reach h2") == "diagnosis"
    assert classify("BGP session between R2 and R5 is down") == "diagnosis"
    assert classify("add a static route on R1 to 192.0.2.0/24 via 10.0.12.2") == "change"
    assert classify("describe R1 Gi0/1 as uplink") == "change"


def test_scripted_session_shows_devices_runs_show_and_applies_after_yes(agent_lab, tmp_path: Path) -> None:
    thread, hosts = agent_lab
    console = Console(record=True, width=140, force_terminal=False)
    shell = OpsShell(hosts, console=console, brain_model=ScriptedBrain(replies=DESCRIBE),
                     state_db=str(tmp_path / "s.db"), trajectories=str(tmp_path / "t.jsonl"))
    script = io.StringIO("/help\n/devices\nR1 show ip interface brief\nR1 configure terminal\n"
                         "/run describe R1 Gi0/1 as uplink-to-R3\ny\n/history\n/quit\n")
    assert shell.run(shell.stream_lines(script)) == 0
    text = console.export_text()
    assert "/diagnose SYMPTOM" in text  # help
    assert "127.0.0.1" in text and "R6" in text  # devices table
    assert "GigabitEthernet0/0" in text and "Protocol" in text  # show ip interface brief output
    assert "refused" in text  # config command through show is refused
    assert "→ get_interfaces" in text and "Apply this change? [y/N] y" in text
    assert "verified" in text
    assert " description uplink-to-R3" in running_config(thread, "R1")
    assert [h["status"] for h in shell.history] == ["ok", "verified"]
    assert not shell.session.pool._napalm and not shell.session.pool._netmiko  # logged out at /quit


def test_no_at_the_prompt_changes_nothing(agent_lab, tmp_path: Path) -> None:
    thread, hosts = agent_lab
    console = Console(record=True, width=140)
    shell = OpsShell(hosts, console=console, brain_model=ScriptedBrain(replies=DESCRIBE),
                     state_db=str(tmp_path / "s.db"), trajectories=str(tmp_path / "t.jsonl"))
    shell.run(shell.stream_lines(io.StringIO("/run describe R1 Gi0/1\nn\n")))
    assert "refused" in console.export_text()
    assert "uplink-to-R3" not in running_config(thread, "R1")


def test_shell_command_with_piped_input(agent_lab, tmp_path: Path) -> None:
    _, hosts = agent_lab
    env = {**os.environ, "TWINOPS_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.run([sys.executable, "-m", "agent.cli", "shell", "--inventory", str(hosts)],
                          input="/devices\nR2 show ip ospf neighbor\n/quit\n", capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "FULL" in proc.stdout and "bye" in proc.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_shell_in_a_real_terminal(agent_lab, tmp_path: Path) -> None:
    """prompt_toolkit on a real pty (tmux): prompt, completion of a device name, a show command, /quit."""
    _, hosts = agent_lab
    socket = f"twinops-test-{os.getpid()}"
    env_args = ["-e", f"TWINOPS_STATE_DIR={tmp_path / 'state'}"]
    command = f"{sys.executable} -m agent.cli shell --inventory {hosts}"

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=30).stdout

    def screen_until(needle: str, timeout: float = 60) -> str:
        deadline, text = time.time() + timeout, ""
        while time.time() < deadline:
            text = tmux("capture-pane", "-p", "-t", "t")
            if needle in text:
                return text
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} never appeared:\n{text}")

    tmux("new-session", "-d", "-s", "t", "-x", "160", "-y", "50", *env_args, command)
    try:
        screen_until("twinops>")
        tmux("send-keys", "-t", "t", "/dev")
        screen_until("/devices")  # the completion menu offers it
        tmux("send-keys", "-t", "t", "Tab")  # completion: /dev<Tab> -> /devices
        screen_until("twinops> /devices")
        tmux("send-keys", "-t", "t", "Enter")
        screen_until("R6")
        tmux("send-keys", "-t", "t", "R3 show ip ospf neighbor", "Enter")
        assert "FULL" in screen_until("FULL")
        tmux("send-keys", "-t", "t", "/quit", "Enter")
        screen_until("bye")
    finally:
        tmux("kill-server")
