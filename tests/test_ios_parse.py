"""IOS config parsing, canonical rendering and config-mode context rules (twin_lab.ios)."""

from __future__ import annotations

import pytest

from twin_lab.addressing import ip_to_int
from twin_lab.ios import ConfigSession, DeviceConfig, apply_lines, parse_config, render_config
from twin_lab.ios.grammar import INCOMPLETE, INVALID
from twin_lab.network import Network
from twin_lab.topology import Topology, TopologyError, load_preset

# Every shipped preset plus generated ones of a few sizes (gen-N is a preset family).
PRESETS = ["small", "gen-2", "gen-30", "gen-120"]


def session(config: DeviceConfig | None = None) -> ConfigSession:
    return ConfigSession(config if config is not None else DeviceConfig())


def run(s: ConfigSession, *lines: str) -> list:
    """Apply lines, return the errors (None entries dropped)."""
    return [e for e in (s.apply(line) for line in lines) if e is not None]


def itf(config: DeviceConfig, name: str):
    return config.interfaces[name]


# --- round trip on every preset --------------------------------------------------------------


@pytest.mark.parametrize("preset", PRESETS)
def test_round_trip_is_stable_on_every_device_of_preset(preset):
    topo = load_preset(preset)
    for name, config in topo.configs.items():
        text = render_config(config)
        again, errors = parse_config(text)
        assert errors == [], f"{preset}/{name}: {errors}"
        assert render_config(again) == text, f"{preset}/{name} does not round-trip"


@pytest.mark.parametrize("preset", PRESETS)
def test_round_trip_preserves_simulated_state(preset):
    """A network rebuilt from its own rendered running-configs behaves identically."""
    topo = load_preset(preset)
    original = Network(topo)
    rebuilt = Network(topo)
    for name in rebuilt.device_names():
        assert rebuilt.replace_config(name, original.running_config(name)) == []
    for name in original.device_names():
        assert [(r.net, r.plen, r.protocol, r.metric) for r in original.routes(name)] == [
            (r.net, r.plen, r.protocol, r.metric) for r in rebuilt.routes(name)]


def test_small_preset_source_text_parses_to_canonical_render():
    topo = load_preset("small")
    for name, spec in topo.specs.items():
        config, errors = parse_config(spec.config)
        assert errors == []
        assert render_config(config) == render_config(topo.configs[name])


def test_render_shape_is_ios_running_config():
    text = render_config(load_preset("small").configs["R4"])
    lines = text.splitlines()
    assert lines[0] == "hostname R4"
    assert lines[-1] == "end"
    assert "interface GigabitEthernet0/1" in lines
    assert " ip access-group PROTECT-H2 out" in lines
    # IOS pads the action of named ACL entries to 7 columns and prints port names.
    assert " deny   tcp any host 10.0.4.10 eq telnet" in lines
    assert " permit ip any any" in lines
    # An interface with no address shows "no ip address".
    config, _ = parse_config("interface GigabitEthernet0/3\n description spare\n")
    assert " no ip address" in render_config(config).splitlines()


def test_secondary_addresses_render_before_primary_like_ios():
    config, errors = parse_config(
        "interface GigabitEthernet0/0\n"
        " ip address 10.0.0.1 255.255.255.0\n"
        " ip address 10.9.0.1 255.255.255.0 secondary\n")
    assert errors == []
    assert render_config(config).splitlines()[2:5] == [
        "interface GigabitEthernet0/0",
        " ip address 10.9.0.1 255.255.255.0 secondary",
        " ip address 10.0.0.1 255.255.255.0",
    ]


# --- abbreviations ---------------------------------------------------------------------------


def test_abbreviated_interface_and_commands():
    s = session()
    assert run(s, "int gi0/1", "ip add 10.1.1.1 255.255.255.0", "desc uplink to core", "shut") == []
    gi = itf(s.config, "GigabitEthernet0/1")
    assert gi.address == (ip_to_int("10.1.1.1"), 24)
    assert gi.description == "uplink to core"
    assert gi.shutdown is True
    assert s.mode == "config-if"
    assert run(s, "no shut") == []
    assert gi.shutdown is False


