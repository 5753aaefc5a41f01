"""Fault catalogue of the twin: injectable faults with ground truth, symptom and repair check.

    >>> from twin_lab.faults import inject_fault, is_repaired, apply_fix
    >>> fault = inject_fault(net, "ospf_mtu_mismatch", seed=3)   # net: a Network, mutated in place
    >>> fault.description, fault.symptom.summary
    >>> is_repaired(baseline, net, fault).repaired

Kinds live in ``kinds_*`` modules and register themselves; ``list_kinds()`` names them.
Targets are strings whose shape depends on the kind (``FaultKind.target_format``):
``DEVICE:INTERFACE``, ``DEVICE:PEER_IP``, ``DEVICE:PREFIX``, ``DEVICE``, ``SRC->DST`` or
``DEVICE:INTERFACE:in|out``.
"""

from twin_lab.faults import kinds_bgp, kinds_interface, kinds_ospf, kinds_policy  # noqa: F401  (registration)
from twin_lab.faults.base import (
    REGISTRY,
    FaultKind,
    applicable_kinds,
    apply_fix,
    describe_kinds,
    get_kind,
    inject,
    inject_fault,
    is_repaired,
    list_kinds,
    observable_targets,
    symptom_present,
)
from twin_lab.faults.health import health, symptom_between
from twin_lab.faults.model import (
    AdjacencyRef,
    FaultError,
    FaultNotApplicable,
    FaultSpec,
    FlowRef,
    InjectedFault,
    InterfaceRef,
    LinkChange,
    RepairCheck,
    RouteRef,
    SessionRef,
    Symptom,
)

__all__ = [
    "REGISTRY", "AdjacencyRef", "FaultError", "FaultKind", "FaultNotApplicable", "FaultSpec", "FlowRef",
    "InjectedFault", "InterfaceRef", "LinkChange", "RepairCheck", "RouteRef", "SessionRef", "Symptom",
    "applicable_kinds", "apply_fix", "describe_kinds", "get_kind", "health", "inject", "inject_fault",
    "is_repaired", "list_kinds", "observable_targets", "symptom_between", "symptom_present",
]
