"""Experiment files: scenarios x conditions x parameter levels x replicates, with a master seed.

Every key of an experiment file (``scenarios/experiments/*.toml``), with its
type, default and meaning, is declared in :mod:`sim.runs.experiment_keys` and
listed in ``docs/experiments.md``; the contrasts the report draws are
:mod:`sim.runs.contrasts`.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from sim.model.limits import check_runs, check_scenario, check_seed
from sim.model.params import Scenario, ScenarioError, did_you_mean
from sim.model.readout_table import SUMMARY_METRICS
from sim.model.scenario import build_scenario, deep_merge, load_raw, read_toml, set_dotted, toml_reference
from sim.runs import experiment_keys
from sim.runs.contrasts import declared_contrasts, default_contrasts, factorial

EXPERIMENT_KEYS = experiment_keys.NAMES     # each with its type, default and meaning: sim.runs.experiment_keys
QUICK_KEYS = ("replicates", "conditions", "scenario")


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: which scenario, condition, levels and replicate, and its seed.

    ``levels`` are the run's own scenario overrides (dotted keys); a sweep's runs
    also carry the index of their ``sample`` (a point of the sweep's design).
    """

    index: int
    run_id: str
    scenario: str
    condition: str
    levels: dict[str, Any]
    replicate: int
    seed: int
    sample: int | None = None

    @property
    def key(self) -> str:
        """The run's identity (independent of order and workers); a batch run's seed derives from it."""
        levels = ",".join(f"{k}={v!r}" for k, v in sorted(self.levels.items()))
        sample = "" if self.sample is None else f"sample={self.sample}|"
        return f"{self.scenario}|{self.condition}|{sample}{levels}|{self.replicate}"

    def as_dict(self) -> dict:
        out = {"index": self.index, "run_id": self.run_id, "key": self.key, "scenario": self.scenario,
               "condition": self.condition, "levels": self.levels, "replicate": self.replicate, "seed": self.seed}
        return out if self.sample is None else {**out, "sample": self.sample}


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

    kind: ClassVar[str] = "batch"          # the manifest's kind

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
    model: str = "simulation"              # what a run computes (sim.runs.batch.run_function)
    contrasts: list[dict] = field(default_factory=list)   # the comparisons of the analysis (sim.runs.contrasts)
    factorial: dict | None = None          # conditions whose drugs cross (sim.runs.contrasts.factorial)

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

    def fingerprint(self) -> dict:
        """What must not change for a folder of this experiment to be resumed (hashed into the manifest)."""
        return {"experiment": self.path.read_text(encoding="utf-8"), "scenarios": self.scenario_data}

    def manifest_extra(self) -> dict:
        """Keys that a subclass adds to the folder's manifest."""
        return {}

    def validate_runs(self, allow_large: bool = False) -> None:
        """Build every distinct scenario once so that a bad level or condition, or a network or protocol above the
        size limits (unless ``allow_large``), fails before any run."""
        seen = set()
        for spec in self.runs():
            sig = (spec.scenario, tuple(sorted(spec.levels.items())))
            if sig in seen:
                continue
            seen.add(sig)
            scenario = build_scenario(self.run_scenario(spec), str(self.path))
            check_scenario(scenario, str(self.path), allow_large)
            for condition in self.conditions:
                _check_condition(scenario, condition, self.path, spec.scenario)


def _check_condition(scenario: Scenario, condition: str, path: Path, name: str) -> None:
    try:
        scenario.condition(condition)
    except ScenarioError as err:
        raise ScenarioError(f"{path}: conditions: scenario '{name}': {err}") from None


