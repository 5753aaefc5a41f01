"""Turn a task's setup into networks: the healthy baseline and the starting network the agent is given."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from twin_lab.faults import InjectedFault, inject_fault
from twin_lab.faults.health import fork
from twin_lab.generator import GENERATED_PREFIX, generate_spec
from twin_lab.network import Network
from twin_lab.scenarios.model import Setup, Task
from twin_lab.topology import PRESET_DIR, Topology, TopologyError, TopologySpec


class ScenarioError(ValueError):
    """A task that cannot be built (unknown family, topology, or a setup the simulator rejects)."""


def topology_spec(name: str) -> TopologySpec:
    """The file form of a shipped preset or a generated ``gen-N`` topology."""
    if name.startswith(GENERATED_PREFIX):
        size = name[len(GENERATED_PREFIX):]
        if not size.isdigit() or not 2 <= int(size) <= 5000:
            raise ScenarioError(f"bad topology {name!r}: generated topologies are gen-N with 2 <= N <= 5000")
        return generate_spec(int(size))
    path = PRESET_DIR / f"{name}.yaml"
    if not path.exists():
        raise ScenarioError(f"unknown topology {name!r}")
    return TopologySpec.model_validate(yaml.safe_load(Path(path).read_text()))


@lru_cache(maxsize=32)
def build_topology(name: str, links: tuple[tuple[str, str], ...] = ()) -> Topology:
    """The topology ``name`` with extra cables (shared, read-only: networks copy its configs)."""
    spec = topology_spec(name)
    if links:
        spec = spec.model_copy(update={"links": [*spec.links, *links]})
    try:
        return Topology.from_spec(spec, name)
    except TopologyError as err:
        raise ScenarioError(str(err)) from None


@dataclass
class Prepared:
    """``baseline``: healthy (setup config applied, no fault); ``network``: what the agent starts from."""

    baseline: Network
    network: Network
    faults: list[InjectedFault] = field(default_factory=list)


def apply_config(network: Network, config: dict[str, list[str]]) -> None:
    for device, lines in config.items():
        errors = network.apply(device, lines)
        if errors:
            raise ScenarioError(f"setup rejected on {device}: {errors[0]}")


def prepare_setup(topology: str, setup: Setup) -> Prepared:
    network = Network(build_topology(topology, tuple(tuple(link) for link in setup.links)))
    apply_config(network, setup.config)
    baseline = fork(network)
    faults = [inject_fault(network, spec.kind, spec.target, spec.seed) for spec in setup.faults]
    return Prepared(baseline=baseline, network=network, faults=faults)


def prepare(task: Task) -> Prepared:
    """Rebuild the task's starting network (deterministic: same task, same state)."""
    return prepare_setup(task.topology, task.setup)
