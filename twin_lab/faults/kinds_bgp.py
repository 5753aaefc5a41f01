"""BGP faults: neighbour statements (AS, address, shutdown, update-source, next-hop-self) and networks."""

from __future__ import annotations

import random

from twin_lab.addressing import int_to_ip, ip_to_int, parse_prefix
from twin_lab.faults.base import Change, FaultKind, apply_checked, cidr, register, split_target
from twin_lab.ios.model import BgpNeighbor
from twin_lab.ios.render import mask_text, render_bgp
from twin_lab.network import Network


def _established(network: Network) -> list[tuple[str, int, str | None]]:
    return [(d, s.peer_ip, s.peer_device) for d in network.device_names() for s in network.bgp_sessions(d)
            if s.established]


def _neighbor(network: Network, target: str) -> tuple[str, int, BgpNeighbor, str | None]:
    device, peer = split_target(target)
    ip = ip_to_int(peer)
    neighbor = network.config(device).bgp.neighbors[ip]
    owner = network.control_plane.l3.owner.get(ip)
    return device, ip, neighbor, owner[0] if owner else None


def _neighbor_lines(network: Network, device: str, ip: int) -> list[str]:
    prefix = f" neighbor {int_to_ip(ip)} "
    return [line for line in render_bgp(network.config(device).bgp) if line.startswith(prefix)]


def _bgp_evidence(device: str, peer: str | None) -> list[str]:
    found = [f"{device}: show ip bgp summary", f"{device}: show running-config | section router bgp"]
    if peer:
        found += [f"{peer}: show ip bgp summary", f"{peer}: show running-config | section router bgp"]
    return found


def _router_bgp_change(network: Network, device: str, peer: str | None, asn: int, description: str,
                       fix_line: str, fault_line: str, evidence: list[str] | None = None) -> Change:
    """A fault that is one line under ``router bgp``: record it, with its one-line fix, and apply it."""
    change = Change(device=device, peer_device=peer, description=description,
                    fix_hint={device: [f"router bgp {asn}", fix_line]},
                    evidence=_bgp_evidence(device, peer) if evidence is None else evidence)
    apply_checked(network, change, device, [f"router bgp {asn}", fault_line])
    return change


class _SessionFault(FaultKind):
    target_format = "DEVICE:PEER_IP"

    def candidates(self, network: Network) -> list[str]:
        return [f"{d}:{int_to_ip(ip)}" for d, ip, _peer in _established(network)
                if self._applies(network.config(d).bgp.neighbors[ip], network.config(d).bgp.asn)]

    def _applies(self, neighbor: BgpNeighbor, local_as: int) -> bool:
        return True


@register
class BgpWrongRemoteAs(_SessionFault):
    name = "bgp_wrong_remote_as"
    component = "bgp"
    title = "a BGP neighbour is configured with the wrong remote-as"

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, ip, neighbor, peer = _neighbor(network, target)
        asn = network.config(device).bgp.asn
        right = neighbor.remote_as
        text = str(right)
        options = [right + 1, right - 1, right + 10, int(text[:-2] + text[-1] + text[-2]) if len(text) > 1 else 0]
        wrong = rng.choice([a for a in dict.fromkeys(options) if 0 < a < 1 << 32 and a != right])
        peer_ip = int_to_ip(ip)
        return _router_bgp_change(
            network, device, peer, asn,
            (f"{device} (AS {asn}) has 'neighbor {peer_ip} remote-as {wrong}' but {peer or peer_ip} "
             f"is in AS {right}: the OPEN is rejected (bad peer AS), the session stays down."),
            f" neighbor {peer_ip} remote-as {right}", f" neighbor {peer_ip} remote-as {wrong}")


@register
class BgpNeighborShutdown(_SessionFault):
    name = "bgp_neighbor_shutdown"
    component = "bgp"
    title = "a BGP neighbour is administratively shut down"

    def _applies(self, neighbor: BgpNeighbor, local_as: int) -> bool:
        return not neighbor.shutdown

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, ip, _neighbor_cfg, peer = _neighbor(network, target)
        asn = network.config(device).bgp.asn
        peer_ip = int_to_ip(ip)
        return _router_bgp_change(
            network, device, peer, asn, f"{device} has 'neighbor {peer_ip} shutdown': the session is Idle (Admin).",
            f" no neighbor {peer_ip} shutdown", f" neighbor {peer_ip} shutdown")


@register
class BgpMissingUpdateSource(_SessionFault):
    """Both ends lose ``update-source``: each sources the session from its egress interface.

    Removed on both ends because IOS brings a loopback session up as long as one side still
    sources from its loopback (that side's TCP connection is accepted by the other).
    """

    name = "bgp_missing_update_source"
    component = "bgp"
    title = "a loopback-peered BGP session lost its update-source on both ends"

    def candidates(self, network: Network) -> list[str]:
        result = []
        for device, ip, peer in _established(network):
            mine = network.config(device).bgp.neighbors[ip]
            if peer is None or mine.update_source is None:
                continue
            back = self._back(network, device, ip, peer)
            if back is not None and back[1].update_source is not None:
                result.append(f"{device}:{int_to_ip(ip)}")
        return result

    def _back(self, network: Network, device: str, ip: int, peer: str) -> tuple[int, BgpNeighbor] | None:
        local = next((s.local_ip for s in network.bgp_sessions(device) if s.peer_ip == ip), None)
        process = network.config(peer).bgp
        if local is None or process is None or local not in process.neighbors:
            return None
        return local, process.neighbors[local]

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, ip, neighbor, peer = _neighbor(network, target)
        local, back = self._back(network, device, ip, peer)
        asn, peer_asn = network.config(device).bgp.asn, network.config(peer).bgp.asn
        peer_ip, local_ip = int_to_ip(ip), int_to_ip(local)
        source, back_source = neighbor.update_source, back.update_source
        change = Change(
            device=device, peer_device=peer,
            description=(f"{device} (neighbor {peer_ip}) and {peer} (neighbor {local_ip}) both lack "
                         f"update-source ({source} / {back_source}): each sources the session from its "
                         f"egress interface address, which the other has no neighbor statement for."),
            fix_hint={device: [f"router bgp {asn}", f" neighbor {peer_ip} update-source {source}"],
                      peer: [f"router bgp {peer_asn}", f" neighbor {local_ip} update-source {back_source}"]},
            evidence=[*_bgp_evidence(device, peer), f"{device}: show ip bgp neighbors {peer_ip}"])
        apply_checked(network, change, device, [f"router bgp {asn}", f" no neighbor {peer_ip} update-source {source}"])
        apply_checked(network, change, peer, [f"router bgp {peer_asn}",
                                              f" no neighbor {local_ip} update-source {back_source}"])
        return change