def load_experiment(path: str | Path, quick: bool = False, master_seed: int | None = None,
                    allow_large: bool = False) -> Experiment:
    """Read and validate an experiment file; errors name the file and the key.

    ``quick`` selects the file's ``quick`` variant (fewer replicates, its partial
    scenario merged on top of ``[scenario]``); ``master_seed`` replaces the file's.
    Runs and scenarios above the size limits of :mod:`sim.model.limits` are refused,
    before the list of runs is built, unless ``allow_large``.
    """
    path = Path(path).resolve()
    data = read_toml(path)
    check_keys(data, EXPERIMENT_KEYS, path)
    variant = _quick_variant(data, path)
    exp = Experiment(
        path=path,
        name=get_key(data, "name", str, path, path.stem),
        description=get_key(data, "description", str, path, ""),
        master_seed=get_key(data, "master_seed", int, path) if master_seed is None else int(master_seed),
        replicates=variant["replicates"] if quick else get_key(data, "replicates", int, path),
        conditions=variant["conditions"] if quick else get_key(data, "conditions", list, path),
        reference=get_key(data, "reference", dict, path, {}),
        readouts=get_key(data, "readouts", list, path, []),
        levels=get_key(data, "levels", dict, path, {}),
    )
    check_seed(exp.master_seed, f"{path}: master_seed" if master_seed is None else f"{path}: master_seed (--seed)")
    check_replicates_and_conditions(exp, quick)
    for key, values in exp.levels.items():
        if not isinstance(values, list) or not values:
            raise ScenarioError(f"{path}: levels.{key}: expected a non-empty list of values")
    shared = get_key(data, "scenario", dict, path, {})
    load_scenarios(exp, get_key(data, "scenarios", list, path), deep_merge(shared, variant["scenario"]) if quick
                   else shared)
    if not exp.scenario_data:
        raise ScenarioError(f"{path}: scenarios: empty; allowed: a list of scenario files")
    check_runs(path, run_factors(exp, quick), allow_large)
    _check_reference(exp)
    exp.validate_runs(allow_large)
    check_readouts(exp)
    set_contrasts(exp, data.get("contrasts"), data["conditions"])
    return exp


def set_contrasts(exp: Experiment, declared: object, all_conditions: list[str]) -> None:
    """The experiment's contrasts (declared, else derived from the drugs) and factorial design; declared pairs of
    conditions that a ``quick`` variant leaves out are dropped."""
    reference = build_scenario(exp.scenario_data[exp.reference["scenario"]], str(exp.path))
    scenarios = list(exp.scenario_data)
    if declared is None:
        exp.contrasts = default_contrasts(reference, scenarios, exp.conditions, exp.reference)
    else:
        everything = declared_contrasts(declared, scenarios, all_conditions, exp.path)
        exp.contrasts = [c for c in (_present(c, exp.conditions) for c in everything) if c["pairs"]]
    exp.factorial = factorial(reference, exp.conditions)


def _present(contrast: dict, conditions: list[str]) -> dict:
    pairs = [p for p in contrast["pairs"]
             if p["treatment"]["condition"] in conditions and p["reference"]["condition"] in conditions]
    return {**contrast, "pairs": pairs}


def summary_metric_names() -> list[str]:
    """The summary metrics every run reports (declared in :mod:`sim.model.readout_table`)."""
    return list(SUMMARY_METRICS)


def check_readouts(exp: Experiment) -> None:
    """Refuse readouts that are not summary metrics of the experiment's runs."""
    known = summary_metric_names()
    for readout in exp.readouts:
        if not isinstance(readout, str) or readout not in known:
            raise ScenarioError(f"{exp.path}: readouts: {readout!r} is not a summary metric"
                                f"{did_you_mean(str(readout), known)}; allowed: {', '.join(known)}")


def run_factors(exp: Experiment, quick: bool = False) -> list[tuple[str, int, str]]:
    """What the number of runs is the product of: (key, count, noun) of scenarios, conditions, levels, replicates."""
    return [("scenarios", len(exp.scenario_data), "scenarios"), ("conditions", len(exp.conditions), "conditions"),
            ("levels", math.prod(len(v) for v in exp.levels.values()), "level combinations"),
            (f"{'quick.' if quick else ''}replicates", exp.replicates, "replicates")]


