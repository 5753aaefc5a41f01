"""NAPALM's ios driver, unmodified, against the emulator: facts, config, merge/replace/rollback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from lab_support import served_lab
from napalm import get_network_driver
from napalm.base.exceptions import MergeConfigException

from twin_lab.emulator import Credentials, LabThread

USER, PASSWORD, SECRET = "netops", "pw", "en"


@pytest.fixture
def lab() -> Iterator[LabThread]:
    with served_lab(Credentials(USER, PASSWORD, SECRET)) as running:
        yield running


@pytest.fixture
def device(lab: LabThread):
    with napalm_driver(lab, "R1") as driver:
        yield driver


@contextmanager
def napalm_driver(lab: LabThread, name: str) -> Iterator[Any]:
    """The NAPALM ios driver, opened on ``name``'s port of ``lab``."""
    driver = get_network_driver("ios")(
        hostname="127.0.0.1", username=USER, password=PASSWORD,
        optional_args={"port": lab.server.ports[name], "dest_file_system": "flash:", "secret": SECRET})
    driver.open()
    try:
        yield driver
    finally:
        driver.close()


def running(lab: LabThread, name: str = "R1") -> str:
    return lab.call(lab.server.network.running_config, name)


def test_facts_and_config(device) -> None:
    facts = device.get_facts()
    assert facts["hostname"] == "R1" and facts["vendor"] == "Cisco" and facts["model"] == "IOSv"
    assert facts["os_version"].startswith("IOSv Software (VIOS-ADVENTERPRISEK9-M), Version 15.9(3)M6")
    assert "GigabitEthernet0/0" in facts["interface_list"] and "Loopback0" in facts["interface_list"]
    config = device.get_config()
    assert config["running"].startswith("!") and "hostname R1" in config["running"]
    assert "Building configuration" not in config["running"]
    assert "hostname R1" in config["startup"]
    assert device.is_alive()["is_alive"]


def test_merge_compare_commit_rollback(lab: LabThread, device) -> None:
    device.load_merge_candidate(config="interface Loopback9\n ip address 9.9.9.9 255.255.255.255\n")
    assert device.compare_config() == "+interface Loopback9\n+ ip address 9.9.9.9 255.255.255.255"
    assert "Loopback9" not in running(lab)
    device.commit_config()
    assert "interface Loopback9" in running(lab)
    assert "interface Loopback9" in device.get_config("startup")["startup"]  # commit saves
    device.rollback()
    assert "Loopback9" not in running(lab)


def test_merge_with_no_changes_has_empty_diff(device) -> None:
    device.load_merge_candidate(config="interface Loopback0\n ip address 1.1.1.1 255.255.255.255\n")
    assert device.compare_config() == ""
    device.discard_config()


def test_invalid_merge_rolls_back(lab: LabThread, device) -> None:
    before = running(lab)
    device.load_merge_candidate(config="interface Loopback9\n ip address 9.9.9.9 255.255.255.255\nbogus command\n")
    assert "bogus command" in device.compare_config()  # fell back to echoing the merge file
    with pytest.raises(MergeConfigException):
        device.commit_config()
    # NAPALM turned on "file prompt quiet" before saving its rollback file (it undoes it on close).
    assert running(lab).replace("file prompt quiet\n!\n", "") == before


def test_replace_compare_commit_rollback(lab: LabThread, device) -> None:
    config = device.get_config(retrieve="running")["running"]
    candidate = config.replace("description to R2", "description to R2 via replace")
    device.load_replace_candidate(config=candidate)
    assert device.compare_config() == ("interface GigabitEthernet0/0\n -description to R2\n"
                                       " +description to R2 via replace")
    device.commit_config()
    assert "description to R2 via replace" in running(lab)
    device.rollback()
    assert "via replace" not in running(lab)


def test_replace_removes_what_candidate_lacks(lab: LabThread, device) -> None:
    config = device.get_config(retrieve="running")["running"]
    candidate = "\n".join(line for line in config.splitlines() if "passive-interface" not in line)
    device.load_replace_candidate(config=candidate)
    assert device.compare_config() == "router ospf 1\n -passive-interface GigabitEthernet0/2"
    device.commit_config()
    assert "passive-interface" not in running(lab)


def test_discard_config(device) -> None:
    device.load_merge_candidate(config="interface Loopback9\n description pending\n")
    device.discard_config()
    assert device.compare_config() == ""


def test_cli(device) -> None:
    out = device.cli(["show clock", "show ip interface brief | include Loopback"])
    assert "UTC" in out["show clock"]
    assert out["show ip interface brief | include Loopback"].startswith("Loopback0")


# --- getters: values consistent with the simulated topology (small preset) ---------------------------

@pytest.fixture(scope="module")
def ro_lab() -> Iterator[LabThread]:
    """A lab the getter tests only read from (one per module: opening NAPALM is the slow part)."""
    with served_lab(Credentials(USER, PASSWORD, SECRET)) as running:
        yield running


@pytest.fixture(scope="module")
def r2(ro_lab: LabThread):
    with napalm_driver(ro_lab, "R2") as driver:
        yield driver


