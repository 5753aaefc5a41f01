"""Rules over the observed network: candidate root causes, each checked by a what-if in the mental model.

Every rule proposes ``Finding``s (device, component, cause, evidence, remediation lines).  A finding is
kept when applying its remediation in the model clears the operator's symptom (or, with no testable
symptom, when it improves the network's health); among those the most specific rule wins.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass, field

from agent.expert.model import Model
from twin_lab.addressing import int_to_ip, ip_to_int, network_of, short_interface
from twin_lab.faults.health import health
from twin_lab.ios.render import ace_text, mask_text
from twin_lab.network import Network

DEFAULTS = {"hello": 10, "dead": 40}


@dataclass
class Finding:
    device: str
    component: str
    root_cause: str
    remediation: dict[str, list[str]] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    priority: int = 50
    replug: list[tuple[str, str]] = field(default_factory=list)  # physical repair (what-if only)


def ip(value: int) -> str:
    return int_to_ip(value)


def wildcard(plen: int) -> str:
    return int_to_ip((~(0xFFFFFFFF << (32 - plen))) & 0xFFFFFFFF if plen < 32 else 0)


def _addr(itf) -> str:
    return f"{ip(itf.address[0])}/{itf.address[1]}"


def ospf_area_of(config, itf) -> int | None:
    if itf.address is None:
        return None
    if itf.ospf_area is not None:
        return itf.ospf_area[1]
    for process in config.ospf.values():
        for net in process.networks:
            if (itf.address[0] & ~net.wildcard & 0xFFFFFFFF) == (net.address & ~net.wildcard & 0xFFFFFFFF):
                return net.area
    return None


def passive(config, name: str) -> bool:
    for process in config.ospf.values():
        if name in process.passive or (process.passive_default and name not in process.non_passive):
            return True
    return False


def router_links(model: Model):
    """(device, itf, peer, peer_itf) for each side of every modelled router link."""
    for a, b in model.links:
        da, ia = a.split(":", 1)
        db, ib = b.split(":", 1)
        yield da, ia, db, ib
        yield db, ib, da, ia


def owners(net: Network) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for device in net.device_names():
        for name, itf in net.config(device).interfaces.items():
            for addr, _plen in itf.all_addresses():
                found.setdefault(addr, []).append((device, name))
    return found


# --- the rules ---------------------------------------------------------------------------------------

def rules_interface(model: Model) -> list[Finding]:
    net = model.network
    found = []
    for a, b in model.down_links:
        da, ia = a.split(":", 1)
        db, ib = b.split(":", 1)
        found.append(Finding(
            da, "link", f"The link {da} {ia} <-> {db} {ib} is physically down: both ports are enabled but "
            "down/down (not administratively down) - a cable or optic fault. Dispatch a field check; no "
            "configuration change fixes it.",
            evidence=[f"{da}: {ia} is_enabled=true is_up=false", f"{db}: {ib} is_enabled=true is_up=false",
                      f"{da}: no LLDP neighbour on {ia}"], priority=5, replug=[(da, ia)]))
    for device in net.device_names():
        for name, itf in net.config(device).interfaces.items():
            if itf.shutdown and itf.address is not None and name != model.mgmt.get(device):
                far = model.far_end(device, name)
                where = f" (to {far[0]} {far[1]})" if far else ""
                found.append(Finding(device, "interface", f"{device} {name}{where} is administratively shut down.",
                                     {device: [f"interface {name}", " no shutdown"]},
                                     [f"{device}: interface {name} / shutdown", f"{device}: {name} is_enabled=false"],
                                     priority=8))
    # addressing across links
    for da, ia, db, ib in router_links(model):
        x, y = net.config(da).interfaces.get(ia), net.config(db).interfaces.get(ib)
        if x is None or y is None or x.address is None or y.address is None:
            continue
        (xa, xp), (ya, yp) = x.address, y.address
        if network_of(xa, xp) == network_of(ya, yp) and xp == yp:
            continue
        evidence = [f"{da}: interface {ia} ip address {ip(xa)} {mask_text(xp)}",
                    f"{db}: interface {ib} ip address {ip(ya)} {mask_text(yp)}"]
        if xp != yp and network_of(xa, yp) == network_of(ya, yp) and network_of(ya, xp) != network_of(xa, xp):
            found.append(Finding(da, "interface", f"{da} {ia} has mask /{xp} but its peer {db} {ib} uses /{yp}: "
                                 f"{ip(ya)} is not on-link for {da}.",
                                 {da: [f"interface {ia}", f" ip address {ip(xa)} {mask_text(yp)}"]}, evidence, 12))
        if xp < yp and network_of(ya, xp) == network_of(xa, xp) and network_of(xa, yp) == network_of(ya, yp):
            # wider than the peer's mask: both ends stay on-link, but the OSPF hellos carry different masks
            found.append(Finding(da, "interface", f"{da} {ia} has mask /{xp} but its peer {db} {ib} uses /{yp}: "
                                 "the addresses are still on-link, but the OSPF hello masks differ so the "
                                 "adjacency never forms.",
                                 {da: [f"interface {ia}", f" ip address {ip(xa)} {mask_text(yp)}"]}, evidence, 12))
        if network_of(xa, yp) != network_of(ya, yp):
            base = network_of(ya, yp)
            size = 1 << (32 - yp)
            hosts = [base + i for i in range(1, size - 1)] if size > 2 else [base, base + 1]
            for cand in hosts:
                if cand == ya:
                    continue
                found.append(Finding(da, "interface", f"{da} {ia} is addressed {_addr(x)}, outside the link "
                                     f"subnet {ip(base)}/{yp} its peer {db} {ib} ({_addr(y)}) uses.",
                                     {da: [f"interface {ia}", f" ip address {ip(cand)} {mask_text(yp)}"]},
                                     evidence, 15 + _statement_penalty(net, da, xa)))
                break
    # a LAN port whose mask was narrowed: a host ARP still shows there is no longer on its subnet
    for label, host in model.hosts.items():
        device, name = host.attach.split(":", 1)
        itf = net.config(device).interfaces.get(name)
        if itf is None or itf.address is None:
            continue
        addr = ip_to_int(host.ip.split("/")[0])
        gw, plen = itf.address
        if network_of(addr, plen) == network_of(gw, plen):
            continue
        wide = _statement_plen(net, device, gw)  # the OSPF statement still says how wide the LAN is
        if wide is None or not 8 <= wide < plen or network_of(addr, wide) != network_of(gw, wide):
            continue  # (a re-addressed port, say: the other rules handle it)
        found.append(Finding(device, "interface", f"{device} {name} has mask /{plen}, too narrow for its LAN: the "
                             f"host {label} ({ip(addr)}) is no longer on-link, so replies to it are not delivered.",
                             {device: [f"interface {name}", f" ip address {ip(gw)} {mask_text(wide)}"]},
                             [f"{device}: interface {name} ip address {ip(gw)} {mask_text(plen)}",
                              f"{device}: ARP {ip(addr)} on {name}"], 13))
    # duplicate addresses
    for addr, places in owners(net).items():
        devices = {d for d, _ in places}
        if len(devices) < 2:
            continue
        for device, name in places:
            itf = net.config(device).interfaces[name]
            rid = next((p.router_id for p in net.config(device).ospf.values() if p.router_id), None)
            bgp = net.config(device).bgp
            rid = rid or (bgp.router_id if bgp else None)
            if itf.is_loopback and rid and rid != addr and rid not in owners(net):
                found.append(Finding(device, "interface", f"{device} {name} was re-addressed to {ip(addr)}, an "
                                     f"address {', '.join(sorted(devices - {device}))} already uses; its router-id "
                                     f"says it should be {ip(rid)}.",
                                     {device: [f"interface {name}", f" ip address {ip(rid)} 255.255.255.255"]},
                                     [f"{d}: interface {n} ip address {ip(addr)}" for d, n in places], 14))
    return found


def _statement_plen(net: Network, device: str, addr: int) -> int | None:
    """The prefix length of the device's OSPF network statement that covers ``addr`` (None without one)."""
    for process in net.config(device).ospf.values():
        for stmt in process.networks:
            if (addr & ~stmt.wildcard & 0xFFFFFFFF) == (stmt.address & ~stmt.wildcard & 0xFFFFFFFF):
                return 32 - bin(stmt.wildcard & 0xFFFFFFFF).count("1")
    return None


