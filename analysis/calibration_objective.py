"""The calibration's objective and its store of evaluations (``python run.py calibrate``).

Every evaluation of the objective is one batch of the calibration's
experiment with the parameter values set, run by ``sim.runs.batch`` into
``OUT/evaluations/<hash>/`` (eight hex digits of the parameter vector,
``sim.runs.calibration.vector_hash``). Every batch uses the experiment's master
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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.report import load_batch
from analysis.validation_measures import ValidationData, measure_with, run_measurements
from sim.runs.batch import MANIFEST, is_finished, read_manifest, run_batches
from sim.runs.calibration import Calibration, GroupRef, Target, vector_hash
from sim.runs.executors import make_executor
from sim.runs.folders import has_content
from sim.runs.outputs import OutputError, utc_now, write_json
from sim.runs.summaries import rebuild_tables

EVALUATIONS_DIR = "evaluations"
PENALTY = 1e6            # added to the objective for each target that could not be measured
KIND = "calibration"     # the kind of OUT/manifest.json


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


# --------------------------------------------------------------------------- the folder


def open_folder(out: Path, cal: Calibration, command: list[str], resume: bool) -> None:
    """Create ``OUT`` with its manifest, or check that a resumed one holds this calibration."""
    path = out / MANIFEST
    if resume:
        if not path.is_file():
            raise OutputError(f"--out {out}: no {MANIFEST} of a calibration; nothing to resume (leave out --resume)")
        manifest = read_manifest(out, KIND, with_runs=False)
        if manifest.get("calibration_sha256") != cal.sha256 or manifest.get("quick") != cal.quick:
            raise OutputError(f"--out {out}: holds another calibration (the file or --quick differ); resume needs "
                              f"the same file and options, or choose a new folder")
        return
    if has_content(out):
        raise OutputError(f"--out {out}: folder exists and is not empty; use --resume to finish it or choose a "
                          f"new folder")
    (out / EVALUATIONS_DIR).mkdir(parents=True, exist_ok=True)
    write_json(path, {"kind": KIND, "command": " ".join(["run.py", *command]), "calibration_file": str(cal.path),
                      "calibration_sha256": cal.sha256, "quick": cal.quick, "started_utc": utc_now()})


# --------------------------------------------------------------------------- the store


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
    """Evaluates parameter vectors as batches, remembers them, and prints one line per evaluation."""

    cal: Calibration
    out: Path
    command: list[str]
    workers: int | None = None
    backend: str = "local"
    scheduler: str | None = None
    progress: bool = True
    log: object = sys.stderr
    evaluations: dict[str, Evaluation] = field(default_factory=dict)
    batches_run: int = 0                 # batches this invocation ran (fully or in part)
    _executor: object = None

    @property
    def folder(self) -> Path:
        return self.out / EVALUATIONS_DIR

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
        set of batches in one pool of workers, the known ones from memory or from their finished folders."""
        hashes = [vector_hash(self.cal.assignment(v)) for v in vectors]
        new = {h: v for h, v in zip(hashes, vectors, strict=True) if h not in self.evaluations}
        jobs, reused = [], {}
        for h, values in new.items():
            exp, folder = self.cal.experiment_at(values), self.folder / h
            done = (folder / MANIFEST).is_file() and all(is_finished(folder, s) for s in exp.runs())
            reused[h] = done
            if done:
                rebuild_tables(folder)   # a killed batch's summary can lag its finished runs
            else:
                jobs.append((exp, folder, (folder / MANIFEST).is_file()))
        clock = time.perf_counter()
        if jobs:
            run_batches(jobs, self.command, progress=False, executor=self.executor())
            self.batches_run += len(jobs)
        seconds = (time.perf_counter() - clock) / max(len(jobs), 1)
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

    def executor(self):
        if self._executor is None:
            self._executor = make_executor(self.backend, self.workers, self.scheduler)
        return self._executor

    def close(self, cancel: bool = False) -> None:
        if self._executor is not None:
            self._executor.close(cancel=cancel)
            self._executor = None

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
