"""Property tests (hypothesis): fork isolation, idempotent re-application, canonical round trip."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin_lab.addressing import int_to_ip, network_of, plen_to_mask
from twin_lab.ios import DeviceConfig, apply_lines, parse_config, render_config
from twin_lab.network import Network
from twin_lab.topology import load_preset

SMALL = load_preset("small")
DEVICES = list(SMALL.configs)
ASN = {name: (config.bgp.asn if config.bgp else None) for name, config in SMALL.configs.items()}
INTERFACES = ["GigabitEthernet0/0", "GigabitEthernet0/1", "GigabitEthernet0/2", "GigabitEthernet0/3", "Loopback5"]

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- strategies: chunks of config-mode lines ----------------------------------------------------
# Each chunk is self-contained (it enters its own context and brings its prerequisites, e.g. a
# neighbor's remote-as before its options), so re-applying a sequence of chunks is a no-op on IOS.

word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=10)
octet = st.integers(1, 254)


@st.composite
def host_address(draw) -> tuple[str, str]:
    plen = draw(st.integers(8, 30))
    base = (10 << 24) | (draw(st.integers(0, 255)) << 16) | (draw(st.integers(0, 255)) << 8) | draw(st.integers(0, 255))
    net = network_of(base, plen)
    size = 1 << (32 - plen)
    host = net + draw(st.integers(1, size - 2))
    return int_to_ip(host), int_to_ip(plen_to_mask(plen))


@st.composite
def prefix(draw) -> tuple[str, str]:
    plen = draw(st.integers(8, 32))
    base = (draw(st.integers(11, 223)) << 24) | (draw(st.integers(0, 255)) << 16) | (draw(octet) << 8)
    return int_to_ip(network_of(base, plen)), int_to_ip(plen_to_mask(plen))


ip = st.builds(lambda a, b, c, d: f"{a}.{b}.{c}.{d}", octet, octet, octet, octet)

interface_line = st.one_of(
    word.map(lambda d: f" description {d}"),
    st.integers(1280, 9000).map(lambda m: f" mtu {m}"),
    st.integers(1, 65535).map(lambda c: f" ip ospf cost {c}"),
    st.integers(1, 10_000_000).map(lambda b: f" bandwidth {b}"),
    st.integers(1, 60).map(lambda h: f" ip ospf hello-interval {h}"),
    host_address().map(lambda a: f" ip address {a[0]} {a[1]}"),
    st.tuples(word, st.sampled_from(["in", "out"])).map(lambda t: f" ip access-group {t[0]} {t[1]}"),
    st.sampled_from([" shutdown", " no shutdown", " no description", " no mtu", " no ip ospf cost", " no bandwidth",
                     " duplex auto", " no ip address", " ip ospf mtu-ignore", " ip ospf network point-to-point"]),
)


def interface_chunk():
    return st.builds(lambda name, lines: [f"interface {name}", *lines],
                     st.sampled_from(INTERFACES), st.lists(interface_line, min_size=1, max_size=3))


def ospf_chunk():
    line = st.one_of(
        st.tuples(host_address(), st.integers(0, 3)).map(
            lambda t: f" network {t[0][0]} 0.0.0.0 area {t[1]}"),
        st.sampled_from(INTERFACES).map(lambda i: f" passive-interface {i}"),
        st.sampled_from(INTERFACES).map(lambda i: f" no passive-interface {i}"),
        st.sampled_from([" redistribute static subnets", " redistribute connected subnets",
                         " no redistribute static", " default-information originate",
                         " no default-information originate", " log-adjacency-changes"]),
        ip.map(lambda r: f" router-id {r}"),
    )
    return st.lists(line, min_size=1, max_size=3).map(lambda lines: ["router ospf 1", *lines])


def static_chunk():
    return st.builds(
        lambda p, hop, distance, negate: [f"{'no ' if negate else ''}ip route {p[0]} {p[1]} {hop}{distance}"],
        prefix(), st.one_of(ip, st.just("Null0")), st.sampled_from(["", " 5", " 200"]), st.booleans())


def acl_chunk():
    entry = st.one_of(
        st.tuples(st.sampled_from(["permit", "deny"]), st.sampled_from(["tcp", "udp"]), ip,
                  st.sampled_from(["22", "80", "www", "53", "1000"])).map(
            lambda t: f" {t[0]} {t[1]} any host {t[2]} eq {t[3]}"),
        st.tuples(st.sampled_from(["permit", "deny"]), ip).map(lambda t: f" {t[0]} icmp host {t[1]} any"),
        st.just(" permit ip any any"),
    )
    return st.builds(lambda name, entries: [f"ip access-list extended {name}", *entries],
                     st.sampled_from(["EDGE-IN", "MGMT"]), st.lists(entry, min_size=1, max_size=3))


def global_chunk(blocks: bool):
    simple = st.one_of(
        word.map(lambda h: [f"hostname {h}"]),
        st.sampled_from([["logging buffered 8192"], ["no logging console"], ["service timestamps log datetime"],
                         ["no ip access-list extended MGMT"], ["no interface Loopback5"]]),
    )
    if not blocks:
        return simple
    return st.one_of(simple, st.sampled_from(["ssh", "telnet"]).map(lambda t: ["line vty 0 4", f" transport input {t}"]))


def bgp_chunk(asn: int):
    neighbor = st.tuples(ip, st.integers(64512, 65534), st.lists(st.sampled_from(
        ["next-hop-self", "update-source Loopback0", "description peer", "shutdown"]), max_size=2))
    line = st.one_of(
        neighbor.map(lambda n: [f" neighbor {n[0]} remote-as {n[1]}", *(f" neighbor {n[0]} {o}" for o in n[2])]),
        prefix().map(lambda p: [f" network {p[0]} mask {p[1]}"]),
        ip.map(lambda r: [f" bgp router-id {r}"]),
        st.just([" redistribute connected"]),
    )
    return st.lists(line, min_size=1, max_size=3).map(
        lambda parts: [f"router bgp {asn}", *(x for part in parts for x in part)])


@st.composite
def device_and_lines(draw, max_chunks: int = 8, blocks: bool = True) -> tuple[str, list[str]]:
    """A device and config lines for it; ``blocks`` adds opaque blocks (line vty)."""
    device = draw(st.sampled_from(DEVICES))
    kinds = [interface_chunk(), ospf_chunk(), static_chunk(), acl_chunk(), global_chunk(blocks)]
    if ASN[device] is not None:
        kinds.append(bgp_chunk(ASN[device]))
    chunks = draw(st.lists(st.one_of(*kinds), min_size=1, max_size=max_chunks))
    return device, [line for chunk in chunks for line in chunk]


def _state(net: Network) -> tuple:
    configs = {d: net.running_config(d) for d in net.device_names()}
    routes = {d: [(r.net, r.plen, r.protocol, r.distance, r.metric, tuple(r.next_hops)) for r in net.routes(d)]
              for d in net.device_names()}
    ospf = {d: sorted((n.neighbor, n.interface, n.state) for n in net.ospf_neighbors(d)) for d in net.device_names()}
    bgp = {d: sorted((s.peer_ip, s.state) for s in net.bgp_sessions(d)) for d in net.device_names()}
    return configs, routes, ospf, bgp


BASELINE = _state(Network(SMALL))
BASELINE_REACH = Network(SMALL).reachability()


# --- fork isolation ---------------------------------------------------------------------------


@SETTINGS
@given(change=device_and_lines(), cut=st.none() | st.integers(0, len(SMALL.links) - 1))
def test_fork_changes_never_leak_into_parent(change, cut):
    device, lines = change
    parent = Network(SMALL)
    assert _state(parent) == BASELINE  # computed (and cached) before forking
    child = parent.fork()
    child.apply(device, lines)
    if cut is not None:
        a = SMALL.links[cut][0]
        child.set_link(a.device, a.interface, up=False)
    grandchild = child.fork()
    grandchild.apply(device, ["hostname GRANDCHILD", "interface GigabitEthernet0/0", " shutdown"])
    _state(child)
    _state(grandchild)
    assert _state(parent) == BASELINE
    parent.invalidate()  # recompute from the parent's own configs, not a cache
    assert _state(parent) == BASELINE
    assert parent.reachability() == BASELINE_REACH
    assert parent.link_down == set()


@SETTINGS
@given(change=device_and_lines())
def test_parent_changes_after_fork_never_leak_into_child(change):
    device, lines = change
    parent = Network(SMALL)
    child = parent.fork()
    before = _state(child)
    parent.apply(device, lines)
    parent.set_link("R3", "GigabitEthernet0/2", up=False)
    _state(parent)
    child.invalidate()
    assert _state(child) == before == BASELINE


def test_fork_isolation_detects_a_leak():
    """Guard for the property above: a child edit really does change the child."""
    parent = Network(SMALL)
    child = parent.fork()
    child.apply("R4", ["interface GigabitEthernet0/0", " shutdown"])
    assert _state(child) != BASELINE
    assert _state(parent) == BASELINE


# --- idempotence ------------------------------------------------------------------------------


@SETTINGS
@given(change=device_and_lines())
def test_applying_the_same_lines_twice_changes_nothing(change):
    device, lines = change
    once = Network(SMALL)
    once.apply(device, lines)
    twice = Network(SMALL)
    twice.apply(device, lines)
    after_first = twice.running_config(device)
    twice.apply(device, lines)
    assert twice.running_config(device) == after_first == once.running_config(device)
    assert _state(twice) == _state(once)


@SETTINGS
@given(change=device_and_lines())
def test_reapplying_the_rendered_running_config_changes_nothing(change):
    """Merging a device's own running-config into itself is a no-op (what a NAPALM merge of 'show run' does)."""
    device, lines = change
    net = Network(SMALL)
    net.apply(device, lines)
    text = net.running_config(device)
    errors = net.apply(device, text.splitlines())
    assert errors == []
    assert net.running_config(device) == text


