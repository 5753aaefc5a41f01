"""The agent graph's mechanics against the emulated lab over real SSH (NAPALM/Netmiko).

The brain here is *scripted* (a fixed list of replies): these tests are about the graph — tool replies,
guard, dry-run, interrupt/resume, transactions, trajectories — not about a brain's judgement.  The
expert brain's end-to-end runs are in test_agent_expert.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from agent_support import DESCRIBE, ScriptedBrain, call, running_config
from lab_support import lab_sessions, settled_sessions
from langchain_core.messages import AIMessage

from agent.runner import EXIT_FAILED, EXIT_OK, EXIT_PENDING, EXIT_REFUSED, resume_run, start_run
from agent.trajectory import read_trajectories


def test_change_runs_to_a_verified_outcome_and_records_a_trajectory(agent_lab, tmp_path: Path) -> None:
    thread, hosts = agent_lab
    traj = tmp_path / "traj.jsonl"
    result = start_run("describe R1 Gi0/1 as uplink-to-R3", kind="change", inventory=hosts, approve="auto",
                       brain_model=ScriptedBrain(replies=DESCRIBE), trajectories=traj,
                       state_db=str(tmp_path / "s.db"))
    assert result.outcome["status"] == "verified", result.outcome
    assert result.exit_code == EXIT_OK
    assert " description uplink-to-R3" in running_config(thread, "R1")
    [record] = read_trajectories(traj)
    assert record.outcome.success and record.outcome.verified
    roles = [m.role for m in record.messages]
    assert roles[:2] == ["system", "user"] and roles.count("tool") == 2  # every tool call got a reply
    assert record.verdicts[0]["decision"] == "allow" and record.dry_run is not None
    assert "pw" not in traj.read_text().replace("pwd", "")  # no credential in the record


def test_unknown_tool_and_malformed_calls_get_replies_and_the_run_survives(agent_lab, tmp_path: Path) -> None:
    _, hosts = agent_lab
    bad = AIMessage("", invalid_tool_calls=[{"name": "get_facts", "args": "{oops", "id": "x1",
                                             "error": "bad json", "type": "invalid_tool_call"}])
    replies = [bad, call("rm_rf", {}, 9), call("get_facts", {"nodevice": 1}, 8), *DESCRIBE]
    result = start_run("describe R1 Gi0/1", kind="change", inventory=hosts, approve="auto",
                       brain_model=ScriptedBrain(replies=replies), trajectories=tmp_path / "t.jsonl",
                       state_db=str(tmp_path / "s.db"))
    assert result.outcome["status"] == "verified"
    tool_texts = [m.content for m in result.state["messages"] if m.type == "tool"]
    assert any("malformed" in t for t in tool_texts) and any("unknown tool 'rm_rf'" in t for t in tool_texts)


def test_endless_garbage_ends_the_run_with_an_error_not_a_crash(agent_lab, tmp_path: Path) -> None:
    _, hosts = agent_lab
    result = start_run("describe R1", kind="change", inventory=hosts, approve="auto",
                       brain_model=ScriptedBrain(replies=[AIMessage("I think maybe...")]),
                       trajectories=tmp_path / "t.jsonl", state_db=str(tmp_path / "s.db"))
    assert result.outcome["status"] == "error" and "invalid replies" in result.outcome["error"]


def test_deny_verdict_stops_the_run_and_touches_nothing(agent_lab, tmp_path: Path) -> None:
    thread, hosts = agent_lab
    before = {d: running_config(thread, d) for d in ("R1", "R2")}
    wipe = call("propose_change", {"summary": "clean up", "changes": [
        {"device": "R1", "lines": ["no logging buffered", "no router ospf 1"]}]}, 1)
    result = start_run("tidy R1", kind="change", inventory=hosts, approve="auto",
                       brain_model=ScriptedBrain(replies=[wipe]), trajectories=tmp_path / "t.jsonl",
                       state_db=str(tmp_path / "s.db"))
    assert result.outcome["status"] == "refused" and result.exit_code == EXIT_REFUSED, result.outcome
    assert "denied by policy" in result.outcome["error"]
    assert {d: running_config(thread, d) for d in ("R1", "R2")} == before


def test_failed_verification_rolls_back(agent_lab, tmp_path: Path) -> None:
    thread, hosts = agent_lab
    before = running_config(thread, "R1")
    wrong = call("propose_change", {"summary": "describe", "changes": [
        {"device": "R1", "lines": ["interface GigabitEthernet0/1", " description a"]}],
        "checks": [{"kind": "config", "device": "R1", "line": "description b"}]}, 1)
    result = start_run("describe", kind="change", inventory=hosts, approve="auto",
                       brain_model=ScriptedBrain(replies=[wrong]), trajectories=tmp_path / "t.jsonl",
                       state_db=str(tmp_path / "s.db"))
    assert result.exit_code == EXIT_FAILED and result.outcome["status"] == "rolled_back"
    assert running_config(thread, "R1") == before


def test_approval_interrupt_then_resume_in_a_second_process(agent_lab, tmp_path: Path) -> None:
    thread, hosts = agent_lab
    db = str(tmp_path / "s.db")
    result = start_run("describe R1 Gi0/1 as uplink-to-R3", kind="change", inventory=hosts, approve="ask",
                       brain_model=ScriptedBrain(replies=DESCRIBE), trajectories=tmp_path / "t.jsonl",
                       state_db=db, thread_id="t-approve")
    assert result.exit_code == EXIT_PENDING and result.interrupt["changeset"]["changes"][0]["device"] == "R1"
    assert "uplink-to-R3" not in running_config(thread, "R1")  # nothing before the approval
    env = {**os.environ, "TWINOPS_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.run([sys.executable, "-m", "agent.cli", "resume", "t-approve", "--state-db", db,
                           "--approve", "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == EXIT_OK, proc.stderr
    assert json.loads(proc.stdout)["status"] == "verified"
    assert " description uplink-to-R3" in running_config(thread, "R1")


def test_rejected_approval_ends_refused(agent_lab, tmp_path: Path) -> None:
    thread, hosts = agent_lab
    db = str(tmp_path / "s.db")
    start_run("describe", kind="change", inventory=hosts, approve="ask", thread_id="t-no",
              brain_model=ScriptedBrain(replies=DESCRIBE), trajectories=tmp_path / "t.jsonl", state_db=db)
    result = resume_run("t-no", state_db=db, decision={"approved": False, "by": "alice"})
    assert result.exit_code == EXIT_REFUSED and "alice" in result.outcome["error"]
    assert "uplink-to-R3" not in running_config(thread, "R1")


def test_killed_during_apply_then_resumed_never_applies_twice(agent_lab, tmp_path: Path) -> None:
    """SIGKILL the run right after the commit (during verification), then resume: read back, no re-apply."""
    import signal
    import sqlite3
    import time

    thread, hosts = agent_lab
    db, state = str(tmp_path / "s.db"), tmp_path / "state"
    script = tmp_path / "brain_run.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from agent_support import ScriptedBrain, DESCRIBE, call\n"
        "from agent.runner import start_run\n"
        "slow = DESCRIBE[:1] + [call('propose_change', {**DESCRIBE[1].tool_calls[0]['args'], 'checks': "
        "DESCRIBE[1].tool_calls[0]['args']['checks'] * 40}, 2)]\n"
        f"start_run('describe R1 Gi0/1', kind='change', inventory={str(hosts)!r}, approve='auto', "
        f"thread_id='t-kill', state_db={db!r}, brain_model=ScriptedBrain(replies=slow))\n")
    env = {**os.environ, "TWINOPS_STATE_DIR": str(state)}
    proc = subprocess.Popen([sys.executable, str(script)], env=env)
    journal = state / "journal.db"
    deadline = time.time() + 60
    committed = False
    while time.time() < deadline and proc.poll() is None and not committed:
        time.sleep(0.01)
        if journal.exists():
            with sqlite3.connect(journal) as conn, contextlib.suppress(sqlite3.OperationalError):
                committed = bool(conn.execute("SELECT 1 FROM steps WHERE step = 'commit' AND status = 'ok'")
                                 .fetchone())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert committed, "the run ended before it could be killed during apply"
    assert " description uplink-to-R3" in running_config(thread, "R1")
    result = resume_run("t-kill", state_db=db)
    assert result.outcome["status"] == "verified", result.outcome
    assert result.state["transaction"]["replayed"] is True
    with sqlite3.connect(journal) as conn:
        commits = conn.execute("SELECT COUNT(*) FROM steps WHERE step = 'commit' AND status = 'ok'").fetchone()[0]
    assert commits == 1
    assert running_config(thread, "R1").count("description uplink-to-R3") == 1


def test_a_run_closes_the_sessions_it_opened_and_keeps_a_callers(agent_lab, tmp_path: Path) -> None:
    """Left to the garbage collector, NAPALM logs out from whichever thread collects it, which once was
    the in-process lab's own event loop: it then waited on itself and no device answered for 30 s."""
    from tools.session import ToolSession

    thread, hosts = agent_lab
    db = str(tmp_path / "s.db")
    first = start_run("describe R1 Gi0/1", kind="change", inventory=hosts, approve="ask", thread_id="own-1",
                      brain_model=ScriptedBrain(replies=DESCRIBE), trajectories=tmp_path / "t.jsonl", state_db=db)
    assert first.exit_code == EXIT_PENDING
    assert settled_sessions(thread, 0) == 0
    resumed = resume_run("own-1", state_db=db, decision={"approved": True, "by": "bob"})
    assert resumed.exit_code == EXIT_OK, resumed.outcome
    assert settled_sessions(thread, 0) == 0
    with ToolSession.from_files(hosts) as mine:
        start_run("describe R1 Gi0/1", kind="change", inventory=hosts, approve="never", thread_id="own-2",
                  brain_model=ScriptedBrain(replies=DESCRIBE), trajectories=tmp_path / "t.jsonl", state_db=db,
                  session=mine)
        assert mine.pool._napalm and lab_sessions(thread) > 0  # still the caller's
