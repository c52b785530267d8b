"""The calibration's objective and its store of evaluations (``python run.py calibrate``).

Every evaluation of the objective is one batch of the calibration's
experiment with the parameter values set, run by ``sim.runs.batch`` into
``OUT/evaluations/<hash>/`` (eight hex digits of the parameter vector) by
:mod:`sim.runs.calibration_runs`. Every batch uses the experiment's master
seed, so all evaluations share their run seeds (common random numbers): the
objective changes only through the parameters. A finished evaluation folder
is reused, an interrupted one resumed, so a killed calibration loses no run.

The objective is ``sum over targets of ((measured - value) / sd)^2``, the
measured value being a group mean over the group's finished runs, or the
percent change between two group means. A target that cannot be measured
(no finished run, a reference mean of 0) adds ``PENALTY``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from analysis.validation_measures import ValidationData, measure_with, run_measurements
from sim.runs.store import Calibration, GroupRef, OutputError, Target, load_batch

PENALTY = 1e6            # added to the objective for each target that could not be measured


# --------------------------------------------------------------------------- the objective


def group_mean(runs: pd.DataFrame, group: GroupRef, metric: str) -> float:
    """Mean of ``metric`` over the finished runs of a group (NaN if none has a finite value)."""
    rows = runs[(runs["scenario"] == group.scenario) & (runs["condition"] == group.condition)]
    if metric not in rows:
        return math.nan
    values = pd.to_numeric(rows[metric], errors="coerce").to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else math.nan


def measure(target: Target, runs: pd.DataFrame) -> float:
    """The target's measured value: a group mean, or 100 (treated - reference) / reference of two group means."""
    if target.kind == "mean":
        return group_mean(runs, target.group, target.metric)
    treated = group_mean(runs, target.treated, target.metric)
    reference = group_mean(runs, target.reference, target.metric)
    if not np.isfinite(reference) or reference == 0:
        return math.nan
    return 100.0 * (treated - reference) / reference


def standardised_error(target: Target, measured: float) -> float:
    return (measured - target.value) / target.sd


def objective(targets: Sequence[Target], measured: dict[str, float]) -> float:
    """Sum of squared standardised errors; ``PENALTY`` for each target without a finite measurement."""
    total = 0.0
    for t in targets:
        z = standardised_error(t, measured.get(t.name, math.nan))
        total += z * z if np.isfinite(z) else PENALTY
    return float(total)


# --------------------------------------------------------------------------- the store


class Runner(Protocol):
    """What runs the evaluations' batches (``sim.runs.calibration_runs.EvaluationRunner``, given by run.py)."""

    folder: Path
    batches_run: int

    def run(self, vectors: dict[str, tuple[float, ...]]) -> tuple[dict[str, bool], float]: ...

    def close(self, cancel: bool = False) -> None: ...


@dataclass
class Evaluation:
    """One evaluated parameter vector."""

    number: int                          # 1, 2, ... in the order first asked for
    hash: str
    phase: str                           # "optimiser" or "profile:KEY"
    values: tuple[float, ...]
    objective: float
    measured: dict[str, float]
    runs: int                            # finished runs
    failed: int                          # runs that raised
    reused: bool                         # found finished in the folder (not run by this invocation)
    seconds: float


@dataclass
class EvaluationStore:
    """Evaluates parameter vectors through a runner of their batches, remembers them, and prints one line per
    evaluation."""

    cal: Calibration
    runner: Runner
    progress: bool = True
    log: object = sys.stderr
    evaluations: dict[str, Evaluation] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.runner.folder

    @property
    def batches_run(self) -> int:
        """Batches this invocation ran (fully or in part)."""
        return self.runner.batches_run

    def best(self) -> Evaluation | None:
        return min(self.evaluations.values(), key=lambda e: e.objective, default=None)

    def ordered(self) -> list[Evaluation]:
        return sorted(self.evaluations.values(), key=lambda e: e.number)

    def __call__(self, unit) -> float:
        """The objective at a point of the unit cube (what the optimisers minimise)."""
        return self.evaluate_units([unit], "optimiser")[0]

    def evaluate_units(self, units: Sequence, phase: str) -> list[float]:
        return [e.objective for e in self.evaluate([self.cal.values(u) for u in units], phase)]

    def evaluate(self, vectors: Sequence[tuple[float, ...]], phase: str) -> list[Evaluation]:
        """Evaluate parameter vectors (values in the order of the calibration's parameters): the new ones as one
        set of batches, the known ones from memory or from their finished folders."""
        hashes = [self.cal.vector_hash(v) for v in vectors]
        new = {h: v for h, v in zip(hashes, vectors, strict=True) if h not in self.evaluations}
        reused, seconds = self.runner.run(new)
        for h, values in new.items():
            self.evaluations[h] = self._measure(h, values, phase, reused[h], 0.0 if reused[h] else seconds)
            self._print(self.evaluations[h])
        return [self.evaluations[h] for h in hashes]

    def _measure(self, h: str, values: tuple[float, ...], phase: str, reused: bool, seconds: float) -> Evaluation:
        runs, failed = self.runs(h)
        measured = {t.name: measure(t, runs) for t in self.cal.targets}
        return Evaluation(len(self.evaluations) + 1, h, phase, values, objective(self.cal.targets, measured),
                          measured, len(runs), failed, reused, seconds)

    def runs(self, h: str) -> tuple[pd.DataFrame, int]:
        """The finished runs of an evaluation with their summary metrics and the targets' run measurements, and
        the number of runs that raised."""
        per_run = [m for m in self.cal.metrics if m in run_measurements()]
        try:
            _, summary = load_batch(self.folder / h)
        except OutputError:              # no finished run at all: every target is unmeasured
            return pd.DataFrame(columns=["scenario", "condition"]), len(self.cal.experiment.runs())
        failed = int((summary["status"] != "ok").sum())
        if per_run:
            return ValidationData(self.folder, measure_with(per_run)).runs(h), failed
        return summary[summary["status"] == "ok"].reset_index(drop=True), failed

    def close(self, cancel: bool = False) -> None:
        self.runner.close(cancel=cancel)

    def _print(self, e: Evaluation) -> None:
        if not self.progress:
            return
        best = self.best()
        values = ", ".join(f"{short_name(p.key)} = {v:.6g}" for p, v in zip(self.cal.parameters, e.values,
                                                                             strict=True))
        state = "reused" if e.reused else f"{e.seconds:.1f} s"
        failed = f", {e.failed} run(s) FAILED" if e.failed else ""
        print(f"evaluation {e.number} ({e.phase}) {values}: objective {e.objective:.4g} "
              f"(best {best.objective:.4g}); {e.runs} runs{failed}, {state}", file=self.log, flush=True)


def short_name(key: str) -> str:
    """The last two parts of a dotted key (``glutamatergic.background_rate_hz``)."""
    return ".".join(key.split(".")[-2:])


Evaluate = Callable[[Sequence[tuple[float, ...]], str], list[Evaluation]]
