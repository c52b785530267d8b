"""Parameter sweeps: a design of parameter values (grid, Latin hypercube, Sobol, Morris) run as a batch.

A sweep file (``scenarios/sweeps/*.toml``; every key in docs/sweeps.md)::

    name, description
    master_seed = 11                  # the design's and every run's seed derive from it
    design = "sobol"                  # grid | lhs | sobol | morris
    samples = 64                      # lhs: points; sobol: base sample N, a power of two -> N (D + 2) points;
                                      # morris: trajectories r -> r (D + 1) points; grid: not used
    replicates = 1                    # runs per design point and condition
    scenarios = ["../depression_like.toml"]
    conditions = ["vehicle", "ketamine"]
    contrast = { reference = "vehicle", treatment = "ketamine" }   # optional: analyse % changes
    outputs = ["evoked_release_glu_per_pulse"]                     # summary metrics analysed
    [parameters."vesicles.glutamatergic.release_probability"]      # dotted scenario keys
    range = [0.15, 0.4]               # low, high (or values = [...] for a grid)
    scale = "linear"                  # or "log"
    [scenario]                        # partial scenario merged into every scenario, as in experiments

A sweep is an :class:`~sim.runs.experiment.Experiment` whose runs carry their
design point as per-run overrides (``RunSpec.levels``) and its index
(``RunSpec.sample``): ``sim.runs.batch.run_batch`` runs it like any batch
(streamed, resumable, on any backend). Samplers are SALib's (Saltelli/Sobol,
Morris) and scipy's (Latin hypercube); the design's seed derives from the
master seed, so a sweep file always gives the same points.

Seeds are paired: the conditions of one design point and replicate share a
seed (a contrast compares like with like), and with ``seeds = "common"`` (the
default) every design point of a replicate shares it too (common random
numbers: the response is a smooth function of the parameters).
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from sim.model import limits
from sim.model.limits import check_runs, check_seed, count, refuse_above
from sim.model.params import ConditionParams, Scenario, ScenarioError, StimulusParams, did_you_mean, schema_fields
from sim.model.scenario import deep_merge
from sim.model.testfunctions import TEST_MODELS
from sim.runs.experiment import (
    Experiment,
    RunSpec,
    check_keys,
    check_replicates_and_conditions,
    get_key,
    load_scenarios,
    read_with_quick,
    run_scenario_data,
    run_seed,
    summary_metric_names,
)

SWEEP_KEYS = ("name", "description", "model", "master_seed", "design", "samples", "morris_levels", "replicates",
              "seeds", "scenarios", "conditions", "contrast", "outputs", "parameters", "scenario", "quick")
PARAMETER_KEYS = ("range", "values", "levels", "scale")
QUICK_KEYS = ("samples", "replicates", "scenario")
DESIGNS = ("grid", "lhs", "sobol", "morris")
SCALES = ("linear", "log")
SEEDS = ("common", "per_sample")
MODELS = ("simulation", *TEST_MODELS)
NOT_PARAMETERS = ("name", "description", "seed", "extends")
SIGNIFICANT_DIGITS = 12          # design values are rounded to this many digits (readable keys and tables)
DEFAULT_MORRIS_LEVELS = 4        # SALib's default (Saltelli et al. 2008, Global Sensitivity Analysis, ch. 3)


# --------------------------------------------------------------------------- parameters and designs


@dataclass(frozen=True)
class Parameter:
    """One varied parameter: a dotted scenario key, its range (or explicit grid levels) and scale."""

    key: str
    low: float
    high: float
    scale: str = "linear"
    values: tuple[float, ...] = ()       # grid: explicit levels
    levels: int = 0                      # grid: number of points over [low, high]
    integer: bool = False                # the scenario key takes whole numbers: values are rounded

    @property
    def design_bounds(self) -> list[float]:
        """The range in the space the samplers work in: the values, or their log10 for a log scale."""
        return [self.to_design(self.low), self.to_design(self.high)]

    def to_design(self, value: float | np.ndarray) -> float | np.ndarray:
        return np.log10(value) if self.scale == "log" else value

    def from_design(self, x: np.ndarray) -> list[float | int]:
        """Parameter values of design coordinates (inverse of ``to_design``), rounded as the key needs."""
        values = np.power(10.0, x) if self.scale == "log" else np.asarray(x, dtype=float)
        return [self.clean(v) for v in values]

    def clean(self, value: float) -> float | int:
        if self.integer:
            return int(round(float(value)))
        return float(f"{float(value):.{SIGNIFICANT_DIGITS}g}")

    def grid(self) -> list[float | int]:
        """A grid's levels: the explicit values, or ``levels`` points evenly spaced on the parameter's scale."""
        if self.values:
            return [self.clean(v) for v in self.values]
        low, high = self.design_bounds
        return self.from_design(np.linspace(low, high, self.levels))


def salib_problem(parameters: list[Parameter]) -> dict:
    """The SALib problem of the parameters (bounds on the design scale: log10 for log parameters)."""
    return {"num_vars": len(parameters), "names": [p.key for p in parameters],
            "bounds": [p.design_bounds for p in parameters]}


def design_points(design: str, parameters: list[Parameter], samples: int | None, seed: int,
                  morris_levels: int = DEFAULT_MORRIS_LEVELS) -> list[dict[str, float | int]]:
    """The design's points, each a {key: value} dict, in the samplers' order (which the analysis relies on).

    grid: every combination of the parameters' levels (first parameter slowest);
    lhs: ``samples`` points of a scipy Latin hypercube; sobol: SALib's Saltelli
    scheme for first-order and total indices, ``samples`` (D + 2) points; morris:
    ``samples`` SALib Morris trajectories of D + 1 points on ``morris_levels`` levels.
    """
    keys = [p.key for p in parameters]
    if design == "grid":
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(p.grid() for p in parameters))]
    problem = salib_problem(parameters)
    if design == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(parameters), rng=np.random.default_rng(seed)).random(samples)
        bounds = np.array(problem["bounds"])
        x = qmc.scale(unit, bounds[:, 0], bounds[:, 1])
    elif design == "sobol":
        from SALib.sample import sobol

        x = sobol.sample(problem, samples, calc_second_order=False, seed=seed)
    elif design == "morris":
        from SALib.sample import morris

        x = morris.sample(problem, samples, num_levels=morris_levels, seed=seed)
    else:
        raise ValueError(f"unknown design {design!r}")
    columns = [p.from_design(x[:, i]) for i, p in enumerate(parameters)]
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]


# --------------------------------------------------------------------------- the sweep


@dataclass
class Sweep(Experiment):
    """A validated sweep: an experiment whose runs are the design's points x conditions x replicates."""

    kind: ClassVar[str] = "sweep"

    design: str = "grid"
    samples: int | None = None
    morris_levels: int = DEFAULT_MORRIS_LEVELS
    seeds: str = "common"
    parameters: list[Parameter] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    contrast: dict[str, str] = field(default_factory=dict)
    quick: bool = False

    @functools.cached_property
    def points(self) -> list[dict[str, float | int]]:
        """The design's points (computed once)."""
        seed = run_seed(self.master_seed, "design") % 2**32   # some samplers take 32-bit seeds only
        return design_points(self.design, self.parameters, self.samples, seed, self.morris_levels)

    def seed_key(self, scenario: str, sample: int, replicate: int) -> str:
        """The key a run's seed derives from: never the condition (paired conditions), the sample only if
        ``seeds = "per_sample"``."""
        point = f"sample={sample}|" if self.seeds == "per_sample" else ""
        return f"{scenario}|{point}replicate={replicate}"

    @functools.cached_property
    def _runs(self) -> tuple[RunSpec, ...]:
        out: list[RunSpec] = []
        for scenario, (sample, values), rep in itertools.product(self.scenario_data, enumerate(self.points),
                                                                 range(self.replicates)):
            seed = run_seed(self.master_seed, self.seed_key(scenario, sample, rep))
            for condition in self.conditions:
                out.append(RunSpec(len(out), f"r{len(out):05d}", scenario, condition, dict(values), rep, seed,
                                   sample))
        return tuple(out)

    def runs(self) -> list[RunSpec]:
        """Every run, in a fixed order: scenario, design point, replicate, condition."""
        return list(self._runs)

    def fingerprint(self) -> dict:
        return {**super().fingerprint(), "quick": self.quick, "points": self.points}

    def manifest_extra(self) -> dict:
        return {"sweep": {"model": self.model, "design": self.design, "samples": self.samples,
                          "morris_levels": self.morris_levels if self.design == "morris" else None,
                          "seeds": self.seeds, "quick": self.quick, "n_points": len(self.points),
                          "parameters": [asdict(p) for p in self.parameters], "outputs": self.outputs,
                          "contrast": self.contrast, "problem": salib_problem(self.parameters)}}

    def validate_runs(self, allow_large: bool = False) -> None:
        if self.model != "simulation":
            return
        for name, data in self.scenario_data.items():
            for p in self.parameters:
                try:
                    run_scenario_data(data, {p.key: p.low}, 0)
                except ScenarioError as err:
                    raise ScenarioError(f"{self.path}: parameters.\"{p.key}\": "
                                        f"{str(err).removeprefix('--set ')} (scenario '{name}')") from None
        super().validate_runs(allow_large)


