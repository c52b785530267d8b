"""Validation measurements: the runs of a validation folder and what is measured in each.

The experiments of ``scenarios/experiments/validation/`` run as batches into
``OUT/<experiment>/`` (``sim.runs.batch``); :class:`ValidationData` reads those
folders, one row per finished run with its summary metrics and the experiment's
own measurements. Those are the lab's (``RUN_METRICS``): the first pulse of a
test train, glutamate during a high-K+ window, FM-dye uptake, the endocytosis
time constant fitted to the pHluorin decay, within-run ratios of release.
``run.py calibrate`` takes the same measurements (``run_measurements``,
``measure_with``). The comparisons between groups of runs are
:mod:`analysis.validation_checks`.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import optimize

from analysis import stats
from sim.model.params import Scenario, StimulusParams
from sim.runs.store import RUNS_DIR, OutputError, load_batch, scenario_of

if TYPE_CHECKING:
    from analysis.report_figures import Design

#: the experiments, in the order they run; with ``--seed N`` experiment i gets master seed N + i
EXPERIMENTS = ("evoked_release", "antagonists", "paired_pulse", "recycling", "time_course", "train_depression",
               "tsodyks_markram", "mid_run")
EPS = 1e-9                 # tolerance on time comparisons (s)
BASELINE_WINDOW_S = (12.0, 17.5)   # time course: network release before the drug (after the warm-up)
EARLY_WINDOW_S = (20.5, 24.0)      # time course: network release in the first seconds after the drug
DECAY_S = 30.0             # pHluorin decay fitted from the end of the loading train for this long
FM_READ_S = 2.0            # FM uptake: label averaged over the last FM_READ_S of the run (after the dye)...
FM_BEFORE_S = 1.0          # ...minus its mean over FM_BEFORE_S before the dye window
LAST_PULSES = 10           # train depression: mean of the last pulses / first pulse


# --------------------------------------------------------------------------- one run's measurements


@dataclass
class Run:
    """One run's outputs, its scenario (for stimulus times) and its condition (for the drugs' application)."""

    ts: pd.DataFrame
    pulses: pd.DataFrame
    scenario: Scenario
    condition: str = "vehicle"

    @property
    def applied_at_s(self) -> float:
        """When the run's drugs (or vehicle) were applied (the condition's ``apply_at_s``)."""
        return self.scenario.condition(self.condition).apply_at_s

    def stimulus(self, kind: str, target: str | None = None, nth: int = 0) -> tuple[int, StimulusParams]:
        """Index and parameters of the ``nth`` stimulus of ``kind`` (and ``target``) in the protocol."""
        found = [(i, s) for i, s in enumerate(self.scenario.stimuli)
                 if s.kind == kind and (target is None or s.target == target)]
        if len(found) <= nth:
            raise ValueError(f"the protocol has no {kind} stimulus #{nth + 1} (target {target})")
        return found[nth]

    def pulse_rows(self, kind: str, target: str, nth: int = 0) -> pd.DataFrame:
        """The pulse rows of a train or paired pulse, in time order."""
        index, _ = self.stimulus(kind, target, nth)
        return self.pulses[self.pulses["stimulus"] == index].sort_values("time_s")


def per_bouton(rows: pd.DataFrame, t: str = "glu") -> np.ndarray:
    """Vesicles released per stimulated bouton at each pulse row."""
    return (rows[f"released_{t}"] / rows[f"n_stimulated_{t}"]).to_numpy(dtype=float)


def window(ts: pd.DataFrame, lo: float, hi: float) -> pd.DataFrame:
    """Time-series rows whose interval lies in (lo, hi] (a row at ``time_s`` covers the interval before it)."""
    return ts[(ts["time_s"] > lo + EPS) & (ts["time_s"] <= hi + EPS)]


def window_mean(ts: pd.DataFrame, column: str, lo: float, hi: float) -> float:
    """Mean of a time-series column over (lo, hi] (s), in the column's unit; NaN if no row lies there."""
    rows = window(ts, lo, hi)
    return float(rows[column].mean()) if len(rows) else float("nan")


