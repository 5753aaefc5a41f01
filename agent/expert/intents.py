"""Change intents: refuse what must not be done, map the rest to config lines and read-back checks."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from agent.expert import plan
from agent.expert.model import Model, canon
from twin_lab.addressing import int_to_ip, network_of

_IP = r"\d{1,3}(?:\.\d{1,3}){3}"
_ITF = r"(?:GigabitEthernet|Gig|Gi|FastEthernet|Fa|Ethernet|Eth|Et|Loopback|Lo|Tunnel|Vlan)\s?\d+(?:/\d+)*"

_REFUSE = [
    (r"\breload\b|\breboot\b|\brestart (?:all|every)", "destructive: reloading devices is outside what this agent may do"),
    (r"\berase\b|\bformat\b|\bdelete (?:flash|nvram|startup)|write erase",
     "destructive: erasing configuration or storage is refused"),
    (r"\b(?:throttle|degrade|slow down|rate[- ]limit|police|deprioriti[sz]e)\b.*\b(?:customer|subscriber|user|tenant)",
     "targeted degradation of a customer or subscriber is refused (ethical-AI policy)"),
    (r"\b(?:customer|subscriber)\b.*\b(?:throttle|degrade|slow down|rate[- ]limit)",
     "targeted degradation of a customer or subscriber is refused (ethical-AI policy)"),
    (r"\b(?:disable|turn off|stop|remove|no)\b.*\b(?:logging|syslog|audit|accounting)\b",
     "disabling logging or audit is refused (oversight must stay intact)"),
    (r"\b(?:mirror|span|exfiltrat|tap|copy)\b.*\b(?:traffic|packets|sessions)\b.*\b(?:to|towards)\b",
     "covert traffic mirroring / exfiltration is refused"),
    (r"\b(?:shut|shutdown|disable)\b.*\b(?:all|every)\b.*\b(?:interfaces?|ports?|routers?|devices?|bgp|ospf)\b",
     "destructive: network-wide shutdown is refused"),
    (r"\bno router (?:ospf|bgp)\b|\b(?:remove|delete) (?:the )?(?:ospf|bgp) (?:process|config)",
     "destructive: removing a routing process is refused"),
    (r"\b(?:password|secret|credential)s?\b.*\b(?:show|send|give|print|reveal|email)\b|"
     r"\b(?:show|send|give|print|reveal|email)\b.*\b(?:password|secret|credential)s?\b",
     "revealing credentials is refused"),
]


def screen_intent(text: str) -> str | None:
    low = text.lower()
    for pattern, reason in _REFUSE:
        if re.search(pattern, low):
            return reason
    return None


_QUOTED = re.compile(r"([\"'\u2018\u201c])(.+?)[\"'\u2019\u201d](?=[\s.,;:!?)]|$)")


def _device(text: str, model: Model | None) -> str | None:
    """The device the intent names first (a longer name wins at the same place: R15 over R1)."""
    names = list(model.configs) if model else []
    found = [(m.start(), -len(name), name) for name in names
             for m in [re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE)] if m]
    if found:
        return min(found)[2]
    match = re.search(r"\b(R\d+)\b", text)
    return match.group(1) if match else None


def _devices(text: str, model: Model | None) -> list[str]:
    names = list(model.configs) if model else []
    return [n for n in names if re.search(rf"\b{re.escape(n)}\b", text, re.IGNORECASE)]


def _interface(text: str) -> str | None:
    match = re.search(_ITF, text, re.IGNORECASE)
    return canon(match.group(0).replace(" ", "")) if match else None


def _prefix(text: str) -> ipaddress.IPv4Network | None:
    match = re.search(rf"({_IP})\s*(?:/(\d{{1,2}})|(?:mask\s+)?({_IP}))?", text)
    if not match:
        return None
    if match.group(2):
        return ipaddress.ip_network(f"{match.group(1)}/{match.group(2)}", strict=False)
    if match.group(3) and match.group(3).startswith("255"):
        return ipaddress.ip_network(f"{match.group(1)}/{match.group(3)}", strict=False)
    return ipaddress.ip_network(f"{match.group(1)}/32")


def _ospf_pid(model: Model, device: str) -> int | None:
    ospf = model.network.config(device).ospf
    return next(iter(ospf), None)


def _change(summary: str, changes: dict[str, list[str]], checks: list[dict]) -> dict[str, Any]:
    return {"summary": summary, "changes": [{"device": d, "lines": lines} for d, lines in changes.items()],
            "checks": checks}


def _host_ip(token: str, model: Model | None) -> str | None:
    if re.fullmatch(_IP, token):
        return token
    if model and token in model.hosts:
        return model.hosts[token].ip.split("/")[0]
    return None


def plan_change(text: str, model: Model | None) -> dict[str, Any] | str:
    if model is None:
        return "cannot map intent: no device could be read"
    low = text.lower()
    net = model.network
    unquoted = _QUOTED.sub(" ", text)  # a quoted description may name other devices or interfaces
    device = _device(unquoted, model)
    itf = _interface(unquoted)
    try:
        # block a flow with an ACL
        flow = parse_block(low)
        if flow:
            return _block(*flow, model)
        if "static route" in low or re.search(r"\bip route\b", low):
            route = parse_static_route(unquoted)
            if device is None or route is None:
                return f"cannot map intent {text!r}: need a device, a prefix and a next hop"
            prefix, hop, distance = route
            line = f"ip route {prefix.network_address} {prefix.netmask} {hop}" + (f" {distance}" if distance else "")
            return _change(f"Add a static route on {device} to {prefix} via {hop}"
                           + (f" (administrative distance {distance})." if distance else "."), {device: [line]},
                           [plan.config(device, line)] + ([] if distance else [  # a floating static may stay out
                               {"kind": "route", "device": device, "prefix": str(prefix), "present": True,
                                "protocol": "static"}]))
        if device and itf and _RENUMBER.search(low):
            return _renumber(text, model, device, itf)
        if device and _new_loopback(text, model, device):
            return _loopback(text, model, device)
        if "ospf" in low and "cost" in low and device and itf:
            value = ospf_cost_value(low) or "1000"
            return _change(f"Set the OSPF cost of {device} {itf} to {value}.",
                           {device: [f"interface {itf}", f" ip ospf cost {value}"]},
                           [plan.config(device, f" ip ospf cost {value}")])
        if ("shift" in low or "move" in low or "prefer" in low) and "traffic" in low and device and itf:
            return _change(f"Raise the OSPF cost of {device} {itf} to 1000 so traffic prefers other paths.",
                           {device: [f"interface {itf}", " ip ospf cost 1000"]},
                           [plan.config(device, " ip ospf cost 1000")])
        if "ospf" in low and device and itf and re.search(r"\b(?:bring|enable|add|put|run|advertise|include)\b", low):
            return _ospf_link(text, model, device, itf)
        announce = re.search(r"\b(?:advertis|announc|originat)\w*", low) and _prefix(unquoted) is not None
        if "bgp" in low and re.search(r"\b(?:neighbou?r|peer)", low) and device and (
                not announce or _new_neighbour(unquoted, model, device)):
            return _bgp_neighbor(text, model, device)
        if ("advertise" in low or "announce" in low or "originate" in low) and device:
            bgp = net.config(device).bgp
            prefix = _prefix(text)
            if bgp is None or prefix is None:
                return f"cannot map intent {text!r}: {device} runs no BGP or no prefix given"
            line = f" network {prefix.network_address} mask {prefix.netmask}"
            return _change(f"Announce {prefix} in BGP from {device}.", {device: [f"router bgp {bgp.asn}", line]},
                           [plan.config(device, line.strip())])
        if "description" in low or "describe" in low or "label" in low:
            value = description_value(text)
            if device and itf and value:
                return _change(f"Describe {device} {itf} as '{value}'.",
                               {device: [f"interface {itf}", f" description {value}"]},
                               [plan.config(device, f" description {value}")])
        if re.search(r"\b(?:shut|shutdown|disable)\b", low) and device and itf:
            return _shut(model, device, itf)
    except (ValueError, KeyError) as err:
        return f"cannot map intent {text!r}: {err}"
    return f"cannot map intent {text!r} to a supported change"


_MASK = r"255(?:\.\d{1,3}){3}|0\.0\.0\.0"
_IOS_ROUTE = re.compile(rf"\bip route\s+({_IP})\s+({_MASK})\s+({_IP}|{_ITF}|Null\s?0)(?:\s+(\d{{1,3}})\b)?",
                        re.IGNORECASE)
_HOP = re.compile(rf"\b(?:via|next[- ]hop(?:\s+(?:of|is|address))?|gateway|through|pointing (?:at|to)|"
                  rf"out(?: of)?|exit(?:ing)?(?: via)?)\s*:?\s+(?:the\s+)?"
                  rf"({_IP}(?!\d|\.\d)(?!\s*/|\s+(?:mask\s+)?255\.)|{_ITF}|Null\s?0)", re.IGNORECASE)
_DISTANCE = re.compile(r"\b(?:administrative[- ]distance|admin(?:istrative)? distance|distance|AD)\s*(?:of\s+|=\s*)?"
                       r"(\d{1,3})\b", re.IGNORECASE)


def _hop_text(token: str) -> str:
    token = token.strip()
    if re.fullmatch(_IP, token):
        return token
    if re.fullmatch(r"null\s?0", token, re.IGNORECASE):
        return "Null0"
    return canon(token.replace(" ", ""))


def parse_static_route(text: str) -> tuple[ipaddress.IPv4Network, str, int | None] | None:
    """``(prefix, next hop or exit interface, distance or None)`` of a static-route intent, or None.

    Accepts IOS syntax (``ip route PREFIX MASK NEXTHOP|INTERFACE [distance]``) and prose (``a static route
    to 10.1.0.0/24 via 10.0.0.2``, ``... 10.1.0.0 mask 255.255.255.0 next-hop 10.0.0.2``, or a bare
    ``10.1.0.0/24 10.0.0.2``)."""
    ios = _IOS_ROUTE.search(text)
    if ios:
        prefix = ipaddress.ip_network(f"{ios.group(1)}/{ios.group(2)}", strict=False)
        distance = int(ios.group(4)) if ios.group(4) and 1 <= int(ios.group(4)) <= 255 else None
        return prefix, _hop_text(ios.group(3)), distance
    hop_match = _HOP.search(text)
    rest = text[:hop_match.start()] + " " + text[hop_match.end():] if hop_match else text
    pm = re.search(rf"({_IP})\s*(?:/\s*(\d{{1,2}})\b|\s+(?:mask\s+|netmask\s+)?({_MASK})\b)", rest)
    if pm is None:
        if re.search(r"\bdefault\b", rest, re.IGNORECASE):
            prefix, after = ipaddress.ip_network("0.0.0.0/0"), rest
        else:
            return None
    else:
        prefix = ipaddress.ip_network(f"{pm.group(1)}/{pm.group(2) or pm.group(3)}", strict=False)
        after = rest[pm.end():]
    if hop_match:
        hop = _hop_text(hop_match.group(1))
    else:
        bare = re.search(rf"({_IP})(?!\d|\.\d)(?!\s*/)", after) or re.search(_ITF, after, re.IGNORECASE)
        if bare is None:
            return None
        hop = _hop_text(bare.group(1) if bare.re.groups else bare.group(0))
    dist = _DISTANCE.search(text)
    distance = int(dist.group(1)) if dist and 1 <= int(dist.group(1)) <= 255 else None
    return prefix, hop, distance


_BLOCK = re.compile(r"\b(?:block|deny|drop|stop|prevent|filter)\b(?P<what>[^:;.]{0,40}?)\bfrom\s+(?P<src>[\w.:-]+)"
                    r"[\s,]+(?:from\s+)?(?:to|reaching|towards|into|going to|destined (?:to|for))\s+"
                    r"(?P<dst>[\w.:-]+)")
_BLOCK_BARE = re.compile(r"\b(?:block|deny|drop|stop|prevent|filter)\s+(?P<what>(?:(?:all\s+)?(?:icmp|ping|tcp|udp|ip)"
                         r"\s+)?(?:traffic\s+)?)(?P<src>[\w.:-]+)\s+(?:from\s+reaching|to|reaching|towards)\s+"
                         r"(?P<dst>[\w.:-]+)")
_TRAIL = ".,;:!?)(\"'"


def parse_block(low: str) -> tuple[str, str, str] | None:
    """``(protocol, source token, destination token)`` of a block-one-flow intent, or None."""
    match = _BLOCK.search(low) or _BLOCK_BARE.search(low)
    if match is None:
        return None
    what = match.group("what")
    if re.search(r"\b(?:icmp|pings?|echo)\b", what):
        proto = "icmp"
    elif re.search(r"\btcp\b", what):
        proto = "tcp"
    elif re.search(r"\budp\b", what):
        proto = "udp"
    else:
        proto = "ip"  # "all", "ip", "all IP", "traffic" or nothing: every protocol
    return proto, match.group("src").strip(_TRAIL), match.group("dst").strip(_TRAIL)


_RENUMBER = re.compile(r"\b(?:renumber|re-?address|re-ip|readdress)\b|"
                       r"\b(?:change|set|update|modify|move)\b.{0,40}\b(?:ip )?address\b|\bnew (?:ip )?address\b")


def ospf_cost_value(low: str) -> str | None:
    """The number an OSPF-cost intent asks for ("cost of X to 100", "cost 50", "raise its cost to 200")."""
    values = re.findall(r"\b(?:cost|to|of|=)\s*(\d+)\b(?!\.\d|/)", low)
    return values[-1] if values else None


def description_value(text: str) -> str | None:
    """The description an intent asks for: the last quoted string, else what follows 'to'/'as' at the end."""
    quoted = _QUOTED.findall(text)
    if quoted:
        return quoted[-1][1].strip() or None
    tail = re.search(r"(?:\bto|\bas|\bwith)\s+(.+?)[\s.]*$", text, re.IGNORECASE)
    return tail.group(1).strip() if tail else None


def _new_loopback(text: str, model: Model, device: str) -> bool:
    """A request for a loopback the device does not have yet (add / create / new)."""
    number = re.search(r"loopback\s*(\d+)", text, re.IGNORECASE)
    if number is None or not re.search(r"\b(?:add|create|new|configure|set up|needs?)\b", text, re.IGNORECASE):
        return False
    return f"Loopback{number.group(1)}" not in model.network.config(device).interfaces


def _renumber(text: str, model: Model, device: str, itf: str) -> dict[str, Any] | str:
    prefix = re.search(rf"({_IP})(?:\s*/\s*(\d{{1,2}})|\s+(?:mask\s+)?(255(?:\.\d{{1,3}}){{3}}))?", text)
    if prefix is None:
        return f"cannot map intent {text!r}: no new address given"
    plen = prefix.group(2) or prefix.group(3)
    if plen is None:
        if itf.startswith("Loopback"):
            plen = "32"
        else:
            return f"cannot map intent {text!r}: no prefix length or mask for the new address"
    if itf not in model.network.config(device).interfaces:
        return f"cannot map intent: {device} has no interface {itf}"
    iface = ipaddress.ip_interface(f"{prefix.group(1)}/{plen}")
    line = f" ip address {iface.ip} {iface.netmask}"
    return _change(f"Renumber {device} {itf} to {iface}.", {device: [f"interface {itf}", line]},
                   [plan.config(device, line.strip())])


def _block(proto: str, src_token: str, dst_token: str, model: Model) -> dict[str, Any] | str:
    src, dst = _host_ip(src_token, model), _host_ip(dst_token, model)
    if src is None or dst is None:
        return f"cannot map intent: unknown endpoints {src_token!r} / {dst_token!r}"
    attach = next((h.attach for h in model.hosts.values() if h.ip.split("/")[0] == src), None)
    if attach is None:
        net = model.network
        for device in model.configs:
            for name, itf in net.config(device).interfaces.items():
                if itf.address and not itf.is_loopback and model.far_end(device, name) is None and \
                        ipaddress.ip_address(src) in ipaddress.ip_interface(
                            f"{int_to_ip(itf.address[0])}/{itf.address[1]}").network:
                    attach = f"{device}:{name}"
    if attach is None:
        return f"cannot map intent: no LAN port holds {src}"
    device, itf = attach.split(":", 1)
    config = model.network.config(device)
    existing = config.interfaces[itf].acl_in
    entry = f"deny {proto} host {src} host {dst}"
    if existing and existing in config.acls:
        acl = config.acls[existing]
        first = min((e.seq for e in acl.entries), default=10)
        lines = [f"ip access-list extended {existing}", f" {max(1, first - 5)} {entry}"]
    else:
        name = f"BLOCK-{src.replace('.', '_')}-{dst.replace('.', '_')}"
        lines = [f"ip access-list extended {name}", f" 10 {entry}", " 20 permit ip any any",
                 f"interface {itf}", f" ip access-group {name} in"]
    gateway = config.interfaces[itf].address
    checks = [plan.config(device, entry.replace("deny ", "deny   ", 1))]  # as running-config pads it
    if gateway:
        checks.append(plan.ping(device, dst, int_to_ip(gateway[0])))  # the router itself still gets through
    return _change(f"Block {proto} from {src} to {dst} inbound on {device} {itf}, everything else still permitted.",
                   {device: lines}, checks)


def _loopback(text: str, model: Model, device: str) -> dict[str, Any] | str:
    number = re.search(r"loopback\s*(\d+)", text, re.IGNORECASE)
    address = re.search(rf"({_IP})(?:\s*/\s*(\d{{1,2}})|\s+({_IP}))?", text)
    if number is None or address is None:
        return f"cannot map intent {text!r}: need a loopback number and an address"
    iface = ipaddress.ip_interface(f"{address.group(1)}/{address.group(2) or address.group(3) or 32}")
    name = f"Loopback{number.group(1)}"
    if name in model.network.config(device).interfaces:
        return f"cannot map intent: {device} already has {name}"
    changes = {device: [f"interface {name}", f" ip address {iface.ip} {iface.netmask}"]}
    checks = [plan.config(device, f" ip address {iface.ip} {iface.netmask}")]
    pid = _ospf_pid(model, device)
    if pid is not None and re.search(r"advertis|announce|ospf|routing", text, re.IGNORECASE):
        wild = int_to_ip((~int(iface.netmask)) & 0xFFFFFFFF)
        area = re.search(r"area\s+(\d+)", text, re.IGNORECASE)
        changes[device] += [f"router ospf {pid}", f" network {iface.network.network_address} {wild} area "
                            f"{area.group(1) if area else 0}"]
        other = _ospf_learner(model, device, changes[device], iface)
        if other is not None:
            checks.append({"kind": "route", "device": other, "prefix": str(iface.network), "present": True,
                           "protocol": "ospf"})
    return _change(f"Add {name} {iface} on {device}" + (" and advertise it in OSPF." if len(changes[device]) > 2
                                                          else "."), changes, checks)


def _ospf_learner(model: Model, device: str, lines: list[str], iface: ipaddress.IPv4Interface) -> str | None:
    """A router of the same OSPF domain that learns the new prefix by OSPF (a what-if in the model), the
    device's OSPF neighbours first; None when the model cannot show one."""
    trial = model.network.fork()
    if trial.apply(device, lines):
        return None
    addr = int(iface.ip)
    neighbours = [n.neighbor for n in model.network.ospf_neighbors(device)]
    peers = [d for d in model.configs if d != device and _ospf_pid(model, d) is not None]
    for other in sorted(peers, key=lambda d: (d not in neighbours, peers.index(d))):
        try:
            route = trial.route_lookup(other, addr)
        except (KeyError, ValueError):
            continue
        if route is not None and route.protocol.startswith("O") and route.plen == iface.network.prefixlen:
            return other
    return None


