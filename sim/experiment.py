"""Experiment files: scenarios x conditions x parameter levels x replicates, with a master seed.

An experiment TOML (``scenarios/experiments/*.toml``) holds::

    name, description
    master_seed = 2021             # every run's seed derives from it and the run's key
    replicates = 5
    scenarios = ["../normal.toml", "../depression_like.toml"]   # relative to the experiment file
    conditions = ["vehicle", "ketamine_10uM"]
    reference = {scenario = "normal", condition = "vehicle"}   # the comparison group of the analysis
    readouts = ["evoked_release_glu_per_pulse", ...]           # summary metrics the report analyses
    [levels]                        # optional: dotted scenario keys and the values crossed over
    "vesicles.glutamatergic.endocytosis_tau_s" = [10.0, 20.0]
    [scenario]                      # optional: a partial scenario merged into every scenario
    protocol.duration_s = 40.0      # (conditions and stimuli may be defined here too)
    quick = { replicates = 4, conditions = ["vehicle"], scenario = { network = { n_neurons = 500 } } }
                                    # optional: the reduced variant that ``load_experiment(..., quick=True)``
                                    # runs (``python run.py validate --quick``): its replicates and conditions
                                    # (a subset) replace the file's, its partial scenario is merged on top of
                                    # ``[scenario]``; each key is optional
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.params import Scenario, ScenarioError, did_you_mean
from sim.scenario import build_scenario, deep_merge, load_raw, read_toml, set_dotted

EXPERIMENT_KEYS = ("name", "description", "master_seed", "replicates", "scenarios", "conditions", "reference",
                   "readouts", "levels", "scenario", "quick")
QUICK_KEYS = ("replicates", "conditions", "scenario")


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: which scenario, condition, levels and replicate, and its seed."""

    index: int
    run_id: str
    scenario: str
    condition: str
    levels: dict[str, Any]
    replicate: int
    seed: int

    @property
    def key(self) -> str:
        """The run's identity, from which its seed derives (independent of order and workers)."""
        levels = ",".join(f"{k}={v!r}" for k, v in sorted(self.levels.items()))
        return f"{self.scenario}|{self.condition}|{levels}|{self.replicate}"

    def as_dict(self) -> dict:
        return {"index": self.index, "run_id": self.run_id, "key": self.key, "scenario": self.scenario,
                "condition": self.condition, "levels": self.levels, "replicate": self.replicate, "seed": self.seed}


def run_seed(master_seed: int, key: str) -> int:
    """A 63-bit seed from the master seed and the run's key (numpy SeedSequence)."""
    words = np.frombuffer(hashlib.sha256(key.encode()).digest()[:16], dtype=np.uint32).tolist()
    state = np.random.SeedSequence(master_seed, spawn_key=tuple(words)).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def run_scenario_data(base: dict, levels: dict[str, Any], seed: int) -> dict:
    """A copy of a raw scenario dictionary with a run's levels applied and its seed set."""
    data = deep_merge(base, {})
    for key, value in levels.items():
        set_dotted(data, key, value)
    data["seed"] = seed
    return data


@dataclass
class Experiment:
    """A validated experiment: its file, the scenarios it crosses and every run's specification."""

    path: Path
    name: str
    description: str
    master_seed: int
    replicates: int
    conditions: list[str]
    reference: dict[str, str]
    readouts: list[str]
    levels: dict[str, list]
    scenario_data: dict[str, dict] = field(default_factory=dict)   # scenario name -> merged raw dict
    scenario_files: dict[str, list[Path]] = field(default_factory=dict)

    def runs(self) -> list[RunSpec]:
        """Every run, in a fixed order: scenario, condition, levels, replicate."""
        keys = list(self.levels)
        combos = list(itertools.product(*(self.levels[k] for k in keys))) or [()]
        out: list[RunSpec] = []
        for scenario, condition, combo, rep in itertools.product(self.scenario_data, self.conditions, combos,
                                                                 range(self.replicates)):
            levels = dict(zip(keys, combo, strict=True))
            spec = RunSpec(len(out), f"r{len(out):05d}", scenario, condition, levels, rep, 0)
            out.append(RunSpec(**{**spec.__dict__, "seed": run_seed(self.master_seed, spec.key)}))
        return out

    def run_scenario(self, spec: RunSpec) -> dict:
        """The raw scenario dictionary of one run (levels applied, seed set)."""
        return run_scenario_data(self.scenario_data[spec.scenario], spec.levels, spec.seed)

    def validate_runs(self) -> None:
        """Build every distinct scenario once so that a bad level or condition fails before any run."""
        seen = set()
        for spec in self.runs():
            sig = (spec.scenario, tuple(sorted(spec.levels.items())))
            if sig in seen:
                continue
            seen.add(sig)
            scenario = build_scenario(self.run_scenario(spec), str(self.path))
            for condition in self.conditions:
                _check_condition(scenario, condition, self.path, spec.scenario)