@pytest.mark.parametrize("typed,canonical", [
    ("interface gi0/2", "GigabitEthernet0/2"),
    ("interface Gig 0/2", "GigabitEthernet0/2"),
    ("interface GigabitEthernet 0/2", "GigabitEthernet0/2"),
    ("int fa0/0", "FastEthernet0/0"),
    ("int lo 5", "Loopback5"),
    ("int te1/0/1", "TenGigabitEthernet1/0/1"),
])
def test_interface_names_are_canonicalised(typed, canonical):
    s = session()
    assert run(s, typed) == []
    assert list(s.config.interfaces) == [canonical]
    assert s.mode == "config-if"


def test_abbreviated_router_ospf_and_bgp_commands():
    s = session()
    assert run(s, "router ospf 1", "router-id 9.9.9.9", "netw 10.0.0.0 0.0.0.255 ar 0",
               "passive-int gi0/1", "router bgp 65001", "neigh 10.0.0.2 remote-as 65002",
               "neigh 10.0.0.2 next-hop-s") == []
    ospf = s.config.ospf[1]
    assert ospf.router_id == ip_to_int("9.9.9.9")
    assert [(n.address, n.wildcard, n.area) for n in ospf.networks] == [(ip_to_int("10.0.0.0"), 255, 0)]
    assert ospf.is_passive("GigabitEthernet0/1")
    nbr = s.config.bgp.neighbors[ip_to_int("10.0.0.2")]
    assert nbr.remote_as == 65002 and nbr.next_hop_self


def test_acl_port_names_and_numbers_are_equivalent():
    a, errors_a = parse_config("ip access-list extended X\n permit tcp any any eq www\n")
    b, errors_b = parse_config("ip access-list extended X\n permit tcp any any eq 80\n")
    assert errors_a == errors_b == []
    assert render_config(a) == render_config(b)
    assert " permit tcp any any eq www" in render_config(a)


# --- no forms -------------------------------------------------------------------------------


def test_no_forms_undo_each_setting():
    config = load_preset("small").configs["R2"].clone()
    s = session(config)
    errors = run(
        s,
        "interface GigabitEthernet0/0",
        "no description",
        "no ip address",
        "shutdown",
        "router ospf 1",
        "no network 10.0.12.0 0.0.0.3 area 0",
        "no default-information originate",
        "router bgp 65001",
        "no neighbor 3.3.3.3 next-hop-self",
        "no network 10.0.4.0 mask 255.255.255.0",
        "no neighbor 10.0.25.2 remote-as 65002",
        "exit",
        "no ip route 0.0.0.0 0.0.0.0 10.0.25.2",
        "no hostname",
    )
    assert errors == []
    gi = itf(config, "GigabitEthernet0/0")
    assert gi.description is None and gi.address is None and gi.shutdown
    ospf = config.ospf[1]
    assert ip_to_int("10.0.12.0") not in [n.address for n in ospf.networks]
    assert not ospf.default_originate
    assert not config.bgp.neighbors[ip_to_int("3.3.3.3")].next_hop_self
    assert ip_to_int("10.0.25.2") not in config.bgp.neighbors
    assert [(n.network, n.plen) for n in config.bgp.networks] == [(ip_to_int("10.0.1.0"), 24)]
    assert config.static_routes == []
    assert config.hostname == "Router"
    text = render_config(config)
    assert "next-hop-self" not in text and "10.0.25.2" not in text and "ip route" not in text


def test_no_router_and_no_acl_remove_whole_sections():
    config = load_preset("small").configs["R4"].clone()
    assert run(session(config), "no router ospf 1", "no ip access-list extended PROTECT-H2") == []
    text = render_config(config)
    assert "router ospf" not in text
    assert "ip access-list" not in text
    # The interface still references the (now undefined) ACL, as IOS keeps it.
    assert " ip access-group PROTECT-H2 out" in text


