"""Control plane: interface state, OSPF adjacencies and SPF, statics, BGP sessions and best path, RIB."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from net_support import apply_ok, route

from twin_lab.addressing import int_to_ip, ip_to_int, parse_prefix
from twin_lab.network import Network
from twin_lab.topology import Topology, load_preset

SMALL = load_preset("small")


def small() -> Network:
    return Network(SMALL)


def build(devices: dict[str, str], links: list[tuple[str, str]], hosts: dict | None = None) -> Network:
    spec = {"name": "inline", "devices": {n: {"config": textwrap.dedent(c)} for n, c in devices.items()},
            "links": [list(link) for link in links], "hosts": hosts or {}}
    return Network(Topology.from_yaml_text(yaml.safe_dump(spec), source="inline.yaml"))


def hop_ips(r) -> list[str]:
    return sorted(int_to_ip(h.ip) for h in r.next_hops if h.ip is not None)


def hop_itfs(r) -> list[str]:
    return sorted(h.interface for h in r.next_hops if h.interface is not None)


def ospf_state(net: Network, device: str, neighbor: str) -> str | None:
    found = [n.state for n in net.ospf_neighbors(device) if n.neighbor == neighbor]
    return found[0] if found else None


def bgp_session(net: Network, device: str, peer: str):
    return next(s for s in net.bgp_sessions(device) if s.peer_ip == ip_to_int(peer))


def bgp_best(net: Network, device: str, prefix: str):
    return net.control_plane.bgp.best(device).get(parse_prefix(prefix))


# --- baseline ---------------------------------------------------------------------------------


def test_small_preset_baseline_is_converged():
    net = small()
    expected = {"R1": {"R2", "R3"}, "R2": {"R1", "R3"}, "R3": {"R1", "R2", "R4"}, "R4": {"R3"},
                "R5": {"R6"}, "R6": {"R5"}}
    for device, peers in expected.items():
        assert {n.neighbor for n in net.ospf_neighbors(device) if n.full} == peers
    for device, peer in [("R2", "3.3.3.3"), ("R2", "10.0.25.2"), ("R3", "2.2.2.2"), ("R5", "10.0.25.1")]:
        assert bgp_session(net, device, peer).established
    # Cross-AS prefixes arrive over BGP.
    assert route(net, "R2", "203.0.113.0/24").protocol == "B"
    assert route(net, "R5", "10.0.1.0/24").protocol == "B"


def test_unwired_interface_is_down_and_not_connected():
    net = small()
    state = net.interfaces("R1")["GigabitEthernet0/7"]  # OOB port with no cable in the topology
    assert state.admin_up and not state.line_up
    assert state.status_text == "down"
    assert route(net, "R1", "192.168.255.0/24") is None


def test_connected_and_local_routes():
    net = small()
    c = route(net, "R1", "10.0.12.0/30")
    assert c.protocol == "C" and hop_itfs(c) == ["GigabitEthernet0/0"]
    local = route(net, "R1", "10.0.12.1/32")
    assert local.protocol == "L"
    assert route(net, "R1", "1.1.1.1/32").protocol == "C"  # a /32 loopback has no extra L route
    assert [r.protocol for r in net.routes("R1") if (r.net, r.plen) == parse_prefix("1.1.1.1/32")] == ["C"]


# --- OSPF adjacency conditions --------------------------------------------------------------


def test_ospf_metrics_follow_interface_costs():
    net = small()
    r = route(net, "R1", "2.2.2.2/32")
    assert (r.protocol, r.distance, r.metric) == ("O", 110, 2)
    assert hop_ips(r) == ["10.0.12.2"]
    ecmp = route(net, "R1", "10.0.23.0/30")
    assert ecmp.metric == 2 and hop_ips(ecmp) == ["10.0.12.2", "10.0.13.2"]


def test_mtu_mismatch_stalls_in_exstart_and_remote_routes_vanish():
    net = small()
    assert route(net, "R4", "1.1.1.1/32") is not None
    apply_ok(net, "R4", """
        interface GigabitEthernet0/0
         mtu 1400
    """)
    assert ospf_state(net, "R4", "R3") == "EXSTART"
    assert ospf_state(net, "R3", "R4") not in (None, "FULL")
    assert not any(n.full for n in net.ospf_neighbors("R4"))
    assert [r for r in net.routes("R4") if r.protocol.startswith("O")] == []
    assert route(net, "R1", "10.0.4.0/24") is None
    assert route(net, "R1", "4.4.4.4/32") is None
    # The link itself is fine: connected routes on both ends remain.
    assert route(net, "R4", "10.0.34.0/30").protocol == "C"


def test_ip_mtu_mismatch_also_counts_and_mtu_ignore_restores_full():
    net = small()
    apply_ok(net, "R3", """
        interface GigabitEthernet0/2
         ip mtu 1492
    """)
    assert ospf_state(net, "R3", "R4") == "EXSTART"
    apply_ok(net, "R3", """
        interface GigabitEthernet0/2
         ip ospf mtu-ignore
    """)
    apply_ok(net, "R4", """
        interface GigabitEthernet0/0
         ip ospf mtu-ignore
    """)
    assert ospf_state(net, "R3", "R4") == "FULL"
    assert route(net, "R1", "10.0.4.0/24") is not None


def test_matching_mtu_on_both_ends_is_full():
    net = small()
    for device, interface in [("R3", "GigabitEthernet0/2"), ("R4", "GigabitEthernet0/0")]:
        apply_ok(net, device, f"""
            interface {interface}
             mtu 9000
        """)
    assert ospf_state(net, "R3", "R4") == "FULL"


def test_area_mismatch_no_adjacency():
    net = small()
    apply_ok(net, "R4", """
        router ospf 1
         no network 10.0.34.0 0.0.0.3 area 1
         network 10.0.34.0 0.0.0.3 area 0
    """)
    assert ospf_state(net, "R4", "R3") is None
    assert ospf_state(net, "R3", "R4") is None
    assert route(net, "R1", "10.0.4.0/24") is None
    assert route(net, "R4", "1.1.1.1/32") is None


def test_hello_interval_mismatch_no_adjacency_until_matched():
    net = small()
    apply_ok(net, "R4", """
        interface GigabitEthernet0/0
         ip ospf hello-interval 5
    """)
    assert ospf_state(net, "R4", "R3") is None
    assert route(net, "R3", "10.0.4.0/24") is None
    apply_ok(net, "R3", """
        interface GigabitEthernet0/2
         ip ospf hello-interval 5
    """)
    assert ospf_state(net, "R4", "R3") == "FULL"
    assert route(net, "R3", "10.0.4.0/24").protocol == "O"


def test_dead_interval_mismatch_no_adjacency():
    net = small()
    apply_ok(net, "R4", """
        interface GigabitEthernet0/0
         ip ospf dead-interval 60
    """)
    assert ospf_state(net, "R4", "R3") is None
    assert route(net, "R1", "4.4.4.4/32") is None


def test_passive_interface_no_adjacency_but_subnet_still_advertised():
    net = small()
    apply_ok(net, "R3", """
        router ospf 1
         passive-interface GigabitEthernet0/2
    """)
    assert ospf_state(net, "R3", "R4") is None
    assert ospf_state(net, "R4", "R3") is None
    assert route(net, "R1", "10.0.4.0/24") is None
    # The passive link's own subnet is still advertised (as an inter-area route from the ABR).
    transit = route(net, "R1", "10.0.34.0/30")
    assert transit is not None and transit.protocol == "O IA"


def test_passive_interface_default_with_exception():
    net = small()
    apply_ok(net, "R3", """
        router ospf 1
         passive-interface default
         no passive-interface GigabitEthernet0/2
    """)
    assert ospf_state(net, "R3", "R4") == "FULL"
    assert ospf_state(net, "R3", "R1") is None
    assert ospf_state(net, "R3", "R2") is None


def test_interface_shutdown_drops_adjacency_and_shows_admin_down():
    net = small()
    apply_ok(net, "R4", """
        interface GigabitEthernet0/0
         shutdown
    """)
    assert net.interfaces("R4")["GigabitEthernet0/0"].status_text == "administratively down"
    assert net.interfaces("R3")["GigabitEthernet0/2"].status_text == "down"
    assert ospf_state(net, "R3", "R4") is None
    assert route(net, "R3", "10.0.34.0/30") is None  # connected route gone with the line
    assert route(net, "R1", "10.0.4.0/24") is None
    apply_ok(net, "R4", """
        interface GigabitEthernet0/0
         no shutdown
    """)
    assert ospf_state(net, "R3", "R4") == "FULL"


def test_physical_link_down_is_separate_from_config():
    net = small()
    before = {d: net.running_config(d) for d in net.device_names()}
    net.set_link("R3", "Gi0/2", up=False)
    assert {d: net.running_config(d) for d in net.device_names()} == before
    for device, interface in [("R3", "GigabitEthernet0/2"), ("R4", "GigabitEthernet0/0")]:
        state = net.interfaces(device)[interface]
        assert state.admin_up and not state.line_up
        assert state.status_text == "down"
    assert ospf_state(net, "R3", "R4") is None
    assert route(net, "R1", "10.0.4.0/24") is None
    net.set_link("R4", "GigabitEthernet0/0", up=True)  # either end names the same cable
    assert ospf_state(net, "R3", "R4") == "FULL"
    assert route(net, "R1", "10.0.4.0/24") is not None


def test_duplicate_router_id_no_adjacency():
    net = small()
    apply_ok(net, "R4", """
        router ospf 1
         router-id 3.3.3.3
    """)
    assert ospf_state(net, "R3", "R4") is None


def test_subnet_mismatch_no_adjacency():
    net = small()
    apply_ok(net, "R4", """
        interface GigabitEthernet0/0
         ip address 10.0.34.6 255.255.255.252
        router ospf 1
         network 10.0.34.4 0.0.0.3 area 1
    """)
    assert ospf_state(net, "R3", "R4") is None
    assert route(net, "R1", "10.0.4.0/24") is None


def test_ospf_router_id_falls_back_to_highest_loopback():
    """Steady state as after a reload / clear ip ospf process: no router-id -> highest loopback."""
    net = small()
    apply_ok(net, "R4", """
        router ospf 1
         no router-id
        interface Loopback9
         ip address 9.9.9.9 255.255.255.255
    """)
    assert {n.neighbor_id for n in net.ospf_neighbors("R3") if n.neighbor == "R4"} == {ip_to_int("9.9.9.9")}


def test_network_statement_enables_only_matching_interfaces():
    net = small()
    apply_ok(net, "R1", """
        router ospf 1
         no network 10.0.12.0 0.0.0.3 area 0
    """)
    assert ospf_state(net, "R1", "R2") is None
    assert ospf_state(net, "R1", "R3") == "FULL"
    r = route(net, "R2", "1.1.1.1/32")
    assert hop_ips(r) == ["10.0.23.2"]  # around via R3 now
    assert r.metric == 3


def test_ip_ospf_area_interface_command_enables_ospf():
    net = small()
    apply_ok(net, "R1", """
        router ospf 1
         no network 10.0.12.0 0.0.0.3 area 0
        interface GigabitEthernet0/0
         ip ospf 1 area 0
    """)
    assert ospf_state(net, "R1", "R2") == "FULL"


# --- areas, externals, cost ---------------------------------------------------------------------


def test_inter_area_routes_through_the_abr():
    net = small()
    lan = route(net, "R1", "10.0.4.0/24")
    assert (lan.protocol, lan.metric) == ("O IA", 3)
    assert hop_ips(lan) == ["10.0.13.2"]
    back = route(net, "R4", "10.0.1.0/24")
    assert (back.protocol, back.metric) == ("O IA", 3)
    assert hop_ips(back) == ["10.0.34.1"]
    # Inside area 1 the ABR sees the LAN as intra-area.
    assert route(net, "R3", "10.0.4.0/24").protocol == "O"


def test_e2_default_from_default_information_originate():
    net = small()
    default = route(net, "R1", "0.0.0.0/0")
    assert (default.protocol, default.metric) == ("O E2", 1)
    assert hop_ips(default) == ["10.0.12.2"]
    assert route(net, "R4", "0.0.0.0/0").protocol == "O E2"  # externals flood into a normal area
    assert route(net, "R2", "0.0.0.0/0").protocol == "S"  # the ASBR keeps its own static
    # Without "always", no default in the ASBR's table means nothing is originated.
    apply_ok(net, "R2", "no ip route 0.0.0.0 0.0.0.0 10.0.25.2")
    assert route(net, "R1", "0.0.0.0/0") is None
    apply_ok(net, "R2", """
        router ospf 1
         default-information originate always
    """)
    assert route(net, "R1", "0.0.0.0/0").protocol == "O E2"


def test_redistribute_static_into_ospf_is_e2_metric_20():
    net = small()
    apply_ok(net, "R1", """
        ip route 192.0.2.0 255.255.255.0 Null0
        router ospf 1
         redistribute static subnets
    """)
    ext = route(net, "R4", "192.0.2.0/24")
    assert (ext.protocol, ext.metric) == ("O E2", 20)
    assert route(net, "R1", "192.0.2.0/24").protocol == "S"


def test_redistribute_connected_into_ospf():
    net = small()
    apply_ok(net, "R4", """
        interface Loopback7
         ip address 172.31.7.1 255.255.255.255
        router ospf 1
         redistribute connected subnets metric 50 metric-type 1
    """)
    ext = route(net, "R1", "172.31.7.1/32")
    assert ext.protocol == "O E1"
    assert ext.metric == 50 + 2  # E1 adds the internal cost to the ASBR (R1 -> R3 -> R4 = 1 + 1)
    e2 = small()
    apply_ok(e2, "R4", """
        interface Loopback7
         ip address 172.31.7.1 255.255.255.255
        router ospf 1
         redistribute connected subnets metric 50
    """)
    assert (route(e2, "R1", "172.31.7.1/32").protocol, route(e2, "R1", "172.31.7.1/32").metric) == ("O E2", 50)


def test_inter_area_route_preferred_over_cheaper_external():
    net = small()
    apply_ok(net, "R1", """
        ip route 10.0.4.0 255.255.255.0 Null0
        router ospf 1
         redistribute static subnets metric 1
    """)
    # O IA (cost 3) beats O E2 (metric 1): OSPF route type comes before cost.
    r = route(net, "R2", "10.0.4.0/24")
    assert (r.protocol, r.metric) == ("O IA", 3)


def test_adjacency_uses_primary_address_not_secondary():
    net = small()
    apply_ok(net, "R4", """
        interface GigabitEthernet0/0
         ip address 10.0.34.2 255.255.255.252 secondary
         ip address 10.0.99.2 255.255.255.252
        router ospf 1
         network 10.0.99.0 0.0.0.3 area 1
    """)
    assert ospf_state(net, "R3", "R4") is None
    assert route(net, "R3", "10.0.34.0/30").protocol == "C"  # the shared secondary subnet is still connected


def test_connected_beats_static_for_same_prefix():
    net = small()
    apply_ok(net, "R1", "ip route 10.0.13.0 255.255.255.252 10.0.12.2")
    assert route(net, "R1", "10.0.13.0/30").protocol == "C"


def test_ospf_cost_steers_traffic_one_direction_only():
    net = small()
    apply_ok(net, "R1", """
        interface GigabitEthernet0/0
         ip ospf cost 10
    """)
    r = route(net, "R1", "2.2.2.2/32")
    assert hop_ips(r) == ["10.0.13.2"]
    assert r.metric == 3
    trace = net.traceroute("h1", ip_to_int("2.2.2.2"))
    assert [h.node for h in trace.hops] == ["h1", "R1", "R3", "R2"]
    # Cost is outbound only: R2 still reaches R1 over the direct link.
    back = route(net, "R2", "1.1.1.1/32")
    assert hop_ips(back) == ["10.0.12.1"] and back.metric == 2


def test_bandwidth_and_reference_bandwidth_set_cost():
    net = small()
    apply_ok(net, "R1", """
        interface GigabitEthernet0/0
         bandwidth 10000
    """)
    # 100 Mbit/s reference / 10 Mbit/s = cost 10: R1 now prefers the path via R3.
    assert hop_ips(route(net, "R1", "2.2.2.2/32")) == ["10.0.13.2"]
    net = small()
    for device in ("R1", "R2", "R3"):
        apply_ok(net, device, """
            router ospf 1
             auto-cost reference-bandwidth 10000
        """)
    # 10 Gbit/s reference over GigabitEthernet = cost 10 per link, loopback stays 1.
    assert route(net, "R1", "2.2.2.2/32").metric == 11


def test_ospf_process_shutdown_withdraws_everything():
    net = small()
    apply_ok(net, "R3", """
        router ospf 1
         shutdown
    """)
    assert net.ospf_neighbors("R1") and ospf_state(net, "R1", "R3") is None
    assert route(net, "R1", "10.0.4.0/24") is None


def test_loopback_with_short_mask_is_advertised_as_host_route():
    net = small()
    apply_ok(net, "R1", """
        interface Loopback1
         ip address 192.0.2.1 255.255.255.0
        router ospf 1
         network 192.0.2.0 0.0.0.255 area 0
    """)
    assert route(net, "R2", "192.0.2.1/32") is not None
    assert route(net, "R2", "192.0.2.0/24") is None


def test_inbound_acl_denying_everything_kills_ospf_adjacency():
    net = small()
    apply_ok(net, "R4", """
        ip access-list extended BLOCK
         deny ip any any
        interface GigabitEthernet0/0
         ip access-group BLOCK in
    """)
    assert ospf_state(net, "R4", "R3") is None
    assert route(net, "R1", "10.0.4.0/24") is None


def test_inbound_acl_permitting_ospf_keeps_adjacency():
    net = small()
    apply_ok(net, "R4", """
        ip access-list extended ONLY-OSPF
         permit ospf any any
         deny   ip any any
        interface GigabitEthernet0/0
         ip access-group ONLY-OSPF in
    """)
    assert ospf_state(net, "R4", "R3") == "FULL"
    assert route(net, "R4", "10.0.1.0/24") is not None


# --- static routes, distance, longest prefix -------------------------------------------------


def test_static_route_with_next_hop_and_default_distance():
    net = small()
    apply_ok(net, "R1", "ip route 192.0.2.0 255.255.255.0 10.0.13.2")
    r = route(net, "R1", "192.0.2.0/24")
    assert (r.protocol, r.distance) == ("S", 1)
    assert [(int_to_ip(h.ip), h.interface) for h in net.control_plane.ribs["R1"].resolve(r)] == [
        ("10.0.13.2", "GigabitEthernet0/1")]


def test_static_with_unreachable_next_hop_is_not_installed():
    net = small()
    apply_ok(net, "R5", "ip route 192.0.2.0 255.255.255.0 10.99.99.1")  # R5 has no covering route
    assert route(net, "R5", "192.0.2.0/24") is None
    status = {s.next_hop: ok for s, ok in net.control_plane.static_status["R5"]}
    assert status[ip_to_int("10.99.99.1")] is False


def test_static_with_exit_interface_down_is_withdrawn():
    net = small()
    apply_ok(net, "R1", "ip route 192.0.2.0 255.255.255.0 GigabitEthernet0/1 10.0.13.2")
    assert route(net, "R1", "192.0.2.0/24") is not None
    net.set_link("R1", "GigabitEthernet0/1", up=False)
    assert route(net, "R1", "192.0.2.0/24") is None


def test_floating_static_takes_over_when_primary_fails():
    net = small()
    # The primary names its exit interface too, so it goes away with the interface (a next hop alone
    # would stay resolvable through R1's OSPF default route).
    apply_ok(net, "R1", """
        ip route 192.0.2.0 255.255.255.0 GigabitEthernet0/0 10.0.12.2
        ip route 192.0.2.0 255.255.255.0 10.0.13.2 200
    """)
    r = route(net, "R1", "192.0.2.0/24")
    assert (r.distance, hop_ips(r)) == (1, ["10.0.12.2"])
    net.set_link("R1", "GigabitEthernet0/0", up=False)
    r = route(net, "R1", "192.0.2.0/24")
    assert (r.distance, hop_ips(r)) == (200, ["10.0.13.2"])


def test_static_distance_against_ospf():
    net = small()
    apply_ok(net, "R1", "ip route 2.2.2.2 255.255.255.255 10.0.13.2 120")
    assert route(net, "R1", "2.2.2.2/32").protocol == "O"  # 110 beats 120
    apply_ok(net, "R1", """
        no ip route 2.2.2.2 255.255.255.255 10.0.13.2 120
        ip route 2.2.2.2 255.255.255.255 10.0.13.2 100
    """)
    r = route(net, "R1", "2.2.2.2/32")
    assert (r.protocol, r.distance, hop_ips(r)) == ("S", 100, ["10.0.13.2"])


def test_equal_statics_load_share():
    net = small()
    apply_ok(net, "R1", """
        ip route 192.0.2.0 255.255.255.0 10.0.12.2
        ip route 192.0.2.0 255.255.255.0 10.0.13.2
    """)
    assert hop_ips(route(net, "R1", "192.0.2.0/24")) == ["10.0.12.2", "10.0.13.2"]


def test_recursive_static_via_ospf_route():
    net = small()
    apply_ok(net, "R1", "ip route 192.0.2.0 255.255.255.0 4.4.4.4")
    r = route(net, "R1", "192.0.2.0/24")
    assert r is not None and r.protocol == "S"
    resolved = net.control_plane.ribs["R1"].resolve(r)
    assert [(int_to_ip(h.ip), h.interface) for h in resolved] == [("10.0.13.2", "GigabitEthernet0/1")]


def test_longest_prefix_match():
    net = small()
    apply_ok(net, "R1", """
        ip route 192.0.2.0 255.255.255.0 10.0.13.2
        ip route 192.0.2.128 255.255.255.128 10.0.12.2
    """)
    assert (net.route_lookup("R1", ip_to_int("192.0.2.200")).plen) == 25
    assert hop_ips(net.route_lookup("R1", ip_to_int("192.0.2.200"))) == ["10.0.12.2"]
    assert net.route_lookup("R1", ip_to_int("192.0.2.5")).plen == 24
    assert hop_ips(net.route_lookup("R1", ip_to_int("192.0.2.5"))) == ["10.0.13.2"]
    other = net.route_lookup("R1", ip_to_int("198.18.0.1"))
    assert (other.plen, other.protocol) == (0, "O E2")
    # Longest prefix beats lower distance: a /32 OSPF route wins over a static /24 covering it.
    apply_ok(net, "R1", "ip route 4.4.4.0 255.255.255.0 10.0.12.2")
    assert net.route_lookup("R1", ip_to_int("4.4.4.4")).protocol == "O IA"
    assert net.route_lookup("R1", ip_to_int("4.4.4.5")).protocol == "S"


def test_no_route_lookup_without_default():
    net = small()
    assert net.route_lookup("R5", ip_to_int("192.0.2.1")) is None


# --- BGP sessions -----------------------------------------------------------------------------


def test_wrong_remote_as_session_not_established_and_routes_lost():
    net = small()
    apply_ok(net, "R5", """
        router bgp 65002
         neighbor 10.0.25.1 remote-as 65003
    """)
    assert not bgp_session(net, "R5", "10.0.25.1").established
    assert not bgp_session(net, "R2", "10.0.25.2").established
    assert route(net, "R2", "203.0.113.0/24") is None
    assert route(net, "R5", "10.0.1.0/24") is None
    # The iBGP session inside AS 65001 is unaffected.
    assert bgp_session(net, "R2", "3.3.3.3").established


def test_bgp_peer_unreachable_not_established():
    net = small()
    apply_ok(net, "R3", """
        router ospf 1
         no network 3.3.3.3 0.0.0.0 area 0
    """)
    assert not bgp_session(net, "R2", "3.3.3.3").established
    assert not bgp_session(net, "R3", "2.2.2.2").established
    assert route(net, "R3", "198.51.100.0/24") is None


def test_missing_update_source_breaks_loopback_peering():
    net = small()
    apply_ok(net, "R2", """
        router bgp 65001
         no neighbor 3.3.3.3 update-source Loopback0
    """)
    apply_ok(net, "R3", """
        router bgp 65001
         no neighbor 2.2.2.2 update-source Loopback0
    """)
    # R2 now sources from 10.0.23.1 and R3 from 10.0.23.2, but each only knows the other's loopback.
    # (With update-source left on one end, that end's connection is accepted and IOS establishes:
    # see test_faults.py::test_update_source_on_one_end_is_enough.)
    assert not bgp_session(net, "R2", "3.3.3.3").established
    assert not bgp_session(net, "R3", "2.2.2.2").established
    assert route(net, "R3", "198.51.100.0/24") is None


def test_bgp_neighbor_shutdown():
    net = small()
    apply_ok(net, "R2", """
        router bgp 65001
         neighbor 10.0.25.2 shutdown
    """)
    assert bgp_session(net, "R2", "10.0.25.2").state == "Idle (Admin)"
    assert not bgp_session(net, "R5", "10.0.25.1").established


def test_ebgp_between_loopbacks_needs_multihop():
    net = small()
    apply_ok(net, "R2", """
        ip route 5.5.5.5 255.255.255.255 10.0.25.2
        router bgp 65001
         no neighbor 10.0.25.2 remote-as 65002
         neighbor 5.5.5.5 remote-as 65002
         neighbor 5.5.5.5 update-source Loopback0
    """)
    apply_ok(net, "R5", """
        ip route 2.2.2.2 255.255.255.255 10.0.25.1
        router bgp 65002
         no neighbor 10.0.25.1 remote-as 65001
         neighbor 2.2.2.2 remote-as 65001
         neighbor 2.2.2.2 update-source Loopback0
    """)
    assert not bgp_session(net, "R2", "5.5.5.5").established
    for device, peer, asn in [("R2", "5.5.5.5", 65001), ("R5", "2.2.2.2", 65002)]:
        apply_ok(net, device, f"""
            router bgp {asn}
             neighbor {peer} ebgp-multihop 2
        """)
    assert bgp_session(net, "R2", "5.5.5.5").established
    assert route(net, "R2", "203.0.113.0/24").protocol == "B"


def test_removing_peering_address_drops_ebgp_and_withdraws_routes():
    net = small()
    apply_ok(net, "R2", """
        interface GigabitEthernet0/2
         no ip address
    """)
    assert not bgp_session(net, "R2", "10.0.25.2").established
    assert bgp_session(net, "R2", "3.3.3.3").established
    assert route(net, "R3", "198.51.100.0/24") is None
    assert route(net, "R5", "10.0.1.0/24") is None


def test_acl_blocking_tcp_179_stops_bgp():
    net = small()
    apply_ok(net, "R2", """
        ip access-list extended NO-BGP
         deny tcp any any eq bgp
         deny tcp any eq bgp any
         permit ip any any
        interface GigabitEthernet0/2
         ip access-group NO-BGP in
    """)
    assert not bgp_session(net, "R2", "10.0.25.2").established
    assert bgp_session(net, "R2", "3.3.3.3").established


# --- BGP routes -------------------------------------------------------------------------------


def test_ebgp_and_ibgp_route_attributes():
    net = small()
    r2 = route(net, "R2", "198.51.100.0/24")
    assert (r2.protocol, r2.distance, hop_ips(r2)) == ("B", 20, ["10.0.25.2"])
    assert r2.detail["as_path"] == [65002]
    r3 = route(net, "R3", "198.51.100.0/24")
    assert (r3.protocol, r3.distance, hop_ips(r3)) == ("B", 200, ["2.2.2.2"])  # next-hop-self
    assert r3.detail["as_path"] == [65002]


def test_bgp_network_needs_exact_prefix_in_rib():
    net = small()
    apply_ok(net, "R2", """
        router bgp 65001
         no network 10.0.4.0 mask 255.255.255.0
         network 10.0.4.0 mask 255.255.0.0
    """)
    assert route(net, "R5", "10.0.4.0/24") is None
    assert route(net, "R5", "10.0.0.0/16") is None
    assert route(net, "R5", "10.0.1.0/24") is not None


def test_missing_next_hop_self_makes_ibgp_routes_unusable():
    net = small()
    # Remove R2's OSPF default so R3 cannot resolve 10.0.25.2 through it.
    apply_ok(net, "R2", """
        router ospf 1
         no default-information originate
    """)
    assert route(net, "R3", "198.51.100.0/24") is not None  # next-hop-self still set
    apply_ok(net, "R2", """
        router bgp 65001
         no neighbor 3.3.3.3 next-hop-self
    """)
    assert bgp_session(net, "R3", "2.2.2.2").established
    assert route(net, "R3", "198.51.100.0/24") is None  # next hop 10.0.25.2 unresolvable
    # Advertising the eBGP link into OSPF makes the unchanged next hop resolvable again.
    apply_ok(net, "R2", """
        router ospf 1
         network 10.0.25.0 0.0.0.3 area 0
         passive-interface GigabitEthernet0/2
    """)
    r = route(net, "R3", "198.51.100.0/24")
    assert r is not None and hop_ips(r) == ["10.0.25.2"]


def test_ibgp_split_horizon():
    net = small()
    apply_ok(net, "R4", """
        router bgp 65001
         neighbor 3.3.3.3 remote-as 65001
         neighbor 3.3.3.3 update-source Loopback0
    """)
    apply_ok(net, "R3", """
        router bgp 65001
         neighbor 4.4.4.4 remote-as 65001
         neighbor 4.4.4.4 update-source Loopback0
    """)
    assert bgp_session(net, "R4", "3.3.3.3").established
    # R3 learned 198.51.100.0/24 over iBGP from R2 and must not pass it to another iBGP peer.
    assert route(net, "R3", "198.51.100.0/24") is not None
    assert bgp_best(net, "R4", "198.51.100.0/24") is None
    # A direct iBGP session to R2 (full mesh) brings it.
    apply_ok(net, "R4", """
        router bgp 65001
         neighbor 2.2.2.2 remote-as 65001
         neighbor 2.2.2.2 update-source Loopback0
    """)
    apply_ok(net, "R2", """
        router bgp 65001
         neighbor 4.4.4.4 remote-as 65001
         neighbor 4.4.4.4 update-source Loopback0
         neighbor 4.4.4.4 next-hop-self
    """)
    assert bgp_best(net, "R4", "198.51.100.0/24") is not None


def test_redistribute_connected_into_bgp_has_incomplete_origin():
    net = small()
    apply_ok(net, "R5", """
        router bgp 65002
         redistribute connected
    """)
    best = bgp_best(net, "R2", "5.5.5.5/32")
    assert best is not None
    assert best.origin == "?"
    assert bgp_best(net, "R2", "198.51.100.0/24").origin == "i"


def test_ebgp_loop_prevention_rejects_own_as():
    # Three ASes in a triangle: A's prefix comes back to A from C with 65001 in the AS path.
    def router(name: str, asn: int, ports: list[tuple[str, str, str, int]], extra: str = "") -> str:
        text = f"hostname {name}\n"
        for port, address, _peer, _peer_as in ports:
            text += f"interface {port}\n ip address {address} 255.255.255.252\n"
        text += extra + f"router bgp {asn}\n"
        for _port, _address, peer, peer_as in ports:
            text += f" neighbor {peer} remote-as {peer_as}\n"
        return text

    a = router("A", 65001, [("GigabitEthernet0/0", "10.9.1.1", "10.9.1.2", 65002),
                            ("GigabitEthernet0/1", "10.9.3.2", "10.9.3.1", 65003)],
               "ip route 192.0.2.0 255.255.255.0 Null0\n")
    a += " network 192.0.2.0 mask 255.255.255.0\n"
    b = router("B", 65002, [("GigabitEthernet0/0", "10.9.1.2", "10.9.1.1", 65001),
                            ("GigabitEthernet0/1", "10.9.2.1", "10.9.2.2", 65003)])
    c = router("C", 65003, [("GigabitEthernet0/0", "10.9.2.2", "10.9.2.1", 65002),
                            ("GigabitEthernet0/1", "10.9.3.1", "10.9.3.2", 65001)])
    net = build({"A": a, "B": b, "C": c}, [("A:Gi0/0", "B:Gi0/0"), ("B:Gi0/1", "C:Gi0/0"), ("C:Gi0/1", "A:Gi0/1")])
    assert all(s.established for d in "ABC" for s in net.bgp_sessions(d))
    key = parse_prefix("192.0.2.0/24")
    assert [p.local for p in net.control_plane.bgp.paths["A"][key]] == [True]  # nothing learned back
    c_paths = sorted(p.as_path for p in net.control_plane.bgp.paths["C"][key])
    assert c_paths == [(65001,), (65002, 65001)]
    assert bgp_best(net, "C", "192.0.2.0/24").as_path == (65001,)


# --- best path on inline topologies ------------------------------------------------------------


def _peer_topology(x_as: int, a: tuple[int, str, str], b: tuple[int, str, str],
                   extra_devices: dict[str, str] | None = None, extra_links=(), x_extra: str = "") -> Network:
    """X peers with A (10.1.1.0/30) and B (10.1.2.0/30); a/b are (asn, router-id, extra bgp/global lines)."""

    def peer(name: str, asn: int, rid: str, address: str, x_address: str, extra: str) -> str:
        return textwrap.dedent(f"""\
            hostname {name}
            interface GigabitEthernet0/0
             ip address {address} 255.255.255.252
            router bgp {asn}
             bgp router-id {rid}
             neighbor {x_address} remote-as {x_as}
            """) + textwrap.dedent(extra)

    devices = {
        "X": textwrap.dedent(f"""\
            hostname X
            interface GigabitEthernet0/0
             ip address 10.1.1.1 255.255.255.252
            interface GigabitEthernet0/1
             ip address 10.1.2.1 255.255.255.252
            router bgp {x_as}
             bgp router-id 10.255.0.100
             neighbor 10.1.1.2 remote-as {a[0]}
             neighbor 10.1.2.2 remote-as {b[0]}
            """) + textwrap.dedent(x_extra),
        "A": peer("A", a[0], a[1], "10.1.1.2", "10.1.1.1", a[2]),
        "B": peer("B", b[0], b[1], "10.1.2.2", "10.1.2.1", b[2]),
    }
    devices.update(extra_devices or {})
    links = [("X:Gi0/0", "A:Gi0/0"), ("X:Gi0/1", "B:Gi0/0"), *extra_links]
    return build(devices, links)


ORIGINATE = """\
    ip route 192.0.2.0 255.255.255.0 Null0
    router bgp {asn}
     network 192.0.2.0 mask 255.255.255.0
    """


def _originate(asn: int) -> str:
    return ORIGINATE.format(asn=asn)


def test_best_path_shorter_as_path_wins_over_lower_router_id():
    c_device = textwrap.dedent("""\
        hostname C
        interface GigabitEthernet0/0
         ip address 10.1.3.2 255.255.255.252
        ip route 192.0.2.0 255.255.255.0 Null0
        router bgp 65040
         bgp router-id 10.255.0.3
         network 192.0.2.0 mask 255.255.255.0
         neighbor 10.1.3.1 remote-as 65030
        """)
    b_extra = """\
        interface GigabitEthernet0/1
         ip address 10.1.3.1 255.255.255.252
        router bgp 65030
         neighbor 10.1.3.2 remote-as 65040
        """
    net = _peer_topology(65010, (65020, "10.255.0.9", _originate(65020)), (65030, "10.255.0.1", b_extra),
                         {"C": c_device}, [("B:Gi0/1", "C:Gi0/0")])
    best = bgp_best(net, "X", "192.0.2.0/24")
    assert best.as_path == (65020,)
    assert int_to_ip(best.next_hop) == "10.1.1.2"
    paths = net.control_plane.bgp.paths["X"][parse_prefix("192.0.2.0/24")]
    assert sorted(p.as_path for p in paths) == [(65020,), (65030, 65040)]
    assert hop_ips(route(net, "X", "192.0.2.0/24")) == ["10.1.1.2"]


def test_best_path_origin_igp_beats_incomplete():
    b_extra = """\
        ip route 192.0.2.0 255.255.255.0 Null0
        router bgp 65030
         redistribute static
        """
    net = _peer_topology(65010, (65020, "10.255.0.9", _originate(65020)), (65030, "10.255.0.1", b_extra))
    best = bgp_best(net, "X", "192.0.2.0/24")
    assert best.origin == "i"
    assert int_to_ip(best.next_hop) == "10.1.1.2"
    assert len(net.control_plane.bgp.paths["X"][parse_prefix("192.0.2.0/24")]) == 2


def test_best_path_lower_med_from_same_neighbor_as():
    def redistributed(metric: int) -> str:
        return f"""\
            ip route 192.0.2.0 255.255.255.0 Null0
            router bgp 65020
             redistribute static metric {metric}
            """

    net = _peer_topology(65010, (65020, "10.255.0.1", redistributed(50)), (65020, "10.255.0.9", redistributed(10)))
    best = bgp_best(net, "X", "192.0.2.0/24")
    assert best.med == 10
    assert int_to_ip(best.next_hop) == "10.1.2.2"


def test_best_path_ebgp_beats_ibgp():
    c_device = textwrap.dedent("""\
        hostname C
        interface GigabitEthernet0/0
         ip address 10.1.3.2 255.255.255.252
        ip route 192.0.2.0 255.255.255.0 Null0
        router bgp 65030
         bgp router-id 10.255.0.3
         network 192.0.2.0 mask 255.255.255.0
         neighbor 10.1.3.1 remote-as 65010
        """)
    b_extra = """\
        interface GigabitEthernet0/1
         ip address 10.1.3.1 255.255.255.252
        router bgp 65010
         neighbor 10.1.3.2 remote-as 65030
         neighbor 10.1.2.1 next-hop-self
        """
    net = _peer_topology(65010, (65020, "10.255.0.9", _originate(65020)), (65010, "10.255.0.1", b_extra),
                         {"C": c_device}, [("B:Gi0/1", "C:Gi0/0")])
    assert bgp_session(net, "X", "10.1.2.2").established
    paths = net.control_plane.bgp.paths["X"][parse_prefix("192.0.2.0/24")]
    assert len(paths) == 2 and {p.ebgp for p in paths} == {True, False}
    best = paths[0]
    assert best.ebgp and best.as_path == (65020,)
    r = route(net, "X", "192.0.2.0/24")
    assert (r.distance, hop_ips(r)) == (20, ["10.1.1.2"])


@pytest.mark.parametrize("a_rid,b_rid,winner", [
    ("10.255.0.2", "10.255.0.1", "10.1.2.2"),
    ("10.255.0.1", "10.255.0.2", "10.1.1.2"),
])
def test_best_path_ibgp_tie_broken_by_lowest_router_id(a_rid, b_rid, winner):
    net = _peer_topology(65010, (65010, a_rid, _originate(65010)), (65010, b_rid, _originate(65010)))
    paths = net.control_plane.bgp.paths["X"][parse_prefix("192.0.2.0/24")]
    assert len(paths) == 2
    assert int_to_ip(paths[0].next_hop) == winner


def test_best_path_higher_local_preference_wins():
    # A and B are iBGP peers of X that each learn 192.0.2.0/24 from their own eBGP neighbour.
    def edge(name: str, uplink: str, peer_ip: str) -> str:
        return f"""\
            interface GigabitEthernet0/1
             ip address {uplink} 255.255.255.252
            router bgp 65010
             neighbor {peer_ip} remote-as 65030
             neighbor {"10.1.1.1" if name == "A" else "10.1.2.1"} next-hop-self
            """

    def isp(name: str, address: str, peer: str) -> str:
        return textwrap.dedent(f"""\
            hostname {name}
            interface GigabitEthernet0/0
             ip address {address} 255.255.255.252
            ip route 192.0.2.0 255.255.255.0 Null0
            router bgp 65030
             network 192.0.2.0 mask 255.255.255.0
             neighbor {peer} remote-as 65010
            """)

    a_extra = edge("A", "10.1.3.1", "10.1.3.2") + " bgp default local-preference 200\n"
    net = _peer_topology(
        65010, (65010, "10.255.0.9", a_extra), (65010, "10.255.0.1", edge("B", "10.1.4.1", "10.1.4.2")),
        {"C": isp("C", "10.1.3.2", "10.1.3.1"), "D": isp("D", "10.1.4.2", "10.1.4.1")},
        [("A:Gi0/1", "C:Gi0/0"), ("B:Gi0/1", "D:Gi0/0")])
    best = bgp_best(net, "X", "192.0.2.0/24")
    assert best.local_pref == 200
    assert int_to_ip(best.next_hop) == "10.1.1.2"


@pytest.mark.parametrize("lp_on,winner", [("A", "10.1.1.2"), ("B", "10.1.2.2")])
def test_best_path_higher_local_preference_wins_for_originated_routes(lp_on, winner):
    # Without local-preference the lower router-id (B) would win the iBGP tie.
    extra = {name: _originate(65010) for name in "AB"}
    extra[lp_on] += " bgp default local-preference 300\n"
    net = _peer_topology(65010, (65010, "10.255.0.9", extra["A"]), (65010, "10.255.0.1", extra["B"]))
    best = bgp_best(net, "X", "192.0.2.0/24")
    assert best.local_pref == 300
    assert int_to_ip(best.next_hop) == winner


# --- administrative distance ------------------------------------------------------------------


def test_ebgp_distance_20_beats_ospf_110():
    x = """\
        hostname X
        interface GigabitEthernet0/0
         ip address 10.1.1.1 255.255.255.252
        router ospf 1
         network 10.1.1.0 0.0.0.3 area 0
        router bgp 65010
         neighbor 10.1.1.2 remote-as 65020
        """
    a = """\
        hostname A
        interface Loopback1
         ip address 192.0.2.1 255.255.255.255
        interface GigabitEthernet0/0
         ip address 10.1.1.2 255.255.255.252
        router ospf 1
         network 10.1.1.0 0.0.0.3 area 0
         network 192.0.2.1 0.0.0.0 area 0
        router bgp 65020
         network 192.0.2.1 mask 255.255.255.255
         neighbor 10.1.1.1 remote-as 65010
        """
    net = build({"X": x, "A": a}, [("X:Gi0/0", "A:Gi0/0")])
    r = route(net, "X", "192.0.2.1/32")
    assert (r.protocol, r.distance) == ("B", 20)
    # Take BGP away and OSPF's route is installed instead.
    apply_ok(net, "A", """
        router bgp 65020
         no network 192.0.2.1 mask 255.255.255.255
    """)
    r = route(net, "X", "192.0.2.1/32")
    assert (r.protocol, r.distance) == ("O", 110)


def test_ospf_110_beats_ibgp_200():
    net = small()
    # R3 has an iBGP path for R2's 10.0.1.0/24 but installs the OSPF route.
    assert bgp_best(net, "R3", "10.0.1.0/24") is not None
    r = route(net, "R3", "10.0.1.0/24")
    assert (r.protocol, r.distance) == ("O", 110)