def _statement_penalty(net: Network, device: str, addr: int) -> int:
    """0 when no OSPF statement of the device covers ``addr`` (address likely mistyped), else 5."""
    for process in net.config(device).ospf.values():
        for stmt in process.networks:
            if (addr & ~stmt.wildcard & 0xFFFFFFFF) == (stmt.address & ~stmt.wildcard & 0xFFFFFFFF):
                return 5
    return 0


def rules_ospf(model: Model) -> list[Finding]:
    net = model.network
    found = []
    for da, ia, db, ib in router_links(model):
        ca, cb = net.config(da), net.config(db)
        x, y = ca.interfaces.get(ia), cb.interfaces.get(ib)
        if x is None or y is None or not ca.ospf or not cb.ospf:
            continue
        area_x, area_y = ospf_area_of(ca, x), ospf_area_of(cb, y)
        pid = next(iter(ca.ospf))
        if area_x is not None and area_y is not None and area_x != area_y:
            others = {ospf_area_of(cb, i) for n, i in cb.interfaces.items() if n != ib} - {None}
            if others == {area_y}:  # the peer is an internal router of area_y: the link belongs there
                lines = [f"router ospf {pid}"]
                for stmt in ca.ospf[pid].networks:
                    if (x.address[0] & ~stmt.wildcard & 0xFFFFFFFF) == (stmt.address & ~stmt.wildcard & 0xFFFFFFFF):
                        lines.append(f" no network {ip(stmt.address)} {ip(stmt.wildcard)} area {stmt.area}")
                        lines.append(f" network {ip(stmt.address)} {ip(stmt.wildcard)} area {area_y}")
                if x.ospf_area is not None:
                    lines = [f"interface {ia}", f" ip ospf {x.ospf_area[0]} area {area_y}"]
                found.append(Finding(da, "ospf", f"OSPF area mismatch on {da} {ia} - {db} {ib}: {da} puts the link in "
                                     f"area {area_x}, {db} (all its interfaces in area {area_y}) in area {area_y}.",
                                     {da: lines}, [f"{da}: {ia} OSPF area {area_x}", f"{db}: {ib} OSPF area {area_y}"],
                                     20))
        if area_x is not None and area_y is not None and passive(ca, ia) and not passive(cb, ib):
            found.append(Finding(da, "ospf", f"{da} {ia} is OSPF passive although it is a transit link to {db}: "
                                 "no hellos, no adjacency.", {da: [f"router ospf {pid}", f" no passive-interface {ia}"]},
                                 [f"{da}: router ospf {pid} / passive-interface {ia}"], 20))
        if area_x is None or area_y is None:
            continue
        found.extend(_mtu_findings(da, ia, x, db, ib, y))
        for attr, word in (("ospf_hello", "hello"), ("ospf_dead", "dead")):
            vx, vy = getattr(x, attr), getattr(y, attr)
            if vx is not None and (vx or DEFAULTS[word]) != (vy or DEFAULTS[word]):
                lines = [f"interface {ia}", f" no ip ospf {word}-interval" if vy is None else
                         f" ip ospf {word}-interval {vy}"]
                found.append(Finding(da, "ospf", f"OSPF {word}-interval mismatch on {da} {ia} ({vx}) vs {db} {ib} "
                                     f"({vy or DEFAULTS[word]}): no adjacency.", {da: lines},
                                     [f"{da}: interface {ia} ip ospf {word}-interval {vx}"], 21))
    # duplicate router-ids
    rids: dict[int, list[str]] = {}
    for device in net.device_names():
        for process in net.config(device).ospf.values():
            if process.router_id:
                rids.setdefault(process.router_id, []).append(device)
    for rid, devices in rids.items():
        if len(devices) < 2:
            continue
        for device in devices:
            config = net.config(device)
            lo = next((i for n, i in sorted(config.interfaces.items()) if i.is_loopback and i.address), None)
            if lo is not None and lo.address[0] != rid:
                pid = next(iter(config.ospf))
                found.append(Finding(device, "ospf", f"{device} uses OSPF router-id {ip(rid)}, the same as "
                                     f"{', '.join(d for d in devices if d != device)}: duplicate router-id.",
                                     {device: [f"router ospf {pid}", f" router-id {ip(lo.address[0])}"]},
                                     [f"{d}: router ospf router-id {ip(rid)}" for d in devices], 22))
    # interfaces left out of OSPF
    for device in net.device_names():
        config = net.config(device)
        if not config.ospf:
            continue
        pid = next(iter(config.ospf))
        areas = Counter(a for a in (ospf_area_of(config, i) for i in config.interfaces.values()) if a is not None)
        for name, itf in config.interfaces.items():
            if itf.address is None or name == model.mgmt.get(device) or ospf_area_of(config, itf) is not None:
                continue
            far = model.far_end(device, name)
            area = None
            if far is not None:
                peer_cfg = net.config(far[0])
                peer_itf = peer_cfg.interfaces.get(far[1])
                area = ospf_area_of(peer_cfg, peer_itf) if peer_itf is not None else None
            elif itf.is_loopback or any(h.attach == f"{device}:{name}" for h in model.hosts.values()):
                area = 0 if 0 in areas else (areas.most_common(1)[0][0] if areas else None)
            if area is None:
                continue
            addr, plen = itf.address
            found.append(Finding(device, "ospf", f"{device} {name} ({_addr(itf)}) is not enabled in OSPF: its "
                                 "network statement is missing.",
                                 {device: [f"router ospf {pid}",
                                           f" network {ip(network_of(addr, plen))} {wildcard(plen)} area {area}"]},
                                 [f"{device}: no 'network' under router ospf {pid} covers {ip(addr)}"], 25))
    # default route origination
    for device in net.device_names():
        config = net.config(device)
        if not config.ospf or config.bgp is None:
            continue
        process = next(iter(config.ospf.values()))
        if process.default_originate:
            continue
        has_default = any(r.network == 0 and r.plen == 0 for r in config.static_routes)
        ebgp = any(n.remote_as not in (None, config.bgp.asn) for n in config.bgp.neighbors.values())
        if not ebgp:
            continue
        line = " default-information originate" if has_default else " default-information originate always"
        # Where iBGP carries the outside routes inward, a half-configured iBGP (no next-hop-self) is the more
        # specific cause than a missing default: rank this finding after that one.
        ibgp_incomplete = any(n.remote_as == config.bgp.asn and not n.next_hop_self
                              for n in config.bgp.neighbors.values())
        found.append(Finding(device, "ospf", f"The edge router {device} does not originate a default route into "
                             "OSPF: routers inside have no way out.", {device: [f"router ospf {process.pid}", line]},
                             [f"{device}: router ospf {process.pid} has no default-information originate"],
                             40 if ibgp_incomplete else 28))
    return found