def test_no_secondary_keeps_primary_but_no_primary_needs_exact_match():
    s = session()
    assert run(s, "interface gi0/0", "ip address 10.0.0.1 255.255.255.0",
               "ip address 10.9.0.1 255.255.255.0 secondary",
               "no ip address 10.9.0.1 255.255.255.0 secondary") == []
    gi = itf(s.config, "GigabitEthernet0/0")
    assert gi.address == (ip_to_int("10.0.0.1"), 24) and gi.secondary == []
    errors = run(s, "no ip address 10.0.0.99 255.255.255.0")
    assert len(errors) == 1
    assert gi.address == (ip_to_int("10.0.0.1"), 24)


def test_acl_entries_by_sequence_and_no_seq():
    s = session()
    assert run(s, "ip access-list extended T", "permit tcp any any eq 22", "deny udp any any",
               "15 permit icmp any any echo", "no 20") == []
    acl = s.config.acls["T"]
    assert [(e.seq, e.action, e.protocol) for e in acl.entries] == [(10, "permit", "tcp"), (15, "permit", "icmp")]
    assert s.mode == "config-ext-nacl"
    errors = run(s, "10 deny ip any any")
    assert [e.message for e in errors] == ["% Duplicate sequence number"]


def test_numbered_acls():
    s = session()
    assert run(s, "access-list 10 permit 10.0.0.0 0.0.0.255", "access-list 10 deny any",
               "access-list 110 deny tcp any host 10.0.0.1 eq 23", "access-list 110 permit ip any any") == []
    assert s.config.acls["10"].kind == "standard"
    assert s.config.acls["110"].kind == "extended"
    text = render_config(s.config)
    assert "access-list 10 permit 10.0.0.0 0.0.0.255" in text
    assert "access-list 110 deny tcp any host 10.0.0.1 eq telnet" in text
    assert run(s, "no access-list 10") == []
    assert "10" not in s.config.acls


# --- context popping, exit, end -----------------------------------------------------------------


def test_global_command_in_submode_leaves_submode():
    s = session()
    assert run(s, "interface gi0/0", "hostname EDGE") == []
    assert s.mode == "config"
    assert s.config.hostname == "EDGE"
    # "shutdown" is no longer aimed at the interface: it is invalid at global level.
    errors = run(s, "shutdown")
    assert len(errors) == 1 and errors[0].message == INVALID
    assert not itf(s.config, "GigabitEthernet0/0").shutdown


def test_submode_to_submode_switch():
    s = session()
    assert run(s, "interface gi0/0", "router ospf 1") == []
    assert s.mode == "config-router"
    assert run(s, "network 10.0.0.0 0.0.0.255 area 0") == []
    assert len(s.config.ospf[1].networks) == 1
    assert run(s, "ip access-list standard MGMT") == []
    assert s.mode == "config-std-nacl"
    assert run(s, "permit 192.168.0.0 0.0.0.255", "interface lo0") == []
    assert s.mode == "config-if"
    assert s.config.acls["MGMT"].entries[0].src == ip_to_int("192.168.0.0")
    assert "Loopback0" in s.config.interfaces


def test_exit_pops_one_level_and_end_leaves_config_mode():
    s = session()
    run(s, "interface gi0/0")
    assert run(s, "exit") == []
    assert s.mode == "config" and not s.ended
    assert run(s, "exit") == []
    assert s.ended
    s = session()
    run(s, "router bgp 65001")
    assert run(s, "end") == []
    assert s.ended and s.mode == "config"


def test_parse_stops_at_end():
    config, errors = parse_config("hostname A\nend\nhostname B\n")
    assert errors == []
    assert config.hostname == "A"