def parameters_from_sweep(manifest_sweep: dict) -> list[Parameter]:
    """The parameters stored in a sweep manifest's ``sweep`` section."""
    return [Parameter(**{**p, "values": tuple(p.get("values") or ())}) for p in manifest_sweep["parameters"]]


# --------------------------------------------------------------------------- loading


def load_sweep(path: str | Path, quick: bool = False, allow_large: bool = False) -> Sweep:
    """Read and validate a sweep file; errors name the file, the key and what is allowed.

    ``quick`` selects the file's ``quick`` variant (its ``samples``, ``replicates``
    and partial ``scenario`` replace or extend the file's). A design, runs or
    scenarios above the size limits of :mod:`sim.model.limits` are refused, before the
    design is drawn, unless ``allow_large``.
    """
    path = Path(path).resolve()
    data, variant = read_with_quick(path, SWEEP_KEYS, QUICK_KEYS, quick, f"quick = {{ {', '.join(QUICK_KEYS)} }}")
    chosen = {**data, **{k: v for k, v in variant.items() if k != "scenario"}} if quick else data

    def prefix(key: str) -> str:   # a key taken from the quick table is reported as quick.KEY
        return "quick." if quick and key in variant else ""

    model = _choice(data, "model", MODELS, path, "simulation")
    sweep = Sweep(
        path=path,
        name=get_key(data, "name", str, path, path.stem),
        description=get_key(data, "description", str, path, ""),
        master_seed=get_key(data, "master_seed", int, path),
        replicates=get_key(chosen, "replicates", int, path, 1, prefix("replicates")),
        conditions=get_key(data, "conditions", list, path, ["vehicle"] if model == "simulation" else [model]),
        reference={},
        readouts=[],
        levels={},
        model=model,
        design=_choice(data, "design", DESIGNS, path),
        seeds=_choice(data, "seeds", SEEDS, path, "common"),
        quick=quick,
    )
    check_seed(sweep.master_seed, f"{path}: master_seed")
    check_replicates_and_conditions(sweep, quick)
    sweep.samples = _samples(sweep, chosen, path, prefix("samples"))
    sweep.morris_levels = _morris_levels(sweep, data, path)
    sweep.parameters = _parameters(sweep, get_key(data, "parameters", dict, path))
    sweep.contrast = _contrast(sweep, get_key(data, "contrast", dict, path, {}))
    sweep.outputs = _string_list(data, "outputs", path)
    if model == "simulation":
        shared = get_key(data, "scenario", dict, path, {})
        variant_scenario = get_key(variant, "scenario", dict, path, {}, "quick.")
        load_scenarios(sweep, get_key(data, "scenarios", list, path),
                       deep_merge(shared, variant_scenario) if quick else shared)
        if not sweep.scenario_data:
            raise ScenarioError(f"{path}: scenarios: empty; allowed: a list of scenario files")
        sweep.reference = {"scenario": next(iter(sweep.scenario_data)),
                           "condition": sweep.contrast.get("reference", sweep.conditions[0])}
    else:
        _check_test_model(sweep, data)
    sweep.readouts = list(sweep.outputs)
    check_design_size(sweep, prefix("samples"), prefix("replicates"), allow_large)
    sweep.validate_runs(allow_large)
    _check_outputs(sweep)
    return sweep


