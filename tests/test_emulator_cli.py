"""The emulator's IOS CLI driven directly (no SSH): framing, modes, errors, pipes, flash, archive."""

from __future__ import annotations

import hashlib

import pytest

from twin_lab.emulator.configs import contextual_diff, display_config, incremental_commands
from twin_lab.emulator.device import Credentials, LabState
from twin_lab.emulator.exec_commands import build_commands
from twin_lab.emulator.pipes import apply_pipe, split_pipe
from twin_lab.emulator.shell import Shell
from twin_lab.ios.grammar import CommandError
from twin_lab.network import Network
from twin_lab.topology import load_preset

COMMANDS = build_commands()


class Term:
    """A fake terminal: feed text, collect what the device writes."""

    def __init__(self, lab: LabState, device: str = "R1"):
        self.lab = lab
        self.chunks: list[str] = []
        self.closed = False
        self.shell = Shell(lab, device, COMMANDS, username="admin", write=self.chunks.append, close=self._close)
        self.shell.start()
        self.chunks.clear()

    def _close(self) -> None:
        self.closed = True

    def send(self, text: str) -> str:
        self.chunks.clear()
        self.shell.feed(text)
        return "".join(self.chunks)

    def cmd(self, line: str) -> str:
        """Output of one command: between the echo line and the trailing prompt, with \\n endings."""
        raw = self.send(line + "\n").replace("\r\n", "\n")
        echo, _, rest = raw.partition("\n")
        assert echo == line
        prompt = self.shell.prompt()
        assert rest.endswith(prompt), rest
        return rest[: len(rest) - len(prompt)]


@pytest.fixture
def lab() -> LabState:
    return LabState(Network(load_preset("small")), Credentials("admin", "admin", "s3cret"))


@pytest.fixture
def term(lab: LabState) -> Term:
    return Term(lab)


# --- framing and modes ---------------------------------------------------------------------------

def test_login_starts_privileged_with_prompt(lab: LabState) -> None:
    chunks: list[str] = []
    Shell(lab, "R1", COMMANDS, username="admin", write=chunks.append, close=lambda: None).start()
    assert "".join(chunks) == "\r\nR1#"


def test_line_endings_nul_and_echo_on_processing(term: Term) -> None:
    assert term.send("terminal length 0") == ""  # nothing until the line is complete
    assert term.send("\r") == "terminal length 0\r\nR1#"
    assert term.send("\nterm width 511\r\n") == "term width 511\r\nR1#"  # the \n after \r is swallowed
    assert term.send("\x00\n") == "\r\nR1#"
    out = term.send("show clock\nshow privilege\r")
    assert out.count("R1#") == 2 and "Current privilege level is 15" in out


def test_enable_disable_and_secret(term: Term) -> None:
    assert term.cmd("disable") == ""
    assert term.shell.prompt() == "R1>"
    out = term.send("configure terminal\n")
    assert "% Invalid input detected at '^' marker." in out  # not visible in user exec
    assert term.send("enable\n").endswith("Password: ")
    assert term.send("wrong\n").endswith("Password: ")  # asked again, password not echoed
    assert term.send("s3cret\n") == "\r\nR1#"
    assert term.shell.level == 15


def test_enable_gives_up_after_three_tries(term: Term) -> None:
    term.cmd("disable")
    term.send("enable\n")
    term.send("a\n")
    term.send("b\n")
    assert "% Bad secrets" in term.send("c\n")
    assert term.shell.prompt() == "R1>"


def test_config_mode_prompts_and_end(term: Term) -> None:
    out = term.send("conf t\n")
    assert "Enter configuration commands, one per line.  End with CNTL/Z." in out
    assert out.endswith("R1(config)#")
    assert term.send("interface Loopback5\n").endswith("R1(config-if)#")
    assert term.send("router ospf 1\n").endswith("R1(config-router)#")
    assert term.send("ip access-list extended BLOCK\n").endswith("R1(config-ext-nacl)#")
    assert term.send("ip access-list standard STD\n").endswith("R1(config-std-nacl)#")
    assert term.send("line vty 0 4\n").endswith("R1(config-line)#")
    assert term.send("exit\n").endswith("R1(config)#")
    assert term.send("end\n").endswith("\r\nR1#")


def test_ctrl_z_leaves_config_mode(term: Term) -> None:
    term.send("configure terminal\ninterface Loopback5\n")
    assert term.send("\x1a").endswith("R1#")


