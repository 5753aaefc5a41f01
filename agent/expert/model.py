"""The expert's mental model: observed running-configs + LLDP links (+ inferred ones) -> a simulator Network.

Everything here comes from read-tool outputs (configs, interfaces, LLDP, ARP); nothing from lab internals.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from agent.expert.state import State
from tools.dryrun import NetworkSnapshot, build_network, lldp_links, subnet_links
from twin_lab.addressing import AddressError, canonical_interface
from twin_lab.network import Network
from twin_lab.topology import HostSpec

_ARP = re.compile(r"^Internet\s+(\d+\.\d+\.\d+\.\d+)\s+(\S+)\s+\S+\s+\S+\s+(\S+)", re.MULTILINE)
_HOSTWORD = re.compile(r"\b(?:LAN|hosts?|users?)\s+([A-Za-z][\w\-]*)", re.IGNORECASE)


def canon(name: str) -> str:
    try:
        return canonical_interface(name)
    except (AddressError, ValueError):
        return name


def devices_of(state: State) -> list[str]:
    listed = state.ok("list_devices") or {}
    return [d["name"] for d in listed.get("devices", []) if isinstance(d, dict) and "name" in d]


def mgmt_interfaces(state: State) -> dict[str, str]:
    listed = state.ok("list_devices") or {}
    found = {}
    for d in listed.get("devices", []):
        mgmt = (d.get("data") or {}).get("mgmt_interface")
        if mgmt:
            found[d["name"]] = canon(mgmt)
    return found


@dataclass
class Model:
    network: Network
    configs: dict[str, str]
    links: list[tuple[str, str]]
    down_links: list[tuple[str, str]] = field(default_factory=list)  # cable down (ends enabled, not up)
    hosts: dict[str, HostSpec] = field(default_factory=dict)
    mgmt: dict[str, str] = field(default_factory=dict)
    interfaces: dict[str, dict[str, Any]] = field(default_factory=dict)  # NAPALM get_interfaces per device

    def far_end(self, device: str, interface: str) -> tuple[str, str] | None:
        me = f"{device}:{interface}"
        for a, b in self.links:
            if a == me:
                return tuple(b.split(":", 1))  # type: ignore[return-value]
            if b == me:
                return tuple(a.split(":", 1))  # type: ignore[return-value]
        return None


def _host_name(description: str | None, ip: str, used: set[str]) -> str:
    match = _HOSTWORD.search(description or "")
    name = match.group(1) if match else f"host-{ip.replace('.', '-')}"
    if name in used:
        name = f"host-{ip.replace('.', '-')}"
    return name


def _host_plen(address: tuple[int, int], ip: str) -> int:
    """The interface's mask, or (a host ARP still shows outside that subnet - a mask made too narrow) the
    longest one holding both the host and its gateway, so the host in the model keeps an on-link gateway."""
    gw, plen = address
    host = int(ipaddress.ip_address(ip))
    while plen > 8 and (gw ^ host) >> (32 - plen):
        plen -= 1
    return plen


def build_model(state: State, extra_hosts: dict[str, str] | None = None) -> Model | None:
    """``extra_hosts``: name -> ip named by the operator (symptom/intent text)."""
    names = devices_of(state)
    configs = {}
    for name in names:
        cfg = state.ok("get_running_config", device=name)
        if cfg and cfg.get("running"):
            configs[name] = cfg["running"]
    if not configs:
        return None
    lldp = {n: state.ok("get_lldp_neighbors", device=n) or {} for n in configs}
    links, _warnings = lldp_links({n: v for n, v in lldp.items() if isinstance(v, dict)}, configs)
    used = {end for link in links for end in link}
    for a, b in subnet_links(configs):  # ports LLDP cannot see (cable down, shut) but addressed alike
        if a not in used and b not in used:
            links.append((a, b))
            used.update((a, b))
    snapshot = NetworkSnapshot(configs=configs, links=links)
    built = build_network(snapshot)
    network = built.network
    mgmt = mgmt_interfaces(state)
    # hosts: ARP entries on ports that have no router behind them
    hosts: dict[str, HostSpec] = {}
    taken: set[str] = set()
    extra = dict(extra_hosts or {})
    for device in configs:
        config = network.config(device)
        arp = state.ok("show", device=device, command="show ip arp") or {}
        for ip, _age, itf in _ARP.findall(str(arp.get("output", ""))):
            itf = canon(itf)
            if f"{device}:{itf}" in used or itf == mgmt.get(device):
                continue
            iface = config.interfaces.get(itf)
            if iface is None or iface.address is None or ip in taken:
                continue
            own = {str(ipaddress.ip_address(a)) for a, _p in iface.all_addresses()}
            if ip in own:
                continue
            plen = _host_plen(iface.address, ip)
            label = next((n for n, v in extra.items() if v == ip), None) or _host_name(iface.description, ip, set(hosts))
            hosts[label] = HostSpec(ip=f"{ip}/{plen}", gateway=str(ipaddress.ip_address(iface.address[0])),
                                    attach=f"{device}:{itf}")
            taken.add(ip)
    # hosts the operator named that ARP did not show: attach to the LAN port whose subnet holds them
    for label, ip in extra.items():
        if ip in taken or label in hosts:
            continue
        for device in configs:
            for itf, iface in network.config(device).interfaces.items():
                if iface.address is None or iface.is_loopback or f"{device}:{itf}" in used:
                    continue
                net = ipaddress.ip_interface(f"{ipaddress.ip_address(iface.address[0])}/{iface.address[1]}").network
                if ipaddress.ip_address(ip) in net and ip != str(ipaddress.ip_address(iface.address[0])):
                    hosts[label] = HostSpec(ip=f"{ip}/{iface.address[1]}",
                                            gateway=str(ipaddress.ip_address(iface.address[0])),
                                            attach=f"{device}:{itf}")
                    taken.add(ip)
    if hosts:
        snapshot = NetworkSnapshot(configs=configs, links=links, hosts=hosts)
        network = build_network(snapshot).network
    interfaces = {n: state.ok("get_interfaces", device=n) or {} for n in configs}
    down_links = []
    for a, b in links:
        ends = [tuple(e.split(":", 1)) for e in (a, b)]
        states = []
        for dev, itf in ends:
            info = next((v for k, v in interfaces.get(dev, {}).items() if canon(k) == itf), None)
            states.append(info)
        if all(s is not None and s.get("is_enabled") and not s.get("is_up") for s in states):
            down_links.append((a, b))
            network.set_link(ends[0][0], ends[0][1], False)
    return Model(network=network, configs=configs, links=links, down_links=down_links, hosts=hosts, mgmt=mgmt,
                 interfaces=interfaces)
