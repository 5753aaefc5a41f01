"""Read-only device tools (NAPALM getters, Netmiko ``show``) as plain functions and as LangChain tools.

Every result is a JSON-serialisable dict with secrets redacted.  Device problems come back as
``{"error": ..., "kind": ..., "device": ...}`` from the LangChain tools (the plain functions raise
``ToolError``), so an agent can read what went wrong and carry on.  A call whose session died is retried
once on a fresh session.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field, ValidationError, field_validator

from policies.redact import redact, redact_obj
from tools.allowlist import ALLOWED_FILTERS, check_show_command
from tools.connections import describe_error
from tools.errors import ToolError
from tools.session import ToolSession

MAX_OUTPUT_CHARS = 16_000
_TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-:]{0,252}$")


def jsonable(value: Any) -> Any:
    """Redacted, JSON-safe copy of a getter result (tuples -> lists, odd types -> str)."""
    return json.loads(json.dumps(redact_obj(value), default=str))


def _target(value: str) -> str:
    value = value.strip()
    if not _TARGET.match(value):
        raise ValueError("must be an IP address or a host name (letters, digits, '.', '-', ':')")
    return value


# --- argument schemas ------------------------------------------------------------------------------

class NoArgs(BaseModel):
    pass


class DeviceArgs(BaseModel):
    device: str = Field(description="Device name as listed by list_devices (e.g. R1).")


class RouteArgs(DeviceArgs):
    destination: str = Field(description="Prefix or address to look up, e.g. 10.0.4.0/24 or 10.0.4.10.")
    protocol: str = Field(default="", description="Only routes of this protocol (ospf, bgp, static, connected).")

    @field_validator("destination")
    @classmethod
    def _prefix(cls, value: str) -> str:
        network = ipaddress.ip_network(value.strip(), strict=False)
        return str(network)

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, value: str) -> str:
        value = value.strip().lower()
        if value and value not in ("ospf", "bgp", "static", "connected", "local", "rip", "eigrp", "isis"):
            raise ValueError("unknown protocol")
        return value


class _ProbeArgs(DeviceArgs):
    """Ping and traceroute: a destination and an optional source, each an address, host or interface."""

    @field_validator("destination", check_fields=False)
    @classmethod
    def _dest(cls, value: str) -> str:
        return _target(value)

    @field_validator("source", check_fields=False)
    @classmethod
    def _source(cls, value: str) -> str:
        return _target(value) if value.strip() else ""


class PingArgs(_ProbeArgs):
    destination: str = Field(description="IP address or host name to ping from the device.")
    source: str = Field(default="", description="Source address or interface (optional).")
    count: int = Field(default=5, ge=1, le=20, description="Echo requests to send.")


class TracerouteArgs(_ProbeArgs):
    destination: str = Field(description="IP address or host name to trace to.")
    source: str = Field(default="", description="Source address or interface (optional).")
    ttl: int = Field(default=30, ge=1, le=64, description="Maximum hops.")


class ShowArgs(DeviceArgs):
    command: str = Field(description="A read-only show command, e.g. 'show ip ospf neighbor'. Output filters "
                                     f"allowed: {', '.join(ALLOWED_FILTERS)}.")


# --- the tools as functions -------------------------------------------------------------------------

def _napalm_call(session: ToolSession, device: str, action: str, fn: Callable[[Any], Any]) -> Any:
    """Run ``fn(driver)``; on failure retry once on a fresh session; errors become ``ToolError``."""
    session.check_device(device)
    last: Exception | None = None
    for attempt in range(2):
        driver = session.napalm(device, fresh=attempt > 0)
        with session.pool.lock(device):
            try:
                return fn(driver)
            except ToolError:
                raise
            except NotImplementedError:
                raise ToolError(f"{action} is not supported by this device's driver", device=device,
                                kind="invalid") from None
            except Exception as err:
                last = err
                if session.pool.napalm_alive(driver):
                    break  # the session is fine: the device or the getter failed, retrying won't help
    raise ToolError(f"{action} failed: {describe_error(last)}", device=device, kind="device") from last


def list_devices(session: ToolSession) -> dict[str, Any]:
    """Every device in the inventory (no credentials)."""
    return {"devices": [session.inventory.get(name).public() for name in session.devices()]}


def get_facts(session: ToolSession, device: str) -> dict[str, Any]:
    return jsonable(_napalm_call(session, device, "get_facts", lambda d: d.get_facts()))


def get_interfaces(session: ToolSession, device: str) -> dict[str, Any]:
    return jsonable(_napalm_call(session, device, "get_interfaces", lambda d: d.get_interfaces()))


def get_interfaces_ip(session: ToolSession, device: str) -> dict[str, Any]:
    return jsonable(_napalm_call(session, device, "get_interfaces_ip", lambda d: d.get_interfaces_ip()))


def get_route_to(session: ToolSession, device: str, destination: str, protocol: str = "") -> dict[str, Any]:
    args = RouteArgs(device=device, destination=destination, protocol=protocol)
    return jsonable(_napalm_call(session, device, "get_route_to",
                                 lambda d: d.get_route_to(destination=args.destination, protocol=args.protocol)))


def get_bgp_neighbors(session: ToolSession, device: str) -> dict[str, Any]:
    return jsonable(_napalm_call(session, device, "get_bgp_neighbors", lambda d: d.get_bgp_neighbors()))


def get_lldp_neighbors(session: ToolSession, device: str) -> dict[str, Any]:
    return jsonable(_napalm_call(session, device, "get_lldp_neighbors", lambda d: d.get_lldp_neighbors()))


def get_running_config(session: ToolSession, device: str) -> dict[str, Any]:
    """The running-config with every secret replaced by ``<redacted>``."""
    config = _napalm_call(session, device, "get_config", lambda d: d.get_config(retrieve="running"))
    return {"device": device, "running": redact(config.get("running", ""))}


def ping(session: ToolSession, device: str, destination: str, source: str = "", count: int = 5) -> dict[str, Any]:
    args = PingArgs(device=device, destination=destination, source=source, count=count)
    return jsonable(_napalm_call(session, device, "ping",
                                 lambda d: d.ping(args.destination, source=args.source, count=args.count)))


def traceroute(session: ToolSession, device: str, destination: str, source: str = "", ttl: int = 30
               ) -> dict[str, Any]:
    args = TracerouteArgs(device=device, destination=destination, source=source, ttl=ttl)
    return jsonable(_napalm_call(session, device, "traceroute",
                                 lambda d: d.traceroute(args.destination, source=args.source, ttl=args.ttl,
                                                        timeout=2)))


def show(session: ToolSession, device: str, command: str) -> dict[str, Any]:
    """Run an allow-listed read-only show command over Netmiko; refused commands raise ``ToolError``."""
    session.check_device(device)
    check = check_show_command(command)
    if not check.allowed:
        raise ToolError(f"refused {command!r}: {check.reason}", device=device, kind="refused")
    last: Exception | None = None
    for attempt in range(2):
        conn = session.netmiko(device, fresh=attempt > 0)
        with session.pool.lock(device):
            try:
                output = conn.send_command(check.command)
                break
            except Exception as err:
                last = err
                if session.pool.netmiko_alive(conn):
                    raise ToolError(f"{check.command!r} failed: {describe_error(err)}", device=device) from err
    else:
        raise ToolError(f"{check.command!r} failed: {describe_error(last)}", device=device) from last
    output = redact(str(output))
    truncated = len(output) > MAX_OUTPUT_CHARS
    if "% Invalid input" in output or "% Incomplete command" in output or "% Ambiguous command" in output:
        raise ToolError(f"the device rejected {check.command!r}: {output.strip()[:200]}", device=device,
                        kind="invalid")
    return {"device": device, "command": check.command, "output": output[:MAX_OUTPUT_CHARS],
            "truncated": truncated}


# --- LangChain ----------------------------------------------------------------------------------------

_TOOLS: list[tuple[str, Callable[..., dict], type[BaseModel], str]] = [
    ("list_devices", list_devices, NoArgs, "List the devices in the inventory (name, address, platform, groups)."),
    ("get_facts", get_facts, DeviceArgs, "Device facts: hostname, model, OS version, uptime, interface list."),
    ("get_interfaces", get_interfaces, DeviceArgs, "Interfaces with admin/oper state, description, MTU, speed."),
    ("get_interfaces_ip", get_interfaces_ip, DeviceArgs, "IPv4/IPv6 addresses and prefix lengths per interface."),
    ("get_route_to", get_route_to, RouteArgs, "The routes a device has to a prefix or address (RIB lookup)."),
    ("get_bgp_neighbors", get_bgp_neighbors, DeviceArgs, "BGP neighbours: state, AS, prefixes received/sent."),
    ("get_lldp_neighbors", get_lldp_neighbors, DeviceArgs, "LLDP neighbours per local interface."),
    ("get_running_config", get_running_config, DeviceArgs, "The running configuration (secrets redacted)."),
    ("ping", ping, PingArgs, "Ping a destination from a device."),
    ("traceroute", traceroute, TracerouteArgs, "Traceroute from a device to a destination."),
    ("show", show, ShowArgs, "Run one read-only show command (allow-listed; config commands are refused)."),
]


def _bind(session: ToolSession, fn: Callable[..., dict]) -> Callable[..., dict]:
    def run(**kwargs: Any) -> dict:
        try:
            return fn(session, **kwargs)
        except ToolError as err:
            return err.to_dict()
        except ValueError as err:  # argument validation inside the function
            return {"error": redact(str(err)), "kind": "invalid", "device": kwargs.get("device")}

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


def invalid_arguments(err: ValidationError) -> Any:
    """What a tool returns when its arguments do not validate (the same shape as any tool error)."""
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in err.errors())
    return {"error": redact(f"invalid arguments: {problems}"), "kind": "invalid", "device": None}


def read_tools(session: ToolSession) -> list[BaseTool]:
    """The read-only tools bound to ``session``, as LangChain ``StructuredTool``s."""
    return [StructuredTool.from_function(func=_bind(session, fn), name=name, description=description,
                                         args_schema=schema, handle_validation_error=invalid_arguments)
            for name, fn, schema, description in _TOOLS]
