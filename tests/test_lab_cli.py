"""``twinops lab serve`` run as a user runs it: a subprocess, a ready line, SIGTERM, exit 0."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from lab_support import free_port_block
from netmiko import ConnectHandler
from typer.testing import CliRunner

from agent.cli import app

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore:path is deprecated:DeprecationWarning")


def start_lab(*args: str, lean: bool = False) -> subprocess.Popen:
    """``twinops lab serve ARGS`` (or, ``lean``, the same command without the agent: ``python -m twin_lab.lab_cli``)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    entry = ["twin_lab.lab_cli"] if lean else ["agent.cli", "lab"]
    return subprocess.Popen([sys.executable, "-m", *entry, "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def wait_ready(process: subprocess.Popen, timeout: float = 60) -> str:
    """The one line scripts wait for; fails with the server's stderr if it never comes."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=0.1):
            line = process.stdout.readline()
            if line.startswith("lab ready:"):
                return line.strip()
            if not line and process.poll() is not None:
                break
    process.kill()
    _out, err = process.communicate(timeout=10)
    raise AssertionError(f"lab never became ready (rc={process.returncode}): {err}")


def test_serve_writes_inventory_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    hosts_file = tmp_path / "hosts.yaml"
    process = start_lab("--preset", "small", "--inventory-out", str(hosts_file), "--username", "netops",
                        "--password", "pw1", "--secret", "en1")
    try:
        line = wait_ready(process)
        assert line.startswith("lab ready: 6 devices of small on 127.0.0.1")
        hosts = yaml.safe_load(hosts_file.read_text())
        assert list(hosts) == ["R1", "R2", "R3", "R4", "R5", "R6"]
        r1 = hosts["R1"]
        assert (r1["hostname"], r1["platform"], r1["username"], r1["password"]) == ("127.0.0.1", "ios", "netops", "pw1")
        assert r1["data"] == {"role": "access", "tags": ["core"], "mgmt_interface": "GigabitEthernet0/7",
                              "secret": "en1"}
        assert r1["connection_options"]["napalm"]["extras"]["optional_args"]["dest_file_system"] == "flash:"
        assert len({h["port"] for h in hosts.values()}) == 6
        conn = ConnectHandler(device_type="cisco_ios", host=r1["hostname"], port=r1["port"],
                              username=r1["username"], password=r1["password"], secret=r1["data"]["secret"])
        assert conn.find_prompt() == "R1#"
        assert "R1 uptime is" in conn.send_command("show version")
        process.send_signal(signal.SIGTERM)  # with the Netmiko session still open
        assert process.wait(30) == 0
        deadline = time.time() + 5
        while conn.remote_conn.transport.is_active() and time.time() < deadline:
            time.sleep(0.05)
        assert not conn.remote_conn.transport.is_active()  # the server closed our session on its way out
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_serve_with_port_base_stops_on_sigint(tmp_path: Path) -> None:
    hosts_file = tmp_path / "hosts.yaml"
    for _attempt in range(5):  # a block free when probed can still be taken before the lab binds it
        base = free_port_block(6)
        process = start_lab("--preset", "small", "--inventory-out", str(hosts_file), "--port-base", str(base),
                            lean=True)
        try:
            line = wait_ready(process)
        except AssertionError as error:
            if "address already in use" in str(error):
                continue
            raise
        break
    else:
        pytest.fail("no free block of 6 ports in 5 attempts")
    try:
        assert f"ports {base}-{base + 5}" in line
        hosts = yaml.safe_load(hosts_file.read_text())
        assert [h["port"] for h in hosts.values()] == list(range(base, base + 6))
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


BAD_TOPOLOGY = """
name: broken
devices:
  R1:
    config: |
      hostname R1
      interface Gi0/0
       ip adress 10.0.0.1 255.255.255.0
"""


@pytest.mark.parametrize("args, message", [
    (["--inventory-out", "{tmp}/h.yaml"], "give exactly one of --preset NAME or --topology FILE"),
    (["--preset", "small", "--topology", "x.yaml", "--inventory-out", "{tmp}/h.yaml"], "give exactly one of"),
    (["--preset", "small"], "--inventory-out"),
    (["--preset", "nope", "--inventory-out", "{tmp}/h.yaml"], "unknown preset"),
    (["--topology", "{tmp}/missing.yaml", "--inventory-out", "{tmp}/h.yaml"], "missing.yaml"),
    (["--topology", "{tmp}/bad.yaml", "--inventory-out", "{tmp}/h.yaml"], "line 3"),
    (["--preset", "small", "--inventory-out", "{tmp}/no/such/dir/h.yaml"], "does not exist"),
    (["--preset", "small", "--inventory-out", "{tmp}"], "is a directory"),
    (["--preset", "small", "--inventory-out", "{tmp}/h.yaml", "--port-base", "65534"], "--port-base"),
    (["--preset", "small", "--inventory-out", "{tmp}/h.yaml", "--password", ""], "must not be empty"),
])
def test_bad_flags_and_topologies_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "bad.yaml").write_text(BAD_TOPOLOGY)
    argv = ["lab", "serve", *(a.replace("{tmp}", str(tmp_path)) for a in args)]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    text = result.output.strip()
    assert message in text and "Traceback" not in text
    assert len(text.splitlines()) == 1, text
    assert not (tmp_path / "h.yaml").exists()


def test_unknown_option_is_a_usage_error() -> None:
    result = runner.invoke(app, ["lab", "serve", "--preset", "small", "--bogus"])
    assert result.exit_code == 2
