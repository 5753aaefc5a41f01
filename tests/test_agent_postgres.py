"""The Postgres checkpointer: a real PostgreSQL server started by the test (initdb + pg_ctl on 127.0.0.1).

Skipped only where the machine has no PostgreSQL server binaries or no ``postgres`` user to run them as.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_support import DESCRIBE, ScriptedBrain, running_config
from lab_support import free_port_block

from agent.runner import EXIT_OK, EXIT_PENDING, resume_run, start_run

pytest.importorskip("langgraph.checkpoint.postgres")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        pytest.skip("no PostgreSQL server binaries on this machine")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
            pytest.skip("running as root and there is no postgres user")
        as_user = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="twinops-pg-"))  # pytest's tmp dirs are private to root
    base.chmod(0o755)
    data = base / "pg"
    data.mkdir()
    if as_user:
        shutil.chown(data, "postgres")
    port = free_port_block(1)  # below the ephemeral range: no client socket takes it meanwhile
    subprocess.run([*as_user, "initdb", "-D", str(data), "-A", "trust", "-U", "postgres"], check=True,
                   capture_output=True, timeout=120)
    subprocess.run([*as_user, "pg_ctl", "-D", str(data), "-w", "-l", str(data / "log"), "-o",
                    f"-p {port} -h 127.0.0.1 -k {data}", "start"], check=True, capture_output=True, timeout=120)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, "pg_ctl", "-D", str(data), "-m", "immediate", "stop"], capture_output=True,
                       timeout=60)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_interrupt_and_resume_with_a_postgres_checkpointer(agent_lab, postgres_url: str, tmp_path: Path) -> None:
    thread, hosts = agent_lab
    result = start_run("describe R1 Gi0/1", kind="change", inventory=hosts, approve="ask", thread_id="pg-1",
                       brain_model=ScriptedBrain(replies=DESCRIBE), trajectories=tmp_path / "t.jsonl",
                       state_db=postgres_url)
    assert result.exit_code == EXIT_PENDING
    resumed = resume_run("pg-1", state_db=postgres_url, decision={"approved": True, "by": "bob"})
    assert resumed.exit_code == EXIT_OK, resumed.outcome
    assert " description uplink-to-R3" in running_config(thread, "R1")