def design_size(design: str, parameters: list[Parameter], samples: int | None) -> int:
    """The number of design points (without drawing them): the product of a grid's levels, N for lhs, N (D + 2)
    for sobol (first-order and total indices), r (D + 1) for morris."""
    d = len(parameters)
    if design == "grid":
        return math.prod(len(p.values) or p.levels for p in parameters)
    return samples * {"lhs": 1, "sobol": d + 2, "morris": d + 1}[design]


def check_design_size(sweep: Sweep, samples_prefix: str, replicates_prefix: str, allow_large: bool) -> None:
    """Refuse samples or levels above the limits of :mod:`sim.model.limits`, and more runs than a batch may hold."""
    where = f"{sweep.path}: "
    if sweep.samples is not None:
        refuse_above(f"{where}{samples_prefix}samples", sweep.samples, limits.MAX_SAMPLES,
                     f"{count(sweep.samples)} samples", "the design is drawn whole", allow_large)
    if sweep.design == "morris":
        refuse_above(f"{where}morris_levels", sweep.morris_levels, limits.MAX_LEVELS,
                     f"{count(sweep.morris_levels)} levels", "levels of the Morris grid", allow_large)
    for p in sweep.parameters:
        levels = len(p.values) or p.levels
        key = f"parameters.\"{p.key}\".{'values' if p.values else 'levels'}"
        refuse_above(f"{where}{key}", levels, limits.MAX_LEVELS, f"{count(levels)} levels",
                     "the grid is the product of the levels", allow_large)
    points_key = "parameters" if sweep.design == "grid" else f"{samples_prefix}samples"
    check_runs(sweep.path, [(points_key, design_size(sweep.design, sweep.parameters, sweep.samples), "design points"),
                            ("scenarios", len(sweep.scenario_data), "scenarios"),
                            ("conditions", len(sweep.conditions), "conditions"),
                            (f"{replicates_prefix}replicates", sweep.replicates, "replicates")], allow_large, "sweep")


