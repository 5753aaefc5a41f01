"""Read-back checks for plans and diagnoses."""

from __future__ import annotations

from agent.actions import BgpNeighborCheck, ConfigCheck, InterfaceCheck, OspfNeighborCheck, PingCheck


def ping(source: str, destination: str, source_ip: str = "", expect: str = "success") -> dict:
    return PingCheck(source=source, destination=destination, source_ip=source_ip, expect=expect).model_dump()


def bgp(device: str, neighbor: str) -> dict:
    return BgpNeighborCheck(device=device, neighbor=neighbor).model_dump()


def ospf(device: str, neighbor: str) -> dict:
    return OspfNeighborCheck(device=device, neighbor=neighbor).model_dump()


def interface(device: str, name: str, up: bool = True) -> dict:
    return InterfaceCheck(device=device, interface=name, up=up).model_dump()


def config(device: str, line: str, present: bool = True) -> dict:
    return ConfigCheck(device=device, line=line, present=present).model_dump()
