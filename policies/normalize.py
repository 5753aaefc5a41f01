"""Normalise config lines as an operator types them into (section, command) pairs with full keywords.

``int gi0/1`` / `` SHUT`` becomes section ``interface GigabitEthernet0/1``, command ``shutdown``.  The
keyword trees reuse ``twin_lab.ios.grammar`` (IOS unique-prefix abbreviation matching) and the applier's
vocabulary, extended with the exec and security commands a guard has to recognise (``reload``,
``write erase``, ``crypto key zeroize``, ``monitor session`` ...).  Unknown words are kept as typed
(lower-cased), so a rule never misses a command only because the twin does not simulate it.

Context follows IOS: a section header (``interface``, ``router``, ``line``, ``ip access-list`` ...)
opens a section; indented lines, and unindented lines that only make sense inside it (``shut`` after
``int gi0/1``), belong to it; a global command, ``exit`` or ``end`` leaves it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from twin_lab.addressing import AddressError, canonical_interface
from twin_lab.ios import applier
from twin_lab.ios.grammar import Node, tokenize

# --- vocabulary --------------------------------------------------------------------------------------

EXEC = (
    "reload", "reload cancel", "reload in", "reload at", "erase", "erase startup-config", "erase nvram:",
    "erase flash:", "format", "delete", "write", "write erase", "write memory", "write terminal", "write network",
    "copy", "copy running-config", "copy startup-config", "configure terminal", "configure replace",
    "configure memory", "configure network", "clear", "clear ip", "clear counters", "clear logging",
    "clear line", "debug", "undebug", "show", "ping", "traceroute", "terminal", "squeeze", "fsck", "verify",
    "archive", "rename", "mkdir", "rmdir", "install", "request", "upgrade", "test", "send", "disable",
    "enable", "telnet", "ssh", "tclsh", "reset",
)
GLOBAL_EXTRA = (
    "router", "ip routing", "ip traffic-export", "ip flow-export destination",
    "ip flow-export source", "ip flow-export version", "ip ssh version", "ip http server", "ip http secure-server",
    "ip scp server", "ip tacacs source-interface", "ip radius source-interface",
    "enable secret", "enable password", "enable algorithm-type",
    "username", "aaa new-model", "aaa authentication", "aaa authorization", "aaa accounting", "aaa group server",
    "aaa session-id", "snmp-server community", "snmp-server host", "snmp-server enable traps", "snmp-server user",
    "snmp-server group", "snmp-server location", "snmp-server contact", "snmp-server view", "snmp-server trap-source",
    "tacacs-server host", "tacacs-server key", "tacacs-server timeout", "radius-server host", "radius-server key",
    "radius-server timeout", "logging host", "logging trap", "logging buffered", "logging console", "logging monitor",
    "logging on", "logging source-interface", "logging facility", "logging discriminator", "logging rate-limit",
    "logging origin-id", "logging userinfo", "logging persistent", "monitor session", "monitor capture",
    "monitor event-trace", "crypto key zeroize", "crypto key generate", "crypto isakmp key", "crypto isakmp policy",
    "crypto ipsec", "crypto map", "crypto pki", "boot system", "config-register", "key chain", "flow exporter",
    "flow monitor", "flow record", "service password-encryption", "service timestamps", "service tcp-keepalives-in",
    "line vty", "line console", "line con", "line aux", "ntp server", "ntp peer", "ntp authentication-key",
    "vlan", "default", "kron", "event manager applet", "alias exec", "login block-for", "login on-failure",
    "login on-success", "privilege", "class-map", "policy-map", "route-map", "ip prefix-list", "ip sla",
    "interface range", "remote-span", "erspan", "sflow", "ip nat", "vrf definition", "ip vrf",
    "audit", "spanning-tree", "sampler", "ip accounting-threshold", "netflow", "ip dns", "ip domain lookup",
)
INTERFACE_EXTRA = (
    "shutdown", "no", "description", "ip address", "ip access-group", "ip flow ingress", "ip flow egress",
    "ip flow monitor", "ip ospf", "ip ospf authentication", "ip ospf authentication-key",
    "ip ospf message-digest-key", "ip policy route-map", "service-policy input", "service-policy output",
    "shape", "rate-limit", "traffic-shape", "ip verify", "vrf forwarding", "ip vrf forwarding",
    "switchport", "switchport access vlan", "switchport mode", "monitor session", "exit",
)
ROUTER_WORDS = (
    "router-id", "network", "passive-interface", "redistribute", "default-information", "auto-cost",
    "log-adjacency-changes", "shutdown", "neighbor", "bgp", "address-family", "exit-address-family",
    "area", "timers", "max-metric", "distance", "maximum-paths", "summary-address", "distribute-list",
    "aggregate-address", "synchronization", "auto-summary", "default-metric", "eigrp", "metric", "variance",
    "version", "is-type", "exit", *applier.OPAQUE_OSPF, *applier.OPAQUE_BGP,
)
LINE_WORDS = ("password", "login", "login local", "login authentication", "transport input", "transport output",
              "transport preferred", "access-class", "exec-timeout", "privilege level", "session-timeout",
              "logging synchronous", "exec", "no", "history", "length", "width", "stopbits", "autocommand",
              "authorization", "accounting", "ipv6 access-class", "rotary", "exit")
ACL_WORDS = ("permit", "deny", "remark", "evaluate", "exit")
CLASS_WORDS = ("class", "police", "shape", "shape average", "shape peak", "bandwidth", "priority", "set", "drop",
               "match", "match access-group", "match ip", "random-detect", "queue-limit", "fair-queue",
               "service-policy", "description", "exit")
ARCHIVE_WORDS = ("log config", "logging enable", "path", "maximum", "write-memory", "time-period", "notify syslog",
                 "hidekeys", "exit")
FLOW_WORDS = ("destination", "source", "transport udp", "export-protocol", "template", "record", "exporter",
              "cache", "match", "collect", "sampler", "description", "dscp", "exit")
KEY_WORDS = ("key", "key-string", "accept-lifetime", "send-lifetime", "cryptographic-algorithm", "exit")
SERVER_WORDS = ("address ipv4", "key", "timeout", "port", "single-connection", "server", "server name",
                "server-private", "exit")

# Sections: the normalised header decides which keyword tree its children use.
SECTION_HEADERS = (
    (re.compile(r"^interface\b"), "interface"),
    (re.compile(r"^router\b"), "router"),
    (re.compile(r"^line\b"), "line"),
    (re.compile(r"^(ip access-list|ipv6 access-list|mac access-list|object-group)\b"), "acl"),
    (re.compile(r"^(policy-map|class-map)\b"), "class"),
    (re.compile(r"^archive$"), "archive"),
    (re.compile(r"^(flow (exporter|monitor|record)|sampler|ip flow-top-talkers)\b"), "flow"),
    (re.compile(r"^key chain\b"), "key"),
    (re.compile(r"^(tacacs server|radius server|aaa group server)\b"), "server"),
    (re.compile(r"^(route-map|vrf definition|ip vrf|crypto|control-plane|event manager applet|kron|"
                r"ip sla|redundancy|call-home|parameter-map|zone|zone-pair|template|telemetry|track|"
                r"vlan|monitor session \S+ type|netconf-yang|restconf|ip dhcp pool|spanning-tree mst configuration|"
                r"key|vrf|flow|tacacs|radius|address-family)\b"), "block"),
)
# Words a router section accepts, but that IOS users also type at global level for global meaning.
_GLOBAL_ONLY_FIRST = {"interface", "router", "line", "hostname", "ip", "access-list", "username", "enable",
                      "aaa", "snmp-server", "logging", "monitor", "crypto", "boot", "reload", "erase", "write",
                      "delete", "format", "copy", "key", "banner", "tacacs-server", "radius-server", "service",
                      "ntp", "alias", "event", "kron", "archive", "flow", "policy-map", "class-map", "route-map",
                      "config-register", "vlan", "spanning-tree", "vrf", "control-plane", "default", "end"}
# Preferred expansions where the vocabulary is ambiguous but every IOS operator means one thing.
PREFERRED = {
    "global": {"int": "interface", "in": "interface", "i": "interface", "conf": "configure", "wr": "write",
               "sh": "show", "do": "do", "rel": "reload", "rou": "router", "rout": "router", "r": "router",
               "e": "enable", "en": "enable", "l": "line", "li": "line", "lo": "logging", "log": "logging",
               "sn": "snmp-server", "snmp": "snmp-server", "u": "username", "us": "username", "a": "aaa",
               "ac": "access-list", "b": "boot", "bo": "boot", "de": "delete", "t": "terminal", "mon": "monitor",
               "c": "configure", "co": "configure", "cr": "crypto", "f": "flow", "k": "key", "m": "monitor",
               "ho": "hostname", "s": "show", "v": "vlan", "n": "ntp", "p": "policy-map", "w": "write",
               "er": "erase", "ar": "archive", "al": "alias", "ser": "service", "se": "service",
               "te": "terminal", "ev": "event", "ta": "tacacs-server", "tac": "tacacs-server",
               "ra": "radius-server", "rad": "radius-server", "cl": "clear", "cle": "clear"},
    "interface": {"sh": "shutdown", "s": "shutdown", "shu": "shutdown", "shut": "shutdown", "d": "description",
                  "de": "description", "desc": "description", "i": "ip", "no": "no", "sw": "switchport",
                  "se": "service-policy", "ser": "service-policy", "serv": "service-policy"},
    "router": {"n": "network", "ne": "neighbor", "nei": "neighbor", "net": "network", "pa": "passive-interface",
               "red": "redistribute", "re": "redistribute", "r": "router-id", "sh": "shutdown", "shut": "shutdown"},
    "line": {"p": "password", "pa": "password", "pass": "password", "l": "login", "lo": "login",
             "t": "transport", "tr": "transport", "a": "access-class", "ac": "access-class", "acc": "access-class",
             "e": "exec-timeout", "ex": "exec-timeout"},
    "acl": {"d": "deny", "p": "permit", "r": "remark", "de": "deny", "pe": "permit", "re": "remark"},
    "class": {"p": "police", "pol": "police", "po": "police", "s": "shape", "sh": "shape", "c": "class"},
}
_IP = {"ip"}


def _tree(*groups: tuple[str, ...]) -> Node:
    root = Node()
    handler = _noop
    for group in groups:
        for path in group:
            node = root
            for word in path.split():
                node = node.children.setdefault(word, Node())
            node.handler = handler
    return root


def _noop(*_args: object) -> None:  # pragma: no cover - the trees are only walked, never run
    return None


def _global_words() -> tuple[str, ...]:
    words = list(EXEC) + list(GLOBAL_EXTRA) + ["hostname", "interface", "ip route", "ip access-list", "ip access-list extended",
                                              "ip access-list standard",
                                              "access-list", "banner", "banner motd", "banner login",
                                              "banner exec", "end", "exit", "do"]
    words += list(applier.OPAQUE_GLOBAL) + [f"ip {w}" for w in applier.OPAQUE_GLOBAL_IP]
    words += list(applier.OPAQUE_BLOCKS)
    words += ["router ospf", "router bgp", "router eigrp", "router rip", "router isis", "router ospfv3"]
    return tuple(words)


def _interface_words() -> tuple[str, ...]:
    return (INTERFACE_EXTRA + applier.OPAQUE_INTERFACE + tuple(f"ip {w}" for w in applier.OPAQUE_INTERFACE_IP)
            + ("mtu", "ip mtu", "bandwidth", "ip ospf cost", "ip ospf hello-interval", "ip ospf dead-interval",
               "ip ospf network", "ip ospf priority", "ip ospf area", "ip ospf mtu-ignore"))


TREES = {
    "global": _tree(_global_words()),
    "interface": _tree(_interface_words()),
    "router": _tree(ROUTER_WORDS),
    "line": _tree(LINE_WORDS),
    "acl": _tree(ACL_WORDS),
    "class": _tree(CLASS_WORDS),
    "archive": _tree(ARCHIVE_WORDS),
    "flow": _tree(FLOW_WORDS),
    "key": _tree(KEY_WORDS),
    "server": _tree(SERVER_WORDS),
    "block": Node(),
}

# --- text clean-up -----------------------------------------------------------------------------------

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Look-alike letters an attacker can use to dodge keyword rules (Cyrillic / Greek to Latin).
_CONFUSABLE = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
    "һ": "h", "ԁ": "d", "ɡ": "g", "к": "k", "м": "m", "т": "t", "в": "b", "н": "h", "п": "n", "г": "r",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "Х": "X", "У": "Y", "ο": "o", "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "Ο": "O", "Α": "A", "Ε": "E", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ρ": "P",
    "Τ": "T", "Χ": "X", "\u00a0": " ", "\t": " ",
})


def clean_text(text: str) -> str:
    """NFKC, drop zero-width characters, map look-alike letters to ASCII, tabs to spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)
    return text.translate(_CONFUSABLE)


