"""Writing run outputs: manifest, parquet and CSV files, all-or-nothing output folders."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import pandas as pd

from sim.errors import OutputError
from sim.runs.csv_cells import defuse_formulas
from sim.runs.oserrors import check_writable, removed_on_error
from sim.runs.stale_files import remove_stale_stages

PACKAGES = ("mesa", "numpy", "numba", "scipy", "pandas", "pyarrow", "matplotlib", "networkx", "statsmodels", "SALib",
            "dask", "distributed")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    """Python, platform and package versions."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str | None:
    """The commit of the code's checkout, with ``-dirty`` if it has changes, or None."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def temporary_path(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place: ``.NAME.tmp-PID`` beside it (a dead writer's
    file is removed by :mod:`sim.runs.stale_files`)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temporary path)``, then rename the file into ``path``; on an error nothing is left behind."""
    tmp = temporary_path(path)
    with removed_on_error(tmp, path):
        write(tmp)
        os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(path: Path, payload: bytes) -> None:
    """Write bytes (e.g. a PNG) atomically."""
    write_atomically(path, lambda tmp: tmp.write_bytes(payload))


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def write_table(path: Path, frame: pd.DataFrame) -> None:
    """Write a parquet or CSV table atomically, chosen by the file's suffix (CSV text cells that a spreadsheet
    would run as formulas are quoted: :func:`sim.runs.csv_cells.defuse_formulas`)."""
    if path.suffix == ".parquet":
        write_atomically(path, lambda tmp: frame.to_parquet(tmp, index=False, engine="pyarrow"))
    else:
        write_atomically(path, lambda tmp: defuse_formulas(frame).to_csv(tmp, index=False, float_format="%.10g",
                                                                         lineterminator="\n"))


def check_new_output(out: Path, overwrite: bool) -> None:
    """Refuse to replace an existing non-empty folder unless ``overwrite`` (and then only one this tool made)."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputError(f"--out {out}: folder exists and is not empty; choose a new folder or pass --overwrite")
    check_writable(out)
    if overwrite and out.is_dir():
        from sim.runs.overwrite import check_replaceable  # it imports this module

        check_replaceable(out)


@contextlib.contextmanager
def staged_output(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """A temporary sibling folder that replaces ``out`` only if the block finishes without error."""
    check_new_output(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_stages(out)
    stage = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.replace(out, old)
    os.replace(stage, out)
    shutil.rmtree(old, ignore_errors=True)


def run_manifest(command: list[str], scenario_files: list[Path], merged: dict, scenario_hash: str,
                 condition: str, seed: int, started: str) -> dict:
    """The provenance of one run."""
    return {
        "kind": "simulate",
        "command": " ".join([Path(sys.argv[0]).name, *command]),
        "scenario_files": {str(p): p.read_text(encoding="utf-8") for p in scenario_files},
        "scenario": merged,
        "scenario_sha256": scenario_hash,
        "condition": condition,
        "seed": seed,
        "versions": versions(),
        "git_commit": git_commit(),
        "started_utc": started,
        "finished_utc": utc_now(),
    }
