"""Interface tables rendered from simulator state (``show ip interface brief``).

NAPALM's ``get_facts`` takes its interface list from the first column of this table, and
ntc-templates' ``cisco_ios_show_ip_interface_brief`` parses the fixed IOS columns.
"""

from __future__ import annotations

from twin_lab.addressing import int_to_ip, interface_sort_key
from twin_lab.controlplane.links import InterfaceState


def render_ip_interface_brief(interfaces: dict[str, InterfaceState]) -> str:
    lines = [f"{'Interface':<27}{'IP-Address':<16}OK? Method Status                Protocol"]
    for name in sorted(interfaces, key=interface_sort_key):
        state = interfaces[name]
        if state.address:
            address, method = int_to_ip(state.address[0]), "NVRAM"
        else:
            address, method = "unassigned", "unset"
        protocol = "up" if state.admin_up and state.line_up else "down"
        lines.append(f"{name:<27}{address:<16}YES {method:<6} {state.status_text:<22}{protocol}")
    return "\n".join(lines) + "\n"