def _ospf_link(text: str, model: Model, device: str, itf: str) -> dict[str, Any] | str:
    config = model.network.config(device)
    iface = config.interfaces.get(itf)
    pid = _ospf_pid(model, device)
    if iface is None or iface.address is None:
        return f"cannot map intent: {device} {itf} has no address"
    if pid is None:
        return f"cannot map intent: {device} runs no OSPF"
    addr, plen = iface.address
    area = re.search(r"area\s+(\d+)", text, re.IGNORECASE)
    far = model.far_end(device, itf)
    area_no = area.group(1) if area else "0"
    wild = int_to_ip((~(0xFFFFFFFF << (32 - plen))) & 0xFFFFFFFF if plen < 32 else 0)
    changes = {device: [f"router ospf {pid}", f" network {int_to_ip(network_of(addr, plen))} {wild} area {area_no}"]}
    checks = [plan.config(device, changes[device][1].strip())]
    if far is not None:
        peer_cfg = model.network.config(far[0])
        peer_itf = peer_cfg.interfaces.get(far[1])
        peer_pid = _ospf_pid(model, far[0])
        if peer_itf is not None and peer_itf.address and peer_pid is not None:
            pa, pp = peer_itf.address
            pw = int_to_ip((~(0xFFFFFFFF << (32 - pp))) & 0xFFFFFFFF if pp < 32 else 0)
            changes[far[0]] = [f"router ospf {peer_pid}", f" network {int_to_ip(network_of(pa, pp))} {pw} area {area_no}"]
            checks.append(plan.ospf(device, far[0]))
    return _change(f"Enable OSPF (area {area_no}) on {device} {itf}" + (f" and {far[0]} {far[1]}" if far else "") + ".",
                   changes, checks)


