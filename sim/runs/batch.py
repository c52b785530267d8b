"""Batch execution: an experiment's runs in worker processes, streamed to disk, resumable.

The folder's layout, and every read and write of it, is :mod:`sim.runs.store`.

Workers only compute; the client process writes every file, so the outputs do
not depend on the number of workers, their order or the backend
(:mod:`sim.runs.executors`). A sweep (:mod:`sim.runs.sweep`) is an experiment whose
runs carry per-run overrides; it runs through the same functions.
"""

from __future__ import annotations

import contextlib
import functools
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sim.model import testfunctions
from sim.model.model import SynapseNetworkModel  # imported by the client, so that forked workers start with it loaded
from sim.model.readouts import run_results
from sim.model.scenario import build_scenario, scenario_hash
from sim.runs.executors import make_executor
from sim.runs.experiment import Experiment, RunSpec, run_scenario_data
from sim.runs.folder_lock import folder_lock
from sim.runs.folders import has_content
from sim.runs.outputs import OutputError, git_commit, utc_now, versions, write_json
from sim.runs.store import (
    MANIFEST,
    RUNS_DIR,
    is_finished,
    manifest_specs,
    read_manifest,
    run_folder,
    write_error,
    write_result,
    write_summary,
)

SUMMARY_SECONDS = 2.0   # rebuild summary.parquet at most this often while a batch runs


def execute_run(scenario_data: dict, spec: dict, source: str) -> dict:
    """Simulate one run (in a worker); returns its summary metrics and tables (``sim.model.readouts.run_results``)."""
    model = SynapseNetworkModel(build_scenario(scenario_data, source), spec["condition"])
    model.run()
    return run_results(model)


def run_function(model: str = "simulation") -> Callable[[dict, dict, str], dict]:
    """What a worker runs for one run of ``model``: the simulation, or a test function (sim.model.testfunctions)."""
    if model == "simulation":
        return execute_run
    return functools.partial(testfunctions.evaluate, model)


# --------------------------------------------------------------------------- manifest


def command_text(command: list[str] | str) -> str:
    """The command that writes a folder, as its manifest and lock file name it: ``run.py`` and the arguments
    ``command``, or ``command`` itself if it is text (a call of the Python API, :mod:`sim.api`)."""
    return command if isinstance(command, str) else " ".join(["run.py", *command])


def experiment_hash(exp: Experiment) -> str:
    return scenario_hash(exp.fingerprint())


def batch_manifest(exp: Experiment, command: list[str] | str, specs: list[RunSpec], started: str) -> dict:
    files = {str(p): p.read_text(encoding="utf-8") for fs in exp.scenario_files.values() for p in fs}
    return {
        "kind": exp.kind,
        "command": command_text(command),
        "experiment_file": str(exp.path),
        "experiment_text": exp.path.read_text(encoding="utf-8"),
        "experiment_sha256": experiment_hash(exp),
        "name": exp.name,
        "master_seed": exp.master_seed,
        "reference": exp.reference,
        "readouts": exp.readouts,
        "levels": exp.levels,
        "contrasts": exp.contrasts,
        "factorial": exp.factorial,
        "scenario_files": files,
        "scenarios": exp.scenario_data,
        **exp.manifest_extra(),
        "runs": [s.as_dict() for s in specs],
        "versions": versions(),
        "git_commit": git_commit(),
        "started_utc": started,
        "finished_utc": None,
    }


def prepare_folder(out: Path, exp: Experiment, command: list[str] | str, resume: bool) -> list[RunSpec]:
    """Create or check the batch folder; returns the runs still to do."""
    specs = exp.runs()
    if resume:
        manifest = read_manifest(out, exp.kind)
        if manifest.get("experiment_sha256") != experiment_hash(exp):
            raise OutputError(f"{out}: holds a different {exp.kind} (or its scenario files changed); "
                              f"resume needs the same {exp.kind} file and options")
        write_summary(out, specs)   # a killed batch's summary can lag its stored runs
        return [s for s in specs if not is_finished(out, s)]
    if has_content(out):
        raise OutputError(f"--out {out}: folder exists and is not empty; use --resume to finish it "
                          f"or choose a new folder")
    out.mkdir(parents=True, exist_ok=True)
    # the manifest first: a folder killed before it holds nothing but the lock (a new batch may start there),
    # one killed after it is resumable
    write_json(out / MANIFEST, batch_manifest(exp, command, specs, utc_now()))
    (out / RUNS_DIR).mkdir(exist_ok=True)
    return specs


# --------------------------------------------------------------------------- running


@dataclass
class BatchOutcome:
    total: int
    done: int
    failed: int
    skipped: int


def run_batch(exp: Experiment, out: Path, command: list[str] | str, workers: int | None = None,
              resume: bool = False, backend: str = "local", scheduler: str | None = None,
              progress: bool = True, executor=None) -> BatchOutcome:
    """Run every pending run of ``exp`` into ``out``; returns the counts."""
    return run_batches([(exp, out, resume)], command, workers, backend, scheduler, progress, desc=exp.name,
                       executor=executor)[0]


def run_batches(jobs: list[tuple[Experiment, Path, bool]], command: list[str] | str, workers: int | None = None,
                backend: str = "local", scheduler: str | None = None, progress: bool = True,
                desc: str = "runs", executor=None) -> list[BatchOutcome]:
    """:func:`_run_batches` with every job's folder locked (:mod:`sim.runs.folder_lock`): one writer per folder."""
    with contextlib.ExitStack() as locks:
        try:
            for _, out, resume in jobs:
                locks.enter_context(folder_lock(out, command_text(command), create=not resume))
        except BaseException:
            if executor is not None:
                executor.close(cancel=True)
            raise
        return _run_batches(jobs, command, workers, backend, scheduler, progress, desc, executor)