# --- normalisation -----------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class NormalLine:
    """One config line, normalised: ``section`` is the enclosing header ('' at global level)."""

    device: str
    section: str
    command: str
    raw: str
    index: int  # position in the device's list of lines

    @property
    def negated(self) -> bool:
        return self.command.startswith("no ")

    def describe(self) -> str:
        where = f"{self.section} / " if self.section else ""
        return f"{self.device}: {where}{self.command}"


_INTERFACE_ARG = re.compile(r"(^|-)interface$|^(source|destination)$")


def _walk(tree: Node, words: list[str], context: str) -> tuple[list[str], int]:
    """Expand keywords along ``tree``; return (expanded words, how many tokens were keywords)."""
    node = tree
    out: list[str] = []
    preferred = PREFERRED.get(context, {}) if tree is TREES.get(context) else {}
    index = 0
    while index < len(words) and node.children:
        word = words[index].lower()
        keyword, candidates = node.match(word)
        if keyword is None and index == 0 and word in preferred and preferred[word] in node.children:
            keyword = preferred[word]
        if keyword is None and len(candidates) > 1:
            shortest = min(candidates, key=len)
            if all(c.startswith(shortest) for c in candidates):  # ospf / ospfv3, logging / logging-x
                keyword = shortest
        if keyword is None:
            break
        out.append(keyword)
        node = node.children[keyword]
        index += 1
    return out, index


