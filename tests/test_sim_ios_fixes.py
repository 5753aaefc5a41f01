"""Edges of the simulator fixes for IOS fidelity: shared interface/global keywords, DHCP/SLA blocks,
block re-entry, one-connection BGP sessions, point-to-point OSPF and loopback advertisement."""

from __future__ import annotations

from net_support import apply_ok, route

from twin_lab.addressing import int_to_ip, ip_to_int
from twin_lab.ios import ConfigSession, DeviceConfig, render_config
from twin_lab.network import Network
from twin_lab.topology import load_preset

SMALL = load_preset("small")


def run(s: ConfigSession, *lines: str) -> list:
    return [e for e in (s.apply(line) for line in lines) if e is not None]


def session_up(net: Network, device: str, peer: str) -> bool:
    return any(s.established for s in net.bgp_sessions(device) if s.peer_ip == ip_to_int(peer))


# --- config mode -------------------------------------------------------------------------------


def test_global_nat_rule_typed_in_interface_mode_leaves_it():
    s = ConfigSession(DeviceConfig())
    assert run(s, "interface gi0/1", "ip nat in") == []
    assert s.mode == "config-if"
    assert run(s, "ip nat inside source static 10.0.0.1 203.0.113.5") == []
    assert s.mode == "config"
    assert s.config.interfaces["GigabitEthernet0/1"].extra == ["ip nat inside"]  # IOS spells it out
    assert "ip nat inside source static 10.0.0.1 203.0.113.5" in [b.header for b in s.config.extra]


def test_dhcp_pool_typed_in_interface_mode_opens_its_block():
    s = ConfigSession(DeviceConfig())
    assert run(s, "interface gi0/1", "ip dhcp pool LAN") == []
    assert s.mode == "dhcp-config"
    assert run(s, "network 192.168.1.0 255.255.255.0", "ip sla schedule 1 life forever start-time now") == []
    assert s.mode == "config"
    text = render_config(s.config)
    assert "ip dhcp pool LAN\n network 192.168.1.0 255.255.255.0\n" in text
    assert "\nip sla schedule 1 life forever start-time now\n" in text


def test_lines_repeated_within_one_block_entry_are_kept():
    # Nested sub-modes flatten into one child list: the second 'police' belongs to another class.
    s = ConfigSession(DeviceConfig())
    lines = ["policy-map EDGE", " class A", "  police 8000", " class B", "  police 8000"]
    assert run(s, *lines) == []
    assert run(s, *lines) == []
    block = next(b for b in s.config.extra if b.header == "policy-map EDGE")
    assert block.children == ["class A", "police 8000", "class B", "police 8000"]


def test_unknown_block_in_lenient_mode_is_not_duplicated():
    config = DeviceConfig()
    for _ in range(2):
        s = ConfigSession(config, strict=False)
        run(s, "frobnicate widget 1", " colour blue")
    assert [(b.header, b.children) for b in config.extra] == [("frobnicate widget 1", ["colour blue"])]


# --- BGP: one accepted TCP connection is the session --------------------------------------------


def test_acl_blocking_both_connection_directions_still_breaks_the_session():
    net = Network(SMALL)
    apply_ok(net, "R2", """
        ip access-list extended NO-BGP
         deny tcp host 10.0.25.2 any eq bgp
         deny tcp host 10.0.25.2 eq bgp any
         permit ip any any
        interface GigabitEthernet0/2
         ip access-group NO-BGP in
    """)
    assert not session_up(net, "R2", "10.0.25.2")
    assert not session_up(net, "R5", "10.0.25.1")


def test_session_reports_the_addresses_of_the_accepted_connection():
    net = Network(SMALL)
    apply_ok(net, "R3", """
        router bgp 65001
         no neighbor 2.2.2.2 update-source Loopback0
    """)
    # R3's own connection (from its egress address) is refused; R2's from 2.2.2.2 is accepted.
    r3 = next(s for s in net.bgp_sessions("R3") if s.peer_ip == ip_to_int("2.2.2.2"))
    assert r3.established and r3.local_ip == ip_to_int("3.3.3.3")


# --- OSPF ------------------------------------------------------------------------------------------


def test_mask_mismatch_with_point_to_point_on_one_end_only_stays_down():
    net = Network(SMALL)
    apply_ok(net, "R3", """
        interface GigabitEthernet0/2
         ip ospf network point-to-point
         ip address 10.0.34.1 255.255.255.248
    """)
    assert [n.state for n in net.ospf_neighbors("R4")] == []


def test_point_to_point_loopback_is_advertised_with_its_mask():
    net = Network(SMALL)
    apply_ok(net, "R1", """
        interface Loopback1
         ip address 192.0.2.1 255.255.255.0
         ip ospf network point-to-point
        router ospf 1
         network 192.0.2.0 0.0.0.255 area 0
    """)
    assert route(net, "R2", "192.0.2.0/24") is not None
    assert route(net, "R2", "192.0.2.1/32") is None
    assert "ip ospf network point-to-point" in net.running_config("R1")


def test_bgp_neighbor_at_the_routers_own_address_never_establishes() -> None:
    """A mistyped neighbour that is the router's own address: IOS opens no session to itself."""
    network = Network(load_preset("small"))
    own = "10.0.25.1"  # R2's address on the eBGP link
    assert not network.apply("R2", ["router bgp 65001", f" neighbor {own} remote-as 65002"])
    session = next(s for s in network.bgp_sessions("R2") if int_to_ip(s.peer_ip) == own)
    assert session.state != "Established" and "own" in session.reason
