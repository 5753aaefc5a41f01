"""``generate_task(family, seed[, topology])``: the one entry point from coordinates to a ``Task``.

Seeds and topologies are split by construction so that nothing evaluated as held out can ever be
generated as training data:

- training (the data generator): seeds in ``[0, 10**9)`` on ``small`` and even-sized ``gen-N``;
- held out (the ``heldout`` suite): seeds in ``[10**9, 2 * 10**9)`` on odd-sized ``gen-N``, falling back
  to ``small`` only for families that have nothing to do on a generated topology (still with held-out
  seeds, so the fault targets and parameters differ).

``is_heldout_seed`` / ``is_heldout_topology`` say which side a coordinate is on; the data generator
calls ``check_training_coordinates`` (it raises on anything held out).
"""

from __future__ import annotations

import random
import zlib

from twin_lab.generator import GENERATED_PREFIX
from twin_lab.network import Network
from twin_lab.scenarios.families import FAMILIES, Ctx, Draft, NotApplicable, check_setup
from twin_lab.scenarios.model import Task
from twin_lab.scenarios.prepare import ScenarioError, build_topology

TRAIN_SEEDS = range(0, 10**9)
HELDOUT_SEEDS = range(10**9, 2 * 10**9)
STANDARD_TOPOLOGIES = ("small", "gen-8", "gen-12", "gen-16")
HELDOUT_TOPOLOGIES = ("gen-9", "gen-15", "gen-25")
FALLBACK_TOPOLOGY = "small"


def is_heldout_seed(seed: int) -> bool:
    """Seeds the held-out suite uses; the training data generator must never use them."""
    return seed in HELDOUT_SEEDS


def is_heldout_topology(name: str) -> bool:
    """Odd-sized generated topologies are held out (training and ``standard`` use ``small`` and even N)."""
    size = name[len(GENERATED_PREFIX):] if name.startswith(GENERATED_PREFIX) else ""
    return size.isdigit() and int(size) % 2 == 1


def check_training_coordinates(seed: int, topology: str | None = None) -> None:
    """Raise ``ValueError`` when (seed, topology) belongs to the held-out side (for the data generator)."""
    if seed not in TRAIN_SEEDS:
        raise ValueError(f"seed {seed} is not a training seed (training uses [0, 10**9); "
                         f"[10**9, 2*10**9) is held out)")
    if topology is not None and is_heldout_topology(topology):
        raise ValueError(f"topology {topology} is held out (odd-sized gen-N); train on small or even gen-N")


def family_names() -> list[str]:
    return list(FAMILIES)


def match_families(pattern: str) -> list[str]:
    """``change.static_route`` exactly, or a prefix (``change``, ``diag``, ``refuse``), or ``all``."""
    if pattern in ("all", "*"):
        return family_names()
    if pattern in FAMILIES:
        return [pattern]
    prefix = pattern.rstrip(".*")
    return [f for f in FAMILIES if f.startswith(prefix + ".")]


def default_topologies(seed: int) -> tuple[str, ...]:
    return HELDOUT_TOPOLOGIES if is_heldout_seed(seed) else STANDARD_TOPOLOGIES


def _draft(family: str, seed: int, topology: str) -> Draft:
    rng = random.Random(f"{family}|{topology}|{seed}")
    network = Network(build_topology(topology))
    return FAMILIES[family](Ctx(family=family, topology=topology, seed=seed, rng=rng, network=network))


def generate_task(family: str, seed: int, topology: str | None = None) -> Task:
    """The task for (family, seed[, topology]); deterministic.

    Without ``topology`` the seed picks one of the standard (or, for a held-out seed, held-out)
    topologies where the family applies.  An explicit topology where it does not apply raises.
    """
    if family not in FAMILIES:
        raise ScenarioError(f"unknown family {family!r}; choose one of: {', '.join(FAMILIES)}")
    if not isinstance(seed, int) or seed < 0:
        raise ScenarioError(f"bad seed {seed!r}: seeds are integers >= 0")
    if topology is not None:
        order = [topology]
    else:
        pool = default_topologies(seed)
        start = (seed + zlib.crc32(family.encode())) % len(pool)  # families spread over the pool
        order = [*pool[start:], *pool[:start]]
        if FALLBACK_TOPOLOGY not in order:
            order.append(FALLBACK_TOPOLOGY)
    reasons = []
    for name in order:
        try:
            draft = _draft(family, seed, name)
        except NotApplicable as err:
            reasons.append(f"{name}: {err}")
            continue
        check_setup(name, draft)
        return Task(id=f"{family}/{name}/{seed}", family=family, tier=draft.tier, seed=seed, topology=name,
                    kind=draft.kind, prompt=draft.prompt, setup=draft.setup, success=draft.success,
                    safety=draft.safety, truth=draft.truth)
    raise ScenarioError(f"{family} seed {seed}: not applicable ({'; '.join(reasons)})")