def _effective_mtu(itf) -> int:
    """The IP MTU an interface uses: ``ip mtu`` if set, else the interface ``mtu``, else 1500."""
    return itf.ip_mtu or itf.mtu or 1500


def _mtu_findings(da: str, ia: str, x, db: str, ib: str, y) -> list[Finding]:
    """An effective-IP-MTU mismatch across a link, fixed on the side that set a non-default MTU command
    (``ip mtu`` or interface ``mtu``) by restoring the peer's value (``no ...`` when the peer leaves it unset)."""
    mx, my = _effective_mtu(x), _effective_mtu(y)
    if mx == my:
        return []
    found = []
    for attr, word in (("ip_mtu", "ip mtu"), ("mtu", "mtu")):
        vx, vy = getattr(x, attr), getattr(y, attr)
        if vx is None or vx == vy:
            continue
        lines = [f"interface {ia}", f" no {word}" if vy is None else f" {word} {vy}"]
        found.append(Finding(da, "ospf", f"MTU mismatch on {da} {ia} ({word} {vx}, effective IP MTU {mx}) vs {db} "
                             f"{ib} (effective IP MTU {my}): the OSPF adjacency is stuck in EXSTART/EXCHANGE.",
                             {da: lines}, [f"{da}: interface {ia} {word} {vx}",
                                           f"{db}: interface {ib} effective IP MTU {my}"], 21))
    return found