def check_keys(data: dict, allowed: tuple[str, ...], path: Path, prefix: str = "") -> None:
    """Refuse keys of ``data`` that are not ``allowed`` (named with ``prefix``, e.g. ``quick.``)."""
    for key in data:
        if key not in allowed:
            raise ScenarioError(f"{path}: {prefix}{key}: unknown key{did_you_mean(key, allowed)}; "
                                f"allowed: {', '.join(allowed)}")


def read_with_quick(path: Path, keys: tuple[str, ...], quick_keys: tuple[str, ...], quick: bool,
                    quick_form: str) -> tuple[dict, dict]:
    """A design file's table and its ``quick`` table, both checked for unknown keys; with ``quick`` a file
    without a quick table is refused (``quick_form`` shows what it should hold)."""
    data = read_toml(path)
    check_keys(data, keys, path)
    variant = get_key(data, "quick", dict, path, {})
    check_keys(variant, quick_keys, path, "quick.")
    if quick and not variant:
        raise ScenarioError(f"{path}: --quick: the file has no quick table; allowed: a file with {quick_form}")
    return data, variant


def check_replicates_and_conditions(exp: Experiment, quick: bool) -> None:
    if exp.replicates < 1:
        raise ScenarioError(f"{exp.path}: {'quick.' if quick else ''}replicates: {exp.replicates} is out of range; "
                            f"allowed: >= 1")
    if not exp.conditions:
        raise ScenarioError(f"{exp.path}: conditions: empty; allowed: a list of condition names")


def load_scenarios(exp: Experiment, files: list, shared: dict) -> None:
    """Read each scenario file (relative to the experiment file) with ``shared`` merged on top, by scenario name."""
    for rel in files:
        try:
            raw, chain = load_raw(toml_reference(rel, exp.path, "scenarios"))
        except ScenarioError as err:
            raise ScenarioError(f"{exp.path}: scenarios: {err}") from None
        merged = deep_merge(raw, shared)
        name = merged.get("name", Path(rel).stem)
        if name in exp.scenario_data:
            raise ScenarioError(f"{exp.path}: scenarios: two scenarios are named '{name}'")
        exp.scenario_data[name] = merged
        exp.scenario_files[name] = chain


def _quick_variant(data: dict, path: Path) -> dict:
    """The ``quick`` table, checked even when not used: ``replicates`` and ``conditions`` (default: the file's,
    conditions a subset of them) and a partial ``scenario``."""
    quick = get_key(data, "quick", dict, path, {})
    check_keys(quick, QUICK_KEYS, path, "quick.")
    conditions = get_key(data, "conditions", list, path)
    variant = {"replicates": get_key(quick, "replicates", int, path, get_key(data, "replicates", int, path), "quick."),
               "conditions": get_key(quick, "conditions", list, path, conditions, "quick."),
               "scenario": get_key(quick, "scenario", dict, path, {}, "quick.")}
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
    check_keys(ref, ("scenario", "condition"), exp.path, "reference.")
    if ref.get("scenario") not in exp.scenario_data or ref.get("condition") not in exp.conditions:
        raise ScenarioError(f"{exp.path}: reference: {ref} is not one of the experiment's scenarios "
                            f"({', '.join(exp.scenario_data)}) and conditions ({', '.join(exp.conditions)})")


def get_key(data: dict, key: str, typ: type, path: Path, default: Any = ..., prefix: str = "") -> Any:
    """``data[key]`` checked to be a ``typ``; a missing key without ``default`` is an error naming the file."""
    if key not in data:
        if default is ...:
            raise ScenarioError(f"{path}: {prefix}{key}: missing required key")
        return default
    value = data[key]
    if typ is int and isinstance(value, bool) or not isinstance(value, typ):
        raise ScenarioError(f"{path}: {prefix}{key}: expected {typ.__name__}, got {value!r}")
    return value
