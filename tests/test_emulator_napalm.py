"""NAPALM's ios driver, unmodified, against the emulator: facts, config, merge/replace/rollback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from napalm import get_network_driver
from napalm.base.exceptions import MergeConfigException

from twin_lab.emulator import Credentials, LabServer, LabThread
from twin_lab.network import Network
from twin_lab.topology import load_preset

USER, PASSWORD, SECRET = "netops", "pw", "en"


@pytest.fixture
def lab() -> Iterator[LabThread]:
    server = LabServer(Network(load_preset("small")), credentials=Credentials(USER, PASSWORD, SECRET))
    with LabThread(server) as running:
        yield running


@pytest.fixture
def device(lab: LabThread):
    driver = get_network_driver("ios")(
        hostname="127.0.0.1", username=USER, password=PASSWORD,
        optional_args={"port": lab.server.ports["R1"], "dest_file_system": "flash:", "secret": SECRET})
    driver.open()
    yield driver
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
