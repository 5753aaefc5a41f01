"""Topology file contract and the ``twinops twin`` commands, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from agent.cli import app
from twin_lab.topology import Topology, TopologyError, load_preset, load_topology

runner = CliRunner()

GOOD = """
name: two
devices:
  R1:
    config: |
      hostname R1
      interface GigabitEthernet0/0
       ip address 10.0.12.1 255.255.255.0
      router ospf 1
       network 10.0.12.0 0.0.0.255 area 0
  R2:
    config: |
      hostname R2
      interface Gi0/0
       ip address 10.0.12.2 255.255.255.0
      interface Gi0/1
       ip address 10.0.2.1 255.255.255.0
      router ospf 1
       network 10.0.0.0 0.0.255.255 area 0
links:
  - [R1:Gi0/0, R2:GigabitEthernet0/0]
hosts:
  h2: {ip: 10.0.2.10/24, gateway: 10.0.2.1, attach: R2:Gi0/1}
"""


def write(tmp_path, text: str, name: str = "lab.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_file_loads_with_abbreviated_interfaces(tmp_path):
    topology = load_topology(write(tmp_path, GOOD))
    assert topology.device_names == ["R1", "R2"]
    a, b = topology.links[0]
    assert (a.interface, b.interface) == ("GigabitEthernet0/0", "GigabitEthernet0/0")
    assert topology.hosts["h2"].attach.interface == "GigabitEthernet0/1"


def test_interface_only_in_links_exists_without_address(tmp_path):
    text = GOOD.replace("  - [R1:Gi0/0, R2:GigabitEthernet0/0]", "  - [R1:Gi0/0, R2:GigabitEthernet0/0]\n  - [R1:Gi0/3, R2:Gi0/3]")
    topology = load_topology(write(tmp_path, text))
    itf = topology.configs["R1"].interfaces["GigabitEthernet0/3"]
    assert itf.address is None and not itf.shutdown


@pytest.mark.parametrize(("mutation", "expected"), [
    (lambda t: t.replace("name: two", "name: [unclosed"), "invalid YAML"),
    (lambda t: t.replace("[R1:Gi0/0, R2:GigabitEthernet0/0]", "[R1:Gi0/0, R9:Gi0/0]"), "unknown device 'R9'"),
    (lambda t: t.replace("[R1:Gi0/0, R2:GigabitEthernet0/0]", "[R1:Foo0/0, R2:Gi0/0]"), "unknown interface 'Foo0/0'"),
    (lambda t: t.replace("[R1:Gi0/0, R2:GigabitEthernet0/0]", "[R1:Gi0/0, R2:Gi0/0]\n  - [R1:Gi0/0, R2:Gi0/2]"),
     "already used"),
    (lambda t: t.replace("       ip address 10.0.12.1 255.255.255.0", "       ip adress 10.0.12.1 255.255.255.0"),
     "devices.R1.config line 3"),
    (lambda t: t.replace("platform: ios", "") .replace("  R1:\n", "  R1:\n    platform: junos\n"), "devices.R1.platform"),
    (lambda t: t.replace("attach: R2:Gi0/1", "attach: R2"), "expected DEVICE:INTERFACE"),
])
def test_malformed_files_name_the_file_and_problem(tmp_path, mutation, expected):
    path = write(tmp_path, mutation(GOOD))
    with pytest.raises(TopologyError) as info:
        load_topology(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_duplicate_device_is_rejected(tmp_path):
    text = GOOD.replace("  R2:\n    config: |\n      hostname R2", "  R1:\n    config: |\n      hostname R2", 1)
    with pytest.raises(TopologyError, match="duplicate key 'R1'"):
        load_topology(write(tmp_path, text))


def test_cli_bad_topology_exits_2_without_traceback(tmp_path):
    path = write(tmp_path, GOOD.replace("R2:Gi0/1}", "R7:Gi0/1}"))
    result = subprocess.run([sys.executable, "-m", "agent.cli", "twin", "show", "--topology", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(path) in result.stderr and "unknown device 'R7'" in result.stderr


def test_cli_needs_exactly_one_source():
    result = runner.invoke(app, ["twin", "show"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["twin", "show", "--preset", "small", "--topology", "x.yaml"])
    assert result.exit_code == 2


def test_cli_unknown_preset_exits_2():
    result = runner.invoke(app, ["twin", "show", "--preset", "nope"])
    assert result.exit_code == 2


def test_cli_show_json_describes_the_network(tmp_path):
    result = runner.invoke(app, ["twin", "show", "--topology", str(write(tmp_path, GOOD)), "--json"])
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    r1 = view["devices"]["R1"]
    assert [n["state"] for n in r1["ospf_neighbors"]] == ["FULL"]
    assert any(r["prefix"] == "10.0.2.0/24" and r["protocol"] == "O" for r in r1["routes"])


def test_cli_show_device_renders_tables():
    result = runner.invoke(app, ["twin", "show", "--preset", "small", "--device", "R3"])
    assert result.exit_code == 0
    assert "R3 routing table" in result.output and "GigabitEthernet0/2" in result.output


def test_cli_ping_and_trace_exit_codes():
    ok = runner.invoke(app, ["twin", "ping", "h1", "h3", "--preset", "small", "--json"])
    assert ok.exit_code == 0
    assert json.loads(ok.output)["success"] is True
    trace = runner.invoke(app, ["twin", "trace", "R1", "10.0.4.10", "--preset", "small", "--json"])
    assert trace.exit_code == 0
    assert [h["node"] for h in json.loads(trace.output)["hops"]] == ["R1", "R3", "R4", "h2"]
    lost = runner.invoke(app, ["twin", "ping", "h1", "192.0.2.99", "--preset", "small"])
    assert lost.exit_code == 1


def test_cli_unknown_node_exits_2():
    result = runner.invoke(app, ["twin", "ping", "R99", "h3", "--preset", "small"])
    assert result.exit_code == 2


def test_every_preset_loads_and_round_trips():
    from twin_lab.ios import parse_config, render_config

    for name in ["small", "gen-30"]:
        topology = load_preset(name)
        for device, config in topology.configs.items():
            text = render_config(config)
            again, errors = parse_config(text)
            assert not errors, (name, device, errors)
            assert render_config(again) == text


def test_to_spec_round_trips_through_yaml():
    import yaml

    topology = load_preset("small")
    text = yaml.safe_dump(topology.to_spec().model_dump())
    again = Topology.from_yaml_text(text)
    assert again.device_names == topology.device_names
    assert again.links == topology.links


def test_demo_walkthrough_succeeds():
    result = runner.invoke(app, ["demo", "--walkthrough"])
    assert result.exit_code == 0, result.output
    assert "walkthrough complete" in result.output


def test_demo_rejects_an_unknown_fault_kind():
    result = runner.invoke(app, ["demo", "--fault", "cosmic_ray"])
    assert result.exit_code == 2
    assert "cosmic_ray" in result.output
