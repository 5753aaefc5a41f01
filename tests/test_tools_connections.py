"""Connections fail fast and clearly: closed port, silent port, wrong password; dead sessions reopen."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import napalm.ios  # noqa: F401  (import cost is paid here, not inside the timed connects)
import pytest
from lab_support import lab_sessions, served_lab, settled_sessions

from tools.connections import ConnectionSettings
from tools.errors import ToolError
from tools.read_tools import read_tools
from tools.session import ToolSession
from tools.testing import kill_transport, lab_inventory
from twin_lab.emulator import Credentials, LabThread

USER, PASSWORD, SECRET = "netops", "conn-pw", "conn-en"
TIMEOUT = 1.5


@pytest.fixture(scope="module")
def lab() -> Iterator[LabThread]:
    with served_lab(Credentials(USER, PASSWORD, SECRET)) as running:
        yield running


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts TCP (the kernel completes the handshake) but never says a word of SSH."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def session_for(ports: dict[str, int], **settings) -> ToolSession:
    inventory = lab_inventory(ports, username=USER, password=PASSWORD, secret=SECRET)
    return ToolSession(inventory, settings=ConnectionSettings(timeout=TIMEOUT, **settings))


def test_closed_port_fails_fast() -> None:
    with session_for({"X": closed_port()}, retries=2, backoff=0.1) as session:
        start = time.monotonic()
        with pytest.raises(ToolError) as err:
            session.napalm("X")
        elapsed = time.monotonic() - start
    assert elapsed < TIMEOUT + 0.3
    assert err.value.kind == "unreachable" and err.value.device == "X"
    assert "cannot connect to 127.0.0.1:" in str(err.value) and "3 attempt(s)" in str(err.value)


def test_silent_port_fails_within_timeout(silent_port: int) -> None:
    with session_for({"X": silent_port}) as session:
        for opener in (session.napalm, session.netmiko):
            start = time.monotonic()
            with pytest.raises(ToolError) as err:
                opener("X")
            elapsed = time.monotonic() - start
            assert elapsed < TIMEOUT + 0.3, f"{opener.__name__} took {elapsed:.1f} s"
            assert err.value.kind in ("timeout", "unreachable")


def test_read_tool_reports_unreachable_device(silent_port: int) -> None:
    with session_for({"X": silent_port}) as session:
        facts = next(t for t in read_tools(session) if t.name == "get_facts")
        start = time.monotonic()
        result = facts.invoke({"device": "X"})
        assert time.monotonic() - start < TIMEOUT + 0.3
    assert result["device"] == "X" and result["kind"] in ("timeout", "unreachable")
    assert "X:" in result["error"]


def test_wrong_password_is_an_auth_error_without_retries(lab: LabThread) -> None:
    inventory = lab_inventory(lab.server.ports, username=USER, password="wrong", secret=SECRET)
    with ToolSession(inventory, settings=ConnectionSettings(timeout=5, retries=3, backoff=1)) as session:
        start = time.monotonic()
        with pytest.raises(ToolError) as err:
            session.napalm("R1")
        assert time.monotonic() - start < 2.5  # no retries (3 x 1 s backoff otherwise)
    assert err.value.kind == "auth" and "authentication failed" in str(err.value)
    assert "wrong" not in str(err.value)


def test_pool_reuses_and_reopens_dead_sessions(lab: LabThread) -> None:
    with session_for(lab.server.ports) as session:
        first = session.napalm("R1")
        assert session.napalm("R1") is first
        kill_transport(first)
        second = session.napalm("R1")
        assert second is not first and second.get_facts()["hostname"] == "R1"
        conn = session.netmiko("R1")
        assert session.netmiko("R1") is conn and "R1" in conn.find_prompt()
    assert not session.pool._napalm and not session.pool._netmiko


def test_an_ios_device_gets_one_ssh_session_for_napalm_and_show(lab: LabThread) -> None:
    """A vty line each, not two: ``show`` rides the NAPALM driver's Netmiko connection."""
    session = session_for(lab.server.ports)
    tools = {t.name: t for t in read_tools(session)}
    with session:
        assert tools["get_facts"].invoke({"device": "R2"})["hostname"] == "R2"
        assert "R2 uptime is" in tools["show"].invoke({"device": "R2", "command": "show version"})["output"]
        assert tools["get_interfaces"].invoke({"device": "R2"})
        assert session.netmiko("R2") is session.napalm("R2").device
        assert lab_sessions(lab, "R2") == 1
        kill_transport(session.napalm("R2"))  # a dead session is reopened once for both
        assert "R2 uptime is" in tools["show"].invoke({"device": "R2", "command": "show version"})["output"]
        assert session.netmiko("R2") is session.napalm("R2").device
        assert settled_sessions(lab, 1, "R2") == 1


def test_connect_timeout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINOPS_CONNECT_TIMEOUT", "42.5")
    assert ConnectionSettings().timeout == 42.5
    assert ConnectionSettings(timeout=3).timeout == 3  # an explicit value wins
    monkeypatch.delenv("TWINOPS_CONNECT_TIMEOUT")
    assert ConnectionSettings().timeout == 10.0


@pytest.mark.parametrize("raw", ["soon", "0", "-3", "inf", "nan"])
def test_a_bad_connect_timeout_in_the_environment_is_named(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("TWINOPS_CONNECT_TIMEOUT", raw)
    with pytest.raises(ValueError, match="TWINOPS_CONNECT_TIMEOUT must be a number of seconds above 0"):
        ConnectionSettings()