def test_hostname_change_updates_prompt(term: Term) -> None:
    out = term.send("configure terminal\nhostname EDGE1\n")
    assert out.endswith("EDGE1(config)#")


def test_do_in_config_mode(term: Term) -> None:
    term.send("configure terminal\n")
    out = term.cmd("do show clock")
    assert "UTC" in out
    out = term.cmd("do show foo")
    # caret under "foo": prompt "R1(config)#" (11) + "do show " (8)
    assert out.splitlines()[0] == " " * 19 + "^"


def test_config_error_has_caret_under_token(term: Term) -> None:
    term.send("configure terminal\ninterface Loopback5\n")
    out = term.cmd(" ip address 1.2.3.4 255.255.255.0 bogus")
    caret = out.splitlines()[0]
    assert caret.index("^") == len("R1(config-if)#") + len(" ip address 1.2.3.4 255.255.255.0 ")
    assert "% Invalid input detected at '^' marker." in out


def test_exec_errors_as_ios_prints_them(term: Term) -> None:
    out = term.cmd("show foo")
    assert out == " " * len("R1#show ") + "^\n% Invalid input detected at '^' marker.\n\n"
    assert term.cmd("show ip") == "% Incomplete command.\n\n"
    assert term.cmd("c") == '% Ambiguous command:  "c"\n'
    assert "% Unknown command or computer name" in term.cmd("foo")


def test_abbreviations(term: Term) -> None:
    assert "Interface" in term.cmd("sh ip int br")
    assert "Building configuration..." in term.cmd("sh run")
    assert "[OK]" in term.cmd("wr")
    assert "Cisco IOS Software" in term.cmd("sh ver")


def test_exit_closes_session(term: Term) -> None:
    term.send("exit\n")
    assert term.closed


# --- show framework ------------------------------------------------------------------------------

def test_show_running_config_header_and_defaults(term: Term) -> None:
    out = term.cmd("show running-config")
    lines = out.splitlines()
    assert lines[0] == "Building configuration..."
    assert lines[2].startswith("Current configuration : ")
    body = out.split("\n", 3)[3]
    assert lines[2] == f"Current configuration : {len(body)} bytes"
    assert "! Last configuration change at" in out
    assert "version 15.9" in out and "ip scp server enable" in out
    assert out.rstrip().endswith("end")


def test_show_version_parses_with_ntc_templates(term: Term) -> None:
    from ntc_templates.parse import parse_output

    out = term.cmd("show version")
    parsed = parse_output(platform="cisco_ios", command="show version", data=out)[0]
    assert parsed["hostname"] == "R1"
    assert parsed["version"] == "15.9(3)M6"
    assert parsed["hardware"] == ["IOSv"]
    assert parsed["serial"] and parsed["uptime"]


def test_show_ip_interface_brief_parses(term: Term) -> None:
    from ntc_templates.parse import parse_output

    rows = parse_output(platform="cisco_ios", command="show ip interface brief", data=term.cmd("show ip int brief"))
    by_name = {r["interface"]: r for r in rows}
    assert by_name["GigabitEthernet0/0"]["ip_address"] == "10.0.12.1"
    assert by_name["GigabitEthernet0/0"]["status"] == "up"
    assert by_name["GigabitEthernet0/7"]["status"] == "down"


def test_show_clock_parses(term: Term) -> None:
    from ntc_templates.parse import parse_output

    assert parse_output(platform="cisco_ios", command="show clock", data=term.cmd("show clock"))


# --- pipes ---------------------------------------------------------------------------------------

SAMPLE = "interface Gi0/0\n ip address 10.0.0.1 255.255.255.0\n shutdown\ninterface Gi0/1\n description x\nrouter ospf 1\n"


def test_pipe_filters() -> None:
    def run(line: str) -> str:
        _command, pipe = split_pipe(line)
        assert pipe is not None
        return apply_pipe(SAMPLE, pipe)

    assert run("show run | include interface") == "interface Gi0/0\ninterface Gi0/1\n"
    assert run("show run | i Gi0/1|ospf") == "interface Gi0/1\nrouter ospf 1\n"
    assert run("show run | exclude ^ [a-z]") == "interface Gi0/0\ninterface Gi0/1\nrouter ospf 1\n"
    assert run("show run | begin Gi0/1") == "interface Gi0/1\n description x\nrouter ospf 1\n"
    assert run("show run | section ip address") == "interface Gi0/0\n ip address 10.0.0.1 255.255.255.0\n"
    assert run("show run | sec Gi0/1") == "interface Gi0/1\n description x\n"
    assert run("show run | count interface") == "Number of lines which match regexp = 2\n"
    assert run("show run | inc ^router_") == "router ospf 1\n"


