"""The scenario, experiment and sweep files shipped with the package, by name.

Names are paths relative to a folder of ``scenarios/``, without ``.toml``:
scenarios ``normal``, ``depression_like``, ``checks/tsodyks_markram``;
experiments (``scenarios/experiments/``) ``smoke``, ``normal_vs_depression``,
``validation/recycling``; sweeps (``scenarios/sweeps/``) ``smoke``,
``ishigami``; calibrations (``scenarios/calibration/``) ``baseline_rates``.

In a source checkout (and an editable install) the files are the repository's
``scenarios/`` folder; a wheel carries a copy of it as ``sim/scenarios/``
(pyproject.toml, ``[tool.setuptools.package-dir]``). Either way the files keep
their layout, so the relative paths inside them (``extends``, an experiment's
``scenarios``) resolve as in the repository.
"""

from __future__ import annotations

from pathlib import Path

from sim.model.params import ScenarioError, did_you_mean

SUFFIX = ".toml"
#: kind of file -> its folder inside ``scenarios/`` ("" is the folder itself)
FOLDERS = {"scenario": "", "experiment": "experiments", "sweep": "sweeps", "calibration": "calibration"}
#: folders of ``scenarios/`` that hold other kinds of files than scenarios
NOT_SCENARIOS = tuple(f for f in FOLDERS.values() if f)


def scenarios_dir() -> Path:
    """The folder of the packaged files: the installed copy ``sim/scenarios``, else the checkout's ``scenarios/``."""
    here = Path(__file__).resolve().parents[1]          # sim/
    installed = here / "scenarios"
    return installed if installed.is_dir() else here.parent / "scenarios"


def names(kind: str = "scenario") -> list[str]:
    """The packaged files of ``kind`` (scenario, experiment, sweep, calibration) by name, sorted."""
    if kind not in FOLDERS:
        raise ScenarioError(f"kind {kind!r}: unknown{did_you_mean(kind, FOLDERS)}; allowed: {', '.join(FOLDERS)}")
    folder = scenarios_dir() / FOLDERS[kind]
    found = [p.relative_to(folder).with_suffix("").as_posix() for p in folder.rglob(f"*{SUFFIX}") if p.is_file()]
    if kind == "scenario":
        found = [n for n in found if n.split("/")[0] not in NOT_SCENARIOS]
    return sorted(found)


def is_path(name_or_path: str | Path) -> bool:
    """Whether ``name_or_path`` is a file path (a Path, or text ending in ``.toml``) rather than a packaged name."""
    return isinstance(name_or_path, Path) or str(name_or_path).endswith(SUFFIX)


def resolve(name_or_path: str | Path, kind: str = "scenario") -> Path:
    """The file of a packaged name of ``kind``, or ``name_or_path`` itself if it is a path (relative paths are
    relative to the working directory); an unknown name is a ScenarioError listing the names."""
    if is_path(name_or_path):
        return Path(name_or_path)
    if not isinstance(name_or_path, str):
        raise ScenarioError(f"{kind} {name_or_path!r}: expected a packaged name or the path of a {SUFFIX} file")
    known = names(kind)
    if name_or_path not in known:
        raise ScenarioError(f"{kind} {name_or_path!r}: not a packaged {kind}{did_you_mean(name_or_path, known)}; "
                            f"allowed: {', '.join(known)}, or the path of a {SUFFIX} file")
    return scenarios_dir() / FOLDERS[kind] / f"{name_or_path}{SUFFIX}"


#: the experiments of ``run.py validate`` (one per group of findings, docs/science.md)
VALIDATION_DIR = scenarios_dir() / "experiments" / "validation"