def _choice(data: dict, key: str, allowed: tuple[str, ...], path: Path, default: Any = ...) -> str:
    value = get_key(data, key, str, path, default)
    if value not in allowed:
        raise ScenarioError(f"{path}: {key}: '{value}' is not known{did_you_mean(value, allowed)}; "
                            f"allowed: {', '.join(allowed)}")
    return value


def _string_list(data: dict, key: str, path: Path) -> list[str]:
    values = get_key(data, key, list, path)
    if not values or not all(isinstance(v, str) for v in values):
        raise ScenarioError(f"{path}: {key}: expected a non-empty list of names, got {values!r}")
    return values


def _samples(sweep: Sweep, data: dict, path: Path, prefix: str) -> int | None:
    """The sample count the design needs: none for a grid, >= 2 otherwise, a power of two for sobol."""
    if sweep.design == "grid":
        if "samples" in data:
            raise ScenarioError(f"{path}: {prefix}samples: not used by design 'grid' (its points are the "
                                f"combinations of the parameters' levels); allowed: leave it out, or design = "
                                f"lhs, sobol or morris")
        return None
    n = get_key(data, "samples", int, path, ..., prefix)
    if sweep.design == "sobol" and (n < 2 or n & (n - 1)):
        below = 2 ** max(1, math.floor(math.log2(max(n, 2))))
        raise ScenarioError(f"{path}: {prefix}samples: {n} is not a power of two (Sobol' sequences need one); "
                            f"allowed: 2, 4, 8, 16, ... (e.g. {below} or {2 * below})")
    if n < 2:
        raise ScenarioError(f"{path}: {prefix}samples: {n} is out of range; allowed: >= 2")
    return n


def _morris_levels(sweep: Sweep, data: dict, path: Path) -> int:
    if "morris_levels" in data and sweep.design != "morris":
        raise ScenarioError(f"{path}: morris_levels: only used by design 'morris'; allowed: leave it out")
    levels = get_key(data, "morris_levels", int, path, DEFAULT_MORRIS_LEVELS)
    if levels < 2 or levels % 2:
        raise ScenarioError(f"{path}: morris_levels: {levels} is out of range; allowed: an even number >= 2")
    return levels


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _parameters(sweep: Sweep, table: dict) -> list[Parameter]:
    if not table:
        raise ScenarioError(f"{sweep.path}: parameters: empty; allowed: [parameters.\"dotted.scenario.key\"] "
                            f"tables with range or values")
    return [_parameter(sweep, key, spec) for key, spec in table.items()]


