"""``twinops twin ...``: look inside a simulated network (rich tables, or ``--json`` for machines)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from twin_lab.addressing import int_to_ip
from twin_lab.dataplane import PingResult, Trace
from twin_lab.network import Network, UnknownDevice
from twin_lab.topology import TopologyError, load_preset, load_topology
from twin_lab.views import network_view, resolve_target

twin_app = typer.Typer(help="Inspect a simulated network: devices, adjacencies, routes, ping, traceroute.",
                       no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

PresetOpt = Annotated[str | None, typer.Option("--preset", help="A shipped preset (small) or gen-N.")]
TopologyOpt = Annotated[str | None, typer.Option("--topology", help="A topology YAML file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one readable error line and return the exit to raise (no traceback)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def load_network(preset: str | None, topology: str | None) -> Network:
    if (preset is None) == (topology is None):
        raise fail("give exactly one of --preset NAME or --topology FILE")
    try:
        return Network(load_preset(preset) if preset else load_topology(topology))
    except TopologyError as err:
        raise fail(str(err)) from None


def _target(network: Network, text: str) -> int:
    try:
        return resolve_target(network, text)
    except UnknownDevice:
        raise fail(f"{text!r} is not an IP address, a host or a device of {network.topology.name}") from None


def _check_node(network: Network, name: str) -> None:
    if name not in network.device_names() and name not in network.topology.hosts:
        raise fail(f"unknown device or host {name!r}; devices: {', '.join(network.device_names()[:20])}")


# --- rendering -------------------------------------------------------------------------------------


def devices_table(network: Network, view: dict) -> Table:
    table = Table(title=f"Devices of {view['name']}", title_justify="left")
    for column in ("device", "role", "interfaces up", "OSPF FULL", "BGP established", "routes"):
        table.add_column(column)
    for name, data in view["devices"].items():
        up = sum(1 for i in data["interfaces"] if i["protocol"] == "up")
        full = sum(1 for n in data["ospf_neighbors"] if n["state"] == "FULL")
        est = sum(1 for s in data["bgp_sessions"] if s["state"] == "Established")
        role = network.topology.specs[name].role or ""
        table.add_row(name, role, f"{up}/{len(data['interfaces'])}", str(full),
                      f"{est}/{len(data['bgp_sessions'])}", str(len(data["routes"])))
    return table


def adjacency_table(view: dict) -> Table:
    table = Table(title="Adjacencies", title_justify="left")
    for column in ("protocol", "device", "neighbor", "via", "state"):
        table.add_column(column)
    for name, data in view["devices"].items():
        for n in data["ospf_neighbors"]:
            style = "green" if n["state"] == "FULL" else "yellow"
            table.add_row("OSPF", name, n["neighbor"], f"{n['interface']} area {n['area']}",
                          f"[{style}]{n['state']}[/]")
        for s in data["bgp_sessions"]:
            style = "green" if s["state"] == "Established" else "red"
            state = s["state"] + (f" ({s['reason']})" if s["reason"] else "")
            table.add_row("BGP", name, s["peer_device"] or s["peer"], f"{s['peer']} AS {s['remote_as']}",
                          f"[{style}]{state}[/]")
    return table


def interfaces_table(name: str, data: dict) -> Table:
    table = Table(title=f"{name} interfaces", title_justify="left")
    for column in ("interface", "address", "status", "protocol", "description"):
        table.add_column(column)
    for row in data["interfaces"]:
        style = "green" if row["protocol"] == "up" else "red"
        table.add_row(row["interface"], row["address"] or "unassigned", f"[{style}]{row['status']}[/]",
                      row["protocol"], row["description"] or "")
    return table


def routes_table(name: str, data: dict) -> Table:
    table = Table(title=f"{name} routing table", title_justify="left")
    for column in ("code", "prefix", "[AD/metric]", "next hops"):
        table.add_column(column)
    for row in data["routes"]:
        hops = ", ".join((h["ip"] or "connected") + (f" {h['interface']}" if h["interface"] else "")
                         for h in row["next_hops"])
        table.add_row(row["protocol"], row["prefix"], f"[{row['distance']}/{row['metric']}]", hops)
    return table


def hosts_table(view: dict) -> Table:
    table = Table(title="End hosts", title_justify="left")
    for column in ("host", "address", "gateway", "attached to"):
        table.add_column(column)
    for name, host in view["hosts"].items():
        table.add_row(name, host["ip"], host["gateway"] or "", host["attach"])
    return table


def trace_table(trace: Trace, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("#", "node", "in", "out", "address"):
        table.add_column(column)
    for index, hop in enumerate(trace.hops, start=1):
        table.add_row(str(index), hop.node, hop.ingress or "", hop.egress or "",
                      int_to_ip(hop.address) if hop.address is not None else "")
    return table


def print_ping(result: PingResult) -> None:
    mark = "[bold green]success[/]" if result.success else "[bold red]failed[/]"
    src = int_to_ip(result.src_ip) if result.src_ip is not None else "?"
    console.print(f"ping {result.source} ({src}) -> {int_to_ip(result.destination)}: {mark}")
    if result.forward is not None:
        console.print(trace_table(result.forward, "request path"))
    if result.reverse is not None:
        console.print(trace_table(result.reverse, "reply path"))
    if not result.success:
        console.print(f"[red]reason:[/] {result.failure}")


# --- commands ----------------------------------------------------------------------------------------


@twin_app.command("show")
def show(preset: PresetOpt = None, topology: TopologyOpt = None,
         device: Annotated[str | None, typer.Option("--device", help="Only this device, in detail.")] = None,
         as_json: JsonOpt = False) -> None:
    """Devices, interfaces, adjacencies and routes of a simulated network."""
    network = load_network(preset, topology)
    if device is not None:
        _check_node(network, device)
    view = network_view(network, device)
    if as_json:
        print(json.dumps(view, indent=2))
        return
    if device is None:
        console.print(devices_table(network, view))
        console.print(adjacency_table(view))
        if view["hosts"]:
            console.print(hosts_table(view))
        return
    data = view["devices"][device]
    console.print(interfaces_table(device, data))
    console.print(adjacency_table(view))
    console.print(routes_table(device, data))


@twin_app.command("ping")
def ping_cmd(source: Annotated[str, typer.Argument(help="Device or host to ping from.")],
             destination: Annotated[str, typer.Argument(help="IP address, host or device.")],
             preset: PresetOpt = None, topology: TopologyOpt = None,
             source_ip: Annotated[str | None, typer.Option("--source-ip", help="Source address.")] = None,
             as_json: JsonOpt = False) -> None:
    """Round-trip ping through the simulated data plane (ACLs included)."""
    network = load_network(preset, topology)
    _check_node(network, source)
    src = _target(network, source_ip) if source_ip else None
    result = network.ping(source, _target(network, destination), src)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print_ping(result)
    raise typer.Exit(0 if result.success else 1)


@twin_app.command("trace")
def trace_cmd(source: Annotated[str, typer.Argument(help="Device or host to trace from.")],
              destination: Annotated[str, typer.Argument(help="IP address, host or device.")],
              preset: PresetOpt = None, topology: TopologyOpt = None, as_json: JsonOpt = False) -> None:
    """Traceroute: the hop list, and where and why a packet is dropped."""
    network = load_network(preset, topology)
    _check_node(network, source)
    trace = network.traceroute(source, _target(network, destination))
    if as_json:
        print(json.dumps(trace.to_dict(), indent=2))
    else:
        console.print(trace_table(trace, f"traceroute {source} -> {destination}"))
        if trace.drop:
            console.print(f"[red]dropped:[/] {trace.drop.describe()}")
        else:
            console.print("[green]reached the destination[/]")
    raise typer.Exit(0 if trace.delivered else 1)
