"""Read-back verification: each plan check is run over the same read tools the agent observes with.

A check passes only on what the devices say now (never on the twin's internals), so the same
verification works against production.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter

from agent.actions import (
    BgpNeighborCheck,
    Check,
    ConfigCheck,
    InterfaceCheck,
    OspfNeighborCheck,
    PingCheck,
    RouteCheck,
)
from tools.errors import ToolError
from tools.read_tools import (
    get_bgp_neighbors,
    get_interfaces,
    get_lldp_neighbors,
    get_route_to,
    get_running_config,
    ping,
    show,
)
from tools.session import ToolSession
from twin_lab.addressing import canonical_interface, short_interface

_CHECK = TypeAdapter(Check)
_OSPF_ROW = re.compile(r"^(\d+\.\d+\.\d+\.\d+)\s+\d+\s+(\S+)\s+\S+\s+(\d+\.\d+\.\d+\.\d+)\s+(\S+)", re.MULTILINE)


def _ping(session: ToolSession, check: PingCheck) -> tuple[bool, str]:
    result = ping(session, check.source, check.destination, source=check.source_ip, count=3)
    success = result.get("success", {})
    received = 0
    if isinstance(success, dict):
        received = int(success.get("probes_sent", 0)) - int(success.get("packet_loss", 0))
    ok = received > 0
    want = check.expect == "success"
    return ok == want, f"{received} repl{'y' if received == 1 else 'ies'} from {check.destination}"


def _route(session: ToolSession, check: RouteCheck) -> tuple[bool, str]:
    target = check.prefix if "/" in check.prefix else f"{check.prefix}/32"
    result = get_route_to(session, check.device, target, protocol=check.protocol)
    routes = [r for entries in result.values() if isinstance(entries, list) for r in entries
              if isinstance(r, dict) and r.get("current_active", True)]
    present = bool(routes)
    detail = ", ".join(f"{p} via {r.get('protocol', '?')} {r.get('next_hop', '')}".strip()
                       for p, entries in result.items() if isinstance(entries, list) for r in entries) or "no route"
    return present == check.present, detail


def _ospf(session: ToolSession, check: OspfNeighborCheck) -> tuple[bool, str]:
    output = show(session, check.device, "show ip ospf neighbor")["output"]
    rows = list(_OSPF_ROW.finditer(output))
    by_key = {m.group(1): m.group(2) for m in rows} | {m.group(3): m.group(2) for m in rows}
    if check.neighbor not in by_key and check.neighbor in session.devices():
        # a device name: the neighbour on the interfaces where LLDP sees that device
        lldp = get_lldp_neighbors(session, check.device)
        toward = {short_interface(local) for local, peers in lldp.items() if isinstance(peers, list)
                  and any(p.get("hostname", "").split(".")[0] == check.neighbor for p in peers)}
        states = [m.group(2) for m in rows if short_interface(m.group(4)) in toward]
        if states:
            by_key[check.neighbor] = states[0]
    state = by_key.get(check.neighbor, "absent")
    full = state.upper().startswith("FULL")
    return full == check.full, f"{check.neighbor} {state}"


def _bgp(session: ToolSession, check: BgpNeighborCheck) -> tuple[bool, str]:
    result = get_bgp_neighbors(session, check.device)
    peers: dict[str, Any] = {}
    for vrf in result.values():
        if isinstance(vrf, dict):
            peers.update(vrf.get("peers", {}))
    peer = peers.get(check.neighbor)
    up = bool(peer and peer.get("is_up"))
    return up == check.established, f"{check.neighbor} {'up' if up else 'down' if peer else 'absent'}"


def _interface(session: ToolSession, check: InterfaceCheck) -> tuple[bool, str]:
    result = get_interfaces(session, check.device)
    try:
        name = canonical_interface(check.interface)
    except ValueError:
        name = check.interface
    entry = result.get(name) or result.get(check.interface)
    if entry is None:
        return False, f"{check.interface} not found"
    up = bool(entry.get("is_up"))
    return up == check.up, f"{name} {'up' if up else 'down'}"


def _config(session: ToolSession, check: ConfigCheck) -> tuple[bool, str]:
    running = get_running_config(session, check.device)["running"]
    wanted = " ".join(check.line.split()).lower()
    present = any(" ".join(line.split()).lower() == wanted for line in running.splitlines())
    return present == check.present, f"{check.line!r} {'present' if present else 'absent'}"


_RUNNERS = {"ping": _ping, "route": _route, "ospf_neighbor": _ospf, "bgp_neighbor": _bgp,
            "interface": _interface, "config": _config}


def run_check(session: ToolSession, check: dict[str, Any] | Check) -> dict[str, Any]:
    """Run one check; a device error is a failed check with the error as detail, never an exception."""
    parsed = _CHECK.validate_python(check) if isinstance(check, dict) else check
    try:
        ok, detail = _RUNNERS[parsed.kind](session, parsed)
    except (ToolError, KeyError, ValueError) as err:
        ok, detail = False, f"error: {err}"
    return {"check": parsed.model_dump(), "ok": ok, "detail": detail}


def run_checks(session: ToolSession, checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [run_check(session, check) for check in checks]