def _parameter(sweep: Sweep, key: str, spec: Any) -> Parameter:
    """One ``[parameters."key"]`` table, checked against the design."""
    where = f"{sweep.path}: parameters.\"{key}\""
    if not isinstance(spec, dict):
        raise ScenarioError(f"{where}: expected a table with range or values, got {spec!r}")
    check_keys(spec, PARAMETER_KEYS, sweep.path, f"parameters.\"{key}\".")
    if key in NOT_PARAMETERS:
        raise ScenarioError(f"{where}: not a parameter; allowed: dotted keys of scenario parameters")
    scale = get_key(spec, "scale", str, sweep.path, "linear", f"parameters.\"{key}\".")
    if scale not in SCALES:
        raise ScenarioError(f"{where}.scale: '{scale}' is not known{did_you_mean(scale, SCALES)}; "
                            f"allowed: {', '.join(SCALES)}")
    if ("range" in spec) == ("values" in spec):
        raise ScenarioError(f"{where}: give either range = [low, high] or values = [...] (grid only)")
    integer = sweep.model == "simulation" and is_integer_key(key)
    if "values" in spec:
        values = spec["values"]
        if sweep.design != "grid":
            raise ScenarioError(f"{where}.values: level lists are for design 'grid' only; allowed for design "
                                f"'{sweep.design}': range = [low, high]")
        if not isinstance(values, list) or not values or not all(_number(v) for v in values):
            raise ScenarioError(f"{where}.values: expected a non-empty list of numbers, got {values!r}")
        if "levels" in spec:
            raise ScenarioError(f"{where}.levels: not used with values (each value is a level); allowed: "
                                f"leave it out")
        if scale == "log" and min(values) <= 0:
            raise ScenarioError(f"{where}.values: {values} has values <= 0, which a log scale cannot take; "
                                f"allowed: values > 0, or scale = \"linear\"")
        return Parameter(key, float(min(values)), float(max(values)), scale, tuple(float(v) for v in values),
                         0, integer)
    low_high = spec["range"]
    if not isinstance(low_high, list) or len(low_high) != 2 or not all(_number(v) for v in low_high):
        raise ScenarioError(f"{where}.range: expected [low, high] (two numbers), got {low_high!r}")
    low, high = (float(v) for v in low_high)
    if low >= high:
        raise ScenarioError(f"{where}.range: [{low:g}, {high:g}] is empty; allowed: [low, high] with low < high")
    if scale == "log" and low <= 0:
        raise ScenarioError(f"{where}.range: [{low:g}, {high:g}] reaches zero or below, which a log scale cannot "
                            f"take; allowed: low > 0, or scale = \"linear\"")
    levels = 0
    if sweep.design == "grid":
        levels = get_key(spec, "levels", int, sweep.path, ..., f"parameters.\"{key}\".")
        if levels < 2:
            raise ScenarioError(f"{where}.levels: {levels} is out of range; allowed: >= 2 (or values = [...])")
    elif "levels" in spec:
        raise ScenarioError(f"{where}.levels: only used by design 'grid'; allowed: leave it out")
    return Parameter(key, low, high, scale, (), levels, integer)


def is_integer_key(key: str) -> bool:
    """Whether a dotted scenario key takes whole numbers (schema type int); unknown keys are checked later."""
    parts = key.split(".")
    if parts[0] == "conditions" and len(parts) == 3:
        cls, name = ConditionParams, parts[2]
    elif parts[:2] == ["protocol", "stimuli"] and len(parts) == 4:
        cls, name = StimulusParams, parts[3]
    else:
        cls, name = Scenario, key
    fields = dict(schema_fields(cls))
    return name in fields and fields[name].type in (int, "int")


def _contrast(sweep: Sweep, contrast: dict) -> dict[str, str]:
    if not contrast:
        return {}
    check_keys(contrast, ("reference", "treatment"), sweep.path, "contrast.")
    pair = {k: get_key(contrast, k, str, sweep.path, ..., "contrast.") for k in ("reference", "treatment")}
    for role, condition in pair.items():
        if condition not in sweep.conditions:
            raise ScenarioError(f"{sweep.path}: contrast.{role}: '{condition}' is not one of the sweep's conditions"
                                f"{did_you_mean(condition, sweep.conditions)}; allowed: {', '.join(sweep.conditions)}")
    if pair["reference"] == pair["treatment"]:
        raise ScenarioError(f"{sweep.path}: contrast: reference and treatment are both '{pair['reference']}'; "
                            f"allowed: two different conditions")
    return pair


def _check_test_model(sweep: Sweep, data: dict) -> None:
    """A test function's sweep: its inputs as parameters, no scenarios, its output."""
    test = TEST_MODELS[sweep.model]
    keys = [p.key for p in sweep.parameters]
    if sorted(keys) != sorted(test.inputs):
        raise ScenarioError(f"{sweep.path}: parameters: {', '.join(keys)} are not the inputs of model "
                            f"'{sweep.model}'; allowed: {', '.join(test.inputs)}")
    for key in ("scenarios", "scenario", "contrast"):
        if key in data:
            raise ScenarioError(f"{sweep.path}: {key}: not used with model '{sweep.model}'; allowed: leave it out")
    sweep.scenario_data = {sweep.model: {}}
    sweep.scenario_files = {sweep.model: []}
    sweep.reference = {"scenario": sweep.model, "condition": sweep.conditions[0]}


def _check_outputs(sweep: Sweep) -> None:
    if sweep.model == "simulation":
        known = summary_metric_names()
    else:
        known = [TEST_MODELS[sweep.model].output]
    for output in sweep.outputs:
        if output not in known:
            raise ScenarioError(f"{sweep.path}: outputs: '{output}' is not a summary metric"
                                f"{did_you_mean(output, known)}; allowed: {', '.join(known)}")
