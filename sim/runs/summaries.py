"""The tables a batch or sweep folder derives from its ``runs/``: ``summary.parquet``/``.csv`` and, for a sweep,
``sweep.parquet``/``.csv``.

While a batch runs they are rewritten at most every ``sim.runs.batch.SUMMARY_SECONDS``
seconds, so after a kill they lag the runs on disk. ``--resume`` and
``report`` rebuild them first (:func:`rebuild_summary`, :func:`rebuild_tables`);
``reproduce`` checks that the files on disk are what the stored runs give
(:func:`check_tables`).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.runs.batch import MANIFEST, SUMMARY_FILES, read_manifest, summary_frame, unreadable_runs
from sim.runs.experiment import RunSpec
from sim.runs.manifest_runs import manifest_specs
from sim.runs.outputs import write_table
from sim.runs.sweep import write_sweep_table

SWEEP_FILES = ("sweep.parquet", "sweep.csv")          # sim.runs.sweep.write_sweep_table


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
        return [_compare(folder / name, fresh / name) for name in names]


def _compare(stored: Path, fresh: Path) -> TableCheck:
    if not fresh.is_file():
        return TableCheck(stored.name, not stored.exists(), "no run is stored, yet the file exists")
    if not stored.is_file():
        return TableCheck(stored.name, False, "missing; run.py report rebuilds it from runs/")
    if stored.read_bytes() != fresh.read_bytes():
        return TableCheck(stored.name, False, "differs from runs/")
    return TableCheck(stored.name, True)
