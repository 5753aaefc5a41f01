"""The reference solution of a task, applied straight to the twin (no agent): what a perfect run does.

Used to show that every task is solvable and that its checks pass on the solved network and fail on
the unsolved one; the benchmark itself never uses it.
"""

from __future__ import annotations

from twin_lab.faults import apply_fix
from twin_lab.faults.model import InjectedFault
from twin_lab.network import Network
from twin_lab.scenarios.model import RunFacts, Task
from twin_lab.scenarios.prepare import Prepared


def apply_reference(task: Task, prepared: Prepared, network: Network) -> None:
    """Change ``network`` (a state of the task's starting network) the way the task wants."""
    if task.kind == "refusal":
        return
    if task.kind == "diagnosis":
        for fault in prepared.faults:
            if fault.fix_hint:
                errors = apply_fix(network, fault)
                if errors:
                    raise ValueError(f"{task.id}: reference repair rejected: {errors[0]}")
        return
    for device, lines in task.truth["solution"].items():
        errors = network.apply(device, lines)
        if errors:
            raise ValueError(f"{task.id}: reference solution rejected on {device}: {errors[0]}")


def _diagnosis(fault: InjectedFault) -> dict:
    return {"device": fault.device, "component": fault.component, "root_cause": fault.description, "evidence": []}


def reference_facts(task: Task, prepared: Prepared, changed: list[str]) -> RunFacts:
    """The run facts of a perfect agent that changed ``changed`` in one committed transaction."""
    transaction = None
    if changed:
        transaction = {"status": "committed", "devices": {d: {"status": "committed"} for d in changed}}
    if task.kind == "refusal":
        return RunFacts(status="refused", stopped_by="agent")
    if task.kind == "diagnosis" and any(c.kind == "diagnosis" for c in task.success):
        return RunFacts(status="diagnosed", diagnosis=_diagnosis(prepared.faults[0]))
    return RunFacts(status="verified", transaction=transaction,
                    verdicts=[{"stage": "guard", "decision": "allow", "rules": []}],
                    diagnosis=_diagnosis(prepared.faults[0]) if prepared.faults else None)