@pytest.mark.parametrize("lines", [
    ["line vty 0 4", " transport input ssh", " login local"],
    ["line con 0", "exec-timeout 0 0"],
])
def test_reapplying_an_opaque_block_changes_nothing(lines):
    net = Network(SMALL)
    net.apply("R1", lines)
    once = net.running_config("R1")
    assert net.apply("R1", lines) == []
    assert net.running_config("R1") == once
    assert net.apply("R1", once.splitlines()) == []
    assert net.running_config("R1") == once


# --- canonical round trip ----------------------------------------------------------------------


def _roundtrip_holds(config: DeviceConfig) -> None:
    text = render_config(config)
    parsed, errors = parse_config(text)
    assert errors == [], [str(e) for e in errors]
    assert render_config(parsed) == text


@SETTINGS
@given(change=device_and_lines(max_chunks=10))
def test_render_parse_render_is_stable_for_generated_configs_from_presets(change):
    device, lines = change
    config = SMALL.configs[device].clone()
    apply_lines(config, lines)
    _roundtrip_holds(config)


@SETTINGS
@given(change=device_and_lines(max_chunks=10))
def test_render_parse_render_is_stable_for_generated_configs_from_scratch(change):
    _device, lines = change
    config = DeviceConfig()
    apply_lines(config, lines)
    _roundtrip_holds(config)


