"""The output folders of batches and sweeps: their layout, and every read and write of them.

Layout of a batch folder::

    manifest.json        command, experiment text and hash, scenarios, every run's key and seed, versions
    summary.parquet/.csv one row per run (sorted by run index), rebuilt as runs finish
    runs/r00000/         summary.json, timeseries.parquet, pulses.parquet (a run's folder appears whole)
    runs/r00007/         error.json instead, for a run that raised

A sweep folder adds ``sweep.parquet``/``.csv`` (one row per run: its varied
parameters and outputs). This module is the only door between the runs
(:mod:`sim.runs.batch`, :mod:`sim.runs.sweep`) and the analysis: the analysis
reads folders, and writes its report files, through it alone.

Each entry of the manifest's ``runs`` is ``RunSpec.as_dict()``: the fields of
:class:`sim.runs.experiment.RunSpec` (``sample`` only for sweeps) plus ``key``.
A missing, unknown or mistyped field, or a run of a scenario the manifest does
not hold, is an OutputError naming the manifest, the run and the field.

The summary tables are rewritten at most every ``sim.runs.batch.SUMMARY_SECONDS``
seconds while a batch runs, so after a kill they lag the runs on disk;
``--resume`` and ``report`` rebuild them first (:func:`rebuild_summary`,
:func:`rebuild_tables`) and ``reproduce`` checks them (:func:`check_tables`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.model.params import Scenario, ScenarioError
from sim.model.scenario import build_scenario
from sim.runs.calibration import Calibration, GroupRef, Target
from sim.runs.experiment import RunSpec
from sim.runs.folders import check_manifest_runs, check_run_id
from sim.runs.outputs import (
    OutputError,
    git_commit,
    temporary_path,
    utc_now,
    versions,
    write_atomically,
    write_bytes,
    write_json,
    write_table,
    write_text,
)
from sim.runs.sweep import Parameter, parameters_from_sweep, salib_problem

__all__ = [  # the door: what the runs, the Python API and the analysis use
    "Calibration", "GroupRef", "Target",   # the designs the analysis reads: a calibration's parameters and targets
    "MANIFEST", "RUNS_DIR", "RUN_ERROR", "RUN_RESULT", "SUMMARY_FILES", "SWEEP_FILES", "SWEEP_TABLE",
    "OutputError", "Parameter", "check_tables", "git_commit", "is_finished", "load_batch", "load_sweep_results",
    "manifest_specs", "parameters_from_sweep", "read_manifest", "read_run_table", "read_summary",
    "rebuild_tables", "run_folder", "scenario_of", "salib_problem", "stored_scenarios", "stored_summary", "sweep_table",
    "temporary_path", "utc_now", "versions", "write_atomically", "write_bytes", "write_json",
    "write_sweep_table", "write_table", "write_text",
]

RUNS_DIR = "runs"
MANIFEST = "manifest.json"
SUMMARY_FILES = ("summary.parquet", "summary.csv")
FOLDER_KINDS = ("batch", "sweep")   # manifests of folders made by run_batches
SWEEP_TABLE = "sweep.parquet"
SWEEP_FILES = (SWEEP_TABLE, "sweep.csv")
RUN_RESULT = "summary.json"      # in a finished run's folder
RUN_ERROR = "error.json"         # in the folder of a run that raised
REQUIRED_COLUMNS = ("run_id", "scenario", "condition", "replicate", "status")   # of a batch summary
RUN_COLUMNS = ("run_id", "sample", "scenario", "condition", "replicate", "seed", "status", "error")


# --------------------------------------------------------------------------- the manifest


def read_manifest(out: Path, kind: str | tuple[str, ...] = FOLDER_KINDS, with_runs: bool = True) -> dict:
    """The manifest of a batch (or sweep, or with ``with_runs=False`` calibration) folder; a missing, corrupt or
    foreign one is an OutputError."""
    kinds = (kind,) if isinstance(kind, str) else kind
    what = " or ".join(kinds)
    path = out / MANIFEST
    if not path.is_file():
        raise OutputError(f"{out}: no {MANIFEST}; not a {what} output folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise OutputError(f"{path}: corrupt manifest ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") not in kinds or (with_runs and "runs" not in manifest):
        raise OutputError(f"{path}: not a {what} manifest (made by another command?)")
    check_manifest_runs(manifest, path)
    return manifest


FIELDS = {"index": int, "run_id": str, "scenario": str, "condition": str, "levels": dict, "replicate": int,
          "seed": int}
OPTIONAL = {"sample": int}
DERIVED = ("key",)      # stored for reading, recomputed from the other fields


def _fail(path: Path, where: str, what: str) -> OutputError:
    allowed = ", ".join([*FIELDS, *OPTIONAL, *DERIVED])
    return OutputError(f"{path}: {where}: {what}; allowed fields of a run: {allowed}")


def _checked(value: object, typ: type) -> bool:
    return isinstance(value, typ) and not (typ is int and isinstance(value, bool))


def run_spec(entry: object, i: int, path: Path) -> RunSpec:
    """``runs[i]`` of the manifest at ``path`` as a RunSpec."""
    where = f"runs[{i}]"
    if not isinstance(entry, dict):
        raise _fail(path, where, f"expected a table of fields, got {type(entry).__name__}")
    for field in entry:
        if field not in FIELDS and field not in OPTIONAL and field not in DERIVED:
            raise _fail(path, f"{where}.{field}", "unknown field")
    for field in FIELDS:
        if field not in entry:
            raise _fail(path, f"{where}.{field}", "missing field")
    for field, typ in {**FIELDS, **OPTIONAL}.items():
        if field in entry and not _checked(entry[field], typ):
            raise _fail(path, f"{where}.{field}", f"expected {typ.__name__}, got {entry[field]!r}")
    return RunSpec(**{k: v for k, v in entry.items() if k not in DERIVED})


def manifest_specs(manifest: dict, path: Path) -> list[RunSpec]:
    """Every run of a batch or sweep manifest (read from ``path``), checked; their scenarios must be stored."""
    runs = manifest.get("runs")
    if not isinstance(runs, list):
        raise OutputError(f"{path}: runs: expected a list of runs, got {type(runs).__name__}")
    scenarios = manifest.get("scenarios")
    if not isinstance(scenarios, dict):
        raise OutputError(f"{path}: scenarios: missing or not a table of scenarios; a batch manifest stores the "
                          f"scenario of every run")
    specs = [run_spec(entry, i, path) for i, entry in enumerate(runs)]
    for i, spec in enumerate(specs):
        if spec.scenario not in scenarios or not isinstance(scenarios[spec.scenario], dict):
            raise OutputError(f"{path}: runs[{i}].scenario: '{spec.scenario}' is not stored under scenarios; "
                              f"allowed: {', '.join(scenarios) or 'none stored'}")
    return specs


def run_folder(out: Path, spec: RunSpec | dict) -> Path:
    run_id = spec.run_id if isinstance(spec, RunSpec) else spec["run_id"]
    return out / RUNS_DIR / check_run_id(run_id)


def is_finished(out: Path, spec: RunSpec) -> bool:
    return (run_folder(out, spec) / RUN_RESULT).is_file()


def _publish(out: Path, spec: RunSpec, write: Callable[[Path], None]) -> None:
    """Write a run's files into a temporary folder, then move it into place whole."""
    final = run_folder(out, spec)
    stage = final.parent / f".{final.name}.partial-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        write(stage)
    except BaseException:      # e.g. a full disk: no half-written run folder stays behind
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    os.replace(stage, final)