def _canonical_interfaces(words: list[str]) -> list[str]:
    """Canonical interface names after ``interface`` / ``*-interface`` keywords (``gi 0/1`` too)."""
    out: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        out.append(word)
        index += 1
        if word.lower() in ("int", "inte", "inter", "interf", "interfa", "interfac") and out[:-1]:
            out[-1] = word = "interface"
        if _INTERFACE_ARG.search(word.lower()) and index < len(words):
            if words[index].lower() == "range":
                out.append("range")
                index += 1
            for span in (2, 1):
                candidate = "".join(words[index:index + span])
                if span == 2 and (index + 1 >= len(words) or not words[index + 1][:1].isdigit()
                                  or words[index][:1].isdigit()):
                    continue
                try:
                    out.append(canonical_interface(candidate))
                except AddressError:
                    continue
                index += span
                break
    return out


def normalize_command(text: str, context: str = "global") -> str:
    """Full-keyword form of one command in ``context`` (global, interface, router, line, acl, ...)."""
    words = [t.text for t in tokenize(clean_text(text))]
    if not words:
        return ""
    prefix: list[str] = []
    while words and words[0].lower() in ("no", "default", "do") and len(words) > 1:
        first = words.pop(0).lower()
        if first != "do":
            prefix.append(first)
    tree = TREES.get(context, TREES["block"])
    expanded, used = _walk(tree, words, context)
    if used == 0 and context != "global":
        # A global or exec command typed inside a section ('do reload', 'wr', indented 'reload').
        expanded, used = _walk(TREES["global"], words, "global")
    # Arguments keep their case (names, passwords, descriptions); an unknown first word is lower-cased.
    rest = [w.lower() if i == 0 and not expanded else w for i, w in enumerate(words[used:])]
    return " ".join(_canonical_interfaces([*prefix, *expanded, *rest]))