def test_apply_lines_returns_errors_with_line_numbers_instead_of_raising():
    config = DeviceConfig()
    errors = apply_lines(config, ["interface gi0/0", " ip address 10.0.0.1 255.255.255.0", " ip frobnicate",
                                  " description ok"])
    assert len(errors) == 1
    assert errors[0].lineno == 3
    assert errors[0].line == " ip frobnicate"
    assert errors[0].message == INVALID
    assert "line 3" in str(errors[0])
    # The line after the error still lands in the interface.
    assert itf(config, "GigabitEthernet0/0").description == "ok"


def test_indentation_does_not_hide_a_new_context():
    """A running-config line at column 0 after an interface block is read in the global context."""
    config, errors = parse_config(
        "interface GigabitEthernet0/0\n"
        " ip address 10.0.0.1 255.255.255.0\n"
        "router ospf 1\n"
        " network 10.0.0.0 0.0.0.255 area 0\n"
        "interface GigabitEthernet0/1\n"
        " shutdown\n")
    assert errors == []
    assert itf(config, "GigabitEthernet0/1").shutdown
    assert not itf(config, "GigabitEthernet0/0").shutdown


def test_ip_route_after_interface_block_is_a_static_route():
    text = (
        "hostname X\n"
        "interface GigabitEthernet0/0\n"
        " ip address 10.0.0.1 255.255.255.0\n"
        "ip route 0.0.0.0 0.0.0.0 10.0.0.2\n")
    config, errors = parse_config(text)
    assert errors == []
    assert [(r.network, r.plen, r.next_hop) for r in config.static_routes] == [(0, 0, ip_to_int("10.0.0.2"))]
    assert itf(config, "GigabitEthernet0/0").extra == []


def test_global_nat_rule_after_interface_block_is_global():
    config, errors = parse_config(
        "interface GigabitEthernet0/1\n"
        " ip address 203.0.113.2 255.255.255.252\n"
        " ip nat outside\n"
        "ip nat inside source list 1 interface GigabitEthernet0/1 overload\n")
    assert errors == []
    assert itf(config, "GigabitEthernet0/1").extra == ["ip nat outside"]
    assert "ip nat inside source list 1 interface GigabitEthernet0/1 overload" in [b.header for b in config.extra]


def test_dhcp_pool_and_ip_sla_blocks_survive_round_trip():
    text = (
        "hostname BR1\n"
        "ip dhcp excluded-address 192.168.1.1 192.168.1.10\n"
        "ip dhcp pool LAN\n"
        " network 192.168.1.0 255.255.255.0\n"
        " default-router 192.168.1.1\n"
        "ip sla 1\n"
        " icmp-echo 8.8.8.8 source-interface GigabitEthernet0/1\n"
        "ip sla schedule 1 life forever start-time now\n")
    config, errors = parse_config(text)
    assert errors == []
    rendered = render_config(config).splitlines()
    pool = rendered.index("ip dhcp pool LAN")
    assert rendered[pool + 1:pool + 3] == [" network 192.168.1.0 255.255.255.0", " default-router 192.168.1.1"]
    sla = rendered.index("ip sla 1")
    assert rendered[sla + 1] == " icmp-echo 8.8.8.8 source-interface GigabitEthernet0/1"
    again, errors = parse_config(render_config(config))
    assert errors == [] and render_config(again) == render_config(config)


def test_ip_route_typed_in_interface_mode_goes_global():
    s = session()
    assert run(s, "interface gi0/0", "ip address 10.0.0.1 255.255.255.0", "ip route 192.0.2.0 255.255.255.0 10.0.0.2") == []
    assert s.mode == "config"
    assert len(s.config.static_routes) == 1


def test_line_mode_commands_stay_in_line_block_when_typed_unindented():
    s = session()
    assert run(s, "line con 0", "logging synchronous", "exec-timeout 0 0") == []
    assert s.mode == "config-line"
    block = next(b for b in s.config.extra if b.header == "line con 0")
    assert block.children == ["logging synchronous", "exec-timeout 0 0"]


