"""The exec-mode command set: session control (enable, terminal, configure, exit) and the
framework ``show`` commands; file/archive commands come from ``file_commands``.

``build_commands()`` is called once per server; the tree is shared by all sessions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin_lab.emulator import file_commands as files
from twin_lab.emulator import show_commands
from twin_lab.emulator.commands import CommandSet, Invocation, Output, Question
from twin_lab.emulator.render_interfaces import render_ip_interface_brief
from twin_lab.emulator.render_routing import render_ospf_neighbors, render_ping, render_traceroute
from twin_lab.emulator.render_system import render_clock, render_hosts, render_version
from twin_lab.ios.grammar import INCOMPLETE, CommandError

if TYPE_CHECKING:
    from twin_lab.emulator.shell import Shell


# --- session control ------------------------------------------------------------------------------

def cmd_enable(shell: Shell, inv: Invocation) -> Output:
    words = inv.words()
    if words and (not words[0].isdigit() or not 0 <= int(words[0]) <= 15):
        raise inv.invalid(0)
    inv.expect_none(1)
    level = int(words[0]) if words else 15
    if level <= shell.level:
        shell.level = max(level, 1) if level < 15 else 15
        return None
    secret = shell.lab.credentials.secret
    if not secret:
        return "% No password set\n"

    def attempt(tries: int):
        def answer(typed: str) -> Output:
            if typed == secret:
                shell.level = 15
                return None
            if tries >= 3:
                return "% Bad secrets\n"
            return Question("Password: ", attempt(tries + 1), hidden=True)
        return answer

    return Question("Password: ", attempt(1), hidden=True)


def cmd_disable(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    shell.level = 1
    return None


def cmd_exit(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    shell.request_close()
    return None


def cmd_terminal_length(shell: Shell, inv: Invocation) -> Output:
    shell.term_length = _number(inv, 0, 512)
    return None


def cmd_terminal_width(shell: Shell, inv: Invocation) -> Output:
    shell.term_width = _number(inv, 0, 512)
    return None


def cmd_terminal_noop(shell: Shell, inv: Invocation) -> Output:
    return None


def _number(inv: Invocation, low: int, high: int) -> int:
    if not inv.args:
        raise CommandError(INCOMPLETE, len(inv.line), inv.line)
    word = inv.args[0].text
    if not word.isdigit() or not low <= int(word) <= high:
        raise inv.invalid(0)
    inv.expect_none(1)
    return int(word)


CONFIG_BANNER = "Enter configuration commands, one per line.  End with CNTL/Z.\n"


def cmd_configure_terminal(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    shell.enter_config()
    return CONFIG_BANNER


def cmd_configure(shell: Shell, inv: Invocation) -> Output:
    """Bare ``configure`` asks where from, as IOS does."""
    inv.expect_none()

    def answer(typed: str) -> Output:
        choice = typed.strip().lower() or "terminal"
        if "terminal".startswith(choice):
            shell.enter_config()
            return CONFIG_BANNER
        if "memory".startswith(choice):
            return files.merge_into_running(shell, shell.state.startup or "") or None
        return "?Must be \"terminal\", \"memory\" or \"network\"\n"

    return Question("Configuring from terminal, memory, or network [terminal]? ", answer)


def cmd_configure_memory(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    return files.merge_into_running(shell, shell.state.startup or "") or None


def cmd_configure_confirm(shell: Shell, inv: Invocation) -> Output:
    return "%No Rollback Confirmed Change pending\n"


# --- show --------------------------------------------------------------------------------------------

def show_version(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    state = shell.state
    interfaces = list(shell.network.config(shell.device).interfaces)
    return render_version(shell.hostname, state.uptime(), state.serial, interfaces)


def show_clock(shell: Shell, inv: Invocation) -> Output:
    if inv.words() and inv.words()[0].lower() != "detail"[: len(inv.words()[0])]:
        raise inv.invalid(0)
    return render_clock()


def show_hosts(shell: Shell, inv: Invocation) -> Output:
    domain = None
    for block in shell.network.config(shell.device).extra:
        words = block.header.split()
        if words[:2] == ["ip", "domain-name"] and len(words) > 2:
            domain = words[2]
        elif words[:3] == ["ip", "domain", "name"] and len(words) > 3:
            domain = words[3]
    return render_hosts(domain)


def show_privilege(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    return f"Current privilege level is {shell.level}\n"


def show_ip_interface_brief(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    return render_ip_interface_brief(shell.network.interfaces(shell.device))


def show_terminal(shell: Shell, inv: Invocation) -> Output:
    return (f"Line 2, Location: \"\", Type: \"vt100\"\nLength: {shell.term_length} lines, "
            f"Width: {shell.term_width} columns\n")


def show_file_systems(shell: Shell, inv: Invocation) -> Output:
    from twin_lab.emulator.flash import TOTAL_BYTES

    free = shell.state.flash.free_bytes()
    return ("File Systems:\n\n"
            "       Size(b)       Free(b)      Type  Flags  Prefixes\n"
            f"*  {TOTAL_BYTES:>12}  {free:>12}      disk     rw   flash0: flash:#\n"
            f"      {files.NVRAM_BYTES:>9}     {files.NVRAM_BYTES:>9}     nvram     rw   nvram:\n"
            "             -             -    opaque     rw   system:\n"
            "             -             -    opaque     rw   null:\n")


def show_ospf_neighbor(shell: Shell, inv: Invocation) -> Output:
    inv.expect_none()
    config = shell.network.config(shell.device)
    p2p = {name for name, itf in config.interfaces.items() if itf.ospf_network == "point-to-point"}
    neighbors = shell.network.ospf_neighbors(shell.device)
    router_id = shell.network.control_plane.ospf.router_id.get(shell.device)
    return render_ospf_neighbors(neighbors, router_id, p2p)


def _ip_arg(inv: Invocation, index: int) -> int:
    from twin_lab.addressing import AddressError, ip_to_int

    if index >= len(inv.args):
        raise CommandError(INCOMPLETE, len(inv.line), inv.line)
    try:
        return ip_to_int(inv.args[index].text)
    except AddressError:
        raise inv.invalid(index) from None


def _source_ip(shell: Shell, inv: Invocation, index: int) -> int | None:
    """``source`` takes an interface or one of the device's addresses."""
    from twin_lab.addressing import AddressError, canonical_interface, ip_to_int

    word = inv.args[index].text
    config = shell.network.config(shell.device)
    try:
        address = ip_to_int(word)
    except AddressError:
        try:
            itf = config.interfaces.get(canonical_interface(word))
        except AddressError:
            itf = None
        if itf is None:
            raise inv.invalid(index) from None
        return itf.address[0] if itf.address else None
    owned = {ip for itf in config.interfaces.values() for ip, _plen in itf.all_addresses()}
    return address if address in owned else None


