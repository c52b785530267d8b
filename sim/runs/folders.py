"""Which paths read from files may become output paths, and which folders ``--overwrite`` may replace.

Every path the tool writes or deletes is inside ``--out`` (or the default
``results/`` folder): a run id read from a manifest must be the tool's own
(``r`` and digits, as :meth:`sim.runs.experiment.Experiment.runs` makes them), and a
name that builds a default folder (a scenario's ``name``, a condition, a
validation experiment's ``name``) must be one plain path component. Scenario
files may extend any ``.toml`` file on disk: that path is only read. What
``--overwrite`` may replace is in :mod:`sim.runs.overwrite`.
"""

from __future__ import annotations

import re
from pathlib import Path

from sim.errors import OutputError
from sim.model.params import ScenarioError

RUN_ID = re.compile(r"r[0-9]+")                 # sim.runs.experiment: f"r{index:05d}"
FOLDER_NAME = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]*")
NAME_RULE = "letters, digits and _ - . + (not starting with '.', no '..', no '/')"
LOCK_FILE = ".lock"                              # sim.runs.folder_lock: present while a command writes the folder


def is_run_id(value: object) -> bool:
    """Whether ``value`` is a run id this tool makes (``r00000``, ``r00001``, ...)."""
    return isinstance(value, str) and RUN_ID.fullmatch(value) is not None


def check_run_id(run_id: object) -> str:
    """``run_id`` itself if it is one of the tool's run ids; anything else (a path, ``..``) is an OutputError."""
    if not is_run_id(run_id):
        raise OutputError(f"run id {run_id!r}: not a run id of this tool; allowed: 'r' followed by digits "
                          f"(e.g. r00000)")
    return run_id


def check_manifest_runs(manifest: dict, path: Path) -> None:
    """Refuse a manifest whose ``runs`` are not a list of runs with distinct run ids of this tool."""
    runs = manifest.get("runs")
    if runs is None:
        return
    if not isinstance(runs, list):
        raise OutputError(f"{path}: runs: expected a list of runs, got {type(runs).__name__}")
    seen: set[str] = set()
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            raise OutputError(f"{path}: runs[{i}]: expected a table of fields, got {type(run).__name__}")
        run_id = run.get("run_id")
        if not is_run_id(run_id):
            raise OutputError(f"{path}: runs[{i}].run_id: {run_id!r} is not a run id of this tool; allowed: "
                              f"'r' followed by digits (e.g. r00000)")
        if run_id in seen:
            raise OutputError(f"{path}: runs[{i}].run_id: {run_id!r} appears twice; allowed: distinct run ids")
        seen.add(run_id)


def is_folder_name(value: object) -> bool:
    """Whether ``value`` can be one plain path component of a folder the tool names itself."""
    return isinstance(value, str) and FOLDER_NAME.fullmatch(value) is not None and ".." not in value


def check_folder_name(value: object, where: str, error: type[ValueError] = ScenarioError,
                      alternative: str = "") -> str:
    """``value`` if it can name a folder; else ``error`` naming ``where`` (file and key) and what is allowed."""
    if not is_folder_name(value):
        raise error(f"{where}: {value!r} cannot name an output folder; allowed: {NAME_RULE}{alternative}")
    return value


def simulate_folder(scenario_file: Path, name: str, condition: str, seed: int) -> Path:
    """The default folder of ``run.py simulate``: ``results/simulate/NAME-CONDITION-seedN``."""
    check_folder_name(name, f"{scenario_file}: name", alternative=", or give --out DIR")
    check_folder_name(condition, "--condition", alternative=", or give --out DIR")
    return Path("results/simulate") / f"{name}-{condition}-seed{seed}"


def has_content(folder: Path) -> bool:
    """Whether ``folder`` exists and holds anything but a lock file (or is not a folder at all)."""
    if not folder.exists():
        return False
    return not folder.is_dir() or any(p.name != LOCK_FILE for p in folder.iterdir())