def test_pipe_errors() -> None:
    with pytest.raises(CommandError) as err:
        split_pipe("show run | foo x")
    assert err.value.position == len("show run | ")
    with pytest.raises(CommandError):
        split_pipe("show run | include")


def test_pipe_through_shell(term: Term) -> None:
    assert term.cmd("show running-config | include ^hostname") == "hostname R1\n"
    out = term.cmd("copy running-config flash:x | include y")
    assert "% Invalid input detected" in out


# --- flash and file commands ---------------------------------------------------------------------

def test_copy_prompts_without_file_prompt_quiet(term: Term) -> None:
    out = term.send("copy running-config flash:/backup.txt\n")
    assert out.endswith("Destination filename [backup.txt]? ")
    out = term.send("\n")
    assert "bytes copied in" in out and out.endswith("R1#")
    assert term.lab.device("R1").flash.exists("backup.txt")


def test_flash_dir_verify_delete(term: Term) -> None:
    term.send("configure terminal\nfile prompt quiet\nend\n")
    assert "bytes copied" in term.cmd("copy running-config flash:/rollback_config.txt")
    data = term.lab.device("R1").flash.read("rollback_config.txt")
    listing = term.cmd("dir flash:/rollback_config.txt")
    assert listing.startswith("Directory of flash:/rollback_config.txt\n")
    assert f"  {len(data)}  " in listing and "bytes free)" in listing
    md5 = hashlib.md5(data).hexdigest()
    assert f"verify /md5 (flash:/rollback_config.txt) = {md5}" in term.cmd("verify /md5 flash:/rollback_config.txt")
    assert term.cmd("copy null: flash:/merge_config.txt").startswith("0 bytes copied")
    assert term.lab.device("R1").flash.read("merge_config.txt") == b""
    assert term.cmd("delete flash:/merge_config.txt") == ""
    assert "Error opening flash:/merge_config.txt" in term.cmd("dir flash:/merge_config.txt")
    assert "No such file" in term.cmd("more flash:/nothing.txt")


def test_delete_confirms_without_quiet(term: Term) -> None:
    term.lab.device("R1").flash.write("a.txt", b"x")
    assert term.send("delete flash:a.txt\n").endswith("Delete filename [a.txt]? ")
    assert term.send("\n").endswith("Delete flash:/a.txt? [confirm]")
    assert term.send("\n").endswith("R1#")
    assert not term.lab.device("R1").flash.exists("a.txt")


def test_copy_file_to_running_config_merges_and_reports_errors(term: Term) -> None:
    state = term.lab.device("R1")
    state.flash.write("merge.txt", b"interface Loopback8\n ip address 8.8.8.8 255.255.255.255\nfoo bar\nend\n")
    term.send("configure terminal\nfile prompt quiet\nend\n")
    out = term.cmd("copy flash:merge.txt running-config")
    assert "foo bar\n^\n% Invalid input detected at '^' marker." in out
    assert "bytes copied" in out
    assert "interface Loopback8" in term.lab.network.running_config("R1")


def test_write_memory_and_startup(term: Term) -> None:
    term.send("configure terminal\ninterface Loopback6\nend\n")
    assert "Loopback6" not in term.cmd("show startup-config")
    assert term.cmd("write memory") == "Building configuration...\n[OK]\n"
    startup = term.cmd("show startup-config")
    assert startup.startswith("Using ") and "interface Loopback6" in startup


def test_show_archive_and_rollback_timer(term: Term) -> None:
    assert term.cmd("show archive") == "Archive feature not enabled\n"
    term.send("configure terminal\narchive\n path flash:archive\nend\n")
    assert "The maximum archive configurations allowed is 10." in term.cmd("show archive")
    assert "No Rollback Confirmed Change pending" in term.cmd("show archive config rollback timer")


