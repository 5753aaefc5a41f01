"""Real clients over real SSH: Netmiko (cisco_ios), paramiko exec, SCP, against a served lab."""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from netmiko import ConnectHandler, FileTransfer
from netmiko.exceptions import NetmikoAuthenticationException

from twin_lab.emulator import Credentials, LabServer, LabThread
from twin_lab.network import Network
from twin_lab.topology import load_preset

USER, PASSWORD, SECRET = "admin", "lab-pass", "lab-enable"


@pytest.fixture
def lab() -> Iterator[LabThread]:
    server = LabServer(Network(load_preset("small")), credentials=Credentials(USER, PASSWORD, SECRET))
    with LabThread(server) as running:
        yield running


def netmiko(lab: LabThread, device: str = "R1", **extra) -> ConnectHandler:
    return ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=lab.server.ports[device],
                          username=USER, password=PASSWORD, secret=SECRET, **extra)


def test_one_port_per_device(lab: LabThread) -> None:
    ports = lab.server.ports
    assert sorted(ports) == ["R1", "R2", "R3", "R4", "R5", "R6"]
    assert len(set(ports.values())) == 6


def test_netmiko_session(lab: LabThread) -> None:
    with netmiko(lab, "R2") as conn:
        assert conn.find_prompt() == "R2#"
        conn.enable()
        version = conn.send_command("show version", use_textfsm=True)
        assert version[0]["hostname"] == "R2" and version[0]["version"] == "15.9(3)M6"
        output = conn.send_config_set(["interface Loopback42", "ip address 42.42.42.42 255.255.255.255",
                                       "description via netmiko"])
        assert "R2(config-if)#" in output and "Invalid" not in output
        assert "[OK]" in conn.save_config()
        section = conn.send_command("show running-config | section Loopback42")
        assert section.splitlines() == ["interface Loopback42", " description via netmiko",
                                        " ip address 42.42.42.42 255.255.255.255"]
        assert "interface Loopback42" in conn.send_command("show startup-config")
        brief = conn.send_command("sh ip int br", use_textfsm=True)
        assert {"interface": "Loopback42", "ip_address": "42.42.42.42", "status": "up", "proto": "up"} in brief
    assert "Loopback42" in lab.call(lab.server.network.running_config, "R2")


def test_netmiko_enable_from_user_exec(lab: LabThread) -> None:
    with netmiko(lab) as conn:
        conn.send_command("disable", expect_string=r">")
        conn.set_base_prompt()
        assert conn.find_prompt() == "R1>"
        assert not conn.check_enable_mode()
        conn.enable()
        assert conn.find_prompt() == "R1#"


def test_netmiko_config_errors_are_visible(lab: LabThread) -> None:
    with netmiko(lab) as conn:
        output = conn.send_config_set(["interface Loopback3", "ip address 1.2.3.4 255.255.255.0 junk"])
        assert "% Invalid input detected at '^' marker." in output


def test_wrong_password_refused(lab: LabThread) -> None:
    with pytest.raises(NetmikoAuthenticationException):
        ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=lab.server.ports["R1"],
                       username=USER, password="wrong")


def test_exec_channel_runs_one_command(lab: LabThread) -> None:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port=lab.server.ports["R3"], username=USER, password=PASSWORD,
                   look_for_keys=False, allow_agent=False)
    try:
        _stdin, stdout, _stderr = client.exec_command("show running-config | include ^hostname")
        assert stdout.read().decode().strip() == "hostname R3"
        assert stdout.channel.recv_exit_status() == 0
    finally:
        client.close()


def test_scp_upload_and_verify_with_netmiko_file_transfer(lab: LabThread, tmp_path: Path) -> None:
    source = tmp_path / "candidate.txt"
    source.write_text("hostname R1\ninterface Loopback1\n ip address 10.1.1.1 255.255.255.255\nend\n")
    with netmiko(lab) as conn, FileTransfer(conn, source_file=str(source), dest_file="up.txt",
                                             file_system="flash:", direction="put") as transfer:
        assert not transfer.check_file_exists()
        assert transfer.verify_space_available()
        transfer.transfer_file()
        assert transfer.verify_file()
        assert transfer.check_file_exists()
        assert transfer.remote_file_size() == source.stat().st_size
    stored = lab.call(lambda: lab.server.lab.device("R1").flash.read("up.txt"))
    assert stored == source.read_bytes()


def test_scp_download(lab: LabThread, tmp_path: Path) -> None:
    import scp

    lab.call(lambda: lab.server.lab.device("R4").flash.write("notes.txt", b"hello flash\n"))
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port=lab.server.ports["R4"], username=USER, password=PASSWORD,
                   look_for_keys=False, allow_agent=False)
    try:
        with scp.SCPClient(client.get_transport()) as copier:
            copier.get("flash:/notes.txt", str(tmp_path / "notes.txt"))
            copier.get("running-config", str(tmp_path / "run.txt"))
    finally:
        client.close()
    assert (tmp_path / "notes.txt").read_bytes() == b"hello flash\n"
    assert "hostname R4" in (tmp_path / "run.txt").read_text()
    assert hashlib.md5(b"hello flash\n").hexdigest()


def test_stop_closes_sessions() -> None:
    server = LabServer(Network(load_preset("small")), credentials=Credentials(USER, PASSWORD, SECRET))
    running = LabThread(server).start()
    conn = ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=server.ports["R1"],
                          username=USER, password=PASSWORD)
    running.stop()
    deadline = time.time() + 5
    while conn.remote_conn.transport.is_active() and time.time() < deadline:
        time.sleep(0.05)
    assert not conn.remote_conn.transport.is_active()


def test_connect_and_show_version_timing(lab: LabThread) -> None:
    """Measured, not asserted.  Netmiko's own fixed sleeps (~0.17 s in connect, ~0.08 s in a
    send_command that auto-finds the prompt) dominate; the emulator's share is the SSH handshake."""
    port = lab.server.ports["R1"]
    handshake, connect, show, show_expect = [], [], [], []
    for _ in range(5):
        start = time.perf_counter()
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect("127.0.0.1", port=port, username=USER, password=PASSWORD, look_for_keys=False,
                       allow_agent=False)
        handshake.append(time.perf_counter() - start)
        client.close()
        start = time.perf_counter()
        conn = netmiko(lab)
        connect.append(time.perf_counter() - start)
        start = time.perf_counter()
        conn.send_command("show version")
        show.append(time.perf_counter() - start)
        start = time.perf_counter()
        conn.send_command("show version", expect_string=r"R1#")
        show_expect.append(time.perf_counter() - start)
        conn.disconnect()
    med = statistics.median
    print(f"\nSSH handshake+auth (paramiko) median {med(handshake) * 1000:.1f} ms; netmiko connect "
          f"{med(connect) * 1000:.0f} ms; show version {med(show) * 1000:.0f} ms "
          f"(with expect_string {med(show_expect) * 1000:.1f} ms); connect + show version "
          f"{(med(connect) + med(show)) * 1000:.0f} ms")


def test_thousand_devices_start_fast() -> None:
    network = Network(load_preset("gen-1000"))
    server = LabServer(network)
    start = time.perf_counter()
    running = LabThread(server).start()
    elapsed = time.perf_counter() - start
    try:
        print(f"\n1000-device lab ready in {elapsed:.3f} s")
        assert len(server.ports) == 1000
        assert elapsed < 5
        name = network.device_names()[-1]
        with ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=server.ports[name],
                            username="admin", password="admin") as conn:
            assert conn.find_prompt() == f"{network.config(name).hostname}#"
    finally:
        running.stop()
