"""``show version``, ``show clock``, ``show hosts``: the system facts clients read first.

Layouts follow an IOSv 15.9 box, the shape ntc-templates' ``cisco_ios_show_version`` and
NAPALM's ``get_facts`` (hostname/uptime, ``Processor board ID``, ``Cisco IOS Software,``,
``Cisco <model> ... bytes of memory``) parse.
"""

from __future__ import annotations

from datetime import UTC, datetime

from twin_lab.addressing import is_loopback

IOS_VERSION = "15.9(3)M6"
IMAGE = "VIOS-ADVENTERPRISEK9-M"
MODEL = "IOSv"


def format_uptime(seconds: float) -> str:
    """``1 week, 2 days, 3 hours, 4 minutes`` (zero units omitted, minutes always shown)."""
    minutes = int(seconds // 60)
    units = (("year", 525_600), ("week", 10_080), ("day", 1_440), ("hour", 60))
    parts = []
    for name, size in units:
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
    parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return ", ".join(parts)


def _interface_counts(names: list[str]) -> list[str]:
    kinds = {"GigabitEthernet": "Gigabit Ethernet", "FastEthernet": "FastEthernet", "Ethernet": "Ethernet",
             "TenGigabitEthernet": "Ten Gigabit Ethernet", "Serial": "Serial"}
    counts: dict[str, int] = {}
    for name in names:
        if is_loopback(name) or "." in name:
            continue
        kind = next((label for prefix, label in kinds.items() if name.startswith(prefix)), None)
        if kind is not None:
            counts[kind] = counts.get(kind, 0) + 1
    return [f"{count} {kind} interface{'s' if count != 1 else ''}" for kind, count in counts.items()]


def render_version(hostname: str, uptime_seconds: float, serial: str, interfaces: list[str]) -> str:
    lines = [
        f"Cisco IOS Software, IOSv Software ({IMAGE}), Version {IOS_VERSION}, RELEASE SOFTWARE (fc1)",
        "Technical Support: http://www.cisco.com/techsupport",
        "Copyright (c) 1986-2022 by Cisco Systems, Inc.",
        "Compiled Mon 08-Aug-22 05:26 by mcpre",
        "",
        "",
        "ROM: Bootstrap program is IOSv",
        "",
        f"{hostname} uptime is {format_uptime(uptime_seconds)}",
        "System returned to ROM by reload",
        'System image file is "flash0:/vios-adventerprisek9-m"',
        "Last reload reason: Unknown reason",
        "",
        "",
        "",
        "This product contains cryptographic features and is subject to United",
        "States and local country laws governing import, export, transfer and",
        "use. Delivery of Cisco cryptographic products does not imply",
        "third-party authority to import, export, distribute or use encryption.",
        "Importers, exporters, distributors and users are responsible for",
        "compliance with U.S. and local country laws. By using this product you",
        "agree to comply with applicable laws and regulations. If you are unable",
        "to comply with U.S. and local laws, return this product immediately.",
        "",
        "A summary of U.S. laws governing Cisco cryptographic products may be found at:",
        "http://www.cisco.com/wwl/export/crypto/tool/stqrg.html",
        "",
        "If you require further assistance please contact us by sending email to",
        "export@cisco.com.",
        "",
        f"Cisco {MODEL} (revision 1.0) with  with 460137K/62464K bytes of memory.",
        f"Processor board ID {serial}",
        *_interface_counts(interfaces),
        "DRAM configuration is 72 bits wide with parity disabled.",
        "256K bytes of non-volatile configuration memory.",
        "2097152K bytes of ATA System CompactFlash 0 (Read/Write)",
        "0K bytes of ATA CompactFlash 1 (Read/Write)",
        "0K bytes of ATA CompactFlash 2 (Read/Write)",
        "0K bytes of ATA CompactFlash 3 (Read/Write)",
        "",
        "Configuration register is 0x0",
        "",
    ]
    return "\n".join(lines)


def render_clock(now: datetime | None = None) -> str:
    """``*10:15:32.123 UTC Mon Mar 4 2024`` (the star: no NTP sync, as on a lab box)."""
    now = now or datetime.now(UTC)
    return f"*{now:%H:%M:%S}.{now.microsecond // 1000:03d} UTC {now:%a %b} {now.day} {now:%Y}\n"


def render_hosts(domain: str | None) -> str:
    default = f"Default domain is {domain}" if domain else "Default domain is not set"
    return "\n".join([
        default,
        "Name/address lookup uses domain service",
        "Name servers are 255.255.255.255",
        "",
        "Codes: UN - unknown, EX - expired, OK - OK, ?? - revalidate",
        "       temp - temporary, perm - permanent",
        "       NA - Not Applicable None - Not defined",
        "",
        "Host                      Port  Flags      Age Type   Address(es)",
        "",
    ])