def test_incremental_diffs_and_differences(term: Term) -> None:
    flash = term.lab.device("R1").flash
    flash.write("merge_config.txt", b"interface Loopback9\n ip address 9.9.9.9 255.255.255.255\n")
    out = term.cmd("show archive config incremental-diffs flash:/merge_config.txt ignorecase")
    assert out == "!List of Commands:\ninterface Loopback9\n ip address 9.9.9.9 255.255.255.255\nend\n"
    flash.write("same.txt", b"interface Loopback0\n ip address 1.1.1.1 255.255.255.255\n")
    assert "No changes were found" in term.cmd("show archive config incremental-diffs flash:same.txt")
    flash.write("bad.txt", b"interface Loopback9\n ip adress 9.9.9.9 255.255.255.255\n")
    assert "% Invalid" in term.cmd("show archive config incremental-diffs flash:bad.txt")
    running = term.lab.running_display("R1", stamp=False)
    flash.write("cand.txt", running.replace("description to R2", "description new").encode())
    diff = term.cmd("show archive config differences system:running-config flash:cand.txt")
    assert diff.splitlines() == ["!Contextual Config Diffs:", "interface GigabitEthernet0/0",
                                 " -description to R2", " +description new"]
    flash.write("same_run.txt", running.encode())
    assert "No changes were found" in term.cmd("show archive config differences system:running-config flash:same_run.txt")


def test_configure_replace(term: Term) -> None:
    flash = term.lab.device("R1").flash
    running = term.lab.running_display("R1")
    flash.write("cand.txt", running.replace("description to R3", "description replaced").encode())
    assert term.send("configure replace flash:cand.txt\n").endswith("[no]: ")
    assert "Rollback Done" in term.send("y\n")
    assert "description replaced" in term.lab.network.running_config("R1")
    flash.write("broken.txt", b"hostname R1\ninterface Loopback1\n ip address 1.2.3\n")
    out = term.cmd("configure replace flash:broken.txt force revert trigger error")
    assert "The original configuration has been successfully restored" in out
    assert "description replaced" in term.lab.network.running_config("R1")
    assert "Error opening" in term.cmd("configure replace flash:none.txt force")


# --- config text helpers -------------------------------------------------------------------------

def test_display_config_is_stable_through_round_trip(lab: LabState) -> None:
    body = lab.network.running_config("R1")
    shown = display_config(body)
    assert lab.network.replace_config("R1", shown) == []
    assert display_config(lab.network.running_config("R1")) == display_config(lab.network.running_config("R1"))
    assert contextual_diff(shown, display_config(lab.network.running_config("R1"))) == []


def test_incremental_commands_lists_removals_as_no() -> None:
    before = "interface Gi0/0\n description a\n shutdown\nip route 0.0.0.0 0.0.0.0 1.1.1.1\n"
    after = "interface Gi0/0\n description b\n shutdown\n"
    assert incremental_commands(before, after) == [
        "interface Gi0/0", " description b", " no description a", "no ip route 0.0.0.0 0.0.0.0 1.1.1.1"]


# --- routing views (rendered from simulator state) ------------------------------------------------

def test_routing_views_parse_with_ntc_templates(lab: LabState) -> None:
    from ntc_templates.parse import parse_output

    term = Term(lab, "R2")
    routes = parse_output(platform="cisco_ios", command="show ip route", data=term.cmd("show ip route"))
    by_prefix = {(r["network"], r["prefix_length"]): r for r in routes}
    assert by_prefix[("0.0.0.0", "0")]["nexthop_ip"] == "10.0.25.2"
    assert by_prefix[("10.0.1.0", "24")]["protocol"] == "O"
    neighbors = parse_output(platform="cisco_ios", command="show ip ospf neighbor", data=term.cmd("sh ip ospf nei"))
    assert {n["neighbor_id"] for n in neighbors} == {"1.1.1.1", "3.3.3.3"}
    bgp = parse_output(platform="cisco_ios", command="show ip bgp summary", data=term.cmd("sh ip bgp sum"))
    assert {(b["bgp_neighbor"], b["state_or_prefixes_received"]) for b in bgp} == {("3.3.3.3", "0"), ("10.0.25.2", "2")}


def test_ping_and_traceroute(lab: LabState) -> None:
    term = Term(lab, "R2")
    assert "Success rate is 100 percent (5/5)" in term.cmd("ping 10.0.4.1")
    assert "Success rate is 0 percent (0/5)" in term.cmd("ping 99.9.9.9 source Loopback0")
    assert "% Invalid source address" in term.cmd("ping 1.1.1.1 source 9.9.9.9")
    trace = term.cmd("traceroute 6.6.6.6")
    assert "  1 10.0.25.2 " in trace and "  2 10.1.56.2 " in trace


