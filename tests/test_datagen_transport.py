"""The in-process transport gives the read tools the same outputs as the SSH lab (same task, both ways)."""

from __future__ import annotations

import json
import re

import pytest

from tools.inprocess import InProcessSession, inprocess_transaction
from tools.read_tools import read_tools

CALLS = [
    ("get_facts", {}), ("get_interfaces", {}), ("get_interfaces_ip", {}), ("get_lldp_neighbors", {}),
    ("get_bgp_neighbors", {}), ("get_running_config", {}), ("get_route_to", {"destination": "10.0.0.0/8"}),
    ("ping", {"destination": "172.16.0.2"}), ("traceroute", {"destination": "172.16.0.3"}),
    ("show", {"command": "show ip ospf neighbor"}), ("show", {"command": "show ip interface brief"}),
    ("show", {"command": "show ip route"}), ("show", {"command": "show running-config | section router"}),
]


_CLOCK = re.compile(r"\b\d{2}:\d{2}:\d{2}\b|\b\d+[wdhms]\d+[dhms]\b|\"(uptime|last_flapped)\": -?[\d.]+")


def _timeless(text: str) -> str:
    """Route ages, dead timers and uptimes tick with the wall clock (not with the transport)."""
    return _CLOCK.sub("<time>", text)


def _contents(session, devices) -> list[str]:
    tools = {t.name: t for t in read_tools(session)}
    out = []
    for device in devices:
        for name, args in CALLS:
            result = tools[name].invoke({"device": device, **args})
            out.append(_timeless(result if isinstance(result, str) else json.dumps(result, default=str)))
    return out


@pytest.mark.parametrize("family,seed", [("diag.interface_shutdown", 11), ("diag.ospf_mtu_mismatch", 4),
                                         ("change.ospf_cost", 3)])
def test_inprocess_equals_ssh(tmp_path, family, seed) -> None:
    from tools.inventory import build_inventory
    from tools.session import ToolSession
    from twin_lab.emulator import Credentials, LabServer, LabThread
    from twin_lab.lab_cli import inventory
    from twin_lab.scenarios import generate_task, prepare

    task = generate_task(family, seed)
    devices = prepare(task).network.device_names()[:3]
    local = InProcessSession(prepare(task).network, credentials=Credentials("bench", "bench-pw", "bench-en"))
    try:
        inproc = _contents(local, devices)
    finally:
        local.close()
    credentials = Credentials("bench", "bench-pw", "bench-en")
    server = LabServer(prepare(task).network, credentials=credentials)
    with LabThread(server):
        session = ToolSession(build_inventory(inventory(server.network, server, credentials, "127.0.0.1")))
        try:
            ssh = _contents(session, devices)
        finally:
            session.close()
    assert len(inproc) == len(ssh)
    for (device, (name, args)), a, b in zip(((d, c) for d in devices for c in CALLS), inproc, ssh, strict=True):
        assert a == b, f"{device} {name} {args}: in-process and SSH differ"


def test_inprocess_apply_is_all_or_nothing() -> None:
    from tools.changeset import ChangeSet
    from twin_lab.scenarios import generate_task, prepare

    network = prepare(generate_task("change.ospf_cost", 3)).network
    session = InProcessSession(network)
    device = network.device_names()[0]
    before = network.running_config(device)
    good = ChangeSet(intent="t", changes=[{"device": device, "lines": ["interface Loopback99",
                                                                         "description test"]}])
    result = inprocess_transaction(session, good)
    assert result.status == "committed" and "Loopback99" in session.network.running_config(device)
    bad = ChangeSet(intent="t", changes=[{"device": device, "lines": ["interface Loopback98", "bogus words here"]}])
    result = inprocess_transaction(session, bad)
    assert result.status == "rolled_back" and "Loopback98" not in session.network.running_config(device)
    failed_verify = inprocess_transaction(session, ChangeSet(intent="t", changes=[
        {"device": device, "lines": ["interface Loopback97"]}]), verify=lambda s, r: False)
    assert failed_verify.status == "rolled_back" and "Loopback97" not in session.network.running_config(device)
    assert before != session.network.running_config(device)
    session.close()
