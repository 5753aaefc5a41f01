"""Versioned suite files (``suites/NAME.yaml``): explicit (family, seed, topology) entries and generation rules.

    name: standard
    version: 1
    heldout: false            # true: every seed must be held out, every explicit topology too
    entries:                  # explicit tasks, in order
      - {family: change.static_route, seed: 3, topology: small}
    rules:                    # expanded in order, after the entries
      - families: change      # a family, a prefix (change / diag / refuse), a list of them, or all
        seeds: [1, 2, 3]      # or {start: 100, count: 3}
        topologies: [small, gen-12]   # optional: the i-th seed uses topologies[i % len]; default: the seed picks
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twin_lab.scenarios.generate import generate_task, is_heldout_seed, is_heldout_topology, match_families
from twin_lab.scenarios.model import Task
from twin_lab.scenarios.prepare import ScenarioError

SUITE_DIR = Path(__file__).parent / "suites"


class SuiteEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    family: str
    seed: int
    topology: str | None = None

    def task(self) -> Task:
        return generate_task(self.family, self.seed, self.topology)


class SeedRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: int
    count: int = Field(ge=1)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    families: str | list[str]
    seeds: list[int] | SeedRange
    topologies: list[str] | None = None

    def expand(self) -> list[SuiteEntry]:
        patterns = [self.families] if isinstance(self.families, str) else self.families
        families: list[str] = []
        for pattern in patterns:
            found = match_families(pattern)
            if not found:
                raise ScenarioError(f"no family matches {pattern!r}")
            families.extend(f for f in found if f not in families)
        seeds = list(range(self.seeds.start, self.seeds.start + self.seeds.count)) \
            if isinstance(self.seeds, SeedRange) else list(self.seeds)
        entries = []
        for family in families:
            for i, seed in enumerate(seeds):
                topology = self.topologies[i % len(self.topologies)] if self.topologies else None
                entries.append(SuiteEntry(family=family, seed=seed, topology=topology))
        return entries


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    version: int
    description: str = ""
    heldout: bool = False
    entries: list[SuiteEntry] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("entries")
    @classmethod
    def _families(cls, entries: list[SuiteEntry]) -> list[SuiteEntry]:
        for entry in entries:
            if not match_families(entry.family) or match_families(entry.family) != [entry.family]:
                raise ValueError(f"unknown family {entry.family!r}")
        return entries

    def expand(self) -> list[SuiteEntry]:
        """Every (family, seed, topology) of the suite, in order, duplicates removed; checks the split."""
        seen, out = set(), []
        for entry in [*self.entries, *(e for rule in self.rules for e in rule.expand())]:
            key = (entry.family, entry.seed, entry.topology)
            if key in seen:
                continue
            seen.add(key)
            if self.heldout and not is_heldout_seed(entry.seed):
                raise ScenarioError(f"suite {self.name}: seed {entry.seed} is not a held-out seed")
            if self.heldout and entry.topology and not is_heldout_topology(entry.topology):
                raise ScenarioError(f"suite {self.name}: topology {entry.topology} is not held out")
            if not self.heldout and is_heldout_seed(entry.seed):
                raise ScenarioError(f"suite {self.name}: seed {entry.seed} is held out; only the heldout suite "
                                    f"may use it")
            out.append(entry)
        return out


def suite_names() -> list[str]:
    return sorted(p.stem for p in SUITE_DIR.glob("*.yaml"))


def load_suite(name: str | Path) -> Suite:
    """A shipped suite by name (``smoke``, ``standard``, ``heldout``) or a suite file path."""
    path = Path(name)
    if not (path.suffix in (".yaml", ".yml") and path.exists()):
        path = SUITE_DIR / f"{name}.yaml"
        if not path.exists():
            raise ScenarioError(f"unknown suite {str(name)!r}; choose one of {', '.join(suite_names())} "
                                f"or give a suite file")
    try:
        data = yaml.safe_load(path.read_text())
        suite = Suite.model_validate(data)
    except (OSError, yaml.YAMLError) as err:
        raise ScenarioError(f"{path}: cannot read the suite ({err})") from None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ScenarioError(f"{path}: {where}: {first['msg']}") from None
    suite.expand()  # validates the families and the held-out split now
    return suite


def suite_tasks(suite: Suite, families: str | None = None, limit: int | None = None) -> list[Task]:
    entries = suite.expand()
    if families:
        wanted = set(match_families(families))
        entries = [e for e in entries if e.family in wanted]
    if limit is not None:
        entries = entries[:limit]
    return [e.task() for e in entries]