def write_result(out: Path, spec: RunSpec, result: dict) -> None:
    """Store a finished run: summary.json, timeseries.parquet and pulses.parquet."""
    def write(stage: Path) -> None:
        for name in ("timeseries", "pulses"):
            if result.get(name) is not None:   # test functions have no tables
                write_table(stage / f"{name}.parquet", result[name])
        write_json(stage / RUN_RESULT, {**spec.as_dict(), "status": "ok", "metrics": result["summary"]})
    _publish(out, spec, write)


def write_error(out: Path, spec: RunSpec, error: str) -> None:
    """Store a run that raised, with its error."""
    _publish(out, spec, lambda stage: write_json(stage / RUN_ERROR, {**spec.as_dict(), "status": "error",
                                                                       "error": error}))


def summary_frame(out: Path, specs: list[RunSpec]) -> pd.DataFrame:
    """One row per run with a stored result or error, sorted by run index."""
    rows = []
    for spec in specs:
        folder = run_folder(out, spec)
        sample = {} if spec.sample is None else {"sample": spec.sample}
        base = {"run_id": spec.run_id, **sample, "scenario": spec.scenario, "condition": spec.condition,
                **spec.levels, "replicate": spec.replicate, "seed": spec.seed}
        if (folder / RUN_RESULT).is_file():
            stored = json.loads((folder / RUN_RESULT).read_text())
            rows.append({**base, "status": "ok", "error": "", **stored["metrics"]})
        elif (folder / RUN_ERROR).is_file():
            stored = json.loads((folder / RUN_ERROR).read_text())
            rows.append({**base, "status": "error", "error": stored["error"].strip().splitlines()[-1]})
    return pd.DataFrame(rows)