def rules_bgp(model: Model) -> list[Finding]:
    net = model.network
    own = owners(net)
    found = []
    for device in net.device_names():
        bgp = net.config(device).bgp
        if bgp is None:
            continue
        head = f"router bgp {bgp.asn}"
        for addr, nbr in bgp.neighbors.items():
            peer = own.get(addr)
            peer_dev = peer[0][0] if peer else None
            peer_bgp = net.config(peer_dev).bgp if peer_dev else None
            if nbr.shutdown:
                found.append(Finding(device, "bgp", f"{device}'s BGP neighbour {ip(addr)} is administratively shut "
                                     "down.", {device: [head, f" no neighbor {ip(addr)} shutdown"]},
                                     [f"{device}: {head} / neighbor {ip(addr)} shutdown"], 30))
            if peer_bgp is not None and nbr.remote_as is not None and nbr.remote_as != peer_bgp.asn:
                found.append(Finding(device, "bgp", f"{device} expects AS {nbr.remote_as} from {ip(addr)} but "
                                     f"{peer_dev} runs router bgp {peer_bgp.asn}: wrong remote-as.",
                                     {device: [head, f" neighbor {ip(addr)} remote-as {peer_bgp.asn}"]},
                                     [f"{device}: neighbor {ip(addr)} remote-as {nbr.remote_as}",
                                      f"{peer_dev}: router bgp {peer_bgp.asn}"], 31))
            if peer_bgp is not None and peer[0][1].startswith("Loopback") and nbr.update_source is None:
                back = next((a for a, n in peer_bgp.neighbors.items() if own.get(a, [("", "")])[0][0] == device),
                            None)
                lines = {device: [head, f" neighbor {ip(addr)} update-source {_loopback_with(net, device, back)}"]}
                back_nbr = peer_bgp.neighbors.get(back) if back is not None else None
                if back_nbr is not None and back_nbr.update_source is None and own.get(back, [("", "L")])[0][1].startswith(
                        "Loopback"):
                    lines[peer_dev] = [f"router bgp {peer_bgp.asn}",
                                       f" neighbor {ip(back)} update-source {_loopback_with(net, peer_dev, addr)}"]
                found.append(Finding(min(lines), "bgp", f"The loopback-to-loopback iBGP session {device} - {peer_dev} "
                                     "has no update-source: each side sources from its physical address, which the "
                                     "other does not expect.", {d: lines[d] for d in sorted(lines)},
                                     [f"{device}: neighbor {ip(addr)} (a loopback of {peer_dev}) has no update-source"],
                                     32))
            if peer is None and nbr.remote_as is not None:
                # a mistyped neighbour address: find the peer in that AS that points back at us on a shared subnet
                for other in net.device_names():
                    other_bgp = net.config(other).bgp
                    if other == device or other_bgp is None or other_bgp.asn != nbr.remote_as:
                        continue
                    for back in other_bgp.neighbors:
                        mine = own.get(back)
                        if not mine or mine[0][0] != device or any(own.get(a, [("",)])[0][0] == other
                                                                   for a in bgp.neighbors if a != addr):
                            continue
                        right = _address_facing(net, other, back)
                        if right is None:
                            continue
                        lines = [head, f" no neighbor {ip(addr)}", f" neighbor {ip(right)} remote-as {nbr.remote_as}"]
                        if nbr.description:
                            lines.append(f" neighbor {ip(right)} description {nbr.description}")
                        if nbr.update_source:
                            lines.append(f" neighbor {ip(right)} update-source {nbr.update_source}")
                        if nbr.next_hop_self:
                            lines.append(f" neighbor {ip(right)} next-hop-self")
                        found.append(Finding(device, "bgp", f"{device}'s neighbour statement points at {ip(addr)}, "
                                             f"an address nobody has; {other} peers from {ip(right)}.", {device: lines},
                                             [f"{device}: neighbor {ip(addr)} remote-as {nbr.remote_as}",
                                              f"{other}: neighbor {ip(back)} remote-as {other_bgp.asn}"], 33))
        # next-hop-self towards iBGP peers when eBGP next hops are not in the IGP
        ebgp = [a for a, n in bgp.neighbors.items() if n.remote_as not in (None, bgp.asn)]
        for addr, nbr in bgp.neighbors.items():
            if nbr.remote_as == bgp.asn and ebgp and not nbr.next_hop_self:
                found.append(Finding(device, "bgp", f"{device} advertises eBGP routes to its iBGP peer {ip(addr)} "
                                     "without next-hop-self: the eBGP next hop is unresolvable inside the AS.",
                                     {device: [head, f" neighbor {ip(addr)} next-hop-self"]},
                                     [f"{device}: neighbor {ip(addr)} has no next-hop-self"], 36))
        # prefixes the AS could announce but does not
        announced = {(n.network, n.plen) for n in bgp.networks}
        if bgp.networks:
            for prefix in _lan_prefixes(model):
                if prefix in announced or not _in_rib(net, device, prefix):
                    continue
                found.append(Finding(device, "bgp", f"{device} does not announce {ip(prefix[0])}/{prefix[1]} in BGP: "
                                     "its network statement is missing.",
                                     {device: [head, f" network {ip(prefix[0])} mask {mask_text(prefix[1])}"]},
                                     [f"{device}: {head} has no network {ip(prefix[0])} mask {mask_text(prefix[1])}"],
                                     38))
    return found