def _probe_options(shell: Shell, inv: Invocation) -> tuple[int, int | None, int, int, int]:
    """(destination, source, repeat, size, max ttl) from ``ping``/``traceroute`` keywords."""
    destination = _ip_arg(inv, 0)
    source, repeat, size, max_ttl = None, 5, 100, 30
    index = 1
    while index < len(inv.args):
        word = inv.args[index].text.lower()
        options = [o for o in ("source", "repeat", "size", "timeout", "ttl", "numeric", "probe") if o.startswith(word)]
        if len(options) != 1:
            raise inv.invalid(index)
        if options[0] == "numeric":
            index += 1
            continue
        if index + 1 >= len(inv.args):
            raise CommandError(INCOMPLETE, len(inv.line), inv.line)
        value = inv.args[index + 1].text
        if options[0] == "source":
            source = _source_ip(shell, inv, index + 1)
            if source is None:
                raise CommandError("% Invalid source address- IP address not on any of our up interfaces",
                                   inv.args[index + 1].start, inv.line)
        elif not value.isdigit():
            raise inv.invalid(index + 1)
        elif options[0] == "ttl":  # traceroute: "ttl MIN MAX"
            if index + 2 >= len(inv.args):
                raise CommandError(INCOMPLETE, len(inv.line), inv.line)
            if not inv.args[index + 2].text.isdigit() or not 1 <= int(inv.args[index + 2].text) <= 255:
                raise inv.invalid(index + 2)
            max_ttl = int(inv.args[index + 2].text)
            index += 1
        elif options[0] == "repeat":
            repeat = max(1, min(int(value), 100))
        elif options[0] == "size":
            if not 36 <= int(value) <= 18024:
                raise inv.invalid(index + 1)
            size = int(value)
        index += 2
    return destination, source, repeat, size, max_ttl


def cmd_ping(shell: Shell, inv: Invocation) -> Output:
    destination, source, repeat, size, _ttl = _probe_options(shell, inv)
    result = shell.network.ping(shell.device, destination, source)
    return render_ping(destination, result, repeat, size)


def cmd_traceroute(shell: Shell, inv: Invocation) -> Output:
    destination, source, _repeat, _size, max_ttl = _probe_options(shell, inv)
    trace = shell.network.traceroute(shell.device, destination, source)
    return render_traceroute(destination, trace, min(max_ttl, 30))


def build_commands() -> CommandSet:
    """The exec command tree shared by every session of a lab."""
    commands = CommandSet()
    add = commands.add
    add("enable", cmd_enable, level=1)
    add("disable", cmd_disable, level=1)
    for word in ("exit", "logout", "quit"):
        add(word, cmd_exit, level=1)
    add("terminal length", cmd_terminal_length, level=1)
    add("terminal width", cmd_terminal_width, level=1)
    add("terminal monitor", cmd_terminal_noop, level=1)
    add("terminal no monitor", cmd_terminal_noop, level=1)
    add("configure", cmd_configure)
    add("configure terminal", cmd_configure_terminal)
    add("configure memory", cmd_configure_memory)
    add("configure replace", files.configure_replace)
    add("configure confirm", cmd_configure_confirm)
    add("show version", show_version, level=1, pipe=True)
    add("show clock", show_clock, level=1, pipe=True)
    add("show hosts", show_hosts, level=1, pipe=True)
    add("show privilege", show_privilege, level=1, pipe=True)
    add("show terminal", show_terminal, level=1, pipe=True)
    add("show ip interface brief", show_ip_interface_brief, level=1, pipe=True)
    add("show ip ospf neighbor", show_ospf_neighbor, level=1, pipe=True)
    add("ping", cmd_ping, level=1)
    add("traceroute", cmd_traceroute, level=1)
    add("show running-config", files.show_running, pipe=True)
    add("show startup-config", files.show_startup, pipe=True)
    add("show archive", files.show_archive, pipe=True)
    add("show archive config differences", files.show_archive_differences, pipe=True)
    add("show archive config incremental-diffs", files.show_incremental_diffs, pipe=True)
    add("show archive config rollback timer", files.show_rollback_timer, pipe=True)
    add("show flash:", files.cmd_dir, pipe=True)
    add("show file systems", show_file_systems, pipe=True)
    add("dir", files.cmd_dir, pipe=True)
    add("verify", files.cmd_verify)
    add("delete", files.cmd_delete)
    add("more", files.cmd_more, pipe=True)
    add("copy", files.cmd_copy)
    add("write", files.cmd_write)
    add("write memory", files.cmd_write)
    add("write terminal", files.cmd_write, pipe=True)
    add("write erase", files.cmd_write)
    add("erase", files.cmd_erase)
    show_commands.register(commands)
    return commands