def section_kind(header: str) -> str | None:
    for pattern, kind in SECTION_HEADERS:
        if pattern.search(header):
            return kind
    return None


def _resolution(text: str, context: str) -> tuple[float, bool, str | None]:
    """(score, typed in full, first keyword) of ``text`` in ``context``: abbreviations score half."""
    words = [t.text for t in tokenize(clean_text(text))]
    while words and words[0].lower() in ("no", "default", "do") and len(words) > 1:
        words.pop(0)
    if context == "acl" and words and words[0].isdigit():
        words.pop(0)
    if not words:
        return 0, False, None
    expanded, used = _walk(TREES[context], words, context)
    if not expanded:
        return 0, False, None
    abbreviated = sum(k != w.lower() for k, w in zip(expanded, words, strict=False))
    return used - abbreviated / 2, abbreviated == 0, expanded[0]


def _belongs(text: str, kind: str, indented: bool) -> bool:
    """Does a line typed after a section header stay in the section (IOS sub-mode rules)?"""
    inside = _resolution(text, kind)
    outside = _resolution(text, "global")
    opens = outside[2] is not None and section_kind(normalize_command(text, "global")) is not None
    if indented:
        return inside[0] > 0 or not opens
    if inside[0] == 0:
        return kind == "block" and outside[0] == 0
    if outside[0] == 0:
        return True
    if inside[:2] != outside[:2]:
        return inside[:2] > outside[:2]
    return inside[2] == outside[2] or (not opens and outside[2] not in _GLOBAL_ONLY_FIRST)