def _loopback_with(net: Network, device: str, addr: int | None) -> str:
    config = net.config(device)
    for name, itf in config.interfaces.items():
        if itf.is_loopback and itf.address and (addr is None or itf.address[0] == addr):
            return name
    return next((n for n, i in config.interfaces.items() if i.is_loopback and i.address), "Loopback0")


def _address_facing(net: Network, device: str, peer_addr: int) -> int | None:
    """The address of ``device`` on the subnet holding ``peer_addr``."""
    for itf in net.config(device).interfaces.values():
        if itf.address and not itf.is_loopback and network_of(itf.address[0], itf.address[1]) == network_of(
                peer_addr, itf.address[1]):
            return itf.address[0]
    return None


def _lan_prefixes(model: Model) -> list[tuple[int, int]]:
    found = []
    for device in model.network.device_names():
        for name, itf in model.network.config(device).interfaces.items():
            if itf.address and name != model.mgmt.get(device) and model.far_end(device, name) is None:
                found.append((network_of(*itf.address), itf.address[1]))
    return sorted(set(found))


def _in_rib(net: Network, device: str, prefix: tuple[int, int]) -> bool:
    return any(r.net == prefix[0] and r.plen == prefix[1] and r.protocol != "bgp" for r in net.routes(device))


def rules_acl(model: Model) -> list[Finding]:
    net = model.network
    found = []
    for device in net.device_names():
        config = net.config(device)
        applied = {}
        for name, itf in config.interfaces.items():
            for acl, direction in ((itf.acl_in, "in"), (itf.acl_out, "out")):
                if acl:
                    applied.setdefault(acl, []).append((name, direction))
        for acl_name, places in applied.items():
            acl = config.acls.get(acl_name)
            if acl is None:
                continue
            kind = acl.kind
            head = f"ip access-list {kind} {acl_name}"
            where = ", ".join(f"{n} {d}" for n, d in places)
            denies = [e for e in acl.entries if e.action == "deny"]
            if not any(e.action == "permit" for e in acl.entries):
                last = max((e.seq for e in acl.entries), default=0) + 10
                found.append(Finding(device, "acl", f"ACL {acl_name} ({where}) on {device} has no permit entry: the "
                                     "implicit deny drops all traffic.",
                                     {device: [head, f" {last} permit ip any any"]},
                                     [f"{device}: {head}: " + "; ".join(ace_text(e, kind) for e in acl.entries)], 40))
            for entry in denies:
                text = ace_text(entry, kind)
                bgp = "179" in text or " bgp" in text
                found.append(Finding(device, "acl", f"ACL {acl_name} ({where}) on {device}: '{text}' denies the "
                                     f"{'BGP session' if bgp else 'traffic'}.", {device: [head, f" no {entry.seq}"]},
                                     [f"{device}: {head} / {text}", f"{device}: ip access-group {acl_name} ({where})"],
                                     41))
            groups: dict[tuple, list] = {}
            for entry in denies:
                key = tuple(sorted({entry.src, entry.dst} - {0}))
                groups.setdefault(key, []).append(entry)
            for entries in groups.values():
                if len(entries) > 1:
                    texts = [ace_text(e, kind) for e in entries]
                    found.append(Finding(device, "acl", f"ACL {acl_name} ({where}) on {device} denies the traffic: "
                                         + "; ".join(texts) + ".",
                                         {device: [head, *[f" no {e.seq}" for e in entries]]},
                                         [f"{device}: {head} / {t}" for t in texts], 42))
    return found


