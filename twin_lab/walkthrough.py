"""The simulator walkthrough ``twinops demo`` runs: devices, adjacencies, routes, ping, traceroute, dry-run."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table

from twin_lab.cli import adjacency_table, devices_table, hosts_table, print_ping, routes_table, trace_table
from twin_lab.diff import diff
from twin_lab.network import Network
from twin_lab.topology import load_preset
from twin_lab.views import network_view


def run_walkthrough(console: Console | None = None) -> int:
    """Returns the exit code: 0 when every step behaved as the healthy network should."""
    console = console or Console()
    network = Network(load_preset("small"))
    view = network_view(network)
    console.print(Panel.fit("twinops twin lab — preset [bold]small[/]: 6 routers, 2 ASes, 3 hosts"))
    console.print(devices_table(network, view))
    console.print(adjacency_table(view))
    console.print(hosts_table(view))
    console.print(routes_table("R1", view["devices"]["R1"]))
    h1_h3 = network.ping("h1", network.topology.hosts["h3"].ip)
    print_ping(h1_h3)
    trace = network.traceroute("h1", network.topology.hosts["h2"].ip)
    console.print(trace_table(trace, "traceroute h1 -> h2"))

    console.print(Panel.fit("Dry-run: what would [bold]ip mtu 1400[/] on R3 GigabitEthernet0/2 do?"))
    candidate = network.fork()
    candidate.apply("R3", ["interface GigabitEthernet0/2", " ip mtu 1400"])
    change = diff(network, candidate)
    for device, text in change.config_diffs.items():
        console.print(Syntax(text, "diff", theme="ansi_dark"), style=None)
        del device
    table = Table(title="State diff", title_justify="left")
    table.add_column("what")
    table.add_column("detail")
    for adj in change.adjacencies_lost:
        table.add_row("[red]adjacency lost[/]", f"{adj.protocol.upper()} {adj.a} <-> {adj.b}")
    table.add_row("routes changed", str(len(change.routes)))
    for a, b in change.reachability_lost[:8]:
        table.add_row("[red]reachability lost[/]", f"{a} -> {b}")
    if len(change.reachability_lost) > 8:
        table.add_row("", f"... and {len(change.reachability_lost) - 8} more pairs")
    console.print(table)
    unchanged = network.running_config("R3") != candidate.running_config("R3")
    healthy = h1_h3.success and trace.delivered and bool(change.adjacencies_lost) and unchanged
    verdict = "[green]walkthrough complete[/]" if healthy else "[red]unexpected network state[/]"
    console.print(verdict)
    return 0 if healthy else 1