# --- interface, neighbour and protocol views (layouts ntc-templates and NAPALM parse) -------------

def _parse(command: str, text: str) -> list[dict]:
    from ntc_templates.parse import parse_output

    return parse_output(platform="cisco_ios", command=command, data=text)


def test_show_interfaces_matches_topology(lab: LabState) -> None:
    from twin_lab.network import mac_address

    term = Term(lab, "R2")
    rows = {r["interface"]: r for r in _parse("show interfaces", term.cmd("show interfaces"))}
    assert set(rows) == set(lab.network.interfaces("R2"))
    gi0 = rows["GigabitEthernet0/0"]
    assert (gi0["link_status"], gi0["protocol_status"]) == ("up", "up")
    assert gi0["ip_address"] == "10.0.12.2" and gi0["prefix_length"] == "30"
    assert gi0["description"] == "to R1" and gi0["mac_address"] == mac_address("R2", "GigabitEthernet0/0")
    assert gi0["bandwidth"] == "1000000 Kbit" and gi0["mtu"] == "1500" and int(gi0["input_packets"]) > 0
    assert rows["GigabitEthernet0/7"]["link_status"] == "down"  # the OOB port has no cable in the lab
    assert rows["Loopback0"]["hardware_type"] == "Loopback" and rows["Loopback0"]["mtu"] == "1514"
    one = term.cmd("show interfaces gi 0/2")
    assert one.startswith("GigabitEthernet0/2 is up, line protocol is up") and one.count(" line protocol ") == 1
    assert "% Invalid input" in term.cmd("show interfaces Gi0/9")
    term.send("configure terminal\ninterface Gi0/1\nshutdown\nend\n")
    row = _parse("show interfaces", term.cmd("show interfaces Gi0/1"))[0]
    assert (row["link_status"], row["protocol_status"]) == ("administratively down", "down")


def test_show_ip_interface_and_ipv6(lab: LabState) -> None:
    term = Term(lab, "R4")
    rows = {r["interface"]: r for r in _parse("show ip interface", term.cmd("show ip interface"))}
    assert rows["GigabitEthernet0/1"]["ip_address"] == ["10.0.4.1"]
    assert rows["GigabitEthernet0/1"]["outgoing_acl"] == "PROTECT-H2"
    assert rows["Loopback0"]["prefix_length"] == ["32"]
    assert term.cmd("show ip interface Gi0/0").startswith("GigabitEthernet0/0 is up, line protocol is up\n")
    assert term.cmd("show ipv6 interface") == ""  # IPv4-only lab: IOS prints nothing


def test_show_access_lists_parses(lab: LabState) -> None:
    term = Term(lab, "R4")
    out = term.cmd("show access-lists")
    assert out.splitlines() == ["Extended IP access list PROTECT-H2",
                                "    10 deny tcp any host 10.0.4.10 eq telnet", "    20 permit ip any any"]
    rows = _parse("show access-lists", out)
    assert [(r["name"], r["sn"], r["action"], r["protocol"]) for r in rows] == [
        ("PROTECT-H2", "10", "deny", "tcp"), ("PROTECT-H2", "20", "permit", "ip")]
    term.send("configure terminal\naccess-list 10 permit 10.0.0.0 0.0.0.255\naccess-list 10 deny any\nend\n")
    out = term.cmd("show ip access-lists 10")
    assert out.splitlines() == ["Standard IP access list 10", "    10 permit 10.0.0.0, wildcard bits 0.0.0.255",
                                "    20 deny any"]
    assert term.cmd("show access-lists NOPE") == ""


def test_show_lldp_neighbors_detail_matches_links(lab: LabState) -> None:
    term = Term(lab, "R3")
    rows = _parse("show lldp neighbors detail", term.cmd("show lldp neighbors detail"))
    seen = {(r["local_interface"], r["neighbor_name"], r["neighbor_port_id"]) for r in rows}
    assert seen == {("Gi0/0", "R1", "Gi0/1"), ("Gi0/1", "R2", "Gi0/1"), ("Gi0/2", "R4", "Gi0/0")}
    by_name = {r["neighbor_name"]: r for r in rows}
    assert by_name["R4"]["mgmt_address"] == "10.0.34.2" and by_name["R4"]["neighbor_interface"] == "to R3"
    brief = _parse("show lldp neighbors", term.cmd("show lldp neighbors"))
    assert {r["neighbor_name"] for r in brief} == {"R1", "R2", "R4"}
    assert "Total entries displayed: 1" in term.cmd("show lldp neighbors Gi0/2 detail")


