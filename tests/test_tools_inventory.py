"""Inventory: SimpleInventory inheritance, credential resolution order, secrecy, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tools.inventory import InventoryError, build_inventory, env_name, load_inventory

HOSTS = {
    "R1": {"hostname": "10.0.0.1", "groups": ["core"], "data": {"site": "lon", "rack": 1}},
    "R2": {"groups": ["edge"], "port": 2222, "password": "inv-host-pw"},
    "sw-3": {"hostname": "10.0.0.3", "platform": "cisco_ios"},
}
GROUPS = {
    "core": {"port": 830, "groups": ["region"], "data": {"role": "core", "site": "ams"}},
    "edge": {"username": "edge-user", "groups": ["region"], "data": {"role": "edge"}},
    "region": {"port": 8022, "data": {"region": "eu", "role": "none"}},
}
DEFAULTS = {"username": "ops", "password": "inv-default-pw", "platform": "ios", "port": 22,
            "data": {"secret": "inv-enable", "owner": "noc"}}


def write(tmp: Path, name: str, data: object) -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def test_inheritance_host_groups_defaults(tmp_path: Path) -> None:
    write(tmp_path, "hosts.yaml", HOSTS)
    write(tmp_path, "groups.yaml", GROUPS)
    write(tmp_path, "defaults.yaml", DEFAULTS)
    inv = load_inventory(tmp_path, env={})  # a directory: hosts.yaml + sibling groups/defaults
    r1, r2, sw = inv.get("R1"), inv.get("R2"), inv.get("sw-3")
    assert (r1.hostname, r1.port, r1.platform, r1.username) == ("10.0.0.1", 830, "ios", "ops")
    assert r1.groups == ["core", "region"]
    assert r1.data == {"site": "lon", "rack": 1, "role": "core", "region": "eu", "owner": "noc"}
    assert (r2.hostname, r2.port, r2.username) == ("R2", 2222, "edge-user")
    assert r2.data["role"] == "edge" and r2.data["region"] == "eu"
    assert r2.password.get_secret_value() == "inv-host-pw"
    assert r1.password.get_secret_value() == "inv-default-pw"
    assert r1.enable_secret == "inv-enable" and "secret" not in r1.data  # moved out of data
    assert sw.platform == "cisco_ios" and sw.port == 22
    assert inv.names() == ["R1", "R2", "sw-3"]


def test_credentials_env_then_secrets_file_then_inventory(tmp_path: Path) -> None:
    secrets = write(tmp_path, "secrets.yaml", {
        "hosts": {"R1": {"password": "file-host-pw"}},
        "groups": {"edge": {"password": "file-group-pw", "secret": "file-group-enable"}},
        "defaults": {"username": "file-user"}})
    env = {env_name("R1", "password"): "env-host-pw", "TWINOPS_SECRET": "env-enable",
           env_name("sw-3", "username"): "env-sw-user"}
    inv = build_inventory(HOSTS, GROUPS, DEFAULTS, secrets_file=secrets, env=env)
    r1, r2, sw = inv.get("R1"), inv.get("R2"), inv.get("sw-3")
    assert env_name("sw-3", "password") == "TWINOPS_SW_3_PASSWORD"
    assert r1.password.get_secret_value() == "env-host-pw"          # env per host beats the file
    assert r1.enable_secret == "env-enable"                          # env global beats file and inventory
    assert r2.password.get_secret_value() == "file-group-pw"         # file (group) beats the inventory
    assert r1.username == "file-user" and sw.username == "env-sw-user"
    no_env = build_inventory(HOSTS, GROUPS, DEFAULTS, secrets_file=secrets, env={})
    assert no_env.get("R1").password.get_secret_value() == "file-host-pw"
    assert no_env.get("R2").enable_secret == "file-group-enable"
    assert no_env.get("sw-3").password.get_secret_value() == "inv-default-pw"  # inventory last
    via_env_path = build_inventory(HOSTS, GROUPS, DEFAULTS, env={"TWINOPS_SECRETS_FILE": str(secrets)})
    assert via_env_path.get("R1").password.get_secret_value() == "file-host-pw"


def test_secrets_never_in_repr_or_public_view(tmp_path: Path) -> None:
    hosts = {"R1": {"password": "hunter2-pw", "data": {"secret": "hunter2-en", "snmp_community": "c0mm"},
                    "connection_options": {"napalm": {"extras": {"optional_args": {"secret": "hunter2-en",
                                                                                   "dest_file_system": "flash:"}}},
                                           "netmiko": {"extras": {"secret": "hunter2-en", "fast_cli": False}}}}}
    inv = build_inventory(hosts, env={})
    host = inv.get("R1")
    shown = repr(inv) + str(inv) + repr(host) + json.dumps(host.public()) + host.model_dump_json()
    for secret in ("hunter2-pw", "hunter2-en", "c0mm"):
        assert secret not in shown
    assert host.enable_secret == "hunter2-en" and host.password.get_secret_value() == "hunter2-pw"
    assert host.optional_args == {"dest_file_system": "flash:"} and host.netmiko_args == {"fast_cli": False}


@pytest.mark.parametrize(("files", "problem"), [
    ({"hosts.yaml": "R1: {hostname: [unclosed\n"}, "invalid YAML at line"),
    ({"hosts.yaml": "- R1\n- R2\n"}, "expected a mapping of host names"),
    ({"hosts.yaml": {}}, "no hosts"),
    ({"hosts.yaml": {"R1": {"port": "ssh"}}}, "R1.port"),
    ({"hosts.yaml": {"R1": {"port": 70000}}}, "R1.port"),
    ({"hosts.yaml": {"R1": {"hostnmae": "x"}}}, "R1.hostnmae: Extra inputs are not permitted"),
    ({"hosts.yaml": {"R1": {"groups": ["nope"]}}}, "unknown group 'nope'"),
    ({"hosts.yaml": {"R1": {"groups": ["a"]}}, "groups.yaml": {"a": {"groups": ["b"]}, "b": {"groups": ["a"]}}},
     "group cycle: R1 -> a -> b -> a"),
    ({"hosts.yaml": {"R1": "10.0.0.1"}}, "R1: expected a mapping"),
    ({"hosts.yaml": {"R1": {}}, "defaults.yaml": "[1, 2]"}, "expected a mapping"),
])
def test_malformed_inventory_names_file_and_problem(tmp_path: Path, files: dict, problem: str) -> None:
    for name, data in files.items():
        write(tmp_path, name, data)
    with pytest.raises(InventoryError) as err:
        load_inventory(tmp_path / "hosts.yaml", env={})
    assert problem in str(err.value)
    assert str(tmp_path) in str(err.value)


def test_missing_files_and_bad_secrets_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="no such file"):
        load_inventory(tmp_path / "absent.yaml", env={})
    write(tmp_path, "hosts.yaml", {"R1": {}})
    with pytest.raises(InventoryError, match=r"groups\.yaml: no such file"):
        load_inventory(tmp_path / "hosts.yaml", groups_file=tmp_path / "groups.yaml", env={})
    bad = write(tmp_path, "secrets.yaml", {"hosts": {"R1": {"token": "x"}}})
    with pytest.raises(InventoryError, match=r"secrets.yaml: hosts.R1: only username, password, secret"):
        load_inventory(tmp_path / "hosts.yaml", secrets_file=bad, env={})


def test_lab_cli_inventory_loads(tmp_path: Path) -> None:
    """The hosts.yaml that ``twinops lab serve --inventory-out`` writes is read as the lab means it."""
    lab_cli = pytest.importorskip("twin_lab.lab_cli")
    from twin_lab.emulator import Credentials, LabServer
    from twin_lab.network import Network
    from twin_lab.topology import load_preset

    network = Network(load_preset("small"))
    server = LabServer(network, credentials=Credentials("netops", "lab-pw", "lab-en"))
    server.ports.update({"R1": 2201, "R2": 2202})
    path = tmp_path / "hosts.yaml"
    lab_cli.write_inventory(path, lab_cli.inventory(network, server, server.lab.credentials, "127.0.0.1"))
    inv = load_inventory(path, env={})
    r1 = inv.get("R1")
    assert (r1.hostname, r1.port, r1.username, r1.enable_secret) == ("127.0.0.1", 2201, "netops", "lab-en")
    assert r1.optional_args.get("dest_file_system") == "flash:"
    assert "lab-pw" not in repr(inv) and "lab-en" not in json.dumps(r1.public())