def window_integral(ts: pd.DataFrame, column: str, lo: float, hi: float) -> float:
    """A rate column integrated over (lo, hi]: sum of rate x recording interval."""
    interval = float(np.diff(ts["time_s"].to_numpy()[:2])[0])
    return float(window(ts, lo, hi)[column].sum() * interval)


def fit_decay(t: np.ndarray, y: np.ndarray, t0: float) -> dict[str, float]:
    """Least-squares fit of ``a + b exp(-(t - t0) / tau)`` (scipy curve_fit); NaN values if it fails."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(t) & np.isfinite(y)
    t, y = t[keep], y[keep]
    nan = {"a": math.nan, "b": math.nan, "tau": math.nan}
    if t.size < 4 or np.ptp(y) == 0:
        return nan

    def model(x, a, b, tau):
        return a + b * np.exp(-(x - t0) / tau)

    p0 = (y[-1], y[0] - y[-1], max((t[-1] - t[0]) / 4, 1e-3))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (a, b, tau), _ = optimize.curve_fit(model, t, y, p0=p0, bounds=([-np.inf, -np.inf, 1e-3], np.inf),
                                                maxfev=10000)
    except (RuntimeError, ValueError):
        return nan
    return {"a": float(a), "b": float(b), "tau": float(tau)}


def measures(*names: str) -> Callable:
    """Declare the measurements a per-run function returns (``function.names``): callers such as
    ``run.py calibrate`` check a metric name before anything runs; a function returning other keys raises."""
    def wrap(fn: Callable[[Run], dict[str, float]]) -> Callable[[Run], dict[str, float]]:
        @functools.wraps(fn)
        def measured(run: Run) -> dict[str, float]:
            out = fn(run)
            if tuple(out) != names:
                raise RuntimeError(f"{fn.__name__} returned {tuple(out)}, declared {names}")
            return out
        measured.names = names
        return measured
    return wrap


def release_at_test_pulses(run: Run, after_s: float | None = None, before_s: float = math.inf) -> float:
    """Mean release per stimulated bouton at the first pulse of every glutamatergic train and paired pulse
    after the warm-up: the test pulses, each from rest (the lab averages repeated test responses). Only
    those starting after ``after_s`` (default: the warm-up) and before ``before_s``."""
    after = run.scenario.protocol.warmup_s if after_s is None else max(after_s, run.scenario.protocol.warmup_s)
    tests = [i for i, s in enumerate(run.scenario.stimuli)
             if s.kind in ("train", "paired_pulse") and s.target == "glutamatergic" and after < s.start_s < before_s]
    if not tests:
        window_text = "" if after_s is None and before_s == math.inf else f" between {after:g} and {before_s:g} s"
        raise ValueError(f"no glutamatergic test pulse after the warm-up{window_text}")
    return float(np.mean([per_bouton(run.pulses[run.pulses["stimulus"] == i].sort_values("time_s"))[0]
                          for i in tests]))


@measures("evoked_release_glu", "rrp_fraction_released_gaba", "highk_glutamate")
def evoked_release_metrics(run: Run) -> dict[str, float]:
    """Evoked release at the test pulses, GABAergic RRP fraction released, high-K+ glutamate."""
    gaba = run.pulse_rows("paired_pulse", "gabaergic").iloc[0]
    _, high_k = run.stimulus("high_k", "glutamatergic")
    return {"evoked_release_glu": release_at_test_pulses(run),
            "rrp_fraction_released_gaba": float(gaba["released_gaba"] / gaba["rrp_before_gaba"]),
            "highk_glutamate": window_integral(run.ts, "glutamate_released_per_s", high_k.start_s,
                                               high_k.start_s + high_k.duration_s)}


@measures("fm_uptake_glu", "tau_endo_glu", "fm_uptake_gaba", "tau_endo_gaba")
def recycling_metrics(run: Run) -> dict[str, float]:
    """FM-dye uptake and the pHluorin endocytosis time constant after the loading train, by cell type."""
    _, dye = run.stimulus("fm_dye")
    _, train = run.stimulus("train", "all")
    last, end = float(run.ts["time_s"].iloc[-1]), train.start_s + train.n_pulses / train.rate_hz
    decay = run.ts[(run.ts["time_s"] >= end - EPS) & (run.ts["time_s"] <= end + DECAY_S + EPS)]
    out = {}
    for t in ("glu", "gaba"):
        out[f"fm_uptake_{t}"] = (window_mean(run.ts, f"fm_dye_{t}", last - FM_READ_S, last)
                                 - window_mean(run.ts, f"fm_dye_{t}", dye.start_s - FM_BEFORE_S, dye.start_s))
        out[f"tau_endo_{t}"] = fit_decay(decay["time_s"], decay[f"phluorin_{t}"], end)["tau"]
    return out


@measures("early_release_rise", "late_evoked_ratio")
def time_course_metrics(run: Run) -> dict[str, float]:
    """Network glutamate release early after the drug over baseline; late over baseline first test pulse."""
    column = "glutamate_released_per_s"
    baseline = per_bouton(run.pulse_rows("train", "glutamatergic", 0))[0]
    late = per_bouton(run.pulse_rows("train", "glutamatergic", 1))[0]
    return {"early_release_rise": window_mean(run.ts, column, *EARLY_WINDOW_S)
            / window_mean(run.ts, column, *BASELINE_WINDOW_S),
            "late_evoked_ratio": late / baseline}


@measures("evoked_release_glu_before", "evoked_release_glu_after", "evoked_release_after_before")
def mid_run_metrics(run: Run) -> dict[str, float]:
    """Evoked release at the test pulses before and after the drug's application in the same run, and their
    ratio (after / before)."""
    applied = run.applied_at_s
    if applied <= run.scenario.protocol.warmup_s:
        raise ValueError(f"the condition '{run.condition}' is applied at {applied:g} s, not after the warm-up "
                         f"({run.scenario.protocol.warmup_s:g} s)")
    before = release_at_test_pulses(run, before_s=applied)
    after = release_at_test_pulses(run, after_s=applied)
    return {"evoked_release_glu_before": before, "evoked_release_glu_after": after,
            "evoked_release_after_before": after / before}


@measures("first_pulse_release_glu", "train_depression_glu")
def train_metrics(run: Run) -> dict[str, float]:
    """First response of a sustained train and its depression (mean of the last pulses / first)."""
    release = per_bouton(run.pulse_rows("train", "glutamatergic"))
    return {"first_pulse_release_glu": release[0], "train_depression_glu": release[-LAST_PULSES:].mean() / release[0]}


RUN_METRICS: dict[str, Callable[[Run], dict[str, float]]] = {
    "evoked_release": evoked_release_metrics,
    "antagonists": evoked_release_metrics,
    "paired_pulse": lambda run: {},
    "recycling": recycling_metrics,
    "time_course": time_course_metrics,
    "train_depression": train_metrics,
    "tsodyks_markram": lambda run: {},
    "mid_run": mid_run_metrics,
}


def run_measurements() -> dict[str, Callable[[Run], dict[str, float]]]:
    """Every per-run measurement of ``RUN_METRICS`` by name, with the function that takes it."""
    out: dict[str, Callable[[Run], dict[str, float]]] = {}
    for fn in RUN_METRICS.values():
        for name in getattr(fn, "names", ()):
            out.setdefault(name, fn)
    return out


def measure_with(names: list[str]) -> Callable[[Run], dict[str, float]]:
    """One per-run function taking the named measurements of ``run_measurements`` (each function once)."""
    known = run_measurements()
    functions = list(dict.fromkeys(known[n] for n in names))

    def measure(run: Run) -> dict[str, float]:
        out: dict[str, float] = {}
        for fn in functions:
            out.update(fn(run))
        return {n: out[n] for n in names}
    return measure


# --------------------------------------------------------------------------- the batch folders


class ValidationData:
    """The validation folder: per experiment, one row per finished run with its summary and measurements."""

    def __init__(self, root: Path, measure: Callable[[Run], dict[str, float]] | None = None) -> None:
        self.root = Path(root)
        self.measure = measure                  # instead of RUN_METRICS[experiment] (run.py calibrate)
        self._runs: dict[str, pd.DataFrame] = {}
        self._manifests: dict[str, dict] = {}
        self.hill: dict[tuple[str, str], pd.DataFrame] = {}      # (experiment, metric) -> Hill fits (cache)

    def folder(self, experiment: str) -> Path:
        """The experiment's batch folder."""
        return self.root / experiment

    def manifest(self, experiment: str) -> dict:
        """The experiment's batch manifest (read with its runs)."""
        if experiment not in self._manifests:
            self.runs(experiment)
        return self._manifests[experiment]

    def scenario(self, experiment: str, name: str) -> Scenario:
        """The experiment's scenario ``name``, built from the manifest as the runs used it."""
        return scenario_of(self.manifest(experiment), name, str(self.folder(experiment)))

    def runs(self, experiment: str) -> pd.DataFrame:
        """Finished runs with their summary metrics and the experiment's own measurements (cached)."""
        if experiment not in self._runs:
            manifest, summary = load_batch(self.folder(experiment))
            self._manifests[experiment] = manifest
            ok = summary[summary["status"] == "ok"].reset_index(drop=True)
            scenarios = {name: self.scenario(experiment, name) for name in manifest["scenarios"]}
            extra = [self._measure(experiment, row.run_id, scenarios[row.scenario], row.condition)
                     for row in ok.itertuples()]
            self._runs[experiment] = pd.concat([ok, pd.DataFrame(extra, index=ok.index)], axis=1)
        return self._runs[experiment]

    def _measure(self, experiment: str, run_id: str, scenario: Scenario, condition: str) -> dict[str, float]:
        """The experiment's own measurements of one run; a protocol that does not fit is an OutputError."""
        try:
            return (self.measure or RUN_METRICS[experiment])(self._run(experiment, run_id, scenario, condition))
        except (ValueError, IndexError, KeyError) as err:
            raise OutputError(f"{self.folder(experiment) / RUNS_DIR / run_id}: cannot take the {experiment} "
                              f"measurements ({type(err).__name__}: {err})") from None

    def _run(self, experiment: str, run_id: str, scenario: Scenario, condition: str) -> Run:
        folder = self.folder(experiment) / RUNS_DIR / run_id
        return Run(pd.read_parquet(folder / "timeseries.parquet"), pd.read_parquet(folder / "pulses.parquet"),
                   scenario, condition)

    def long(self, experiment: str, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """``timeseries`` or ``pulses`` of every finished run, stacked, with the run's identifying columns."""
        runs = self.runs(experiment)
        keys = ["run_id", "scenario", "condition", *stats.level_columns(runs), "replicate"]
        parts = [pd.read_parquet(self.folder(experiment) / RUNS_DIR / r / f"{table}.parquet", columns=columns)
                 .assign(**dict(zip(keys, values, strict=True)))
                 for r, *values in zip(runs["run_id"], *(runs[k] for k in keys), strict=True)]
        return pd.concat(parts, ignore_index=True)

    @cached_property
    def design(self) -> Design:
        """Labels and colours of the conditions of every experiment present (the same names mean the same drugs)."""
        from analysis.report_figures import Design

        frames = [self.runs(e) for e in EXPERIMENTS if self.folder(e).is_dir()]
        return Design.from_summary(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame())