@register
class BgpMissingNextHopSelf(_SessionFault):
    name = "bgp_missing_next_hop_self"
    component = "bgp"
    title = "an iBGP edge router no longer sets next-hop-self (eBGP next hops unresolvable inside)"

    def _applies(self, neighbor: BgpNeighbor, local_as: int) -> bool:
        return neighbor.next_hop_self and neighbor.remote_as == local_as

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, ip, _neighbor_cfg, peer = _neighbor(network, target)
        asn = network.config(device).bgp.asn
        peer_ip = int_to_ip(ip)
        return _router_bgp_change(
            network, device, peer, asn,
            (f"{device} lacks 'neighbor {peer_ip} next-hop-self': {peer or peer_ip} receives eBGP "
             f"routes with the external next hop, which its IGP cannot resolve."),
            f" neighbor {peer_ip} next-hop-self", f" no neighbor {peer_ip} next-hop-self",
            evidence=[f"{peer or peer_ip}: show ip bgp", f"{peer or peer_ip}: show ip route",
                      f"{device}: show running-config | section router bgp"])


def _typo_addresses(network: Network, device: str, ip: int) -> list[int]:
    """Plausible typos of ``ip`` that nobody owns and ``device`` does not already peer with."""
    octets = [int(x) for x in int_to_ip(ip).split(".")]
    options = []
    third = str(octets[2])
    if len(third) == 2 and third[0] != third[1]:
        options.append(ip_to_int(f"{octets[0]}.{octets[1]}.{third[::-1]}.{octets[3]}"))
    for delta in (1, -1, 10):
        if 0 < octets[3] + delta < 255:
            options.append(ip + delta)
    owned = set(network.control_plane.l3.owner) | {h.ip for h in network.topology.hosts.values()}
    owned |= set(network.config(device).bgp.neighbors)
    return [o for o in dict.fromkeys(options) if o not in owned]


@register
class BgpWrongNeighborAddress(_SessionFault):
    name = "bgp_wrong_neighbor_address"
    component = "bgp"
    title = "a BGP neighbour statement points at a mistyped address"

    def candidates(self, network: Network) -> list[str]:
        return [t for t in super().candidates(network)
                if _typo_addresses(network, t.split(":", 1)[0], ip_to_int(t.split(":", 1)[1]))]

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, ip, neighbor, peer = _neighbor(network, target)
        process = network.config(device).bgp
        wrong = rng.choice(_typo_addresses(network, device, ip))
        original = _neighbor_lines(network, device, ip)
        old, new = f" neighbor {int_to_ip(ip)} ", f" neighbor {int_to_ip(wrong)} "
        moved = [line.replace(old, new, 1) for line in original]
        change = Change(
            device=device, peer_device=peer,
            description=(f"{device} peers with {int_to_ip(wrong)} instead of {int_to_ip(ip)} ({peer or 'the peer'}): "
                         f"the neighbor address is mistyped, so no session forms and {peer or 'the peer'} "
                         f"has no session either."),
            fix_hint={device: [f"router bgp {process.asn}", f" no neighbor {int_to_ip(wrong)} remote-as "
                                                             f"{neighbor.remote_as}", *original]},
            evidence=_bgp_evidence(device, peer))
        apply_checked(network, change, device, [f"router bgp {process.asn}",
                                                f" no neighbor {int_to_ip(ip)} remote-as {neighbor.remote_as}",
                                                *moved])
        return change


@register
class BgpMissingNetwork(FaultKind):
    name = "bgp_missing_network"
    component = "bgp"
    title = "a prefix is no longer announced: its BGP network statement is missing"
    target_format = "DEVICE:PREFIX"

    def candidates(self, network: Network) -> list[str]:
        result = []
        for device in network.device_names():
            process = network.config(device).bgp
            if process is None:
                continue
            present = {(r.net, r.plen) for r in network.routes(device)}
            result.extend(f"{device}:{cidr(n.network, n.plen)}" for n in process.networks
                          if (n.network, n.plen) in present)
        return result

    def _inject(self, network: Network, target: str, rng: random.Random) -> Change:
        device, prefix = split_target(target)
        net, plen = parse_prefix(prefix)
        asn = network.config(device).bgp.asn
        statement = f"network {int_to_ip(net)} mask {mask_text(plen)}"
        peers = [p for _d, _ip, p in _established(network) if _d == device and p]
        return _router_bgp_change(
            network, device, peers[0] if peers else None, asn,
            f"{device} router bgp {asn} lacks '{statement}': {prefix} is not announced to its BGP peers.",
            f" {statement}", f" no {statement}",
            evidence=[f"{device}: show ip bgp", f"{device}: show running-config | section router bgp"]
            + [f"{p}: show ip bgp" for p in peers[:1]])