# --- IOS error messages and caret positions ----------------------------------------------------


@pytest.mark.parametrize("context,line,caret_word", [
    ([], "hostname R1 extra", "extra"),
    (["interface gi0/0"], "shutdown now", "now"),
    (["interface gi0/0"], " ip zzz 1", "zzz"),
    ([], "interface qq0/0", "qq0/0"),
    (["router ospf 1"], "network 10.0.0.0 0.0.0.255 area 0 junk", "junk"),
    ([], "ip route 10.0.0.0 255.255.255.0 10.0.0.1 xyz", "xyz"),
    ([], "zzz", "zzz"),
])
def test_invalid_input_caret_points_at_offending_word(context, line, caret_word):
    s = session()
    run(s, *context)
    error = s.apply(line)
    assert error is not None
    assert error.message == INVALID == "% Invalid input detected at '^' marker."
    assert error.line == line
    assert error.position == line.index(caret_word)


def test_bad_ip_address_caret_is_inside_the_bad_token():
    s = session()
    run(s, "interface gi0/0")
    line = "ip address 10.0.0.300 255.255.255.0"
    error = s.apply(line)
    assert error is not None and error.message == INVALID
    start = line.index("10.0.0.300")
    assert start <= error.position < start + len("10.0.0.300")
    assert itf(s.config, "GigabitEthernet0/0").address is None


@pytest.mark.parametrize("context,line", [
    (["interface gi0/0"], "ip address"),
    (["interface gi0/0"], "ip address 10.0.0.1"),
    ([], "ip route 10.0.0.0 255.255.255.0"),
    ([], "hostname"),
    ([], "router ospf"),
    (["router bgp 1"], "neighbor 10.0.0.1 remote-as"),
    ([], "no"),
])
def test_incomplete_command(context, line):
    s = session()
    run(s, *context)
    error = s.apply(line)
    assert error is not None
    assert error.message == INCOMPLETE == "% Incomplete command."


@pytest.mark.parametrize("context,line", [
    ([], "s"),
    (["interface gi0/0"], "s"),
    ([], "ip a"),
])
def test_ambiguous_command(context, line):
    s = session()
    run(s, *context)
    error = s.apply(line)
    assert error is not None
    assert error.message == f'% Ambiguous command:  "{line}"'


def test_semantic_errors_use_ios_wording():
    s = session()
    run(s, "interface gi0/0")
    bad_mask = s.apply("ip address 10.0.0.0 255.255.255.0")
    assert bad_mask is not None and bad_mask.message == "Bad mask /24 for address 10.0.0.0"
    secondary_first = s.apply("ip address 10.9.0.1 255.255.255.0 secondary")
    assert secondary_first is not None and "Primary" in secondary_first.message
    run(s, "router bgp 65001")
    no_remote_as = s.apply("neighbor 10.0.0.9 description x")
    assert no_remote_as is not None
    assert no_remote_as.message == "% Specify remote-as or peer-group commands first"
    run(s, "router ospf 1", "network 10.0.0.0 0.0.0.255 area 0")
    conflict = s.apply("network 10.0.0.0 0.0.0.255 area 5")
    assert conflict is not None and "already" in conflict.message
    assert [n.area for n in s.config.ospf[1].networks] == [0]


def test_second_bgp_as_is_rejected():
    s = session()
    run(s, "router bgp 65001", "exit")
    error = s.apply("router bgp 65002")
    assert error is not None and "already running" in error.message
    assert s.config.bgp.asn == 65001


def test_physical_interface_cannot_be_removed_but_loopback_can():
    s = session()
    run(s, "interface gi0/0", "exit", "interface lo1", "exit")
    assert s.apply("no interface gi0/0") is not None
    assert "GigabitEthernet0/0" in s.config.interfaces
    assert s.apply("no interface lo1") is None
    assert "Loopback1" not in s.config.interfaces


