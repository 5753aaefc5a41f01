"""``twinops run / diagnose / resume`` from the command line, and the trajectory contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agent.trajectory import SCHEMA_FILE, Trajectory, read_trajectories, trajectory_schema


def twinops(*args: str, tmp_path: Path, stdin: str = "", env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess:
    env = {**os.environ, "TWINOPS_STATE_DIR": str(tmp_path / "state"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=180)


def test_published_schema_matches_the_model() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == trajectory_schema()


def test_bad_trajectory_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"schema": "twinops.trajectory/1"}\n')
    try:
        read_trajectories(path)
    except ValueError as err:
        assert f"{path}: line 1" in str(err)
    else:
        raise AssertionError("a bad record was accepted")


def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    proc = twinops("run", "x", "--inventory", str(tmp_path / "missing.yaml"), tmp_path=tmp_path)
    assert proc.returncode == 2 and "missing.yaml" in proc.stderr and "Traceback" not in proc.stderr
    proc = twinops("run", "x", "--inventory", "h.yaml", "--brain", "gpt:foo", tmp_path=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = twinops("resume", "no-such-thread", "--state-db", str(tmp_path / "s.db"), tmp_path=tmp_path)
    assert proc.returncode == 2 and "no-such-thread" in proc.stderr


def test_a_bad_connect_timeout_in_the_environment_exits_2_naming_it(agent_lab, tmp_path: Path) -> None:
    _thread, hosts = agent_lab
    proc = twinops("diagnose", "R1 cannot reach R4", "--inventory", str(hosts), "--approve", "never",
                   tmp_path=tmp_path, env={"TWINOPS_CONNECT_TIMEOUT": "soon"})
    assert proc.returncode == 2, proc.stderr
    assert "TWINOPS_CONNECT_TIMEOUT must be a number of seconds above 0 (got 'soon')" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_without_a_terminal_an_approval_ends_the_run_with_exit_3_and_the_thread_id(agent_lab, tmp_path: Path) -> None:
    """The expert brain plans a description change; --approve ask with no TTY never waits on stdin."""
    _, hosts = agent_lab
    db = str(tmp_path / "s.db")
    proc = twinops("run", "set the description of R1 GigabitEthernet0/1 to uplink-to-R3", "--inventory",
                   str(hosts), "--state-db", db, "--json", tmp_path=tmp_path, stdin="y\n")
    out = json.loads(proc.stdout)
    assert proc.returncode == 3, proc.stderr
    assert out["status"] == "pending_approval" and out["thread_id"]
    proc = twinops("resume", out["thread_id"], "--state-db", db, "--approve", "--by", "alice", "--json",
                   tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert json.loads(proc.stdout)["status"] == "verified"


def test_dry_run_plans_and_checks_without_touching_devices(agent_lab, tmp_path: Path) -> None:
    thread, hosts = agent_lab
    before = thread.call(thread.server.network.running_config, "R1")
    traj = tmp_path / "t.jsonl"
    proc = twinops("run", "set the description of R1 GigabitEthernet0/1 to uplink-to-R3", "--inventory",
                   str(hosts), "--dry-run", "--json", "--trajectories", str(traj), "--state-db",
                   str(tmp_path / "s.db"), tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "planned"
    assert thread.call(thread.server.network.running_config, "R1") == before
    [record] = read_trajectories(traj)
    assert isinstance(record, Trajectory) and record.brain == "expert" and record.dry_run
