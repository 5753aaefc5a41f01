"""Generated N-router topologies for scale tests: OSPF pods around a backbone, eBGP edges, hosts.

Layout (deterministic for a given N):
- routers are grouped in pods of ``POD`` routers; pod 0 is OSPF area 0, pod k is area k;
  inside a pod a ring plus chords, and each non-backbone pod's first router is an ABR wired
  into the backbone;
- the last ``max(1, N // 100)`` routers are ISP routers (one AS each, chained by eBGP transit
  links) peering eBGP with an edge router of the core AS 65000, which aggregates the host LANs
  (static to Null0 + ``network``) and takes a default from the ISP into OSPF;
- every tenth core router has a host LAN.
"""

from __future__ import annotations

import itertools

from twin_lab.addressing import int_to_ip
from twin_lab.topology import DeviceSpec, HostSpec, Topology, TopologySpec

GENERATED_PREFIX = "gen-"
POD = 20
CORE_AS = 65000
LINK_BASE = 10 << 24  # 10.0.0.0/8, one /30 per link
LOOPBACK_BASE = (172 << 24) | (16 << 16)  # 172.16.0.0/12, one /32 per router
LAN_BASE = (100 << 24) | (64 << 16)  # 100.64.0.0/10, one /24 per host LAN
ISP_LAN_BASE = (198 << 24) | (18 << 16)  # 198.18.0.0/15


class _Router:
    def __init__(self, name: str, index: int):
        self.name, self.index = name, index
        self.interfaces: list[tuple[str, int, int, str | None, int | None]] = []  # name, ip, plen, desc, area
        self.ospf_networks: list[tuple[int, int, int]] = []  # address, wildcard, area
        self.passive: list[str] = []
        self.extra: list[str] = []
        self.next_port = 0

    def port(self) -> str:
        name = f"GigabitEthernet{self.next_port // 8}/{self.next_port % 8}"
        self.next_port += 1
        return name


