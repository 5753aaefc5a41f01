"""Plain-data views of a network state: the JSON the CLI prints and the rows its tables show."""

from __future__ import annotations

from twin_lab.addressing import int_to_ip, ip_to_int, is_ip
from twin_lab.diff import route_text
from twin_lab.network import Network, UnknownDevice


def interface_rows(network: Network, device: str) -> list[dict]:
    config = network.config(device)
    rows = []
    for name, state in sorted(network.interfaces(device).items()):
        itf = config.interfaces[name]
        rows.append({
            "interface": name,
            "address": f"{int_to_ip(itf.address[0])}/{itf.address[1]}" if itf.address else None,
            "status": state.status_text,
            "protocol": "up" if state.line_up else "down",
            "description": itf.description,
        })
    return rows


def ospf_rows(network: Network, device: str) -> list[dict]:
    return [{"neighbor": n.neighbor, "neighbor_id": int_to_ip(n.neighbor_id), "state": n.state,
             "address": int_to_ip(n.neighbor_address), "interface": n.interface, "area": n.area}
            for n in network.ospf_neighbors(device)]


def bgp_rows(network: Network, device: str) -> list[dict]:
    return [{"peer": int_to_ip(s.peer_ip), "remote_as": s.remote_as, "state": s.state, "peer_device": s.peer_device,
             "received": s.received, "reason": s.reason} for s in network.bgp_sessions(device)]


def route_rows(network: Network, device: str) -> list[dict]:
    rows = []
    for route in network.routes(device):
        rows.append({
            "prefix": f"{int_to_ip(route.net)}/{route.plen}",
            "protocol": route.protocol,
            "distance": route.distance,
            "metric": route.metric,
            "next_hops": [{"ip": int_to_ip(h.ip) if h.ip is not None else None, "interface": h.interface}
                          for h in route.next_hops],
            "text": route_text(route),
        })
    return rows


def device_view(network: Network, device: str) -> dict:
    return {"name": device, "interfaces": interface_rows(network, device), "ospf_neighbors": ospf_rows(network, device),
            "bgp_sessions": bgp_rows(network, device), "routes": route_rows(network, device)}


def network_view(network: Network, device: str | None = None) -> dict:
    devices = [device] if device else network.device_names()
    topology = network.topology
    return {
        "name": topology.name,
        "devices": {d: device_view(network, d) for d in devices},
        "links": [{"a": str(a), "b": str(b), "up": i not in network.link_down} for i, (a, b) in enumerate(topology.links)],
        "hosts": {n: {"ip": f"{int_to_ip(h.ip)}/{h.plen}", "gateway": int_to_ip(h.gateway) if h.gateway else None,
                      "attach": str(h.attach)} for n, h in topology.hosts.items()},
    }


def resolve_target(network: Network, text: str) -> int:
    """An IP address, a host name, or a device name (its first loopback, else first address)."""
    if is_ip(text):
        return ip_to_int(text)
    host = network.topology.hosts.get(text)
    if host is not None:
        return host.ip
    if text in network.device_names():
        config = network.config(text)
        addresses = [i.address[0] for n, i in sorted(config.interfaces.items()) if i.is_loopback and i.address]
        addresses += [i.address[0] for n, i in sorted(config.interfaces.items()) if i.address]
        if addresses:
            return addresses[0]
    raise UnknownDevice(text)