def _mac(value: str) -> str:
    """NAPALM's MAC format (52:54:AB:CD:EF:01) from the simulator's dotted one."""
    digits = value.replace(".", "").upper()
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def test_get_interfaces_and_ips(ro_lab: LabThread, r2) -> None:
    from twin_lab.network import mac_address

    states = ro_lab.call(ro_lab.server.network.interfaces, "R2")
    interfaces = r2.get_interfaces()
    assert set(interfaces) == set(states)
    for name, state in states.items():
        assert interfaces[name]["is_enabled"] == state.admin_up
        assert interfaces[name]["is_up"] == state.line_up
    gi0 = interfaces["GigabitEthernet0/0"]
    assert gi0["description"] == "to R1" and gi0["speed"] == 1000.0 and gi0["mtu"] == 1500
    assert gi0["mac_address"] == _mac(mac_address("R2", "GigabitEthernet0/0"))
    ips = r2.get_interfaces_ip()
    assert ips["GigabitEthernet0/2"] == {"ipv4": {"10.0.25.1": {"prefix_length": 30}}}
    assert ips["Loopback0"] == {"ipv4": {"2.2.2.2": {"prefix_length": 32}}}
    counters = r2.get_interfaces_counters()
    assert set(counters) == set(states)
    assert counters["GigabitEthernet0/0"]["rx_unicast_packets"] > 0 and counters["GigabitEthernet0/7"]["tx_octets"] == 0


def test_get_arp_table(ro_lab: LabThread, r2) -> None:
    from twin_lab.addressing import int_to_ip

    expected = {(int_to_ip(ip), _mac(mac), itf) for ip, mac, itf, _own in
                ro_lab.call(ro_lab.server.network.arp_table, "R2")}
    arp = r2.get_arp_table()
    assert {(e["ip"], e["mac"], e["interface"]) for e in arp} == expected
    assert {e["ip"] for e in arp if e["age"] == -1.0} == {"10.0.12.2", "10.0.23.1", "10.0.25.1"}


def test_get_bgp_neighbors(r2) -> None:
    bgp = r2.get_bgp_neighbors()
    assert bgp["global"]["router_id"] == "2.2.2.2"
    peers = bgp["global"]["peers"]
    assert set(peers) == {"3.3.3.3", "10.0.25.2"}
    ebgp = peers["10.0.25.2"]
    assert (ebgp["local_as"], ebgp["remote_as"], ebgp["remote_id"], ebgp["is_up"]) == (65001, 65002, "5.5.5.5", True)
    assert ebgp["description"] == "AS65002 R5"
    assert ebgp["address_family"]["ipv4 unicast"]["accepted_prefixes"] == 2
    ibgp = peers["3.3.3.3"]
    assert ibgp["remote_as"] == 65001 and ibgp["is_up"] and ibgp["address_family"]["ipv4 unicast"]["sent_prefixes"] == 4


def test_get_lldp_neighbors(r2) -> None:
    assert r2.get_lldp_neighbors() == {
        "GigabitEthernet0/0": [{"port": "Gi0/0", "hostname": "R1"}],
        "GigabitEthernet0/1": [{"port": "Gi0/1", "hostname": "R3"}],
        "GigabitEthernet0/2": [{"port": "Gi0/0", "hostname": "R5"}],
    }
    detail = r2.get_lldp_neighbors_detail()
    r5 = detail["GigabitEthernet0/2"][0]
    assert (r5["remote_system_name"], r5["remote_port"], r5["remote_port_description"]) == (
        "R5", "Gi0/0", "eBGP to AS65001 R2")
    assert r5["remote_system_enable_capab"] == ["router"] and r5["remote_system_description"].startswith("Cisco IOS")


def test_get_route_to(r2) -> None:
    bgp = r2.get_route_to("198.51.100.0/24")["198.51.100.0/24"][0]
    assert (bgp["protocol"], bgp["next_hop"], bgp["current_active"]) == ("bgp", "10.0.25.2", True)
    assert bgp["protocol_attributes"]["as_path"] == "65002" and bgp["protocol_attributes"]["remote_as"] == 65002
    assert bgp["protocol_attributes"]["local_as"] == 65001
    ospf = r2.get_route_to("10.0.4.10")["10.0.4.0/24"][0]
    assert (ospf["protocol"], ospf["next_hop"], ospf["outgoing_interface"]) == ("ospf", "10.0.23.2", "GigabitEthernet0/1")
    connected = r2.get_route_to("10.0.12.0/30")["10.0.12.0/30"][0]
    assert (connected["protocol"], connected["outgoing_interface"]) == ("connected", "GigabitEthernet0/0")
    static = r2.get_route_to("0.0.0.0/0")["0.0.0.0/0"][0]
    assert (static["protocol"], static["next_hop"]) == ("static", "10.0.25.2")


def test_ping_traceroute_is_alive(r2) -> None:
    ok = r2.ping("10.0.4.10")["success"]  # h2, behind R4's ACL (which only blocks telnet)
    assert (ok["probes_sent"], ok["packet_loss"]) == (5, 0)
    lost = r2.ping("6.6.6.6", source="2.2.2.2", count=3)["success"]  # no route back to R2's loopback
    assert (lost["probes_sent"], lost["packet_loss"]) == (3, 3)
    assert "error" in r2.ping("6.6.6.6", source="9.9.9.9")
    hops = r2.traceroute("6.6.6.6")["success"]
    assert [hops[h]["probes"][1]["ip_address"] for h in sorted(hops)] == ["10.0.25.2", "10.1.56.2"]
    assert r2.is_alive() == {"is_alive": True}


def test_load_replace_then_discard(lab: LabThread, device) -> None:
    before = running(lab)
    config = device.get_config(retrieve="running")["running"]
    device.load_replace_candidate(config=config.replace("description to R2", "description staged only"))
    assert "staged only" in device.compare_config()
    device.discard_config()
    assert device.compare_config() == ""
    assert running(lab).replace("file prompt quiet\n!\n", "") == before  # NAPALM's own prompt setting aside