def _run_batches(jobs: list[tuple[Experiment, Path, bool]], command: list[str] | str, workers: int | None = None,
                 backend: str = "local", scheduler: str | None = None, progress: bool = True,
                 desc: str = "runs", executor=None) -> list[BatchOutcome]:
    """Run the pending runs of several experiments, each ``(experiment, folder, resume)``, in one pool of workers.

    The executor is made first (a Dask scheduler that does not answer fails
    before anything is written), then every folder is prepared (or checked,
    when resumed) before any run starts. The longest runs are submitted first,
    so that the workers finish together. An ``executor`` given by the caller
    (:func:`sim.runs.executors.make_executor`) is used instead and left open, so that
    many batches share one pool of workers (``run.py calibrate``); on an error or
    interruption it is closed all the same.
    """
    from tqdm import tqdm

    owned = executor is None
    if owned:
        executor = make_executor(backend, workers, scheduler)
    try:
        pending = [(i, spec) for i, (exp, out, resume) in enumerate(jobs)
                   for spec in prepare_folder(out, exp, command, resume)]
    except BaseException:
        executor.close(cancel=True)
        raise
    pending.sort(key=lambda item: -_duration_s(jobs[item[0]][0].run_scenario(item[1])))
    specs = [exp.runs() for exp, _, _ in jobs]
    failed, last_summary = [0] * len(jobs), [0.0] * len(jobs)
    functions = [run_function(exp.model) for exp, _, _ in jobs]
    futures = {executor.submit(functions[i], jobs[i][0].run_scenario(s), s.as_dict(), str(jobs[i][0].path)): (i, s)
               for i, s in pending}
    total = sum(len(s) for s in specs)
    bar = tqdm(total=total, initial=total - len(pending), unit="run", disable=not progress, desc=desc)
    try:
        for future in executor.as_completed(futures):
            i, spec = futures[future]
            out = jobs[i][1]
            try:
                write_result(out, spec, future.result())
            except Exception as err:  # noqa: BLE001 - a failing run is recorded, the batch goes on
                if isinstance(err, OSError) and future.exception() is None:
                    raise      # the run finished but its files could not be written (disk full): exit code 2
                write_error(out, spec, traceback.format_exc())
                failed[i] += 1
            bar.update(1)
            if time.monotonic() - last_summary[i] > SUMMARY_SECONDS:
                write_summary(out, specs[i])
                last_summary[i] = time.monotonic()
    except BaseException:
        executor.close(cancel=True)
        for (_, out, _), job_specs in zip(jobs, specs, strict=True):
            write_summary(out, job_specs)
        raise
    finally:
        bar.close()
    if owned:
        executor.close()
    outcomes = []
    for i, ((_, out, _), job_specs) in enumerate(zip(jobs, specs, strict=True)):
        write_summary(out, job_specs)
        _finish_manifest(out)
        todo = sum(1 for j, _ in pending if j == i)
        outcomes.append(BatchOutcome(len(job_specs), todo - failed[i], failed[i], len(job_specs) - todo))
    return outcomes


def _duration_s(scenario_data: dict) -> float:
    duration = scenario_data.get("protocol", {}).get("duration_s", 0.0)
    return float(duration) if isinstance(duration, int | float) else 0.0


def _finish_manifest(out: Path) -> None:
    manifest = read_manifest(out)
    manifest["finished_utc"] = utc_now()
    write_json(out / MANIFEST, manifest)


# --------------------------------------------------------------------------- reproducing


@dataclass
class RunCheck:
    run_id: str
    matches: bool
    differing: list[str]


def reproduce_batch(out: Path, run_ids: list[str] | None = None, workers: int | None = None,
                    progress: bool = True) -> list[RunCheck]:
    """Re-run stored runs from the manifest and compare every output file byte for byte."""
    import tempfile

    from tqdm import tqdm

    manifest = read_manifest(out)
    specs = manifest_specs(manifest, out / MANIFEST)
    chosen = [s for s in specs if is_finished(out, s) and (run_ids is None or s.run_id in run_ids)]
    if not chosen:
        raise OutputError(f"{out}: no finished runs to reproduce")
    executor = make_executor("local", workers)
    source = manifest.get("experiment_file", str(out))
    function = run_function(manifest.get("sweep", {}).get("model", "simulation"))
    futures = {executor.submit(function, run_scenario_data(manifest["scenarios"][s.scenario], s.levels, s.seed),
                               s.as_dict(), source): s for s in chosen}
    checks = []
    with tempfile.TemporaryDirectory(prefix="reproduce-") as tmp:
        for future in tqdm(executor.as_completed(futures), total=len(futures), unit="run", disable=not progress):
            spec = futures[future]
            write_result(Path(tmp), spec, future.result())
            checks.append(_compare(run_folder(out, spec), run_folder(Path(tmp), spec), spec.run_id))
    executor.close()
    return sorted(checks, key=lambda c: c.run_id)


def _compare(stored: Path, fresh: Path, run_id: str) -> RunCheck:
    names = sorted({p.name for p in stored.iterdir()} | {p.name for p in fresh.iterdir()})
    differing = [n for n in names if not (stored / n).is_file() or not (fresh / n).is_file()
                 or (stored / n).read_bytes() != (fresh / n).read_bytes()]
    return RunCheck(run_id, not differing, differing)