@contextlib.contextmanager
def unreadable_runs(folder: Path) -> Iterator[None]:
    """A stored run or manifest section that cannot be read is an OutputError naming the folder."""
    try:
        yield
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise OutputError(f"{folder / RUNS_DIR}: cannot rebuild the summary from the stored runs "
                          f"({type(err).__name__}: {err})") from None


def write_summary(out: Path, specs: list[RunSpec]) -> pd.DataFrame:
    """Write ``summary.parquet``/``.csv`` from the stored runs (without any stored run: remove them)."""
    with unreadable_runs(out):
        frame = summary_frame(out, specs)
    for name in SUMMARY_FILES:
        if frame.empty:
            (out / name).unlink(missing_ok=True)
        else:
            write_table(out / name, frame)
    return frame


def sweep_table(summary: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """One row per run: run identity, status, every varied parameter and the sweep's outputs (NaN if missing)."""
    info = manifest["sweep"]
    keys = [p["key"] for p in info["parameters"]]
    frame = summary.copy()
    for column in (*RUN_COLUMNS, *keys, *info["outputs"]):
        if column not in frame:
            frame[column] = np.nan
    return frame[[*RUN_COLUMNS, *keys, *info["outputs"]]]


def write_sweep_table(out: Path) -> pd.DataFrame:
    """Write ``sweep.parquet`` and ``sweep.csv`` from the folder's ``summary.parquet`` and manifest."""
    frame = sweep_table(pd.read_parquet(out / SUMMARY_FILES[0]), read_manifest(out, "sweep"))
    for name in SWEEP_FILES:
        write_table(out / name, frame)
    return frame


# --------------------------------------------------------------------------- derived tables


@dataclass
class TableCheck:
    """Whether one derived table on disk is what the stored runs give."""

    name: str
    matches: bool
    note: str = ""

    @property
    def line(self) -> str:
        return f"{self.name}: match" if self.matches else f"{self.name}: MISMATCH ({self.note})"


def write_tables(folder: Path, frame: pd.DataFrame, sweep: bool) -> None:
    """Write the summary ``frame`` (and the sweep table made from it); with no stored run there is no summary:
    remove the files."""
    if frame.empty:
        for name in (*SUMMARY_FILES, *(SWEEP_FILES if sweep else ())):
            (folder / name).unlink(missing_ok=True)
        return
    for name in SUMMARY_FILES:
        write_table(folder / name, frame)
    if sweep:
        write_sweep_table(folder)


def stored_summary(folder: Path, specs: list[RunSpec]) -> pd.DataFrame:
    """The summary table ``folder``'s stored runs give (one row per finished or failed run), without writing it."""
    with unreadable_runs(folder):
        return summary_frame(folder, specs)


def rebuild_summary(folder: Path, specs: list[RunSpec], sweep: bool = False) -> None:
    """Rewrite ``folder``'s summary (and with ``sweep`` its sweep table) from its stored runs."""
    with unreadable_runs(folder):
        write_tables(folder, summary_frame(folder, specs), sweep)


def rebuild_tables(folder: Path) -> None:
    """Rebuild a batch or sweep folder's tables from its runs; a folder without a manifest is left alone."""
    if not (folder / MANIFEST).is_file():
        return
    manifest = read_manifest(folder)
    rebuild_summary(folder, manifest_specs(manifest, folder / MANIFEST), manifest["kind"] == "sweep")


def check_tables(folder: Path) -> list[TableCheck]:
    """The folder's tables compared byte for byte with the same tables rebuilt from its stored runs (in a
    temporary folder)."""
    manifest = read_manifest(folder)
    sweep = manifest["kind"] == "sweep"
    specs = manifest_specs(manifest, folder / MANIFEST)
    names = (*SUMMARY_FILES, *(SWEEP_FILES if sweep else ()))
    with tempfile.TemporaryDirectory(prefix="reproduce-tables-") as tmp, unreadable_runs(folder):
        fresh = Path(tmp)
        if sweep:
            shutil.copyfile(folder / MANIFEST, fresh / MANIFEST)
        write_tables(fresh, summary_frame(folder, specs), sweep)
        return [_compare_table(folder / name, fresh / name) for name in names]


def _compare_table(stored: Path, fresh: Path) -> TableCheck:
    if not fresh.is_file():
        return TableCheck(stored.name, not stored.exists(), "no run is stored, yet the file exists")
    if not stored.is_file():
        return TableCheck(stored.name, False, "missing; run.py report rebuilds it from runs/")
    if stored.read_bytes() != fresh.read_bytes():
        return TableCheck(stored.name, False, "differs from runs/")
    return TableCheck(stored.name, True)


# --------------------------------------------------------------------------- reading


def read_summary(folder: Path) -> pd.DataFrame:
    """The ``summary.parquet`` of a finished batch or sweep folder."""
    return pd.read_parquet(folder / SUMMARY_FILES[0])


def read_run_table(folder: Path, manifest: dict, run_id: str, name: str) -> pd.DataFrame:
    """One stored table (``timeseries`` or ``pulses``) of run ``run_id`` of the folder with this manifest."""
    check_run_id(run_id)
    runs = [run["run_id"] for run in manifest["runs"]]
    if run_id not in runs:
        allowed = f"{runs[0]} to {runs[-1]} ({len(runs)} runs)" if runs else "none (the manifest lists no runs)"
        raise OutputError(f"{folder}: run id {run_id!r}: not a run of this folder; allowed: {allowed}")
    run = run_folder(folder, {"run_id": run_id})
    path = run / f"{name}.parquet"
    if not path.is_file():
        raise OutputError(f"{path}: missing: {_why_missing(run)}")
    return pd.read_parquet(path)


def _why_missing(run: Path) -> str:
    """Why a run folder holds no table: the run failed, wrote none (a test function) or has not finished."""
    if (run / RUN_ERROR).is_file():
        return f"the run failed (see {run / RUN_ERROR})"
    if (run / RUN_RESULT).is_file():
        return "the run stored no tables (a test-function sweep writes none)"
    return "the run has not finished; resume the folder to run it"


def load_batch(folder: Path) -> tuple[dict, pd.DataFrame]:
    """The manifest and summary of a batch folder; anything unusable is an OutputError."""
    if not folder.is_dir():
        raise OutputError(f"{folder}: not a folder; report needs a batch output folder (run.py batch --out DIR)")
    manifest = read_manifest(folder, "batch")
    for key, typ in (("scenarios", dict), ("reference", dict), ("runs", list)):
        if not isinstance(manifest.get(key), typ):
            raise OutputError(f"{folder / MANIFEST}: '{key}' is missing or malformed; not a complete batch manifest")
    path = folder / SUMMARY_FILES[0]
    if not path.is_file():
        raise OutputError(f"{folder}: no {SUMMARY_FILES[0]}; the batch has no results yet (finish it with run.py batch "
                          f"EXPERIMENT --out {folder} --resume)")
    try:
        summary = pd.read_parquet(path)
    except Exception as err:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        raise OutputError(f"{path}: unreadable ({type(err).__name__}: {str(err).splitlines()[0][:120]})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in summary]
    if missing:
        raise OutputError(f"{path}: missing column(s) {', '.join(missing)}; not a batch summary")
    ok = summary[summary["status"] == "ok"]
    if ok.empty:
        first = next((e for e in summary.get("error", []) if isinstance(e, str) and e), "none recorded")
        raise OutputError(f"{folder}: no successful runs in {SUMMARY_FILES[0]} ({len(summary)} run(s); "
                          f"first error: {first[:160]})")
    return manifest, summary


def load_sweep_results(folder: Path) -> tuple[dict, pd.DataFrame]:
    """The manifest and run table of a sweep folder (``sweep.parquet``, rebuilt from ``summary.parquet`` if absent)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise OutputError(f"{folder}: not a folder; expected a sweep output folder (run.py sweep --out DIR)")
    manifest = read_manifest(folder, "sweep")
    if not isinstance(manifest.get("sweep"), dict):
        raise OutputError(f"{folder / MANIFEST}: 'sweep' is missing or malformed; not a complete sweep manifest")
    for name in (SWEEP_TABLE, SUMMARY_FILES[0]):
        path = folder / name
        if path.is_file():
            try:
                frame = pd.read_parquet(path)
            except Exception as err:  # noqa: BLE001 - pyarrow raises several types for a damaged file
                raise OutputError(f"{path}: unreadable ({type(err).__name__})") from None
            return manifest, frame if name == SWEEP_TABLE else sweep_table(frame, manifest)
    raise OutputError(f"{folder}: no {SWEEP_TABLE} or summary.parquet; the sweep has no results yet (finish it "
                      f"with run.py sweep SWEEP --out {folder} --resume)")


def scenario_of(manifest: dict, name: str, source: str) -> Scenario:
    """Scenario ``name`` of the manifest, validated again by the current code (ScenarioError if it fails)."""
    return build_scenario(manifest["scenarios"][name], source)


def stored_scenarios(manifest: dict) -> dict[str, Scenario | None]:
    """Each scenario of the manifest as the typed Scenario the runs used (None if it no longer validates)."""
    out = {}
    for name in manifest.get("scenarios", {}):
        try:
            out[name] = scenario_of(manifest, name, f"manifest:{name}")
        except (ScenarioError, TypeError, ValueError):
            out[name] = None
    return out
