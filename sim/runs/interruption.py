"""What an interrupted command (Ctrl-C) leaves behind, said in one true line.

A command that keeps finished runs (batch, sweep, calibrate, validate) names
its output folder with :func:`keep_runs` before it starts them; ``run.main``
prints :func:`message` when the command is interrupted: how many finished runs
are kept where and how to finish, or that nothing was written (``simulate``
stages its output and ``reproduce`` works in a temporary folder). ``report``
names its folder with :func:`keep_partial`: the files written before the
interruption stay.
"""

from __future__ import annotations

from pathlib import Path

RUNS_DIR = "runs"           # as sim.runs.batch.RUNS_DIR (not imported: that would load the model)
FINISHED = "summary.json"   # a finished run's file in its run folder

_runs: dict[Path, str] = {}        # folder -> how to finish
_partial: dict[Path, str] = {}     # folder -> what to do


def keep_runs(folder: Path, finish: str) -> None:
    """Declare that ``folder`` keeps the finished runs of this command; ``finish`` says how to finish the rest
    (e.g. 'rerun with --resume to finish')."""
    _runs[Path(folder)] = finish


def keep_partial(folder: Path, finish: str) -> None:
    """Declare that this command writes files into the existing ``folder`` one by one."""
    _partial[Path(folder)] = finish


def forget() -> None:
    """Clear the declarations (each command of ``run.main`` starts with none)."""
    _runs.clear()
    _partial.clear()


def finished_runs(folder: Path) -> int:
    """Finished runs stored anywhere below ``folder`` (a batch, or folders of batches)."""
    return sum(1 for p in Path(folder).rglob(FINISHED) if p.parent.parent.name == RUNS_DIR)


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def message() -> str:
    """The line to print after an interruption: what is kept where, and how to finish."""
    parts = [f"{finished_runs(folder)} finished runs are kept in {folder}; {finish}"
             for folder, finish in _runs.items() if _has_files(folder)]
    parts += [f"files written so far stay in {folder}; {finish}"
              for folder, finish in _partial.items() if _has_files(folder)]
    return "interrupted; " + ("; ".join(parts) if parts else "nothing was written")