def test_show_arp_and_ospf_interface_brief(lab: LabState) -> None:
    term = Term(lab, "R1")
    arp = {r["address"]: r for r in _parse("show arp", term.cmd("show arp"))}
    assert arp["10.0.12.2"]["interface"] == "GigabitEthernet0/0" and arp["10.0.12.1"]["age_min"] == "-"
    assert "10.0.1.10" in arp  # host h1 on the LAN
    brief = {r["interface"]: r for r in _parse("show ip ospf interface brief", term.cmd("show ip ospf interface brief"))}
    assert brief["Gi0/0"]["neighbors_fc"] == "1/1" and brief["Lo0"]["state"] == "LOOP"
    assert brief["Gi0/2"]["neighbors_fc"] == "0/0"  # passive LAN


def test_bgp_views(lab: LabState) -> None:
    term = Term(lab, "R2")
    table = _parse("show ip bgp", term.cmd("show ip bgp"))
    assert {(r["network"], r["next_hop"], r["as_path"]) for r in table} == {
        ("10.0.1.0/24", "10.0.12.1", ""), ("10.0.4.0/24", "10.0.23.2", ""),
        ("198.51.100.0", "10.0.25.2", "65002"), ("203.0.113.0", "10.0.25.2", "65002")}
    neighbors = {r["neighbor"]: r for r in _parse("show ip bgp neighbors", term.cmd("show ip bgp neighbors"))}
    assert neighbors["10.0.25.2"]["remote_router_id"] == "5.5.5.5"
    assert neighbors["3.3.3.3"]["bgp_state"] == "Established" and neighbors["3.3.3.3"]["localhost_ip"] == "2.2.2.2"
    summary = term.cmd("show bgp all summary")
    assert summary.startswith("For address family: IPv4 Unicast\nBGP router identifier 2.2.2.2, local AS number 65001")
    detail = term.cmd("show ip bgp 198.51.100.0/24")
    assert "  65002\n    10.0.25.2 from 10.0.25.2 (5.5.5.5)" in detail and "localpref 100, valid, external, best" in detail
    assert term.cmd("show bgp ipv6 unicast neighbors") == ""
    assert Term(lab, "R1").cmd("show ip bgp summary") == "% BGP not active\n"
    protocols = term.cmd("show ip protocols | include bgp")
    assert 'Routing Protocol is "bgp 65001"' in protocols


def test_route_detail_views(lab: LabState) -> None:
    term = Term(lab, "R2")
    ospf = term.cmd("show ip route 10.0.4.10")
    assert ospf.startswith("Routing entry for 10.0.4.0/24\n")
    assert 'Known via "ospf 1", distance 110, metric 3, type inter area' in ospf
    assert "  * 10.0.23.2, from 3.3.3.3, " in ospf and "via GigabitEthernet0/1" in ospf
    bgp = term.cmd("show ip route 198.51.100.0 255.255.255.0")
    assert 'Known via "bgp 65001", distance 20' in bgp and "  * 10.0.25.2, from 10.0.25.2," in bgp
    assert "Routing entry for 0.0.0.0/0, supernet" in term.cmd("show ip route 0.0.0.0 0.0.0.0")
    assert term.cmd("show ip route 10.0.4.0 255.255.0.0") == "% Subnet not in table\n"
    local = term.cmd("show ip route 10.0.12.2")
    assert local.startswith("Routing entry for 10.0.12.2/32") and "metric 0 (connected)" in local
    assert Term(lab, "R5").cmd("show ip route 99.9.9.9") == "% Network not in table\n"
    connected = term.cmd("show ip route connected")
    assert "C        10.0.12.0/30 is directly connected" in connected and "\nO " not in connected
    assert "Gateway of last resort is 10.0.25.2 to network 0.0.0.0" in connected


def test_traceroute_accepts_napalm_options(lab: LabState) -> None:
    term = Term(lab, "R2")
    trace = term.cmd("traceroute 6.6.6.6 ttl 0 255 timeout 2")
    assert "  1 10.0.25.2 " in trace and "  2 10.1.56.2 " in trace
    assert "% Invalid input" in term.cmd("traceroute 6.6.6.6 ttl 0 999")
    assert "Success rate is 100 percent" in term.cmd("ping 10.0.4.1 timeout 2 size 100 repeat 5 source Loopback0")
