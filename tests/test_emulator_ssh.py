"""Real clients over real SSH: Netmiko (cisco_ios), paramiko exec, SCP, against a served lab."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from lab_support import served_lab
from netmiko import ConnectHandler, FileTransfer
from netmiko.exceptions import NetmikoAuthenticationException

from twin_lab.emulator import Credentials, LabServer, LabThread
from twin_lab.network import Network
from twin_lab.topology import load_preset

USER, PASSWORD, SECRET = "admin", "lab-pass", "lab-enable"
# netmiko's textfsm helper still calls pkg_resources.path (its problem, not ours)
pytestmark = pytest.mark.filterwarnings("ignore:path is deprecated:DeprecationWarning")


@pytest.fixture
def lab() -> Iterator[LabThread]:
    with served_lab(Credentials(USER, PASSWORD, SECRET)) as running:
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


def test_repeated_connect_and_show_version(lab: LabThread) -> None:
    """Connect/disconnect cycles leave nothing behind (timings live in bench/lab_bench.py)."""
    for _ in range(3):
        with netmiko(lab) as conn:
            assert "R1 uptime is" in conn.send_command("show version")
    deadline = time.time() + 5
    while lab.server._connections and time.time() < deadline:
        time.sleep(0.05)
    assert not lab.server._connections


def test_thousand_device_lab_serves_every_device() -> None:
    """A generated 1000-router lab: one listener per device, each answering as itself."""
    network = Network(load_preset("gen-1000"))
    server = LabServer(network)
    with LabThread(server):
        assert len(server.ports) == 1000 and len(set(server.ports.values())) == 1000
        for name in (network.device_names()[0], network.device_names()[-1]):
            with ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=server.ports[name],
                                username="admin", password="admin") as conn:
                assert conn.find_prompt() == f"{network.config(name).hostname}#"


# --- every show command of the issue, and ntc-templates parsing through Netmiko ---------------------

SHOW_COMMANDS = [
    "show version", "show running-config", "show startup-config", "show ip interface brief", "show interfaces",
    "show interfaces GigabitEthernet0/0", "show ip interface", "show ip interface Gi0/1", "show ip route",
    "show ip route 10.0.4.0", "show ip ospf neighbor", "show ip ospf interface brief", "show ip bgp summary",
    "show bgp all summary", "show bgp ipv4 unicast neighbors", "show bgp ipv4 unicast neighbors 10.0.25.2",
    "show ip bgp neighbors", "show lldp neighbors detail", "show arp", "show hosts", "show access-lists",
    "show clock", "show ip protocols", "ping 10.0.4.1", "ping 6.6.6.6 source Loopback0 repeat 3",
    "traceroute 6.6.6.6", "show ipv6 interface",
]


def test_every_show_command_over_netmiko(lab: LabThread) -> None:
    with netmiko(lab, "R2") as conn:
        conn.enable()
        for command in SHOW_COMMANDS:
            output = conn.send_command(command)
            assert "% Invalid" not in output and "% Incomplete" not in output and "% Internal" not in output, command
            assert output.strip() or command in ("show ipv6 interface", "show access-lists"), command
        # AS65002 has no route back to R2's loopback; from the eBGP link address it has (a default)
        assert "Success rate is 0 percent (0/3)" in conn.send_command("ping 6.6.6.6 source Loopback0 repeat 3")
        assert "Success rate is 100 percent (3/3)" in conn.send_command("ping 6.6.6.6 source Gi0/2 repeat 3")
        assert "[OK]" in conn.send_command("write memory")
        out = conn.send_command("copy running-config startup-config", expect_string=r"\]\?")
        assert out.strip() == "Destination filename [startup-config]?"
        assert "[OK]" in conn.send_command("", expect_string=r"R2#")


def test_netmiko_textfsm_parses_every_table(lab: LabThread) -> None:
    with netmiko(lab, "R2") as conn:
        def parsed(command: str) -> list[dict]:
            rows = conn.send_command(command, use_textfsm=True)
            assert isinstance(rows, list) and rows, command
            return rows

        assert parsed("show version")[0]["hostname"] == "R2"
        brief = {r["interface"]: r for r in parsed("show ip interface brief")}
        assert brief["GigabitEthernet0/2"]["ip_address"] == "10.0.25.1" and brief["Loopback0"]["proto"] == "up"
        interfaces = {r["interface"]: r for r in parsed("show interfaces")}
        assert interfaces["GigabitEthernet0/1"]["description"] == "to R3"
        assert interfaces["GigabitEthernet0/7"]["link_status"] == "down"
        routes = {(r["network"], r["prefix_length"]): r for r in parsed("show ip route")}
        assert routes[("198.51.100.0", "24")]["protocol"] == "B"
        assert routes[("4.4.4.4", "32")]["nexthop_ip"] == "10.0.23.2"
        assert {r["neighbor_id"] for r in parsed("show ip ospf neighbor")} == {"1.1.1.1", "3.3.3.3"}
        bgp = {r["bgp_neighbor"]: r for r in parsed("show ip bgp summary")}
        assert bgp["10.0.25.2"]["state_or_prefixes_received"] == "2" and bgp["10.0.25.2"]["neighbor_as"] == "65002"
        lldp = {r["local_interface"]: r for r in parsed("show lldp neighbors detail")}
        assert {k: (v["neighbor_name"], v["neighbor_port_id"]) for k, v in lldp.items()} == {
            "Gi0/0": ("R1", "Gi0/0"), "Gi0/1": ("R3", "Gi0/1"), "Gi0/2": ("R5", "Gi0/0")}
    with netmiko(lab, "R4") as conn:
        acl = conn.send_command("show access-lists", use_textfsm=True)
        assert [(r["name"], r["sn"], r["action"]) for r in acl] == [("PROTECT-H2", "10", "deny"),
                                                                    ("PROTECT-H2", "20", "permit")]


# --- one network behind every device: a change shows up on the neighbours --------------------------

def test_shutdown_on_r1_shows_up_on_r2(lab: LabThread) -> None:
    with netmiko(lab, "R1") as r1, netmiko(lab, "R2") as r2:
        assert "1.1.1.1" in r2.send_command("show ip ospf neighbor")
        assert "!!!!!" in r2.send_command("ping 10.0.12.1")
        route = r2.send_command("show ip route 1.1.1.1")
        assert "via GigabitEthernet0/0" in route
        r1.send_config_set(["interface GigabitEthernet0/0", "shutdown"])
        neighbors = r2.send_command("show ip ospf neighbor", use_textfsm=True)
        assert {n["neighbor_id"] for n in neighbors} == {"3.3.3.3"}
        brief = {r["interface"]: r for r in r2.send_command("show ip interface brief", use_textfsm=True)}
        assert brief["GigabitEthernet0/0"]["status"] == "down"  # the far end went admin down
        route = r2.send_command("show ip route 1.1.1.1")
        assert "via GigabitEthernet0/1" in route and "metric 3" in route  # around through R3
        assert "Success rate is 0 percent" in r2.send_command("ping 10.0.12.1")
        lldp = r2.send_command("show lldp neighbors", use_textfsm=True)
        assert {r["local_interface"] for r in lldp} == {"Gi0/1", "Gi0/2"}
        r1.send_config_set(["interface GigabitEthernet0/0", "no shutdown"])
        assert "1.1.1.1" in r2.send_command("show ip ospf neighbor")
        assert "!!!!!" in r2.send_command("ping 10.0.12.1")
