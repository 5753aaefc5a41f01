"""Shared driver for the expert-brain tests: a lab per module, a bounded tool loop, remediation applied via NAPALM.

(Not a graph: the LangGraph agent is built elsewhere; this loop is the smallest faithful stand-in.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.actions import TERMINAL_ACTIONS, action_tools
from agent.brains.expert import ExpertBrain
from tools.inventory import build_inventory
from tools.read_tools import read_tools
from tools.session import ToolSession
from twin_lab.emulator import Credentials, LabServer, LabThread
from twin_lab.faults import InjectedFault
from twin_lab.lab_cli import inventory as lab_inventory
from twin_lab.network import Network
from twin_lab.topology import load_preset

CREDS = Credentials("netops", "pw", "en")
MAX_STEPS = 10


class Lab:
    def __init__(self, thread: LabThread, session: ToolSession):
        self.thread, self.session = thread, session

    @property
    def network(self) -> Network:
        return self.thread.server.network

    def reset(self, network: Network) -> None:
        def swap() -> None:
            self.thread.server.lab.network = network

        self.thread.call(swap)

    def apply(self, device: str, lines: list[str]) -> None:
        """Apply config lines the way the change path does: NAPALM merge + commit."""
        driver = self.session.napalm(device)
        with self.session.pool.lock(device):
            driver.load_merge_candidate(config="\n".join(lines) + "\n")
            driver.commit_config()


@contextmanager
def running_lab(preset: str = "small") -> Iterator[Lab]:
    network = Network(load_preset(preset))
    server = LabServer(network, credentials=CREDS)
    with LabThread(server) as thread:
        inventory = build_inventory(lab_inventory(network, server, CREDS, "127.0.0.1"))
        session = ToolSession(inventory)
        try:
            yield Lab(thread, session)
        finally:
            session.close()


def run_brain(lab: Lab, prompt: str, kind: str) -> tuple[str, dict, list[BaseMessage]]:
    """Drive the expert until a terminal action; returns (action name, args, transcript)."""
    tools = {t.name: t for t in read_tools(lab.session)}
    terminal = action_tools("change" if kind == "change" else "diagnosis")
    brain = ExpertBrain().bind_tools(list(tools.values()) + terminal)
    messages: list[BaseMessage] = [HumanMessage(f"{'CHANGE' if kind == 'change' else 'DIAGNOSE'}: {prompt}")]
    ids: set[str] = set()
    for _ in range(MAX_STEPS):
        reply = brain.invoke(messages)
        assert isinstance(reply, AIMessage) and reply.tool_calls, "the expert must always call a tool"
        messages.append(reply)
        for call in reply.tool_calls:
            assert call["id"] not in ids
            ids.add(call["id"])
            if call["name"] in TERMINAL_ACTIONS:
                assert len(reply.tool_calls) == 1, "a terminal action comes alone"
                schema = next(t for t in terminal if t.name == call["name"]).args_schema
                schema.model_validate(call["args"])
                return call["name"], call["args"], messages
            assert call["name"] in tools, call["name"]
            result = tools[call["name"]].invoke(call["args"])
            messages.append(ToolMessage(json.dumps(result), tool_call_id=call["id"], name=call["name"]))
    raise AssertionError("no terminal action within the step budget")


def symptom_prompt(fault: InjectedFault) -> str:
    """The operator's ticket: the fault's effect summary, host labels annotated with their addresses."""
    text = fault.symptom.summary
    ips = {}
    for flow in fault.symptom.unreachable:
        ips.setdefault(flow.src, flow.src_ip)
        ips.setdefault(flow.dst, flow.dst_ip)
    for label, ip in ips.items():
        if ":" not in label:
            text = re.sub(rf"(?<![\w:]){re.escape(label)}(?![\w:(])", f"{label} ({ip})", text, count=1)
    return text


def _ospf_full(output: str, neighbor: str, network: Network | None = None) -> bool:
    for line in output.splitlines():
        if "FULL" in line and (neighbor in line.split() or (network is not None and _rid(network, neighbor) in line)):
            return True
    return False


def _rid(network: Network, device: str) -> str:
    if device not in network.device_names():
        return device
    process = next(iter(network.config(device).ospf.values()), None)
    if process is None or process.router_id is None:
        return device
    from twin_lab.addressing import int_to_ip

    return int_to_ip(process.router_id)


def verify_checks(lab: Lab, checks: list[dict]) -> list[str]:
    """Read each check back over the real read tools; returns the failures."""
    tools = {t.name: t for t in read_tools(lab.session)}
    failed = []
    for check in checks:
        kind = check["kind"]
        if kind == "config":
            running = tools["get_running_config"].invoke({"device": check["device"]})["running"]
            present = any(line.strip() == check["line"].strip() for line in running.splitlines())
            ok = present == check.get("present", True)
        elif kind == "ping":
            result = tools["ping"].invoke({"device": check["source"], "destination": check["destination"],
                                           "source": check.get("source_ip", "")})
            success = bool(result.get("success")) and result["success"].get("packet_loss", 1) < \
                result["success"].get("probes_sent", 0)
            ok = success == (check.get("expect", "success") == "success")
        elif kind == "bgp_neighbor":
            peers = tools["get_bgp_neighbors"].invoke({"device": check["device"]}).get("global", {}).get("peers", {})
            ok = peers.get(check["neighbor"], {}).get("is_up", False) == check.get("established", True)
        elif kind == "ospf_neighbor":
            out = tools["show"].invoke({"device": check["device"], "command": "show ip ospf neighbor"})["output"]
            ok = _ospf_full(out, check["neighbor"], lab.network) == check.get("full", True)
        elif kind == "interface":
            itfs = tools["get_interfaces"].invoke({"device": check["device"]})
            ok = itfs.get(check["interface"], {}).get("is_up", False) == check.get("up", True)
        elif kind == "route":
            routes = tools["get_route_to"].invoke({"device": check["device"], "destination": check["prefix"],
                                                   "protocol": check.get("protocol", "")})
            ok = (check["prefix"] in routes) == check.get("present", True)
        else:
            ok = False
        if not ok:
            failed.append(json.dumps(check))
    return failed
