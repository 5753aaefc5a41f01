"""``twinops lab serve``: every device of a topology on SSH, until SIGINT/SIGTERM.

One asyncio process (``LabServer``); an inventory in Nornir SimpleInventory ``hosts.yaml``
shape is written once every device listens, then one ``lab ready: ...`` line goes to stdout
so scripts can wait for it.  SIGINT or SIGTERM closes every session and exits 0.  Bad flags
and bad topology files print one line and exit 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
import yaml

from twin_lab.cli import fail, load_network
from twin_lab.emulator import Credentials, LabServer
from twin_lab.network import Network

lab_app = typer.Typer(help="Serve the twin lab over SSH for Netmiko, NAPALM and the agent.", no_args_is_help=True)



@lab_app.callback()
def lab() -> None:
    """Serve the twin lab over SSH for Netmiko, NAPALM and the agent."""


# NAPALM's ios driver stages candidates on the lab's flash (see README).  The lab answers in about
# a millisecond, so Netmiko can poll 10x faster than its defaults (which assume a slow real box).
NAPALM_OPTIONAL_ARGS = {"dest_file_system": "flash:", "global_delay_factor": 0.01}
NETMIKO_EXTRAS = {"global_delay_factor": 0.01}


def inventory(network: Network, server: LabServer, credentials: Credentials, host: str) -> dict:
    """Nornir SimpleInventory ``hosts.yaml``: one entry per device, in topology order."""
    hosts = {}
    for name, port in server.ports.items():
        spec = network.topology.specs.get(name)
        hosts[name] = {
            "hostname": host,
            "port": port,
            "platform": "ios",
            "username": credentials.username,
            "password": credentials.password,
            "data": {
                "role": getattr(spec, "role", None),
                "tags": list(getattr(spec, "tags", None) or []),
                "mgmt_interface": getattr(spec, "mgmt_interface", None),
                "secret": credentials.secret,
            },
            "connection_options": {
                "napalm": {"extras": {"optional_args": {**NAPALM_OPTIONAL_ARGS, "secret": credentials.secret}}},
                "netmiko": {"extras": {**NETMIKO_EXTRAS, "secret": credentials.secret}},
            },
        }
    return hosts


def write_inventory(path: Path, hosts: dict) -> None:
    """Write atomically (a reader polling for the file never sees half of it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(yaml.safe_dump(hosts, sort_keys=False))
    os.replace(tmp, path)


def _raise_fd_limit(needed: int) -> None:
    """One listening socket per device plus sessions: lift the soft descriptor limit if needed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed + 1024
    if soft != resource.RLIM_INFINITY and soft < want:
        target = want if hard == resource.RLIM_INFINITY else min(want, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def _serve(network: Network, server: LabServer, credentials: Credentials, host: str,
                 inventory_out: Path, started: float) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await server.start()
    except OSError as err:
        where = f"{host} port base {server.port_base}" if server.port_base else host
        raise fail(f"cannot listen on {where}: {err.strerror or err}") from None
    try:
        write_inventory(inventory_out, inventory(network, server, credentials, host))
    except OSError as err:
        await server.stop()
        raise fail(f"cannot write inventory {inventory_out}: {err.strerror or err}") from None
    ports = sorted(server.ports.values())
    span = f"ports {ports[0]}-{ports[-1]}" if server.port_base else "OS-assigned ports"
    print(f"lab ready: {len(ports)} devices of {network.topology.name} on {host} {span} "
          f"in {time.perf_counter() - started:.2f} s; inventory {inventory_out}", flush=True)
    await stop.wait()
    await server.stop()
    print("lab stopped", file=sys.stderr, flush=True)
    return 0


@lab_app.command("serve")
def serve(
    preset: Annotated[str | None, typer.Option("--preset", help="A shipped preset (small) or gen-N.")] = None,
    topology: Annotated[str | None, typer.Option("--topology", help="A topology YAML file.")] = None,
    inventory_out: Annotated[str | None, typer.Option("--inventory-out", help="Where to write hosts.yaml.")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port_base: Annotated[int, typer.Option("--port-base", help="First port (device i listens on N+i); "
                                                             "0 lets the OS pick free ports.")] = 0,
    username: Annotated[str, typer.Option("--username", help="Login user for every device.")] = "admin",
    password: Annotated[str, typer.Option("--password", help="Login password for every device.")] = "admin",
    secret: Annotated[str | None, typer.Option("--secret", help="Enable secret (default: the password).")] = None,
) -> None:
    """Serve every device of a topology over SSH until SIGINT/SIGTERM; write a Nornir inventory."""
    started = time.perf_counter()
    if inventory_out is None:
        raise fail("give --inventory-out FILE (where the Nornir hosts.yaml goes)")
    out = Path(inventory_out)
    if out.is_dir():
        raise fail(f"--inventory-out {inventory_out} is a directory; give a file name")
    if not out.parent.exists():
        raise fail(f"--inventory-out: directory {out.parent} does not exist")
    if not username or not password:
        raise fail("--username and --password must not be empty")
    network = load_network(preset, topology)
    count = len(network.device_names())
    if port_base and not 1024 <= port_base <= 65535 - count + 1:
        raise fail(f"--port-base {port_base}: {count} devices need ports {port_base}..{port_base + count - 1} "
                   "inside 1024..65535")
    if not count:
        raise fail("the topology has no devices")
    network.control_plane  # noqa: B018 - compute the simulator state before declaring the lab ready
    credentials = Credentials(username, password, secret)
    _raise_fd_limit(count)
    server = LabServer(network, host=host, port_base=port_base, credentials=credentials)
    raise typer.Exit(asyncio.run(_serve(network, server, credentials, host, out, started)))


if __name__ == "__main__":  # ``python -m twin_lab.lab_cli serve ...``: the lab without the agent's imports
    lab_app()