_FREE_TEXT = re.compile(r"^\s*(no\s+)?(ban|desc|rem|ali|\d+\s+rem|snmp-server\s+(loc|con)|host|cli|action|event)", re.I)


def _split_commands(line: str) -> list[str]:
    """``int gi0/0 ; shut`` is two commands (as scripts and some CLIs take them); free text (banners,
    descriptions, remarks, aliases, EEM/kron actions) keeps its semicolons."""
    if ";" not in line or _FREE_TEXT.match(line):
        return [line]
    indent = line[:len(line) - len(line.lstrip())]
    parts = [p.strip() for p in line.split(";")]
    return [indent + parts[0], *(p for p in parts[1:] if p)]


def normalize_lines(lines: list[str], device: str = "") -> list[NormalLine]:
    """Parse one device's candidate lines into normalised (section, command) pairs, keeping context."""
    result: list[NormalLine] = []
    section = ""
    kind: str | None = None
    banner_delim: str | None = None
    banner_header = ""
    flat: list[str] = []
    for line in lines:
        for part in str(line).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            flat.extend(_split_commands(part))
    for index, raw in enumerate(flat):
        line = clean_text(raw)
        stripped = line.strip()
        if banner_delim is not None:
            if banner_delim in stripped:
                banner_delim = None
            result.append(NormalLine(device, banner_header, "banner-text " + stripped, raw, index))
            continue
        if not stripped or stripped.startswith("!") or stripped.startswith("#"):
            continue
        indented = line[:1].isspace()
        lowered = stripped.lower()
        if lowered in ("end", "exit", "exit-address-family", "configure terminal", "conf t", "config t"):
            if lowered != "exit-address-family":
                section, kind = "", None
            continue
        if kind is not None:
            belongs = _belongs(stripped, kind, indented)
            if belongs:
                result.append(NormalLine(device, section, normalize_command(stripped, kind), raw, index))
                continue
            section, kind = "", None
        command = normalize_command(stripped, "global")
        new_kind = section_kind(command) if not command.startswith(("no ", "default ")) else None
        if command.startswith("banner ") and len(command.split()) >= 3:
            body = stripped.split(None, 2)[2] if len(stripped.split(None, 2)) > 2 else ""
            delim = "^C" if body.startswith("^C") else body[:1]
            if delim and body[len(delim):].find(delim) < 0:
                banner_delim = delim
                banner_header = " ".join(command.split()[:2])
        if new_kind is not None:
            section, kind = command, new_kind
        result.append(NormalLine(device, "", command, raw, index))
    return result


def normalize_changes(changes) -> list[NormalLine]:
    """All lines of a request's ``changes`` (a list of DeviceChange), device by device.

    Entries for the same device (names compared case-insensitively) are one config session, in order:
    ``[{"device": "R1", "lines": ["int gi0/0"]}, {"device": "R1", "lines": ["shut"]}]`` shuts Gi0/0, so
    splitting a change across entries cannot hide a line from its section.
    """
    sessions: dict[str, tuple[str, list[str]]] = {}
    for change in changes:
        key = change.device.strip().lower()
        sessions.setdefault(key, (change.device, []))[1].extend(change.lines)
    out: list[NormalLine] = []
    for device, lines in sessions.values():
        out.extend(normalize_lines(lines, device))
    return out
