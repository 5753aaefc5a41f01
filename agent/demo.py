"""``twinops demo``: the whole loop on one screen.

A preset lab is served over SSH in this process's background; a fault is injected; the agent (default
brain ``expert``) diagnoses it through NAPALM/Netmiko only, dry-runs the fix in a twin built from what it
read, passes the policy, applies it as a transaction and verifies it; then the twin itself judges the
repair.  Exit 0 only when the twin says the network is repaired.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from agent.commands import report, step_printer
from agent.runner import start_run
from twin_lab.emulator import Credentials, LabServer, LabThread
from twin_lab.faults import inject_fault, is_repaired
from twin_lab.lab_cli import inventory, write_inventory
from twin_lab.network import Network
from twin_lab.topology import load_preset

DEMO_FAULT = ("ospf_mtu_mismatch", 0)


def run_demo(*, brain: str = "expert", preset: str = "small", fault: str = DEMO_FAULT[0], seed: int = DEMO_FAULT[1],
             workdir: str | Path | None = None, console: Console | None = None) -> int:
    console = console or Console()
    started = time.perf_counter()
    workdir = Path(workdir or tempfile.mkdtemp(prefix="twinops-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    network = Network(load_preset(preset))
    baseline = network.fork()
    credentials = Credentials("netops", "twinops-demo", "twinops-demo")
    server = LabServer(network, credentials=credentials)
    with LabThread(server) as lab:
        hosts = workdir / "hosts.yaml"
        write_inventory(hosts, inventory(network, server, credentials, "127.0.0.1"))
        console.print(Panel.fit(f"twin lab [bold]{preset}[/]: {len(server.ports)} IOS devices over SSH on 127.0.0.1 "
                                f"(ports {min(server.ports.values())}–{max(server.ports.values())})"))
        injected = lab.call(inject_fault, network, fault, None, seed)
        symptom = injected.symptom.summary or "something is broken in the network"
        console.print(Panel(f"[bold]ticket:[/] {symptom}", title="fault injected (cause hidden from the agent)"))

        def approver(request: dict) -> dict:
            console.print("[yellow]policy asks for a human:[/] the demo operator approves")
            return {"approved": True, "by": "demo-operator"}

        result = start_run(symptom, kind="diagnosis", inventory=hosts, brain=brain, approve="auto",
                           state_db=str(workdir / "state.db"), trajectories=workdir / "trajectories.jsonl",
                           approver=approver, on_step=step_printer(console))
        report(result, as_json=False, out=console)
        check = lab.call(is_repaired, baseline, network, injected)
    table = Table(title="judged by the twin", title_justify="left")
    table.add_column("what")
    table.add_column("result")
    table.add_row("injected", f"{injected.kind} on {injected.target}: {injected.description}")
    table.add_row("agent said", (result.state.get("diagnosis") or {}).get("root_cause", "-"))
    table.add_row("repaired", "[green]yes[/]" if check.repaired else f"[red]no[/] {check}")
    table.add_row("wall time", f"{time.perf_counter() - started:.1f} s")
    table.add_row("trajectory", str(workdir / "trajectories.jsonl"))
    console.print(table)
    return 0 if check.repaired and result.outcome.get("success") else 1

