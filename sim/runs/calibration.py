"""Calibration files: free parameters, targets and the optimiser of ``python run.py calibrate``.

A calibration TOML (``scenarios/calibration/*.toml``; every key in docs/calibration.md)::

    name, description
    experiment = "baseline_rates_experiment.toml"   # relative to this file: its runs give the groups
    [parameters."neurons.glutamatergic.background_rate_hz"]   # dotted scenario keys, as for --set
    low = 1200.0
    high = 2200.0
    log = false                       # optional: search evenly in log10 (needs low > 0)
    start = 1650.0                    # optional: Nelder-Mead's first point (default: the middle)
    [[targets]]                       # a group mean ...
    metric = "rate_glu_hz"
    group = { scenario = "normal", condition = "vehicle" }
    value = 2.5
    sd = 0.5                          # the tolerance that scales the target's error
    [[targets]]                       # ... or a percent change between two groups
    metric = "evoked_release_glu"
    treated = { scenario = "normal", condition = "ketamine_10uM" }
    reference = { scenario = "normal", condition = "vehicle" }
    value = -30.0                     # %
    sd = 5.0
    [optimiser]
    method = "nelder_mead"            # or "differential_evolution" (scipy.optimize)
    seed = 1
    maxfev = 40                       # nelder_mead; differential_evolution: maxiter, popsize
    [profile]                         # optional: the identifiability profile around the optimum
    points = 5                        # per parameter (odd; 0: no profile)
    span = 0.2                        # +- this share of the parameter's range
    [quick]                           # optional: the reduced variant run by --quick (the experiment's own
    maxfev = 8                        # quick variant, and these budget keys and profile_points)

This module only reads and checks the file (sim side); the measurements, the
objective and the optimiser are in ``analysis/calibration_*.py``. Metric names
are checked against the declared summary metrics (``sim.model.readout_table``)
and the per-run measurements the caller passes (``measures``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.model.limits import check_scenario
from sim.model.params import ScenarioError, did_you_mean
from sim.model.scenario import build_scenario, deep_merge, set_dotted
from sim.runs.experiment import Experiment, check_keys, get_key, load_experiment, read_with_quick, summary_metric_names
from sim.runs.sweep import NOT_PARAMETERS, SIGNIFICANT_DIGITS, is_integer_key

CALIBRATION_KEYS = ("name", "description", "experiment", "parameters", "targets", "optimiser", "profile", "quick")
PARAMETER_KEYS = ("low", "high", "log", "start")
TARGET_KEYS = ("name", "metric", "group", "treated", "reference", "value", "sd")
GROUP_KEYS = ("scenario", "condition")
OPTIMISER_KEYS = ("method", "seed", "maxiter", "popsize", "maxfev")
PROFILE_KEYS = ("points", "span")
QUICK_KEYS = ("maxiter", "popsize", "maxfev", "profile_points")
METHODS = ("differential_evolution", "nelder_mead")
#: the budget keys of each method, with their defaults (assumption: a small budget; raise it for real fits)
BUDGETS = {"differential_evolution": {"maxiter": 10, "popsize": 5}, "nelder_mead": {"maxfev": 40}}
DEFAULT_PROFILE_POINTS = 5
DEFAULT_PROFILE_SPAN = 0.2


@dataclass(frozen=True)
class FreeParameter:
    """A fitted scenario key, searched within ``[low, high]`` (evenly in log10 if ``log``)."""

    key: str
    low: float
    high: float
    log: bool = False
    start: float | None = None

    def to_unit(self, value: float) -> float:
        """The parameter's position in [0, 1] (on its log10 scale if ``log``): the optimisers' coordinates."""
        f = math.log10 if self.log else float
        return (f(value) - f(self.low)) / (f(self.high) - f(self.low))

    def from_unit(self, u: float) -> float:
        """The parameter value at unit coordinate ``u`` (clipped to the bounds), rounded to 12 digits."""
        u = min(1.0, max(0.0, float(u)))
        if self.log:
            lo, hi = math.log10(self.low), math.log10(self.high)
            value = 10 ** (lo + u * (hi - lo))
        else:
            value = self.low + u * (self.high - self.low)
        return float(f"{min(self.high, max(self.low, value)):.{SIGNIFICANT_DIGITS}g}")


@dataclass(frozen=True)
class GroupRef:
    """The runs of one scenario and condition of the experiment."""

    scenario: str
    condition: str

    @property
    def label(self) -> str:
        return f"{self.scenario}/{self.condition}"


@dataclass(frozen=True)
class Target:
    """A wanted value: the mean of ``metric`` over a group, or its percent change between two groups."""

    name: str
    metric: str
    value: float
    sd: float
    group: GroupRef | None = None        # a group mean
    treated: GroupRef | None = None      # a percent change: 100 (treated - reference) / reference of the means
    reference: GroupRef | None = None

    @property
    def kind(self) -> str:
        return "mean" if self.group is not None else "pct_change"

    def as_dict(self) -> dict:
        groups = ({"group": self.group.label} if self.group else
                  {"treated": self.treated.label, "reference": self.reference.label})
        return {"name": self.name, "kind": self.kind, "metric": self.metric, **groups, "value": self.value,
                "sd": self.sd}


@dataclass(frozen=True)
class OptimiserSettings:
    method: str
    seed: int
    budget: dict[str, int]


@dataclass
class Calibration:
    """A validated calibration: its experiment, free parameters, targets, optimiser and profile settings."""

    path: Path
    name: str
    description: str
    quick: bool
    experiment: Experiment
    parameters: list[FreeParameter]
    targets: list[Target]
    optimiser: OptimiserSettings
    profile_points: int
    profile_span: float

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def metrics(self) -> list[str]:
        return list(dict.fromkeys(t.metric for t in self.targets))

    def values(self, unit: Any) -> tuple[float, ...]:
        """Parameter values of a point in the unit cube (the optimisers' space)."""
        return tuple(p.from_unit(u) for p, u in zip(self.parameters, unit, strict=True))

    def assignment(self, values: tuple[float, ...]) -> dict[str, float]:
        return {p.key: v for p, v in zip(self.parameters, values, strict=True)}

    def vector_hash(self, values: tuple[float, ...]) -> str:
        """Eight hex digits naming the parameter values (their evaluation folder)."""
        return vector_hash(self.assignment(values))

    def experiment_at(self, values: tuple[float, ...]) -> Experiment:
        """The experiment with the parameter values set in every scenario (same master seed, same run seeds)."""
        data = {}
        for name, scenario in self.experiment.scenario_data.items():
            merged = deep_merge(scenario, {})
            for key, value in self.assignment(values).items():
                set_dotted(merged, key, value)
            data[name] = merged
        return dataclasses.replace(self.experiment, scenario_data=data)


def vector_hash(assignment: dict[str, float]) -> str:
    """Eight hex digits naming a parameter vector (its evaluation folder)."""
    text = json.dumps({k: float(v) for k, v in assignment.items()}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


# --------------------------------------------------------------------------- loading


def load_calibration(path: str | Path, quick: bool = False, measures: tuple[str, ...] = (),
                     allow_large: bool = False) -> Calibration:
    """Read and validate a calibration file; errors name the file, the key and what is allowed.

    ``measures`` are the per-run measurements a target may name besides the
    summary metrics (``analysis.validation_measures.run_measurements``); ``quick``
    selects the experiment's quick variant and the file's quick budget. The experiment, and
    its scenarios at the parameters' bounds, must be within the size limits of
    :mod:`sim.model.limits` unless ``allow_large``.
    """
    path = Path(path).resolve()
    data, variant = read_with_quick(path, CALIBRATION_KEYS, QUICK_KEYS, quick, f"[quick] ({', '.join(QUICK_KEYS)})")
    optimiser = _optimiser(data, variant if quick else {}, path)
    points, span = _profile(data, variant if quick else {}, path)
    parameters = _parameters(get_key(data, "parameters", dict, path), path)
    targets_raw = get_key(data, "targets", list, path)
    experiment = _experiment(data, path, quick, allow_large)
    cal = Calibration(path=path, name=get_key(data, "name", str, path, path.stem),
                      description=get_key(data, "description", str, path, ""), quick=quick, experiment=experiment,
                      parameters=parameters, targets=[], optimiser=optimiser, profile_points=points,
                      profile_span=span)
    _check_parameters_in_scenarios(cal, allow_large)
    cal.targets = _targets(targets_raw, cal, measures)
    return cal


def _experiment(data: dict, path: Path, quick: bool, allow_large: bool) -> Experiment:
    rel = get_key(data, "experiment", str, path)
    file = (path.parent / rel).resolve()
    if not file.is_file():
        raise ScenarioError(f"{path}: experiment: '{rel}' does not exist (relative to {path.parent}); allowed: "
                            f"the path of an experiment file")
    return load_experiment(file, quick=quick, allow_large=allow_large)


def _number(table: dict, key: str, path: Path, prefix: str, default: Any = ...) -> float:
    value = get_key(table, key, object, path, default, prefix)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{path}: {prefix}{key}: expected a finite number, got {value!r}")
    return float(value)


def _parameters(table: dict, path: Path) -> list[FreeParameter]:
    if not table:
        raise ScenarioError(f"{path}: parameters: empty; allowed: [parameters.\"dotted.scenario.key\"] tables "
                            f"with low and high")
    out = []
    for key, spec in table.items():
        prefix = f"parameters.\"{key}\"."
        where = f"{path}: parameters.\"{key}\""
        if not isinstance(spec, dict):
            raise ScenarioError(f"{where}: expected a table with low and high, got {spec!r}")
        check_keys(spec, PARAMETER_KEYS, path, prefix)
        if key in NOT_PARAMETERS:
            raise ScenarioError(f"{where}: not a parameter; allowed: dotted keys of scenario parameters")
        if is_integer_key(key):
            raise ScenarioError(f"{where}: takes whole numbers, which the optimisers (continuous) cannot fit; "
                                f"allowed: keys that take any number")
        low, high = _number(spec, "low", path, prefix), _number(spec, "high", path, prefix)
        log = get_key(spec, "log", bool, path, False, prefix)
        if low >= high:
            raise ScenarioError(f"{where}: low = {low:g}, high = {high:g} is an empty range; allowed: low < high")
        if log and low <= 0:
            raise ScenarioError(f"{where}.low: {low:g} is zero or below, which a log search cannot take; "
                                f"allowed: low > 0, or log = false")
        start = _number(spec, "start", path, prefix, None) if "start" in spec else None
        if start is not None and not low <= start <= high:
            raise ScenarioError(f"{where}.start: {start:g} is out of range; allowed: >= {low:g} and <= {high:g}")
        out.append(FreeParameter(key, low, high, log, start))
    return out


def _check_parameters_in_scenarios(cal: Calibration, allow_large: bool = False) -> None:
    """Every parameter at both bounds must give a valid scenario (within the size limits unless ``allow_large``),
    and must not be a level of the experiment."""
    exp = cal.experiment
    for p in cal.parameters:
        if p.key in exp.levels:
            raise ScenarioError(f"{cal.path}: parameters.\"{p.key}\": also a level of {exp.path.name}; allowed: "
                                f"a key the experiment does not vary")
    for bound in ("low", "high"):
        values = tuple(getattr(p, bound) for p in cal.parameters)
        try:
            at = cal.experiment_at(values)
        except ScenarioError as err:
            raise ScenarioError(f"{cal.path}: parameters: {str(err).removeprefix('--set ')}") from None
        for name, data in at.scenario_data.items():
            try:
                source = f"scenario '{name}', every parameter at its {bound} bound"
                check_scenario(build_scenario({**data, "seed": 0}, source), source, allow_large)
            except ScenarioError as err:
                raise ScenarioError(f"{cal.path}: parameters: {err}") from None


def _group(value: Any, cal: Calibration, where: str) -> GroupRef:
    exp = cal.experiment
    if not isinstance(value, dict):
        raise ScenarioError(f"{cal.path}: {where}: expected {{scenario = ..., condition = ...}}, got {value!r}")
    check_keys(value, GROUP_KEYS, cal.path, f"{where}.")
    scenario = get_key(value, "scenario", str, cal.path, ..., f"{where}.")
    condition = get_key(value, "condition", str, cal.path, ..., f"{where}.")
    if scenario not in exp.scenario_data:
        raise ScenarioError(f"{cal.path}: {where}.scenario: '{scenario}' is not a scenario of {exp.path.name}"
                            f"{did_you_mean(scenario, exp.scenario_data)}; allowed: {', '.join(exp.scenario_data)}")
    if condition not in exp.conditions:
        variant = " (its quick variant)" if cal.quick else ""
        raise ScenarioError(f"{cal.path}: {where}.condition: '{condition}' is not a condition of "
                            f"{exp.path.name}{variant}{did_you_mean(condition, exp.conditions)}; allowed: "
                            f"{', '.join(exp.conditions)}")
    return GroupRef(scenario, condition)


def _targets(raw: list, cal: Calibration, measures: tuple[str, ...]) -> list[Target]:
    if not raw:
        raise ScenarioError(f"{cal.path}: targets: empty; allowed: [[targets]] tables with metric, value, sd and "
                            f"group (or treated and reference)")
    known = [*summary_metric_names(), *measures]
    out: list[Target] = []
    for i, spec in enumerate(raw):
        where = f"targets[{i}]"
        if not isinstance(spec, dict):
            raise ScenarioError(f"{cal.path}: {where}: expected a table, got {spec!r}")
        check_keys(spec, TARGET_KEYS, cal.path, f"{where}.")
        metric = get_key(spec, "metric", str, cal.path, ..., f"{where}.")
        if metric not in known:
            raise ScenarioError(f"{cal.path}: {where}.metric: '{metric}' is not a summary metric or a run "
                                f"measurement{did_you_mean(metric, known)}; allowed: {', '.join(known)}")
        value = _number(spec, "value", cal.path, f"{where}.")
        sd = _number(spec, "sd", cal.path, f"{where}.")
        if sd <= 0:
            raise ScenarioError(f"{cal.path}: {where}.sd: {sd:g} is out of range; allowed: > 0")
        if ("group" in spec) == ("treated" in spec or "reference" in spec):
            raise ScenarioError(f"{cal.path}: {where}: give either group (a group mean) or treated and reference "
                                f"(a percent change)")
        if "group" in spec:
            group = _group(spec["group"], cal, f"{where}.group")
            target = Target("", metric, value, sd, group=group)
            default = f"{metric}[{group.label}]"
        else:
            pair = [_group(get_key(spec, k, dict, cal.path, ..., f"{where}."), cal, f"{where}.{k}")
                    for k in ("treated", "reference")]
            if pair[0] == pair[1]:
                raise ScenarioError(f"{cal.path}: {where}: treated and reference are both {pair[0].label}; "
                                    f"allowed: two different groups")
            target = Target("", metric, value, sd, treated=pair[0], reference=pair[1])
            default = f"pct_change:{metric}[{pair[0].label} vs {pair[1].label}]"
        name = get_key(spec, "name", str, cal.path, default, f"{where}.")
        if name in {t.name for t in out}:
            raise ScenarioError(f"{cal.path}: {where}.name: '{name}' is the name of another target; allowed: "
                                f"a name of its own")
        out.append(dataclasses.replace(target, name=name))
    return out


def _optimiser(data: dict, quick: dict, path: Path) -> OptimiserSettings:
    table = get_key(data, "optimiser", dict, path)
    check_keys(table, OPTIMISER_KEYS, path, "optimiser.")
    method = get_key(table, "method", str, path, ..., "optimiser.")
    if method not in METHODS:
        raise ScenarioError(f"{path}: optimiser.method: '{method}' is not known{did_you_mean(method, METHODS)}; "
                            f"allowed: {', '.join(METHODS)}")
    seed = get_key(table, "seed", int, path, ..., "optimiser.")
    if seed < 0:
        raise ScenarioError(f"{path}: optimiser.seed: {seed} is out of range; allowed: >= 0")
    budget = dict(BUDGETS[method])
    for prefix, source in (("optimiser.", table), ("quick.", quick)):
        for key in ("maxiter", "popsize", "maxfev"):
            if key not in source:
                continue
            if key not in budget:
                raise ScenarioError(f"{path}: {prefix}{key}: not used by method '{method}'; allowed: "
                                    f"{', '.join(BUDGETS[method])}")
            budget[key] = get_key(source, key, int, path, ..., prefix)
            if budget[key] < 1:
                raise ScenarioError(f"{path}: {prefix}{key}: {budget[key]} is out of range; allowed: >= 1")
    return OptimiserSettings(method, seed, budget)


def _profile(data: dict, quick: dict, path: Path) -> tuple[int, float]:
    table = get_key(data, "profile", dict, path, {})
    check_keys(table, PROFILE_KEYS, path, "profile.")
    points = get_key(table, "points", int, path, DEFAULT_PROFILE_POINTS, "profile.")
    prefix = "profile."
    if "profile_points" in quick:
        points, prefix = get_key(quick, "profile_points", int, path, ..., "quick."), "quick."
    if points != 0 and (points < 3 or points % 2 == 0):
        key = "profile_points" if prefix == "quick." else "points"
        raise ScenarioError(f"{path}: {prefix}{key}: {points} is out of range; allowed: 0 (no profile) or an odd "
                            f"number >= 3 (the optimum in the middle)")
    span = _number(table, "span", path, "profile.", DEFAULT_PROFILE_SPAN)
    if not 0 < span <= 1:
        raise ScenarioError(f"{path}: profile.span: {span:g} is out of range; allowed: > 0 and <= 1")
    return points, span
