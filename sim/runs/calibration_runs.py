"""The batches of a calibration (``python run.py calibrate``): one per evaluated parameter vector.

Each vector's batch is the calibration's experiment with the values set
(``Calibration.experiment_at``), run into ``OUT/evaluations/<hash>/`` (eight hex
digits of the vector, ``Calibration.vector_hash``). A finished evaluation
folder is reused, an interrupted one resumed, so a killed calibration loses
no run. What the runs measure, and the objective, are the analysis's
(:mod:`analysis.calibration_objective`, given a runner by ``run.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sim.runs.batch import run_batches
from sim.runs.calibration import Calibration
from sim.runs.executors import DaskExecutor, LocalExecutor, make_executor
from sim.runs.folders import has_content
from sim.runs.store import MANIFEST, OutputError, is_finished, read_manifest, rebuild_tables, utc_now, write_json

EVALUATIONS_DIR = "evaluations"
KIND = "calibration"     # the kind of OUT/manifest.json


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


@dataclass
class EvaluationRunner:
    """Runs the batches of parameter vectors in one pool of workers, kept open between calls."""

    cal: Calibration
    out: Path
    command: list[str]
    workers: int | None = None
    backend: str = "local"
    scheduler: str | None = None
    batches_run: int = 0                 # batches this invocation ran (fully or in part)
    _executor: LocalExecutor | DaskExecutor | None = None

    @property
    def folder(self) -> Path:
        """``OUT/evaluations``: one batch folder per evaluated vector."""
        return self.out / EVALUATIONS_DIR

    def run(self, vectors: dict[str, tuple[float, ...]]) -> tuple[dict[str, bool], float]:
        """Finish the batch of each vector (hash -> values): run or resume the unfinished ones together.
        Returns hash -> whether its batch was already finished, and the wall time per batch run (s)."""
        jobs, reused = [], {}
        for h, values in vectors.items():
            exp, folder = self.cal.experiment_at(values), self.folder / h
            reused[h] = (folder / MANIFEST).is_file() and all(is_finished(folder, s) for s in exp.runs())
            if reused[h]:
                rebuild_tables(folder)   # a killed batch's summary can lag its finished runs
            else:
                jobs.append((exp, folder, (folder / MANIFEST).is_file()))
        clock = time.perf_counter()
        if jobs:
            run_batches(jobs, self.command, progress=False, executor=self.executor())
            self.batches_run += len(jobs)
        return reused, (time.perf_counter() - clock) / max(len(jobs), 1)

    def executor(self) -> LocalExecutor | DaskExecutor:
        if self._executor is None:
            self._executor = make_executor(self.backend, self.workers, self.scheduler)
        return self._executor

    def close(self, cancel: bool = False) -> None:
        if self._executor is not None:
            self._executor.close(cancel=cancel)
            self._executor = None