@SETTINGS
@given(change=device_and_lines())
def test_replace_config_with_running_config_is_identity(change):
    device, lines = change
    net = Network(SMALL)
    net.apply(device, lines)
    before = _state(net)
    assert net.replace_config(device, net.running_config(device)) == []
    assert _state(net) == before


@pytest.mark.parametrize("enter,line,probe", [
    ("interface GigabitEthernet0/0", " description changed",
     lambda net: net.config("R1").interfaces["GigabitEthernet0/0"].description),
    ("router ospf 1", " passive-interface GigabitEthernet0/0",
     lambda net: sorted(net.config("R1").ospf[1].passive)),
    ("ip access-list extended NEW", " permit ip any any",
     lambda net: [e.action for e in net.config("R1").acls["NEW"].entries]),
    ("line vty 0 4", " transport input ssh",
     lambda net: [b.children for b in net.config("R1").extra if b.header == "line vty 0 4"]),
])
def test_open_config_session_keeps_writing_to_its_own_network_after_fork(enter, line, probe):
    """A config-mode session that was in a sub-mode when the network forked edits only its network."""
    parent = Network(SMALL)
    session = parent.config_session("R1")
    assert session.apply(enter) is None
    child = parent.fork()
    before = probe(child)
    assert session.apply(line) is None
    assert probe(child) == before
    assert probe(parent) != before
    # And the other way round: a session on the child never touches the parent.
    child_session = child.config_session("R1")
    child_session.apply(enter)
    parent_view = probe(parent)
    grandchild = child.fork()
    child_session.apply(" description other" if "interface" in enter else line)
    assert probe(parent) == parent_view
    assert probe(grandchild) == before
