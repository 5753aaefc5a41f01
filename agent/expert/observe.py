"""What to read next: a fixed survey (inventory, configs, interfaces, LLDP, ARP), then protocol state and probes."""

from __future__ import annotations

from typing import Any

from agent.expert.model import devices_of
from agent.expert.state import State

MAX_DEVICES = 40  # survey cap: past it only the devices the task names are read


def survey_calls(state: State, bound: set[str], focus: list[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    if "list_devices" in bound and not state.has("list_devices"):
        return [("list_devices", {})]
    devices = devices_of(state)
    if len(devices) > MAX_DEVICES and focus:
        devices = [d for d in devices if d in focus] or devices[:MAX_DEVICES]
    for device in devices:
        for name, args in (("get_running_config", {"device": device}), ("get_interfaces", {"device": device}),
                           ("get_lldp_neighbors", {"device": device}),
                           ("show", {"device": device, "command": "show ip arp"})):
            if name in bound and not state.has(name, **args):
                calls.append((name, args))
    return calls


def protocol_calls(state: State, bound: set[str]) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    for device in devices_of(state):
        config = (state.ok("get_running_config", device=device) or {}).get("running", "")
        if "\nrouter bgp" in config and "get_bgp_neighbors" in bound and not state.has("get_bgp_neighbors",
                                                                                        device=device):
            calls.append(("get_bgp_neighbors", {"device": device}))
        args = {"device": device, "command": "show ip ospf neighbor"}
        if "\nrouter ospf" in config and "show" in bound and not state.has("show", **args):
            calls.append(("show", args))
    return calls