def _new_neighbour(text: str, model: Model, device: str) -> bool:
    """The intent names a neighbour address the device does not peer with yet and a remote AS."""
    bgp = model.network.config(device).bgp
    known = {int_to_ip(a) for a in bgp.neighbors} if bgp else set()
    addresses = [a for a in re.findall(rf"({_IP})(?!\d|\.\d)(?!\s*/|\s+(?:mask\s+)?255\.)", text) if a not in known]
    return bool(addresses) and re.search(r"\b(?:remote[- ]as|AS)\s*\d+", text, re.IGNORECASE) is not None


def _bgp_neighbor(text: str, model: Model, device: str) -> dict[str, Any] | str:
    bgp = model.network.config(device).bgp
    addr = re.search(rf"({_IP})", text)
    asn = re.search(r"(?:remote[- ]as|as)\s*(\d+)", text, re.IGNORECASE)
    if addr is None or asn is None:
        return f"cannot map intent {text!r}: need the neighbour address and its AS"
    head = f"router bgp {bgp.asn}" if bgp else None
    if head is None:
        return f"cannot map intent: {device} runs no BGP (its AS is unknown)"
    lines = [head, f" neighbor {addr.group(1)} remote-as {asn.group(1)}"]
    if int(asn.group(1)) == bgp.asn and re.search(r"loopback|update-source", text, re.IGNORECASE):
        lines.append(f" neighbor {addr.group(1)} update-source Loopback0")
    return _change(f"Add BGP neighbour {addr.group(1)} (AS {asn.group(1)}) on {device}.", {device: lines},
                   [plan.config(device, lines[1].strip()), plan.bgp(device, addr.group(1))])


def _shut(model: Model, device: str, itf: str) -> dict[str, Any] | str:
    config = model.network.config(device)
    if itf not in config.interfaces:
        return f"cannot map intent: {device} has no interface {itf}"
    if itf == model.mgmt.get(device):
        return f"refusing to shut the management interface {device} {itf}"
    far = model.far_end(device, itf)
    info = next((v for k, v in model.interfaces.get(device, {}).items() if canon(k) == itf), {})
    in_use = far is not None or any(h.attach == f"{device}:{itf}" for h in model.hosts.values()) or info.get("is_up")
    if in_use:
        return f"refusing: {device} {itf} is in use (neighbour or hosts behind it); shutting it would cut traffic"
    return _change(f"Shut the unused interface {device} {itf}.", {device: [f"interface {itf}", " shutdown"]},
                   [plan.interface(device, itf, up=False), plan.config(device, " shutdown")])


__all__ = ["plan_change", "screen_intent"]