def rules_static(model: Model) -> list[Finding]:
    net = model.network
    found = []
    for device in net.device_names():
        config = net.config(device)
        neighbours = [ip_to_int(str(ipaddress.ip_address(a)))
                      for d, i, p, pi in router_links(model) if d == device
                      for a in [(net.config(p).interfaces[pi].address or (0, 0))[0]] if a]
        for route in config.static_routes:
            spec = f"{ip(route.network)} {mask_text(route.plen)}"
            hop = route.interface if route.next_hop is None else ip(route.next_hop)
            line = f"ip route {spec} {hop}"
            resolvable = route.next_hop is None or any(
                r.protocol in ("connected",) for r in net.routes(device) if r.net == network_of(route.next_hop, r.plen))
            if route.next_hop is not None and not resolvable:
                for nh in neighbours:
                    found.append(Finding(device, "static", f"{device}'s static route {spec} points at {ip(route.next_hop)}, "
                                         "which is on no connected subnet (a mistyped next hop).",
                                         {device: [f"no {line}", f"ip route {spec} {ip(nh)}"]},
                                         [f"{device}: {line}"], 50 + _ebgp_rank(config, nh)))
            found.append(Finding(device, "static", f"{device}'s static route {line} overrides the IGP and sends "
                                 "the traffic the wrong way.", {device: [f"no {line}"]}, [f"{device}: {line}"],
                                 55 if hop in ("Null0",) else 58))
        # missing default on an edge that advertises one
        process = next(iter(config.ospf.values()), None)
        has_default = any(r.network == 0 and r.plen == 0 for r in config.static_routes)
        if process is not None and process.default_originate and not process.default_originate_always \
                and not has_default and config.bgp is not None:
            for addr, nbr in config.bgp.neighbors.items():
                if nbr.remote_as not in (None, config.bgp.asn) and addr in neighbours:
                    found.append(Finding(device, "static", f"{device} originates a default into OSPF only while it has "
                                         f"one, and its static default towards the upstream {ip(addr)} is missing.",
                                         {device: [f"ip route 0.0.0.0 0.0.0.0 {ip(addr)}"]},
                                         [f"{device}: router ospf {process.pid} / default-information originate",
                                          f"{device}: no 'ip route 0.0.0.0 0.0.0.0'"], 51))
        # an eBGP edge with no default route at all: a static default towards its upstream was removed
        if config.bgp is not None and not has_default and not _has_default_route(net, device):
            for addr, nbr in sorted(config.bgp.neighbors.items()):
                if nbr.remote_as in (None, config.bgp.asn) or addr not in neighbours:
                    continue
                found.append(Finding(device, "static", f"{device} has no default route: its static default towards "
                                     f"the eBGP neighbour {ip(addr)} (AS {nbr.remote_as}) is missing, so traffic "
                                     "to prefixes it does not learn in BGP is dropped.",
                                     {device: [f"ip route 0.0.0.0 0.0.0.0 {ip(addr)}"]},
                                     [f"{device}: no 'ip route 0.0.0.0 0.0.0.0' and no default in its routing table",
                                      f"{device}: neighbor {ip(addr)} remote-as {nbr.remote_as}"], 54))
    return found


