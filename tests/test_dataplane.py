"""Data plane: ping, traceroute, ACL drops with the rule that matched, loops, unreachables, matrix."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from twin_lab.acl import Packet, evaluate
from twin_lab.addressing import int_to_ip, ip_to_int
from twin_lab.dataplane import ping
from twin_lab.ios import parse_config
from twin_lab.network import Network, UnknownDevice
from twin_lab.topology import Topology, load_preset

SMALL = load_preset("small")
H1, H2, H3 = ip_to_int("10.0.1.10"), ip_to_int("10.0.4.10"), ip_to_int("203.0.113.10")


def small() -> Network:
    return Network(SMALL)


def apply_ok(net: Network, device: str, lines: str) -> None:
    errors = net.apply(device, textwrap.dedent(lines).strip().splitlines())
    assert errors == [], [str(e) for e in errors]


def nodes(trace) -> list[str]:
    return [h.node for h in trace.hops]


def tcp_ping(net: Network, source: str, dst: int, port: int):
    return ping(net.forwarder, source, dst, protocol="tcp", dport=port)


# --- ping and traceroute -----------------------------------------------------------------------


def test_host_to_host_ping_and_hop_list():
    net = small()
    result = net.ping("h1", H3)
    assert result.success and result.failure is None
    assert nodes(result.forward) == ["h1", "R1", "R2", "R5", "R6", "h3"]
    assert nodes(result.reverse) == ["h3", "R6", "R5", "R2", "R1", "h1"]
    assert result.src_ip == H1


def test_traceroute_hop_addresses_are_ingress_interfaces():
    net = small()
    trace = net.traceroute("h1", H2)
    assert trace.delivered and trace.end == "h2"
    assert [(h.node, h.ingress, h.egress) for h in trace.hops] == [
        ("h1", None, None),
        ("R1", "GigabitEthernet0/2", "GigabitEthernet0/1"),
        ("R3", "GigabitEthernet0/0", "GigabitEthernet0/2"),
        ("R4", "GigabitEthernet0/0", "GigabitEthernet0/1"),
        ("h2", None, None),
    ]
    assert [int_to_ip(h.address) for h in trace.hops] == ["10.0.1.10", "10.0.1.1", "10.0.13.2", "10.0.34.2",
                                                         "10.0.4.10"]
    as_dict = trace.to_dict()
    assert as_dict["delivered"] is True and as_dict["hops"][2]["address"] == "10.0.13.2"


def test_ping_from_router_sources_from_egress_interface():
    net = small()
    result = net.ping("R1", H2)
    assert result.success
    assert int_to_ip(result.src_ip) == "10.0.13.1"
    trace = net.traceroute("R1", H3)
    assert trace.delivered and nodes(trace) == ["R1", "R2", "R5", "R6", "h3"]
    # ... but the echo reply to 10.0.12.1 dies at R5: AS 65001 only advertises its LANs over BGP.
    to_h3 = net.ping("R1", H3)
    assert int_to_ip(to_h3.src_ip) == "10.0.12.1"
    assert to_h3.forward.delivered and not to_h3.success
    assert (to_h3.reverse.drop.node, to_h3.reverse.drop.reason) == ("R5", "no-route")
    # "ping 203.0.113.10 source GigabitEthernet0/2": the LAN address is advertised, so it works.
    assert net.ping("R1", H3, src_ip=ip_to_int("10.0.1.1")).success


def test_ping_to_router_interface_and_loopback():
    net = small()
    assert net.ping("h1", ip_to_int("4.4.4.4")).success
    result = net.ping("h1", ip_to_int("10.0.34.2"))
    assert result.success and result.forward.end == "R4"
    assert net.ping("h1", ip_to_int("10.0.1.1")).success  # the gateway itself


def test_ecmp_trace_is_deterministic():
    net = small()
    first = net.traceroute("R1", ip_to_int("10.0.23.1"))
    again = small().traceroute("R1", ip_to_int("10.0.23.1"))
    assert first.delivered and nodes(first) == nodes(again)


def test_ping_fails_when_reply_has_no_route():
    net = small()
    apply_ok(net, "R5", """
        router bgp 65002
         neighbor 10.0.25.1 remote-as 65009
    """)
    result = net.ping("h1", H3)
    # h1 -> h3 follows R2's static default, but R5 no longer knows the way back to 10.0.1.0/24.
    assert result.forward.delivered
    assert not result.success
    assert result.reverse.drop.reason == "no-route" and result.reverse.drop.node == "R5"
    assert result.failure.startswith("reply ")


# --- ACLs ------------------------------------------------------------------------------------


def test_deny_acl_stops_traffic_at_that_hop_and_names_the_rule():
    net = small()
    result = tcp_ping(net, "h1", H2, 23)
    assert not result.success
    drop = result.forward.drop
    assert (drop.node, drop.reason, drop.interface, drop.direction) == ("R4", "acl", "GigabitEthernet0/1", "out")
    assert drop.acl == "PROTECT-H2"
    assert drop.seq == 10
    assert drop.rule == "deny tcp any host 10.0.4.10 eq telnet"
    assert nodes(result.forward) == ["h1", "R1", "R3", "R4"]  # stopped at R4, h2 never sees it
    text = result.failure
    assert "PROTECT-H2" in text and "10" in text and "telnet" in text and "R4" in text
    # Other traffic to h2 passes the "permit ip any any" line.
    assert tcp_ping(net, "h1", H2, 22).success
    assert net.ping("h1", H2).success


def test_implicit_deny_at_end_of_acl():
    net = small()
    apply_ok(net, "R4", """
        ip access-list extended PROTECT-H2
         no 20
    """)
    result = net.ping("h1", H2)
    assert not result.success
    drop = result.forward.drop
    assert (drop.acl, drop.rule, drop.seq, drop.direction) == ("PROTECT-H2", None, None, "out")
    assert "implicit deny" in drop.describe()


def test_inbound_acl_drops_at_ingress_interface():
    net = small()
    apply_ok(net, "R4", """
        ip access-list extended NO-PING-FROM-H1
         deny   icmp host 10.0.1.10 any
         permit ip any any
        interface GigabitEthernet0/0
         ip access-group NO-PING-FROM-H1 in
    """)
    result = net.ping("h1", H2)
    drop = result.forward.drop
    assert (drop.node, drop.interface, drop.direction, drop.acl, drop.seq) == (
        "R4", "GigabitEthernet0/0", "in", "NO-PING-FROM-H1", 10)
    assert drop.rule == "deny icmp host 10.0.1.10 any"
    # Inbound ACLs also protect the router itself.
    assert not net.ping("h1", ip_to_int("4.4.4.4")).success
    # Traffic from elsewhere is unaffected.
    assert net.ping("h3", H2).success


def test_standard_acl_inbound_on_reply_path_breaks_round_trip():
    net = small()
    apply_ok(net, "R4", """
        ip access-list standard NOT-H2
         deny   host 10.0.4.10
         permit any
        interface GigabitEthernet0/1
         ip access-group NOT-H2 in
    """)
    result = net.ping("h1", H2)
    assert result.forward.delivered
    assert not result.success
    drop = result.reverse.drop
    assert (drop.node, drop.direction, drop.acl, drop.seq) == ("R4", "in", "NOT-H2", 10)
    assert "10.0.4.10" in drop.rule
    assert result.failure.startswith("reply denied by ACL NOT-H2")


def test_outbound_acl_does_not_filter_router_originated_traffic():
    net = small()
    apply_ok(net, "R4", """
        ip access-list extended NO-ICMP
         deny   icmp any any
         permit ip any any
        interface GigabitEthernet0/1
         ip access-group NO-ICMP out
    """)
    transit = net.ping("h1", H2)
    assert not transit.success
    assert (transit.forward.drop.acl, transit.forward.drop.direction) == ("NO-ICMP", "out")
    # R4's own ping leaves through the same interface and is not subject to its outbound ACL.
    assert net.ping("R4", H2).success


def test_acl_on_non_forwarding_interface_has_no_effect():
    net = small()
    apply_ok(net, "R4", """
        ip access-list extended DENY-ALL
         deny ip any any
        interface GigabitEthernet0/7
         ip access-group DENY-ALL in
         ip access-group DENY-ALL out
    """)
    assert net.ping("h1", H2).success


def test_undefined_acl_permits_everything():
    net = small()
    apply_ok(net, "R4", """
        interface GigabitEthernet0/1
         ip access-group DOES-NOT-EXIST in
        interface GigabitEthernet0/0
         ip access-group ALSO-MISSING out
    """)
    assert net.ping("h1", H2).success
    assert net.ping("h2", H3).success


def test_acl_first_match_wins_and_wildcards():
    config, errors = parse_config(textwrap.dedent("""\
        ip access-list extended T
         permit tcp 10.0.0.0 0.0.255.255 any eq www
         deny   tcp any any eq www
         permit udp any host 192.0.2.53 eq domain
         permit tcp any any range 1000 2000
         deny   ip any any
        """))
    assert errors == []
    acl = config.acls["T"]

    def verdict(src: str, dst: str, protocol: str, dport: int | None):
        permitted, entry = evaluate(acl, Packet(ip_to_int(src), ip_to_int(dst), protocol, 40000, dport, None))
        return permitted, entry.seq if entry else None

    assert verdict("10.0.77.1", "8.8.8.8", "tcp", 80) == (True, 10)
    assert verdict("10.1.0.1", "8.8.8.8", "tcp", 80) == (False, 20)
    assert verdict("10.1.0.1", "192.0.2.53", "udp", 53) == (True, 30)
    assert verdict("10.1.0.1", "192.0.2.54", "udp", 53) == (False, 50)
    assert verdict("10.1.0.1", "192.0.2.54", "tcp", 1500) == (True, 40)
    assert verdict("10.1.0.1", "192.0.2.54", "tcp", 2001) == (False, 50)
    assert verdict("10.1.0.1", "192.0.2.54", "tcp", 53) == (False, 50)  # udp rule does not match tcp


def test_acl_without_matching_entry_is_implicit_deny_and_empty_acl_denies():
    config, _ = parse_config("ip access-list extended E\n permit tcp any any eq 22\n")
    permitted, entry = evaluate(config.acls["E"], Packet(1, 2, "icmp"))
    assert (permitted, entry) == (False, None)
    permitted, entry = evaluate(None, Packet(1, 2, "icmp"))
    assert permitted and entry is None


def test_log_option_does_not_change_matching():
    config, errors = parse_config("ip access-list extended L\n deny   tcp any any eq 23 log\n permit ip any any log\n")
    assert errors == []
    acl = config.acls["L"]
    assert evaluate(acl, Packet(1, 2, "tcp", 40000, 23, None)) == (False, acl.entries[0])
    assert evaluate(acl, Packet(1, 2, "tcp", 40000, 22, None)) == (True, acl.entries[1])


def test_icmp_type_and_established_options():
    config, _ = parse_config(textwrap.dedent("""\
        ip access-list extended T
         permit icmp any any echo-reply
         permit tcp any any established
        """))
    acl = config.acls["T"]
    request = Packet(1, 2, "icmp", icmp_type="echo")
    assert not evaluate(acl, request)[0]
    assert evaluate(acl, request.reversed())[0]
    syn = Packet(1, 2, "tcp", 40000, 80, None)
    assert not evaluate(acl, syn)[0]
    assert evaluate(acl, syn.reversed())[0]


# --- loops and unreachables ------------------------------------------------------------------


def test_routing_loop_between_two_statics_is_detected():
    net = small()
    apply_ok(net, "R1", "ip route 192.0.2.0 255.255.255.0 10.0.12.2")
    apply_ok(net, "R2", "ip route 192.0.2.0 255.255.255.0 10.0.12.1")
    trace = net.traceroute("h1", ip_to_int("192.0.2.1"))
    assert not trace.delivered
    assert trace.drop.reason == "loop"
    assert nodes(trace)[:4] == ["h1", "R1", "R2", "R1"]
    assert trace.drop.node in ("R1", "R2")
    assert len(trace.hops) < 40
    assert not net.ping("h1", ip_to_int("192.0.2.1")).success


def test_no_route_drop_names_the_router():
    net = small()
    result = net.ping("h1", ip_to_int("192.0.2.1"))  # default to R2 -> R5, which has no route
    assert not result.success
    drop = result.forward.drop
    assert (drop.node, drop.reason) == ("R5", "no-route")
    assert nodes(result.forward) == ["h1", "R1", "R2", "R5"]
    assert "R5" in result.failure


def test_null0_route_discards():
    net = small()
    apply_ok(net, "R1", "ip route 192.0.2.0 255.255.255.0 Null0")
    trace = net.traceroute("h1", ip_to_int("192.0.2.1"))
    assert (trace.drop.reason, trace.drop.node) == ("null", "R1")


def test_unanswered_address_on_connected_subnet():
    net = small()
    result = net.ping("R1", ip_to_int("10.0.1.99"))  # nobody owns it on the h1 LAN
    assert not result.success
    assert result.forward.drop.reason == "unreachable"


def test_host_with_link_down_cannot_send():
    net = small()
    apply_ok(net, "R1", """
        interface GigabitEthernet0/2
         shutdown
    """)
    result = net.ping("h1", H3)
    assert not result.success
    assert result.forward.drop.reason == "down"
    assert nodes(result.forward) == ["h1"]


def test_host_with_wrong_gateway_cannot_leave_its_subnet():
    net = small()
    apply_ok(net, "R4", """
        interface GigabitEthernet0/1
         ip address 10.0.4.2 255.255.255.0
    """)
    out = net.ping("h2", H1)
    assert not out.success
    assert (out.forward.drop.node, out.forward.drop.reason) == ("h2", "unreachable")
    # Traffic to h2 still arrives (R4 is on the subnet), but h2's reply has no gateway.
    back = net.ping("h1", H2)
    assert back.forward.delivered and not back.success
    assert back.reverse.drop.node == "h2"


def test_link_down_reroutes_traffic():
    net = small()
    net.set_link("R1", "GigabitEthernet0/1", up=False)
    trace = net.traceroute("h1", H2)
    assert trace.delivered
    assert nodes(trace) == ["h1", "R1", "R2", "R3", "R4", "h2"]


def test_unknown_node_raises():
    with pytest.raises(UnknownDevice):
        small().ping("nope", H1)


# --- reachability matrix ---------------------------------------------------------------------


def test_reachability_matrix_covers_every_ordered_pair():
    net = small()
    matrix = net.reachability()
    labels = [label for label, _node, _ip in net.endpoints()]
    assert {"h1", "h2", "h3", "R1:Loopback0", "R6:Loopback0"} <= set(labels)
    assert set(matrix) == {(a, b) for a in labels for b in labels if a != b}
    for a in ("h1", "h2", "h3"):
        for b in ("h1", "h2", "h3"):
            if a != b:
                assert matrix[(a, b)], (a, b)
    # AS 65002 does not advertise its loopbacks: R1's loopback cannot reach R6's.
    assert not matrix[("R1:Loopback0", "R6:Loopback0")]
    assert matrix[("R1:Loopback0", "R4:Loopback0")]


def test_reachability_changes_with_the_network_and_not_across_forks():
    net = small()
    before = net.reachability()
    broken = net.fork()
    apply_ok(broken, "R4", """
        interface GigabitEthernet0/0
         shutdown
    """)
    after = broken.reachability()
    assert not after[("h1", "h2")] and not after[("h3", "h2")]
    assert after[("h1", "h3")]
    assert net.reachability() == before
    assert before[("h1", "h2")]


def test_inline_topology_with_two_hosts_on_one_router():
    spec = {
        "name": "lan",
        "devices": {"R": {"config": textwrap.dedent("""\
            interface GigabitEthernet0/0
             ip address 192.168.1.1 255.255.255.0
            interface GigabitEthernet0/1
             ip address 192.168.2.1 255.255.255.0
            ip access-list extended WEB-ONLY
             permit tcp any host 192.168.2.10 eq www
            interface GigabitEthernet0/1
             ip access-group WEB-ONLY out
            """)}},
        "links": [],
        "hosts": {"a": {"ip": "192.168.1.10/24", "gateway": "192.168.1.1", "attach": "R:Gi0/0"},
                  "b": {"ip": "192.168.2.10/24", "gateway": "192.168.2.1", "attach": "R:Gi0/1"}},
    }
    net = Network(Topology.from_yaml_text(yaml.safe_dump(spec)))
    b = ip_to_int("192.168.2.10")
    assert tcp_ping(net, "a", b, 80).success
    icmp = net.ping("a", b)
    assert not icmp.success
    assert (icmp.forward.drop.acl, icmp.forward.drop.rule) == ("WEB-ONLY", None)  # implicit deny
    # b -> a gets there, but a's echo-reply leaves through Gi0/1 and meets the implicit deny.
    back = net.ping("b", ip_to_int("192.168.1.10"))
    assert back.forward.delivered and not back.success
    assert back.reverse.drop.acl == "WEB-ONLY"