def test_errors_leave_config_untouched():
    config = load_preset("small").configs["R1"].clone()
    before = render_config(config)
    s = session(config)
    for line in ["interface gi0/0", "ip address 10.0.0.300 255.255.255.0", "mtu 99999", "bandwidth 0",
                 "ip ospf cost 70000", "router ospf 1", "network 10.0.0.0 0.0.0.256 area 0", "router-id 1.2.3"]:
        s.apply(line)
    assert render_config(config) == before


def test_topology_rejects_config_with_errors():
    yaml_text = (
        "devices:\n"
        "  A:\n"
        "    config: |\n"
        "      interface gi0/0\n"
        "       ip address 10.0.0.300 255.255.255.0\n")
    with pytest.raises(TopologyError) as info:
        Topology.from_yaml_text(yaml_text, source="bad.yaml")
    assert "bad.yaml" in str(info.value)
    assert "devices.A.config" in str(info.value)


# --- opaque lines ----------------------------------------------------------------------------


def test_opaque_blocks_and_globals_survive_round_trip():
    text = (
        "hostname EDGE\n"
        "service timestamps debug datetime msec\n"
        "logging buffered 16384\n"
        "no logging console\n"
        "ip domain-name lab.example\n"
        "interface GigabitEthernet0/0\n"
        " ip address 10.0.0.1 255.255.255.0\n"
        " duplex auto\n"
        " ip helper-address 10.9.9.9\n"
        "router ospf 1\n"
        " timers throttle spf 10 100 5000\n"
        " network 10.0.0.0 0.0.0.255 area 0\n"
        "line con 0\n"
        " exec-timeout 0 0\n"
        " logging synchronous\n"
        "line vty 0 4\n"
        " login local\n"
        " transport input ssh\n"
        "banner motd ^C\n"
        "Authorised access only\n"
        "^C\n")
    config, errors = parse_config(text)
    assert errors == []
    rendered = render_config(config)
    for expected in ["service timestamps debug datetime msec", "logging buffered 16384", "no logging console",
                     "ip domain-name lab.example", " duplex auto", " ip helper-address 10.9.9.9",
                     " timers throttle spf 10 100 5000", "line con 0", " exec-timeout 0 0",
                     " logging synchronous", "line vty 0 4", " login local", " transport input ssh",
                     "banner motd ^C", "Authorised access only"]:
        assert expected in rendered.splitlines(), expected
    # vty lines come after the routing sections, as in a real running-config.
    lines = rendered.splitlines()
    assert lines.index("line vty 0 4") > lines.index("router ospf 1")
    again, errors = parse_config(rendered)
    assert errors == []
    assert render_config(again) == rendered
    assert config.ospf[1].networks[0].area == 0  # the modelled part is still modelled


def test_opaque_block_mode_and_children():
    s = session()
    assert run(s, "line vty 0 4") == []
    assert s.mode == "config-line"
    assert run(s, " transport input ssh", "exit") == []
    assert s.mode == "config"
    block = next(b for b in s.config.extra if b.header == "line vty 0 4")
    assert block.children == ["transport input ssh"]


def test_single_line_banner():
    config, errors = parse_config("banner motd #No entry#\n")
    assert errors == []
    assert "banner motd #No entry#" in render_config(config).splitlines()


def test_opaque_global_no_form_removes_it():
    s = session()
    run(s, "logging buffered 4096")
    assert "logging buffered 4096" in render_config(s.config)
    run(s, "no logging buffered 4096")
    assert "logging buffered 4096" not in render_config(s.config)


def test_non_strict_session_keeps_unknown_commands():
    config, errors = parse_config("frobnicate everything\n", strict=False)
    assert errors == []
    assert "frobnicate everything" in render_config(config)
    config, errors = parse_config("frobnicate everything\n")
    assert len(errors) == 1 and errors[0].message == INVALID
