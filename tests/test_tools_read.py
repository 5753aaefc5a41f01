"""Each read tool, as a LangChain tool, against the emulated lab with the real NAPALM / Netmiko clients."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from lab_support import served_lab
from langchain_core.tools import BaseTool, StructuredTool

from tools.read_tools import read_tools
from tools.session import ToolSession
from tools.testing import lab_inventory
from twin_lab.emulator import Credentials, LabThread

USER, PASSWORD, SECRET = "netops", "read-pw", "read-en"
SECRETS = ("Sup3rSecretPw", "C0mmunityStr", "read-pw", "read-en")


@pytest.fixture(scope="module")
def lab() -> Iterator[LabThread]:
    with served_lab(Credentials(USER, PASSWORD, SECRET)) as running:
        errors = running.call(running.server.network.apply, "R6",
                              ["username backup privilege 15 secret 0 Sup3rSecretPw",
                               "snmp-server community C0mmunityStr RO"])
        assert not errors
        yield running


@pytest.fixture(scope="module")
def tools(lab: LabThread) -> Iterator[dict[str, BaseTool]]:
    inventory = lab_inventory(lab.server.ports, username=USER, password=PASSWORD, secret=SECRET)
    with ToolSession(inventory) as session:
        yield {tool.name: tool for tool in read_tools(session)}


def call(tools: dict[str, BaseTool], name: str, **args) -> dict:
    result = tools[name].invoke(args)
    text = json.dumps(result)  # every result is JSON-serialisable ...
    for secret in SECRETS:  # ... and never carries a secret
        assert secret not in text, f"{name} leaked a secret"
    return result


def test_tools_are_structured_with_schemas(tools: dict[str, BaseTool]) -> None:
    assert sorted(tools) == sorted(["list_devices", "get_facts", "get_interfaces", "get_interfaces_ip",
                                    "get_route_to", "get_bgp_neighbors", "get_lldp_neighbors",
                                    "get_running_config", "ping", "traceroute", "show"])
    for tool in tools.values():
        assert isinstance(tool, StructuredTool) and tool.description
        schema = tool.args_schema.model_json_schema()
        assert schema["type"] == "object"
    assert tools["ping"].args_schema.model_json_schema()["required"] == ["device", "destination"]


def test_list_devices(tools: dict[str, BaseTool]) -> None:
    devices = call(tools, "list_devices")["devices"]
    assert [d["name"] for d in devices] == ["R1", "R2", "R3", "R4", "R5", "R6"]
    assert all(d["hostname"] == "127.0.0.1" and d["platform"] == "ios" for d in devices)


def test_facts(tools: dict[str, BaseTool]) -> None:
    facts = call(tools, "get_facts", device="R1")
    assert facts["hostname"] == "R1" and facts["vendor"] == "Cisco"
    assert {"GigabitEthernet0/0", "Loopback0"} <= set(facts["interface_list"])


def test_interfaces_and_ips(tools: dict[str, BaseTool]) -> None:
    interfaces = call(tools, "get_interfaces", device="R1")
    assert interfaces["GigabitEthernet0/0"]["is_up"] and interfaces["GigabitEthernet0/0"]["description"] == "to R2"
    addresses = call(tools, "get_interfaces_ip", device="R1")
    assert addresses["GigabitEthernet0/0"]["ipv4"] == {"10.0.12.1": {"prefix_length": 30}}
    assert addresses["Loopback0"]["ipv4"] == {"1.1.1.1": {"prefix_length": 32}}


def test_route_to(tools: dict[str, BaseTool]) -> None:
    routes = call(tools, "get_route_to", device="R1", destination="10.0.4.0/24")
    (entry,) = routes["10.0.4.0/24"]
    assert entry["protocol"] == "ospf" and entry["current_active"]
    bad = call(tools, "get_route_to", device="R1", destination="10.0.4.0/33")
    assert "error" in bad


def test_bgp_neighbors(tools: dict[str, BaseTool]) -> None:
    peers = call(tools, "get_bgp_neighbors", device="R2")["global"]["peers"]
    assert peers["10.0.25.2"]["remote_as"] == 65002 and peers["10.0.25.2"]["is_up"]
    assert peers["3.3.3.3"]["remote_as"] == 65001 and peers["3.3.3.3"]["is_up"]


def test_lldp_neighbors(tools: dict[str, BaseTool]) -> None:
    neighbors = call(tools, "get_lldp_neighbors", device="R1")
    assert neighbors["GigabitEthernet0/0"][0]["hostname"] == "R2"
    assert neighbors["GigabitEthernet0/1"][0]["hostname"] == "R3"


def test_running_config_is_redacted(tools: dict[str, BaseTool]) -> None:
    config = call(tools, "get_running_config", device="R6")["running"]
    assert "hostname R6" in config
    assert "username backup privilege 15 secret 0 <redacted>" in config
    assert "snmp-server community <redacted> RO" in config


def test_ping_and_traceroute(tools: dict[str, BaseTool]) -> None:
    ok = call(tools, "ping", device="R1", destination="4.4.4.4", count=3)["success"]
    assert ok["packet_loss"] == 0 and ok["probes_sent"] == 3
    lost = call(tools, "ping", device="R1", destination="192.0.2.1", count=2)["success"]
    assert lost["packet_loss"] == 2
    hops = call(tools, "traceroute", device="R1", destination="4.4.4.4")["success"]
    assert [hop["probes"]["1"]["ip_address"] for _n, hop in sorted(hops.items())] == ["10.0.13.2", "10.0.34.2"]
    assert "error" in call(tools, "ping", device="R1", destination="4.4.4.4; reload")


def test_show_allowed(tools: dict[str, BaseTool]) -> None:
    brief = call(tools, "show", device="R1", command="sh ip int br")
    assert brief["command"] == "show ip interface brief" and "GigabitEthernet0/0" in brief["output"]
    neighbors = call(tools, "show", device="R2", command="show ip ospf neighbor")
    assert "1.1.1.1" in neighbors["output"] and "3.3.3.3" in neighbors["output"]
    section = call(tools, "show", device="R6", command="show run | i secret|community")
    assert "<redacted>" in section["output"]


@pytest.mark.parametrize("command", ["configure terminal", "reload", "show run | redirect flash:x",
                                     "show run ; conf t", "show clock\nconf t", "show tech-support",
                                     "write erase"])
def test_show_refused(lab: LabThread, tools: dict[str, BaseTool], command: str) -> None:
    before = lab.call(lab.server.network.running_config, "R1")
    result = call(tools, "show", device="R1", command=command)
    assert result["kind"] == "refused" and "refused" in result["error"]
    assert lab.call(lab.server.network.running_config, "R1") == before


def test_unknown_device(tools: dict[str, BaseTool]) -> None:
    result = call(tools, "get_facts", device="R99")
    assert result["kind"] == "inventory" and "R99" in result["error"]