def _check_condition(scenario: Scenario, condition: str, path: Path, name: str) -> None:
    try:
        scenario.condition(condition)
    except ScenarioError as err:
        raise ScenarioError(f"{path}: conditions: scenario '{name}': {err}") from None


def load_experiment(path: str | Path, quick: bool = False, master_seed: int | None = None) -> Experiment:
    """Read and validate an experiment file; errors name the file and the key.

    ``quick`` selects the file's ``quick`` variant (fewer replicates, its partial
    scenario merged on top of ``[scenario]``); ``master_seed`` replaces the file's.
    """
    path = Path(path).resolve()
    data = read_toml(path)
    for key in data:
        if key not in EXPERIMENT_KEYS:
            raise ScenarioError(f"{path}: {key}: unknown key{did_you_mean(key, EXPERIMENT_KEYS)}; "
                                f"allowed: {', '.join(EXPERIMENT_KEYS)}")
    variant = _quick_variant(data, path)
    exp = Experiment(
        path=path,
        name=_get(data, "name", str, path, path.stem),
        description=_get(data, "description", str, path, ""),
        master_seed=_get(data, "master_seed", int, path) if master_seed is None else int(master_seed),
        replicates=variant["replicates"] if quick else _get(data, "replicates", int, path),
        conditions=variant["conditions"] if quick else _get(data, "conditions", list, path),
        reference=_get(data, "reference", dict, path, {}),
        readouts=_get(data, "readouts", list, path, []),
        levels=_get(data, "levels", dict, path, {}),
    )
    if exp.replicates < 1:
        raise ScenarioError(f"{path}: {'quick.' if quick else ''}replicates: {exp.replicates} is out of range; "
                            f"allowed: >= 1")
    if not exp.conditions:
        raise ScenarioError(f"{path}: conditions: empty; allowed: a list of condition names")
    for key, values in exp.levels.items():
        if not isinstance(values, list) or not values:
            raise ScenarioError(f"{path}: levels.{key}: expected a non-empty list of values")
    shared = _get(data, "scenario", dict, path, {})
    if quick:
        shared = deep_merge(shared, variant["scenario"])
    for rel in _get(data, "scenarios", list, path):
        raw, files = load_raw(path.parent / rel)
        merged = deep_merge(raw, shared)
        name = merged.get("name", Path(rel).stem)
        if name in exp.scenario_data:
            raise ScenarioError(f"{path}: scenarios: two scenarios are named '{name}'")
        exp.scenario_data[name] = merged
        exp.scenario_files[name] = files
    _check_reference(exp)
    exp.validate_runs()
    return exp


def _quick_variant(data: dict, path: Path) -> dict:
    """The ``quick`` table, checked even when not used: ``replicates`` and ``conditions`` (default: the file's,
    conditions a subset of them) and a partial ``scenario``."""
    quick = _get(data, "quick", dict, path, {})
    for key in quick:
        if key not in QUICK_KEYS:
            raise ScenarioError(f"{path}: quick.{key}: unknown key{did_you_mean(key, QUICK_KEYS)}; "
                                f"allowed: {', '.join(QUICK_KEYS)}")
    conditions = _get(data, "conditions", list, path)
    variant = {"replicates": _get(quick, "replicates", int, path, _get(data, "replicates", int, path), "quick."),
               "conditions": _get(quick, "conditions", list, path, conditions, "quick."),
               "scenario": _get(quick, "scenario", dict, path, {}, "quick.")}
    extra = [c for c in variant["conditions"] if c not in conditions]
    if extra or not variant["conditions"]:
        raise ScenarioError(f"{path}: quick.conditions: {', '.join(extra) or 'empty'}; allowed: a non-empty "
                            f"subset of conditions ({', '.join(conditions)})")
    return variant


def _check_reference(exp: Experiment) -> None:
    ref = exp.reference
    if not ref:
        exp.reference = {"scenario": next(iter(exp.scenario_data)), "condition": exp.conditions[0]}
        return
    if ref.get("scenario") not in exp.scenario_data or ref.get("condition") not in exp.conditions:
        raise ScenarioError(f"{exp.path}: reference: {ref} is not one of the experiment's scenarios "
                            f"({', '.join(exp.scenario_data)}) and conditions ({', '.join(exp.conditions)})")


def _get(data: dict, key: str, typ: type, path: Path, default: Any = ..., prefix: str = "") -> Any:
    if key not in data:
        if default is ...:
            raise ScenarioError(f"{path}: {prefix}{key}: missing required key")
        return default
    value = data[key]
    if typ is int and isinstance(value, bool) or not isinstance(value, typ):
        raise ScenarioError(f"{path}: {prefix}{key}: expected {typ.__name__}, got {value!r}")
    return value
