"""The one IOS config applier: running-config parsing, emulator config mode and dry-run candidates.

``ConfigSession.apply(line)`` behaves like typing ``line`` at a router in configuration mode:
context rules (``interface`` enters a sub-mode, a global command typed in a sub-mode leaves it),
``no`` forms, ``exit``/``end``, and IOS error text instead of exceptions.  A running-config is
parsed by applying its lines one by one, so there is exactly one code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twin_lab.addressing import (
    AddressError,
    canonical_interface,
    ip_to_int,
    mask_text_to_plen,
    network_of,
)
from twin_lab.ios import grammar
from twin_lab.ios.grammar import CommandError, Node, Token, invalid_at, resolve, tokenize
from twin_lab.ios.model import (
    AccessList,
    AclEntry,
    BgpNeighbor,
    BgpNetwork,
    BgpProcess,
    Block,
    DeviceConfig,
    OspfNetwork,
    OspfProcess,
    PortMatch,
    Redistribution,
    StaticRoute,
)

# Commands kept verbatim: accepted so real running-configs and operator habits work, not simulated.
OPAQUE_GLOBAL = (
    "service", "logging", "username", "aaa", "version", "boot-start-marker", "boot-end-marker", "boot",
    "enable", "clock", "ntp", "snmp-server", "cdp", "lldp", "file", "spanning-tree", "vtp", "license",
    "memory-size", "multilink", "mpls", "ipv6", "alias", "platform", "diagnostic", "login", "security",
    "errdisable", "privilege", "monitor", "no-op-marker", "hw-module", "subscriber", "system", "tftp-server",
    "scheduler", "process", "transceiver", "power", "default-information", "vrf-lite", "exception",
)
OPAQUE_GLOBAL_IP = (
    "domain-name", "domain", "name-server", "cef", "ssh", "http", "forward-protocol", "tftp", "scp",
    "prefix-list", "nat", "flow-export", "routing", "classless", "subnet-zero", "multicast-routing",
    "options", "source-route", "finger", "bootp", "dhcp", "host", "ftp", "tcp", "icmp", "sla",
    "default-gateway", "as-path", "community-list", "radius", "tacacs",
)
# Block commands: header + indented children, with the sub-mode IOS shows in the prompt.
OPAQUE_BLOCKS = {
    "line": "config-line", "control-plane": "config-cp", "route-map": "config-route-map",
    "key": "config-keychain", "vrf": "config-vrf", "redundancy": "config-red", "archive": "config-archive",
    "flow": "config-flow", "event": "config-applet", "call-home": "config-call-home",
    "policy-map": "config-pmap", "class-map": "config-cmap", "track": "config-track",
    "object-group": "config-obj-group", "crypto": "config", "tacacs": "config-server-tacacs",
    "radius": "config-radius-server", "parameter-map": "config-profile", "zone": "config-zone",
    "zone-pair": "config-sec-zone-pair", "template": "config-template", "telemetry": "config-mdt-subs",
    "netconf-yang": "config", "restconf": "config",
}
# Sub-commands of opaque blocks whose first word is also a global command (``logging``, ``login``):
# typed without indentation they still belong to the block, as on IOS.
BLOCK_CHILDREN = {
    "config-line": ("logging", "login", "password", "transport", "exec-timeout", "privilege", "access-class",
                    "session-timeout", "history", "length", "width", "stopbits", "escape-character", "exec",
                    "authorization", "accounting"),
    "config-archive": ("path", "maximum", "write-memory", "log", "time-period"),
}
OPAQUE_INTERFACE = (
    "duplex", "speed", "negotiation", "cdp", "lldp", "ipv6", "load-interval", "keepalive", "carrier-delay",
    "media-type", "channel-group", "service-policy", "logging", "standby", "vrrp", "encapsulation", "snmp",
    "mpls", "switchport", "spanning-tree", "vrf", "tunnel", "delay", "hold-queue", "arp", "platform",
    "storm-control", "macro", "power", "udld", "flowcontrol", "bfd", "pppoe", "crypto", "zone-member",
)
OPAQUE_INTERFACE_IP = (
    "helper-address", "nat", "proxy-arp", "redirects", "unreachables", "flow", "route-cache", "policy",
    "virtual-reassembly", "tcp", "pim", "verify", "directed-broadcast", "mroute-cache", "dhcp", "igmp",
    "summary-address", "split-horizon", "authentication", "hello-interval", "bandwidth-percent",
    "information-reply", "mask-reply", "accounting", "local-proxy-arp", "sap", "vrf",
)
# Opaque interface commands that share their keywords with a global command (``ip nat inside`` in
# config-if, ``ip nat inside source ...`` in global config): the arguments the interface form takes, as
# keyword -> how many words may follow it (None: any).  A line that does not fit is no interface command,
# so IOS rejects it in config-if and runs it in global config.
OPAQUE_INTERFACE_FORMS: dict[tuple[str, ...], dict[str, int | None]] = {
    ("ip", "nat"): {"inside": 0, "outside": 0, "enable": 0},
    ("ip", "dhcp"): {"client": None, "relay": None, "snooping": None},
    ("cdp",): {"enable": 0, "tlv": None, "log": None},
    ("lldp",): {"transmit": 0, "receive": 0, "tlv-select": None, "med-tlv-select": None, "agent": None},
}
OPAQUE_OSPF = ("area", "timers", "max-metric", "distance", "maximum-paths", "summary-address", "bfd",
               "ispf", "nsf", "capability", "compatible", "discard-route", "distribute-list", "ignore",
               "prefix-suppression", "max-lsa", "graceful-restart", "fast-reroute", "mpls")
OPAQUE_BGP = ("timers", "distance", "maximum-paths", "synchronization", "auto-summary",
              "default-information", "aggregate-address", "table-map", "default-metric", "distribute-list")
OPAQUE_NEIGHBOR = ("activate", "send-community", "route-map", "soft-reconfiguration", "timers", "version",
                   "weight", "prefix-list", "filter-list", "distribute-list", "maximum-prefix", "remove-private-as",
                   "allowas-in", "local-as", "fall-over", "peer-group", "ttl-security", "disable-connected-check",
                   "advertisement-interval", "default-originate", "route-reflector-client", "as-override")

TCP_PORTS = {"www": 80, "http": 80, "telnet": 23, "ftp": 21, "ftp-data": 20, "smtp": 25, "domain": 53,
             "bgp": 179, "ssh": 22, "https": 443, "pop3": 110, "pop2": 109, "ident": 113, "nntp": 119,
             "irc": 194, "klogin": 543, "kshell": 544, "lpd": 515, "sunrpc": 111, "whois": 43, "finger": 79,
             "gopher": 70, "hostname": 101, "cmd": 514, "login": 513, "exec": 512, "talk": 517,
             "uucp": 540, "echo": 7, "discard": 9, "daytime": 13, "chargen": 19, "time": 37, "tacacs": 49,
             "ldp": 646}
UDP_PORTS = {"domain": 53, "tftp": 69, "ntp": 123, "snmp": 161, "snmptrap": 162, "syslog": 514,
             "bootps": 67, "bootpc": 68, "rip": 520, "isakmp": 500, "non500-isakmp": 4500, "echo": 7,
             "discard": 9, "netbios-ns": 137, "netbios-dgm": 138, "netbios-ss": 139, "biff": 512,
             "who": 513, "talk": 517, "time": 37, "tacacs": 49, "xdmcp": 177, "sunrpc": 111,
             "mobile-ip": 434, "pim-auto-rp": 496, "dnsix": 195, "nameserver": 42}
PROTOCOLS = {"ip", "icmp", "tcp", "udp", "ospf", "gre", "esp", "ahp", "eigrp", "igmp", "pim", "ipinip",
             "nos", "pcp", "sctp"}
ICMP_TYPES = {"echo", "echo-reply", "unreachable", "time-exceeded", "traceroute", "ttl-exceeded",
              "packet-too-big", "redirect", "administratively-prohibited", "host-unreachable",
              "net-unreachable", "port-unreachable", "source-quench", "parameter-problem", "timestamp-request",
              "timestamp-reply"}
ACL_OPTIONS = {"log", "log-input", "established", "fragments", "precedence", "dscp", "tos", "time-range"}


@dataclass(slots=True)
class ConfigError:
    """An IOS error for one line, as the emulator prints it and a dry-run reports it."""

    line: str
    message: str
    position: int = 0
    lineno: int | None = None

    def __str__(self) -> str:
        where = f"line {self.lineno}: " if self.lineno is not None else ""
        return f"{where}{self.line.strip()!r}: {self.message}"


@dataclass
class _Context:
    kind: str  # global | if | ospf | bgp | acl | block | banner
    mode: str
    target: object = None
    data: dict = field(default_factory=dict)


class _Args:
    """Argument cursor with IOS-style errors."""

    def __init__(self, tokens: list[Token], line: str):
        self.tokens, self.line, self.i = tokens, line, 0

    def more(self) -> bool:
        return self.i < len(self.tokens)

    def peek(self) -> str | None:
        return self.tokens[self.i].text if self.more() else None

    def peek_lower(self) -> str | None:
        word = self.peek()
        return word.lower() if word is not None else None

    def take(self) -> str:
        if not self.more():
            raise CommandError(grammar.INCOMPLETE, len(self.line), self.line)
        word = self.tokens[self.i].text
        self.i += 1
        return word

    def invalid(self, offset: int = 0) -> CommandError:
        return invalid_at(self.tokens, max(self.i + offset, 0), self.line)

    def take_int(self, low: int = 0, high: int = 2**32 - 1) -> int:
        word = self.take()
        if not word.isdigit() or not low <= int(word) <= high:
            raise self.invalid(-1)
        return int(word)

    def take_ip(self) -> int:
        word = self.take()
        try:
            return ip_to_int(word)
        except AddressError:
            raise self.invalid(-1) from None

    def take_mask(self) -> int:
        word = self.take()
        try:
            return mask_text_to_plen(word)
        except AddressError:
            raise self.invalid(-1) from None

    def take_keyword(self, *choices: str) -> str:
        word = self.take().lower()
        matches = [c for c in choices if c.startswith(word)]
        if word in choices:
            return word
        if len(matches) != 1:
            raise self.invalid(-1)
        return matches[0]

    def optional_keyword(self, *choices: str) -> str | None:
        word = self.peek_lower()
        if word is None:
            return None
        matches = [c for c in choices if c.startswith(word)]
        if word in choices:
            matches = [word]
        if len(matches) == 1:
            self.i += 1
            return matches[0]
        return None

    def take_interface(self) -> str:
        word = self.take()
        # "GigabitEthernet 0/1" (with a space) is valid IOS input too.
        if word.isalpha() and self.more() and self.peek()[0].isdigit():
            word += self.take()
        try:
            return canonical_interface(word)
        except AddressError:
            raise self.invalid(-1) from None

    def rest(self) -> str:
        if not self.more():
            return ""
        start = self.tokens[self.i].start
        self.i = len(self.tokens)
        return self.line[start:].strip()

    def done(self) -> None:
        if self.more():
            raise self.invalid()


class ConfigSession:
    """Configuration mode on one device: feed it lines, read back ``mode`` and errors."""

    def __init__(self, config: DeviceConfig, *, strict: bool = True):
        self.config = config
        self.strict = strict
        self.stack: list[_Context] = [_Context("global", "config")]
        self.ended = False
        self._entered = False

    @property
    def mode(self) -> str:
        return self.stack[-1].mode

    def reset(self) -> None:
        """Back to global config mode (what ``configure terminal`` gives)."""
        self.stack = self.stack[:1]
        self.ended = False

    # --- entry point ------------------------------------------------------------------------

    def apply(self, line: str) -> ConfigError | None:
        """Apply one line; return the IOS error instead of raising."""
        context = self.stack[-1]
        if context.kind == "banner":
            self._banner_line(line)
            return None
        stripped = line.strip()
        if not stripped or stripped.startswith("!"):
            return None
        tokens = tokenize(line)
        try:
            self._dispatch(line, tokens, indented=line[:1].isspace())
        except CommandError as err:
            return ConfigError(line, err.message, err.position)
        return None

    def apply_lines(self, text: str) -> list[ConfigError]:
        errors = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            err = self.apply(line)
            if err is not None:
                err.lineno = lineno
                errors.append(err)
            if self.ended:
                break
        return errors

    def _dispatch(self, line: str, tokens: list[Token], indented: bool) -> None:
        first = tokens[0].text.lower()
        if first == "end":
            self.reset()
            self.ended = True
            return
        if first == "exit" and len(tokens) == 1:
            if len(self.stack) > 1:
                self.stack.pop()
            else:
                self.ended = True
            return
        if first in ("exit-address-family", "exit-af-topology") and self.stack[-1].kind == "bgp":
            self.stack[-1].mode = "config-router"
            return
        # Try the current sub-mode, then each enclosing one: IOS leaves a sub-mode when a line
        # only makes sense further out.
        first_error: CommandError | None = None
        for depth in range(len(self.stack) - 1, -1, -1):
            context = self.stack[depth]
            if context.kind == "block":
                if indented or not self._is_global_command(tokens) or self._block_child(context, tokens):
                    child = line.strip()
                    # Re-entering a block (or merging a running-config into itself) repeats its
                    # children: IOS keeps one copy.  Repeats typed since entering stay (nested
                    # sub-modes such as policy-map classes may legitimately repeat a line).
                    if child not in context.data.get("existing", ()):
                        context.target.children.append(child)
                    return
                continue
            self._entered = False
            try:
                self._run_in(context, line, tokens)
            except CommandError as err:
                first_error = first_error or err
                continue
            if not self._entered:
                del self.stack[depth + 1:]
            return
        if not self.strict:
            self._keep_unknown(line, indented)
            return
        raise first_error or CommandError(grammar.INVALID, 0, line)

    @staticmethod
    def _block_child(context: _Context, tokens: list[Token]) -> bool:
        """Unindented lines that belong to the block although a global command shares the keyword."""
        children = BLOCK_CHILDREN.get(context.mode, ())
        word = tokens[1].text.lower() if tokens[0].text.lower() == "no" and len(tokens) > 1 else tokens[0].text.lower()
        return any(c.startswith(word) for c in children) and len(word) >= 3

    def _is_global_command(self, tokens: list[Token]) -> bool:
        try:
            resolve(_GLOBAL, "", tokens, 1 if tokens[0].text.lower() == "no" else 0)
        except CommandError:
            return False
        return True

    def _keep_unknown(self, line: str, indented: bool) -> None:
        context = self.stack[-1]
        text = line.strip()
        if (indented and context.kind == "if") or (indented and context.kind in ("ospf", "bgp")):
            context.target.extra.append(text)
        elif indented and context.kind == "block":
            context.target.children.append(text)
        else:
            block = _find_block(self.config, text)
            if block is None:
                block = Block(text)
                self.config.extra.append(block)
            self.enter(self.stack[0], "block", "config", block)

    def _run_in(self, context: _Context, line: str, tokens: list[Token]) -> None:
        negate = tokens[0].text.lower() == "no"
        if negate and len(tokens) == 1:
            raise CommandError(grammar.INCOMPLETE, len(line), line)
        resolved = resolve(_ROOTS[context.kind], line, tokens, 1 if negate else 0)
        if (context.kind != "global" and resolved.handler is _opaque_sub and not resolved.exact
                and self._is_global_command(tokens)):
            # "ip route ..." in config-if abbreviates "ip route-cache" only on paper: IOS fails it
            # there and runs it in global config, and so do we.
            raise CommandError(grammar.INVALID, tokens[-1].start, line)
        resolved.handler(self, context, _Args(resolved.args, line), negate, resolved.keywords)

    def enter(self, from_context: _Context, kind: str, mode: str, target: object) -> None:
        """Enter a sub-mode from ``from_context`` (dropping any deeper ones)."""
        depth = self.stack.index(from_context)
        context = _Context(kind, mode, target)
        if kind == "block":
            context.data["existing"] = set(target.children)
        self.stack[depth + 1:] = [context]
        self._entered = True

    # --- banner (multi-line, delimited) ------------------------------------------------------

    def _banner_line(self, line: str) -> None:
        context = self.stack[-1]
        block: Block = context.target
        delimiter = context.data["delimiter"]
        if delimiter in line:
            before = line.split(delimiter, 1)[0]
            if before:
                block.children.append(before)
            block.children.append(delimiter)
            self.stack.pop()
        else:
            block.children.append(line)


# --- helpers ------------------------------------------------------------------------------------


def _find_block(config: DeviceConfig, header: str) -> Block | None:
    for block in config.extra:
        if block.header == header:
            return block
    return None


def _opaque_global(session: ConfigSession, ctx: _Context, args: _Args, negate: bool, kw: list[str]) -> None:
    text = " ".join([*kw, args.rest()]).strip()
    extra = session.config.extra
    if negate:
        kept = [b for b in extra if not (b.header == text or b.header.startswith(text + " "))]
        if len(kept) == len(extra) and _find_block(session.config, f"no {text}") is None:
            kept.append(Block(f"no {text}"))
        extra[:] = kept
        return
    extra[:] = [b for b in extra if b.header != f"no {text}"]
    if _find_block(session.config, text) is None:
        extra.append(Block(text))


def _opaque_block(session: ConfigSession, ctx: _Context, args: _Args, negate: bool, kw: list[str]) -> None:
    text = " ".join([*kw, args.rest()]).strip()
    config = session.config
    if negate:
        config.extra[:] = [b for b in config.extra if b.header != text]
        return
    block = _find_block(config, text)
    if block is None:
        block = Block(text)
        config.extra.append(block)
    session.enter(ctx, "block", OPAQUE_BLOCKS.get(kw[0], "config"), block)


def _banner(session: ConfigSession, ctx: _Context, args: _Args, negate: bool, kw: list[str]) -> None:
    kind = args.take()
    header = f"banner {kind}"
    config = session.config
    config.extra[:] = [b for b in config.extra if not b.header.startswith(header + " ")]
    if negate:
        return
    rest = args.rest()
    if not rest:
        raise CommandError(grammar.INCOMPLETE, len(args.line), args.line)
    delimiter = "^C" if rest.startswith("^C") else rest[0]
    body = rest[len(delimiter):]
    block = Block(f"{header} {delimiter}")
    config.extra.append(block)
    if delimiter in body:
        text = body.split(delimiter, 1)[0]
        block.header = f"{header} {delimiter}{text}{delimiter}"
        return
    if body:
        block.children.append(body)
    session.enter(ctx, "banner", "config", block)
    session.stack[-1].data["delimiter"] = delimiter


def _hostname(session: ConfigSession, ctx: _Context, args: _Args, negate: bool, kw: list[str]) -> None:
    if negate:
        session.config.hostname = "Router"
        return
    name = args.take()
    args.done()
    session.config.hostname = name


def _interface(session: ConfigSession, ctx: _Context, args: _Args, negate: bool, kw: list[str]) -> None:
    name = args.take_interface()
    args.done()
    config = session.config
    if negate:
        if name not in config.interfaces:
            return
        if "." not in name and not name.startswith(("Loopback", "Tunnel", "Vlan", "Port-channel")):
            raise CommandError("% Removal of physical interfaces is not permitted", 0, args.line)
        del config.interfaces[name]
        return
    session.enter(ctx, "if", "config-subif" if "." in name else "config-if", config.interface(name))


def _router_ospf(session: ConfigSession, ctx: _Context, args: _Args, negate: bool, kw: list[str]) -> None:
    pid = args.take_int(1, 65535)
    args.optional_keyword("vrf") and args.take()
    args.done()
    if negate:
        session.config.ospf.pop(pid, None)
        return
    process = session.config.ospf.setdefault(pid, OspfProcess(pid))
    session.enter(ctx, "ospf", "config-router", process)


def _router_bgp(session: ConfigSession, ctx: _Context, args: _Args, negate: bool, kw: list[str]) -> None:
    asn = _take_asn(args)
    args.done()
    config = session.config
    if negate:
        if config.bgp and config.bgp.asn == asn:
            config.bgp = None
        return
    if config.bgp is None:
        config.bgp = BgpProcess(asn)
    elif config.bgp.asn != asn:
        raise CommandError(f"BGP is already running; AS is {config.bgp.asn}", 0, args.line)
    session.enter(ctx, "bgp", "config-router", config.bgp)


def _take_asn(args: _Args) -> int:
    word = args.take()
    if "." in word:  # asdot
        high, _, low = word.partition(".")
        if high.isdigit() and low.isdigit() and int(high) < 65536 and int(low) < 65536:
            return int(high) * 65536 + int(low)
        raise args.invalid(-1)
    if not word.isdigit() or not 1 <= int(word) <= 4294967295:
        raise args.invalid(-1)
    return int(word)


def _router_other(session: ConfigSession, ctx: _Context, args: _Args, negate: bool, kw: list[str]) -> None:
    _opaque_block_named(session, ctx, args, negate, "router " + kw[-1], "config-router")


def _ip_dhcp_pool(session: ConfigSession, ctx: _Context, args: _Args, negate: bool, kw: list[str]) -> None:
    if not args.more():
        raise CommandError(grammar.INCOMPLETE, len(args.line), args.line)
    _opaque_block_named(session, ctx, args, negate, "ip dhcp pool", "dhcp-config")


def _ip_sla(session: ConfigSession, ctx: _Context, args: _Args, negate: bool, kw: list[str]) -> None:
    """``ip sla N`` opens an operation block; ``ip sla schedule|responder|...`` are single lines."""
    word = args.peek()
    if word is not None and word.isdigit():
        _opaque_block_named(session, ctx, args, negate, "ip sla", "config-ip-sla")
    else:
        _opaque_global(session, ctx, args, negate, kw)


def _opaque_block_named(session, ctx, args, negate, prefix, mode) -> None:
    text = f"{prefix} {args.rest()}".strip()
    config = session.config
    if negate:
        config.extra[:] = [b for b in config.extra if b.header != text]
        return
    block = _find_block(config, text)
    if block is None:
        block = Block(text)
        config.extra.append(block)
    session.enter(ctx, "block", mode, block)


def _ip_route(session: ConfigSession, ctx: _Context, args: _Args, negate: bool, kw: list[str]) -> None:
    if args.optional_keyword("vrf"):
        args.take()
    address = args.take_ip()
    plen = args.take_mask()
    network = network_of(address, plen)
    interface = next_hop = None
    word = args.peek()
    if word is None:
        if negate:
            session.config.static_routes[:] = [
                r for r in session.config.static_routes if (r.network, r.plen) != (network, plen)]
            return
        raise CommandError(grammar.INCOMPLETE, len(args.line), args.line)
    if word[0].isdigit():
        next_hop = args.take_ip()
    else:
        interface = args.take_interface()
        if args.peek() and args.peek().count(".") == 3:
            next_hop = args.take_ip()
    distance, name, permanent = 1, None, False
    while args.more():
        word = args.peek()
        if word.isdigit():
            distance = args.take_int(1, 255)
        elif args.optional_keyword("name"):
            name = args.take()
        elif args.optional_keyword("permanent"):
            permanent = True
        elif args.optional_keyword("tag"):
            args.take_int()
        else:
            raise args.invalid()
    route = StaticRoute(network, plen, next_hop, interface, distance, name, permanent)
    routes = session.config.static_routes
    routes[:] = [r for r in routes if r.key() != route.key()]
    if not negate:
        routes.append(route)


# --- interface sub-mode ---------------------------------------------------------------------------


def _if_ip_address(session, ctx, args: _Args, negate, kw) -> None:
    itf = ctx.target
    if negate and not args.more():
        itf.address, itf.secondary = None, []
        return
    if args.optional_keyword("dhcp", "negotiated", "unnumbered"):
        itf.extra.append(args.line.strip())
        return
    ip = args.take_ip()
    plen = args.take_mask()
    secondary = bool(args.optional_keyword("secondary"))
    args.done()
    if plen > 32 or (plen < 31 and (ip == network_of(ip, plen) or ip == network_of(ip, plen) | ((1 << (32 - plen)) - 1))):
        raise CommandError(f"Bad mask /{plen} for address {args.tokens[0].text}", 0, args.line)
    if negate:
        if secondary:
            itf.secondary = [a for a in itf.secondary if a != (ip, plen)]
        elif itf.address == (ip, plen):
            itf.address, itf.secondary = None, []
        else:
            raise CommandError("% Invalid address", 0, args.line)
        return
    if secondary:
        if itf.address is None:
            raise CommandError("% Primary address must be configured before secondary", 0, args.line)
        if (ip, plen) not in itf.secondary:
            itf.secondary.append((ip, plen))
    else:
        itf.address = (ip, plen)


def _if_shutdown(session, ctx, args: _Args, negate, kw) -> None:
    args.done()
    ctx.target.shutdown = not negate


def _if_description(session, ctx, args: _Args, negate, kw) -> None:
    text = args.rest()
    if negate:
        ctx.target.description = None
        return
    if not text:
        raise CommandError(grammar.INCOMPLETE, len(args.line), args.line)
    ctx.target.description = text


def _int_setter(attribute: str, low: int, high: int):
    def handler(session, ctx, args: _Args, negate, kw) -> None:
        if negate:
            args.rest()
            setattr(ctx.target, attribute, None)
            return
        value = args.take_int(low, high)
        args.done()
        setattr(ctx.target, attribute, value)

    return handler


def _if_ospf_network(session, ctx, args: _Args, negate, kw) -> None:
    if negate:
        args.rest()
        ctx.target.ospf_network = None
        return
    kind = args.take_keyword("point-to-point", "broadcast", "non-broadcast", "point-to-multipoint")
    args.rest()
    ctx.target.ospf_network = kind


def _if_ospf_process(session, ctx, args: _Args, negate, kw) -> None:
    # "ip ospf 1 area 0" — kw[-1] is not a keyword here: the handler sits on the "ospf" node.
    word = args.peek()
    if word is None or not word.isdigit():
        if word is not None and word.lower() in ("authentication", "authentication-key", "message-digest-key",
                                                 "priority", "retransmit-interval", "transmit-delay", "bfd",
                                                 "mtu-ignore", "demand-circuit", "flood-reduction", "ttl-security"):
            text = args.line.strip()
            target = ctx.target.extra
            if negate:
                target[:] = [x for x in target if x != text[3:].strip()]
            elif text not in target:
                target.append(text)
            args.rest()
            return
        raise args.invalid()
    pid = args.take_int(1, 65535)
    if negate:
        args.rest()
        ctx.target.ospf_area = None
        return
    args.take_keyword("area")
    area = _take_area(args)
    args.done()
    ctx.target.ospf_area = (pid, area)


def _take_area(args: _Args) -> int:
    word = args.take()
    if word.isdigit():
        return int(word)
    try:
        return ip_to_int(word)
    except AddressError:
        raise args.invalid(-1) from None


def _if_access_group(session, ctx, args: _Args, negate, kw) -> None:
    name = args.take()
    direction = args.take_keyword("in", "out")
    args.done()
    attribute = "acl_in" if direction == "in" else "acl_out"
    if negate:
        if getattr(ctx.target, attribute) == name:
            setattr(ctx.target, attribute, None)
        return
    setattr(ctx.target, attribute, name)


def _interface_form(args: _Args, forms: dict[str, int | None]) -> str:
    """Check the arguments of a shared-keyword interface command (``OPAQUE_INTERFACE_FORMS``)."""
    word = args.peek_lower()
    if word is None:
        raise CommandError(grammar.INCOMPLETE, len(args.line), args.line)
    matches = [w for w in forms if w.startswith(word)]
    if word in forms:
        matches = [word]
    if len(matches) != 1:
        raise args.invalid()
    args.take()
    allowed = forms[matches[0]]
    if allowed is not None and len(args.tokens) - args.i > allowed:
        raise args.invalid(allowed)
    return " ".join([matches[0], args.rest()]).strip()


def _opaque_sub(session, ctx, args: _Args, negate, kw) -> None:
    """An unmodelled sub-mode line, kept verbatim on the interface/process (or its ``no`` form)."""
    forms = OPAQUE_INTERFACE_FORMS.get(tuple(kw)) if ctx.kind == "if" else None
    text = " ".join([*kw, _interface_form(args, forms) if forms else args.rest()]).strip()
    target: list[str] = ctx.target.extra
    target[:] = [x for x in target if x != text and x != f"no {text}" and not x.startswith(f"{text} ")]
    if negate:
        target.append(f"no {text}")
    else:
        target.append(text)


# --- OSPF sub-mode --------------------------------------------------------------------------------


def _ospf_router_id(session, ctx, args: _Args, negate, kw) -> None:
    if negate:
        args.rest()
        ctx.target.router_id = None
        return
    ctx.target.router_id = args.take_ip()
    args.done()


def _ospf_network(session, ctx, args: _Args, negate, kw) -> None:
    address = args.take_ip()
    wildcard = args.take_ip()
    args.take_keyword("area")
    area = _take_area(args)
    args.done()
    process: OspfProcess = ctx.target
    entry = OspfNetwork(address & ~wildcard & 0xFFFFFFFF, wildcard, area)
    same = [n for n in process.networks if (n.address, n.wildcard) == (entry.address, entry.wildcard)]
    if negate:
        process.networks[:] = [n for n in process.networks if n not in same]
        return
    if same:
        if same[0].area != area:
            raise CommandError(
                f"% OSPF: \"network {args.tokens[0].text} {args.tokens[1].text} area {area}\" is already "
                f"configured with area {same[0].area}", 0, args.line)
        return
    process.networks.append(entry)


def _ospf_passive(session, ctx, args: _Args, negate, kw) -> None:
    process: OspfProcess = ctx.target
    if args.optional_keyword("default"):
        args.done()
        process.passive_default = not negate
        process.passive.clear()
        process.non_passive.clear()
        return
    name = args.take_interface()
    args.done()
    if process.passive_default:
        (process.non_passive.add if negate else process.non_passive.discard)(name)
    else:
        (process.passive.discard if negate else process.passive.add)(name)


def _take_redistribution(args: _Args, allowed: tuple[str, ...]) -> Redistribution:
    protocol = args.take_keyword(*allowed)
    spec = Redistribution(protocol, subnets=False)
    if protocol in ("bgp", "ospf"):
        spec.process = args.take_int(1, 4294967295)
    while args.more():
        option = args.take_keyword("subnets", "metric", "metric-type", "route-map", "tag", "match")
        if option == "subnets":
            spec.subnets = True
        elif option == "metric":
            spec.metric = args.take_int(0, 16777214)
        elif option == "metric-type":
            spec.metric_type = args.take_int(1, 2)
        else:
            args.take()
    return spec


def _redistribute(allowed: tuple[str, ...]):
    def handler(session, ctx, args: _Args, negate, kw) -> None:
        spec = _take_redistribution(args, allowed)
        target: list[Redistribution] = ctx.target.redistribute
        target[:] = [r for r in target if (r.protocol, r.process) != (spec.protocol, spec.process)]
        if not negate:
            if ctx.kind == "ospf":
                spec.subnets = True  # IOS 15 adds "subnets" itself
            target.append(spec)

    return handler


def _ospf_default_info(session, ctx, args: _Args, negate, kw) -> None:
    args.take_keyword("originate")
    always = bool(args.optional_keyword("always"))
    args.rest()
    ctx.target.default_originate = not negate
    ctx.target.default_originate_always = always and not negate


def _ospf_auto_cost(session, ctx, args: _Args, negate, kw) -> None:
    if negate:
        args.rest()
        ctx.target.reference_bandwidth = 100
        return
    args.take_keyword("reference-bandwidth")
    ctx.target.reference_bandwidth = args.take_int(1, 4294967)
    args.done()


def _flag(attribute: str):
    def handler(session, ctx, args: _Args, negate, kw) -> None:
        args.rest()
        setattr(ctx.target, attribute, not negate)

    return handler


# --- BGP sub-mode ---------------------------------------------------------------------------------


def _bgp_cmd(session, ctx, args: _Args, negate, kw) -> None:
    process: BgpProcess = ctx.target
    option = args.peek_lower()
    if option and "router-id".startswith(option) and len(option) >= 2:
        args.take()
        if negate:
            args.rest()
            process.router_id = None
        else:
            process.router_id = args.take_ip()
            args.done()
        return
    if option and "log-neighbor-changes".startswith(option) and len(option) >= 2:
        args.take()
        args.done()
        process.log_neighbor_changes = not negate
        return
    if option and "default".startswith(option) and len(option) >= 3 and len(args.tokens) > 1 and (
            "local-preference".startswith(args.tokens[args.i + 1].text.lower())):
        args.take()
        args.take()
        if negate:
            args.rest()
            process.default_local_pref = 100
        else:
            process.default_local_pref = args.take_int(0, 4294967295)
            args.done()
        return
    _opaque_sub(session, ctx, args, negate, kw)


def _bgp_neighbor(session, ctx, args: _Args, negate, kw) -> None:
    process: BgpProcess = ctx.target
    ip = args.take_ip()
    if negate and not args.more():
        process.neighbors.pop(ip, None)  # "no neighbor X" removes the whole peer
        return
    option = args.take_keyword(
        "remote-as", "description", "update-source", "next-hop-self", "ebgp-multihop", "shutdown", "password",
        *OPAQUE_NEIGHBOR)
    neighbor = process.neighbors.get(ip)
    if option == "remote-as":
        if negate:
            args.rest()
            process.neighbors.pop(ip, None)
            return
        asn = _take_asn(args)
        args.done()
        if neighbor is None:
            process.neighbors[ip] = BgpNeighbor(ip, asn)
        else:
            neighbor.remote_as = asn
        return
    if neighbor is None:
        if negate:
            args.rest()
            return
        raise CommandError("% Specify remote-as or peer-group commands first", 0, args.line)
    if option == "description":
        neighbor.description = None if negate else args.rest() or None
    elif option == "update-source":
        if negate:
            args.rest()
            neighbor.update_source = None
        else:
            neighbor.update_source = args.take_interface()
            args.done()
    elif option == "next-hop-self":
        args.rest()
        neighbor.next_hop_self = not negate
    elif option == "ebgp-multihop":
        neighbor.ebgp_multihop = None if negate else (args.take_int(1, 255) if args.more() else 255)
        args.rest()
    elif option == "shutdown":
        args.rest()
        neighbor.shutdown = not negate
    elif option == "password":
        neighbor.password_set = None if negate else args.rest()
    else:
        text = f"{option} {args.rest()}".strip()
        neighbor.extra[:] = [x for x in neighbor.extra if x != text]
        if not negate:
            neighbor.extra.append(text)


def _bgp_network(session, ctx, args: _Args, negate, kw) -> None:
    address = args.take_ip()
    if args.optional_keyword("mask"):
        plen = args.take_mask()
    else:
        first = address >> 24
        plen = 8 if first < 128 else 16 if first < 192 else 24
    while args.more():
        args.take_keyword("route-map", "backdoor")
        if args.more():
            args.take()
    entry = BgpNetwork(network_of(address, plen), plen)
    networks: list[BgpNetwork] = ctx.target.networks
    networks[:] = [n for n in networks if (n.network, n.plen) != (entry.network, entry.plen)]
    if not negate:
        networks.append(entry)


def _bgp_address_family(session, ctx, args: _Args, negate, kw) -> None:
    family = args.take_keyword("ipv4", "ipv6", "vpnv4", "l2vpn")
    args.rest()
    if family != "ipv4":
        _opaque_sub(session, ctx, _Args([], args.line), negate, ["address-family", family])
        return
    ctx.mode = "config-router-af"


# --- access lists -------------------------------------------------------------------------------


def _acl_named(session, ctx, args: _Args, negate, kw) -> None:
    kind = args.take_keyword("standard", "extended")
    name = args.take()
    args.done()
    acls = session.config.acls
    if negate:
        acls.pop(name, None)
        return
    acl = acls.get(name)
    if acl is None:
        acl = acls[name] = AccessList(name, kind, numbered=name.isdigit())
    elif acl.kind != kind:
        raise CommandError(f"% A named {acl.kind} IP access list with this name already exists", 0, args.line)
    session.enter(ctx, "acl", "config-std-nacl" if kind == "standard" else "config-ext-nacl", acl)


def _acl_numbered(session, ctx, args: _Args, negate, kw) -> None:
    number = args.take_int(1, 2699)
    kind = "standard" if number < 100 or 1300 <= number < 2000 else "extended"
    name = str(number)
    acls = session.config.acls
    if negate and not args.more():
        acls.pop(name, None)
        return
    acl = acls.get(name) or AccessList(name, kind, numbered=True)
    entry = _parse_ace(args, kind, acl.next_seq(), allow_seq=False)
    acls[name] = acl
    _store_ace(acl, entry, negate, args)


def _acl_entry(session, ctx, args: _Args, negate, kw) -> None:
    acl: AccessList = ctx.target
    # The keyword tree resolved only "permit"/"deny"/"remark"; re-read the whole line here.
    full = _Args(tokenize(args.line), args.line)
    if negate:
        full.take()
    if full.peek() and full.peek().isdigit():
        seq = full.take_int(1, 2147483647)
        if negate and not full.more():
            acl.entries[:] = [e for e in acl.entries if e.seq != seq]
            return
        entry = _parse_ace(full, acl.kind, seq, allow_seq=True)
        if not negate and any(e.seq == seq for e in acl.entries):
            raise CommandError("% Duplicate sequence number", 0, args.line)
    else:
        entry = _parse_ace(full, acl.kind, acl.next_seq(), allow_seq=True)
    _store_ace(acl, entry, negate, full)


def _store_ace(acl: AccessList, entry: AclEntry, negate: bool, args: _Args) -> None:
    if negate:
        acl.entries[:] = [e for e in acl.entries if not e.same_rule(entry)]
        return
    if any(e.same_rule(entry) for e in acl.entries):
        return  # IOS ignores an identical entry
    acl.entries.append(entry)
    acl.entries.sort(key=lambda e: e.seq)


def _take_host_spec(args: _Args) -> tuple[int, int]:
    word = args.take().lower()
    if word == "any":
        return 0, 0xFFFFFFFF
    if word == "host":
        return args.take_ip(), 0
    args.i -= 1
    address = args.take_ip()
    if args.peek() and args.peek().count(".") == 3:
        wildcard = args.take_ip()
        return address & ~wildcard & 0xFFFFFFFF, wildcard
    return address, 0


def _take_ports(args: _Args, protocol: str) -> PortMatch | None:
    op = args.optional_keyword("eq", "neq", "lt", "gt", "range")
    if op is None:
        return None
    table = TCP_PORTS if protocol == "tcp" else UDP_PORTS
    count = 2 if op == "range" else 1
    ports: list[int] = []
    while args.more() and (len(ports) < count or (op in ("eq", "neq"))):
        word = args.peek().lower()
        if word.isdigit() and int(word) <= 65535:
            ports.append(int(word))
        elif word in table:
            ports.append(table[word])
        else:
            if len(ports) >= 1:
                break
            raise args.invalid()
        args.i += 1
        if op not in ("eq", "neq") and len(ports) == count:
            break
    if len(ports) < count:
        raise CommandError(grammar.INCOMPLETE, len(args.line), args.line)
    return PortMatch(op, tuple(ports))


def _parse_ace(args: _Args, kind: str, seq: int, allow_seq: bool) -> AclEntry:
    action = args.take_keyword("permit", "deny", "remark")
    if action == "remark":
        return AclEntry(seq, "remark", remark=args.rest())
    if kind == "standard":
        src, src_wc = _take_host_spec(args)
        options = tuple(o for o in [args.optional_keyword("log")] if o)
        args.done()
        return AclEntry(seq, action, "ip", src, src_wc, options=options)
    protocol = args.take().lower()
    if protocol not in PROTOCOLS and not (protocol.isdigit() and int(protocol) <= 255):
        raise args.invalid(-1)
    src, src_wc = _take_host_spec(args)
    src_port = _take_ports(args, protocol) if protocol in ("tcp", "udp") else None
    dst, dst_wc = _take_host_spec(args)
    dst_port = _take_ports(args, protocol) if protocol in ("tcp", "udp") else None
    options: list[str] = []
    while args.more():
        word = args.take().lower()
        if protocol == "icmp" and word in ICMP_TYPES:
            options.append(word)
        elif word in ACL_OPTIONS:
            options.append(word)
            if word in ("precedence", "dscp", "tos", "time-range"):
                options.append(args.take())
        else:
            raise args.invalid(-1)
    return AclEntry(seq, action, protocol, src, src_wc, src_port, dst, dst_wc, dst_port, tuple(options))


# --- the keyword trees ---------------------------------------------------------------------------


def _build_global() -> Node:
    root = Node()
    root.add("hostname", _hostname)
    root.add("interface", _interface)
    root.add("router ospf", _router_ospf)
    root.add("router bgp", _router_bgp)
    for other in ("eigrp", "rip", "isis", "ospfv3", "lisp", "odr", "mobile"):
        root.add(f"router {other}", _router_other)
    root.add("ip route", _ip_route)
    root.add("ip access-list", _acl_named)
    root.add("access-list", _acl_numbered)
    root.add("banner", _banner)
    for word in OPAQUE_GLOBAL:
        root.add(word, _opaque_global)
    for word in OPAQUE_GLOBAL_IP:
        root.add(f"ip {word}", _opaque_global)
    for word in OPAQUE_BLOCKS:
        root.add(word, _opaque_block)
    root.add("ip dhcp pool", _ip_dhcp_pool)
    root.add("ip sla", _ip_sla)
    return root


def _build_interface() -> Node:
    root = Node()
    root.add("ip address", _if_ip_address)
    root.add("shutdown", _if_shutdown)
    root.add("description", _if_description)
    root.add("mtu", _int_setter("mtu", 64, 9216))
    root.add("ip mtu", _int_setter("ip_mtu", 68, 9216))
    root.add("bandwidth", _int_setter("bandwidth", 1, 100_000_000))
    root.add("ip ospf cost", _int_setter("ospf_cost", 1, 65535))
    root.add("ip ospf hello-interval", _int_setter("ospf_hello", 1, 65535))
    root.add("ip ospf dead-interval", _int_setter("ospf_dead", 1, 65535))
    root.add("ip ospf network", _if_ospf_network)
    root.children["ip"].children["ospf"].handler = _if_ospf_process
    root.add("ip access-group", _if_access_group)
    for word in OPAQUE_INTERFACE:
        root.add(word, _opaque_sub)
    for word in OPAQUE_INTERFACE_IP:
        if word not in root.children["ip"].children:
            root.add(f"ip {word}", _opaque_sub)
    return root


def _build_ospf() -> Node:
    root = Node()
    root.add("router-id", _ospf_router_id)
    root.add("network", _ospf_network)
    root.add("passive-interface", _ospf_passive)
    root.add("redistribute", _redistribute(("connected", "static", "bgp")))
    root.add("default-information", _ospf_default_info)
    root.add("auto-cost", _ospf_auto_cost)
    root.add("log-adjacency-changes", _flag("log_adjacency_changes"))
    root.add("shutdown", _flag("shutdown"))
    for word in OPAQUE_OSPF:
        root.add(word, _opaque_sub)
    return root


def _build_bgp() -> Node:
    root = Node()
    root.add("bgp", _bgp_cmd)
    root.add("neighbor", _bgp_neighbor)
    root.add("network", _bgp_network)
    root.add("redistribute", _redistribute(("connected", "static", "ospf")))
    root.add("address-family", _bgp_address_family)
    for word in OPAQUE_BGP:
        root.add(word, _opaque_sub)
    return root


def _build_acl() -> Node:
    root = Node()
    for word in ("permit", "deny", "remark"):
        root.add(word, _acl_entry)
    return root


class _SeqNode(Node):
    """ACL sub-mode accepts a leading sequence number before permit/deny."""

    def match(self, word: str) -> tuple[str | None, list[str]]:
        if word.isdigit():
            return "<seq>", ["<seq>"]
        return super().match(word)


def _build_acl_root() -> Node:
    base = _build_acl()
    root = _SeqNode(children=dict(base.children))
    root.children["<seq>"] = Node(handler=_acl_entry)
    return root


_GLOBAL = _build_global()
_ROOTS = {
    "global": _GLOBAL,
    "if": _build_interface(),
    "ospf": _build_ospf(),
    "bgp": _build_bgp(),
    "acl": _build_acl_root(),
    "block": Node(),
}


def parse_config(text: str, *, strict: bool = True, source: str = "config") -> tuple[DeviceConfig, list[ConfigError]]:
    """Parse running-config text by applying it line by line; return the model and any errors."""
    config = DeviceConfig()
    session = ConfigSession(config, strict=strict)
    errors = session.apply_lines(text)
    return config, errors


def apply_lines(config: DeviceConfig, lines: list[str], *, strict: bool = True) -> list[ConfigError]:
    """Apply candidate lines (a ChangeSet, a merge file) to ``config`` in place."""
    session = ConfigSession(config, strict=strict)
    return session.apply_lines("\n".join(lines))