def _has_default_route(net: Network, device: str) -> bool:
    return any(r.net == 0 and r.plen == 0 for r in net.routes(device))


def _ebgp_rank(config, nh: int) -> int:
    bgp = config.bgp
    if bgp and nh in bgp.neighbors and bgp.neighbors[nh].remote_as not in (None, bgp.asn):
        return 0
    return 2


RULES = (rules_interface, rules_ospf, rules_bgp, rules_acl, rules_static)


def findings(model: Model) -> list[Finding]:
    result = []
    for rule in RULES:
        result.extend(rule(model))
    return result


# --- what-if ---------------------------------------------------------------------------------------

def score(net: Network, points) -> int:
    state = health(net, points)
    return (sum(state.reach.values()) + 2 * sum(s == "FULL" for s in state.ospf.values())
            + 2 * sum(s[0] == "Established" for s in state.bgp.values())
            + sum(s == "up" for s in state.interfaces.values()))


def what_if(model: Model, finding: Finding) -> Network | None:
    trial = model.network.fork()
    for device, lines in finding.remediation.items():
        if trial.apply(device, lines):
            return None
    for device, itf in finding.replug:
        trial.set_link(device, itf, True)
    return trial


@dataclass
class Verdict:
    finding: Finding | None
    considered: int
    symptom_in_model: bool


def choose(model: Model, symptom_ok, candidates: list[Finding]) -> Verdict:
    """``symptom_ok(net) -> bool | None``: None when the symptom cannot be tested in the model."""
    base = model.network
    points = health(base).points
    base_score = score(base, points)
    reproduced = symptom_ok(base)
    fixes, gains = [], []
    for index, finding in enumerate(candidates):
        trial = what_if(model, finding)
        if trial is None:
            continue
        gain = score(trial, points) - base_score
        if gain < 0:
            continue
        ok = symptom_ok(trial)
        if ok and reproduced is False:
            fixes.append((finding.priority, -gain, index, finding))
        elif gain > 0:
            gains.append((-gain, finding.priority, index, finding))
    if fixes:
        return Verdict(min(fixes)[3], len(candidates), True)
    if gains:
        return Verdict(min(gains)[3], len(candidates), reproduced is False)
    return Verdict(None, len(candidates), reproduced is False)


def describe_interface(name: str) -> str:
    return short_interface(name)