def _mask(plen: int) -> str:
    return int_to_ip((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF)


def generate_spec(n: int) -> TopologySpec:
    if n < 2:
        raise ValueError("a generated topology needs at least 2 routers")
    isp_count = max(1, n // 100)
    core_count = n - isp_count
    routers = [_Router(f"R{i + 1}", i) for i in range(core_count)]
    isps = [_Router(f"ISP{i + 1}", core_count + i) for i in range(isp_count)]
    links: list[tuple[str, str]] = []
    hosts: dict[str, HostSpec] = {}
    link_no = 0

    def area_of(router: _Router) -> int:
        return router.index // POD

    def wire(a: _Router, b: _Router, area: int | None) -> None:
        nonlocal link_no
        net = LINK_BASE + 4 * link_no
        link_no += 1
        pa, pb = a.port(), b.port()
        a.interfaces.append((pa, net + 1, 30, f"to {b.name}", area))
        b.interfaces.append((pb, net + 2, 30, f"to {a.name}", area))
        if area is not None:
            a.ospf_networks.append((net, 3, area))
            b.ospf_networks.append((net, 3, area))
        links.append((f"{a.name}:{pa}", f"{b.name}:{pb}"))

    pods = [routers[i:i + POD] for i in range(0, core_count, POD)]
    for pod_no, pod in enumerate(pods):
        size = len(pod)
        for i in range(size - 1):
            wire(pod[i], pod[i + 1], pod_no)
        if size > 2:
            wire(pod[-1], pod[0], pod_no)
        if size >= 6:
            for i in range(0, size // 2, 3):
                wire(pod[i], pod[i + size // 2], pod_no)
        if pod_no > 0:
            backbone = pods[0][(pod_no - 1) % len(pods[0])]
            wire(pod[0], backbone, 0)
    for router in routers:
        loop = LOOPBACK_BASE + router.index + 1
        router.interfaces.insert(0, ("Loopback0", loop, 32, None, area_of(router)))
        router.ospf_networks.insert(0, (loop, 0, area_of(router)))
    for k, router in enumerate(routers[::10]):
        lan = LAN_BASE + (k << 8)
        port = router.port()
        router.interfaces.append((port, lan + 1, 24, f"LAN h{k + 1}", area_of(router)))
        router.ospf_networks.append((lan, 255, area_of(router)))
        router.passive.append(port)
        hosts[f"h{k + 1}"] = HostSpec(ip=f"{int_to_ip(lan + 10)}/24", gateway=int_to_ip(lan + 1),
                                      attach=f"{router.name}:{port}")
    devices: dict[str, DeviceSpec] = {}
    backbone = pods[0]
    for e, isp in enumerate(isps):
        edge = backbone[(e * 7) % len(backbone)]
        net = LINK_BASE + 4 * link_no
        link_no += 1
        pe, pi = edge.port(), isp.port()
        edge.interfaces.append((pe, net + 1, 30, f"eBGP to {isp.name}", None))
        isp.interfaces.append((pi, net + 2, 30, f"eBGP to {edge.name}", None))
        links.append((f"{edge.name}:{pe}", f"{isp.name}:{pi}"))
        isp_as = 65100 + e
        lan = ISP_LAN_BASE + (e << 8)
        lan_port = isp.port()
        isp.interfaces.insert(0, ("Loopback0", LOOPBACK_BASE + isp.index + 1, 32, None, None))
        isp.interfaces.append((lan_port, lan + 1, 24, "customer LAN", None))
        hosts[f"x{e + 1}"] = HostSpec(ip=f"{int_to_ip(lan + 10)}/24", gateway=int_to_ip(lan + 1),
                                      attach=f"{isp.name}:{lan_port}")
        isp.extra += [f"router bgp {isp_as}", f" bgp router-id {int_to_ip(LOOPBACK_BASE + isp.index + 1)}",
                      f" network {int_to_ip(lan)} mask 255.255.255.0",
                      f" neighbor {int_to_ip(net + 1)} remote-as {CORE_AS}",
                      f"ip route 0.0.0.0 0.0.0.0 {int_to_ip(net + 1)}"]
        edge.extra += [f"router bgp {CORE_AS}", f" bgp router-id {int_to_ip(LOOPBACK_BASE + edge.index + 1)}",
                       " network 100.64.0.0 mask 255.192.0.0", f" neighbor {int_to_ip(net + 2)} remote-as {isp_as}",
                       "ip route 100.64.0.0 255.192.0.0 Null0", f"ip route 0.0.0.0 0.0.0.0 {int_to_ip(net + 2)}"]
        edge.default_originate = True  # type: ignore[attr-defined]
    for left, right in itertools.pairwise(isps):
        # ISPs form a transit chain so that every ISP LAN is reachable from every other one.
        net = LINK_BASE + 4 * link_no
        link_no += 1
        pl, pr = left.port(), right.port()
        left.interfaces.append((pl, net + 1, 30, f"transit to {right.name}", None))
        right.interfaces.append((pr, net + 2, 30, f"transit to {left.name}", None))
        links.append((f"{left.name}:{pl}", f"{right.name}:{pr}"))
        left.extra += [f"router bgp {65100 + isps.index(left)}", f" neighbor {int_to_ip(net + 2)} remote-as {65100 + isps.index(right)}"]
        right.extra += [f"router bgp {65100 + isps.index(right)}", f" neighbor {int_to_ip(net + 1)} remote-as {65100 + isps.index(left)}"]
    for router in routers + isps:
        lines = [f"hostname {router.name}"]
        for name, ip, plen, desc, _area in router.interfaces:
            lines.append(f"interface {name}")
            if desc:
                lines.append(f" description {desc}")
            lines.append(f" ip address {int_to_ip(ip)} {_mask(plen)}")
        if router.ospf_networks:
            lines += ["router ospf 1", f" router-id {int_to_ip(LOOPBACK_BASE + router.index + 1)}"]
            lines += [f" passive-interface {p}" for p in router.passive]
            lines += [f" network {int_to_ip(a)} {int_to_ip(w)} area {area}" for a, w, area in router.ospf_networks]
            if getattr(router, "default_originate", False):
                lines.append(" default-information originate")
        lines += router.extra
        role = "isp" if router in isps else ("abr" if router.index % POD == 0 and router.index else "core")
        devices[router.name] = DeviceSpec(config="\n".join(lines) + "\n", role=role,
                                          tags=["core"] if router in backbone else [])
    return TopologySpec(name=f"{GENERATED_PREFIX}{n}", devices=devices, links=links, hosts=hosts)


def generate_topology(n: int) -> Topology:
    return Topology.from_spec(generate_spec(n), f"{GENERATED_PREFIX}{n}")
