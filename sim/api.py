"""The Python interface, for notebooks and scripts (docs/api.md): scenarios, single runs, experiments, sweeps and
the folders they write.

    import sim
    run = sim.simulate("normal", network__n_neurons=200, protocol__duration_s=2.0)
    run.summary                                  # one row: the metrics of run.py simulate's summary.csv
    table = sim.run_experiment("smoke", "results/smoke", workers=2)
    results = sim.open_results("results/smoke")

Scenarios, experiments and sweeps are packaged names (``sim.scenario_names()``,
:mod:`sim.model.packaged`) or paths of ``.toml`` files. Scenario overrides are
keyword arguments with ``__`` for the dots of a key (``network__n_neurons=200``,
``protocol__stimuli__0__rate_hz=10.0``) and ``sets``, ``--set`` style
``"key=value"`` texts applied before them. Bad input raises
:class:`sim.model.params.ScenarioError` or :class:`sim.runs.outputs.OutputError`, one line
naming the key and what is allowed, before anything is written. The model,
pandas and the batch machinery are imported by the functions that need them,
so that ``import sim`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.model import packaged
from sim.model.params import ScenarioError

if TYPE_CHECKING:
    import pandas as pd

    from sim.model.model import SynapseNetworkModel
    from sim.model.params import Scenario
    from sim.runs.experiment import Experiment

#: options of run_experiment and run_sweep left out of the call a folder's manifest records when at these values
_DEFAULTS = {"workers": None, "resume": False, "quick": False, "backend": "local", "scheduler": None}


# --------------------------------------------------------------------------- names


def scenario_names() -> list[str]:
    """Names of the packaged scenarios (``scenarios/*.toml``, ``scenarios/checks/``), e.g. ``normal``."""
    return packaged.names("scenario")


def experiment_names() -> list[str]:
    """Names of the packaged experiments (``scenarios/experiments/``), e.g. ``smoke``, ``validation/recycling``."""
    return packaged.names("experiment")


def sweep_names() -> list[str]:
    """Names of the packaged sweeps (``scenarios/sweeps/``), e.g. ``smoke``, ``ishigami``."""
    return packaged.names("sweep")


# --------------------------------------------------------------------------- scenarios and single runs


def _dotted(overrides: dict[str, Any]) -> dict[str, Any]:
    """Keyword overrides as dotted scenario keys: ``network__n_neurons`` -> ``network.n_neurons``."""
    return {key.replace("__", "."): value for key, value in overrides.items()}


def _load(scenario: str | Path, condition: str | None, sets: Sequence[str] | str, seed: int | None,
          allow_large: bool, overrides: dict[str, Any]) -> tuple[Scenario, Path]:
    """The stored_scenarios scenario and its file."""
    from sim.model.scenario import load_scenario as load_file

    path = packaged.resolve(scenario, "scenario")
    assignments = [sets] if isinstance(sets, str) else list(sets)
    loaded, _ = load_file(path, assignments, seed, allow_large, _dotted(overrides))
    if condition is not None:
        try:
            loaded.condition(condition)
        except ScenarioError as err:
            raise ScenarioError(f"{path}: condition: {err}") from None
    return loaded, path


def load_scenario(scenario: str | Path = "normal", condition: str | None = None, *, sets: Sequence[str] | str = (),
                  seed: int | None = None, allow_large: bool = False, **overrides: Any) -> Scenario:
    """A stored_scenarios scenario (:class:`sim.model.params.Scenario`): a packaged name or a path, with overrides.

    Values are in the units of docs/scenario_keys.md. With ``condition`` the
    scenario must define that drug condition (``vehicle`` always is). ``seed``
    replaces the scenario's; a network or protocol above the size limits of
    :mod:`sim.model.limits` is refused unless ``allow_large``.
    """
    return _load(scenario, condition, sets, seed, allow_large, overrides)[0]


@dataclass(frozen=True, eq=False)
class Simulation:
    """One finished run of :func:`simulate` (nothing is written to disk); columns and units in docs/outputs.md.

    ``timeseries``: one row per ``protocol.record_interval_ms``; ``pulses``: one
    row per stimulation pulse (no rows without stimuli); ``summary``: one row,
    ``scenario``, ``condition``, ``seed`` and the summary metrics over the time
    after the warm-up, the columns of ``run.py simulate``'s ``summary.csv``;
    ``model``: the :class:`sim.model.model.SynapseNetworkModel` at the end of the run.
    """

    timeseries: pd.DataFrame
    pulses: pd.DataFrame
    summary: pd.DataFrame
    model: SynapseNetworkModel


def simulate(scenario: str | Path = "normal", condition: str = "vehicle", seed: int | None = None,
             progress: bool = False, *, sets: Sequence[str] | str = (), allow_large: bool = False,
             threads: int | None = None, **overrides: Any) -> Simulation:
    """Run one scenario under one drug condition, as ``run.py simulate`` does, and return its tables.

    ``scenario``, ``sets`` and ``overrides`` as in :func:`load_scenario`; ``seed``
    replaces the scenario's master seed; ``progress`` shows a progress bar;
    ``threads`` step the network (default: all cores; the results do not depend on it).
    """
    import pandas as pd

    from sim.model.model import SynapseNetworkModel, resolve_threads
    from sim.model.readouts import run_results
    from sim.runs.estimate import announce_run

    threads = resolve_threads(threads)
    loaded, path = _load(scenario, condition, sets, seed, allow_large, overrides)
    announce_run(loaded, str(path), allow_large)
    model = SynapseNetworkModel(loaded, condition, threads=threads)
    model.run(progress=progress)
    results = run_results(model)
    row = {"scenario": loaded.name, "condition": condition, "seed": loaded.seed, **results["summary"]}
    return Simulation(results["timeseries"], results["pulses"], pd.DataFrame([row]), model)


# --------------------------------------------------------------------------- experiments and sweeps


def run_experiment(experiment: str | Path, out: str | Path, workers: int | None = None, resume: bool = False,
                   quick: bool = False, *, backend: str = "local", scheduler: str | None = None,
                   progress: bool = False, allow_large: bool = False) -> pd.DataFrame:
    """Run an experiment into the batch folder ``out``, as ``run.py batch`` does; returns ``out/summary.parquet``.

    ``experiment``: a packaged name (:func:`experiment_names`) or a path;
    ``workers``: local worker processes (default: one per core); ``resume``:
    finish an interrupted folder; ``quick``: the file's quick variant;
    ``backend``/``scheduler``: ``"dask"`` and a scheduler address (docs/cluster.md).
    Runs that raised have ``status`` ``"error"`` (a warning counts them; resume retries them).
    """

    from sim.runs.experiment import load_experiment
    from sim.runs.store import read_summary

    path = packaged.resolve(experiment, "experiment")
    call = _call("run_experiment", experiment, out, workers=workers, resume=resume, quick=quick, backend=backend,
                 scheduler=scheduler)
    _run_folder(lambda: load_experiment(path, quick=quick, allow_large=allow_large), Path(out), call, workers,
                resume, backend, scheduler, progress, allow_large)
    return read_summary(Path(out))


def run_sweep(sweep: str | Path, out: str | Path, workers: int | None = None, resume: bool = False,
              quick: bool = False, *, backend: str = "local", scheduler: str | None = None, progress: bool = False,
              allow_large: bool = False) -> pd.DataFrame:
    """Run a sweep into the folder ``out`` and write its sweep table; returns ``out/sweep.parquet`` (one row per
    run: run identity, status, the varied parameters and the sweep's outputs).

    Options as in :func:`run_experiment`. The sensitivity analysis of ``run.py
    sweep`` (``sensitivity.csv``, figures) is not run: ``analysis.sensitivity.
    write_sweep_outputs(out)`` or ``run.py report OUT`` writes it.
    """
    import pandas as pd

    from sim.runs.store import SWEEP_TABLE, write_sweep_table
    from sim.runs.sweep import load_sweep

    path = packaged.resolve(sweep, "sweep")
    call = _call("run_sweep", sweep, out, workers=workers, resume=resume, quick=quick, backend=backend,
                 scheduler=scheduler)
    _run_folder(lambda: load_sweep(path, quick=quick, allow_large=allow_large), Path(out), call, workers, resume,
                backend, scheduler, progress, allow_large, after=write_sweep_table)
    return pd.read_parquet(Path(out) / SWEEP_TABLE)


def _call(function: str, *args: Any, **options: Any) -> str:
    """The text of an API call (its non-default options), which the folder's manifest and lock file record."""
    shown = [repr(str(a) if isinstance(a, Path) else a) for a in args]
    shown += [f"{k}={v!r}" for k, v in options.items() if v != _DEFAULTS[k]]
    return f"sim.{function}({', '.join(shown)})"


def _check_options(out: Path, workers: int | None, backend: str, scheduler: str | None, allow_large: bool) -> None:
    """What ``run.main`` checks before a batch or sweep: the folder can be written, workers, backend, scheduler."""
    from sim.model.limits import check_workers
    from sim.runs.dask_address import check_address
    from sim.runs.executors import BACKENDS
    from sim.runs.oserrors import check_writable
    from sim.runs.outputs import OutputError

    check_writable(out, "out")
    check_workers(workers, allow_large)
    if backend not in BACKENDS:
        raise OutputError(f"backend {backend!r}: not available; allowed: {', '.join(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise OutputError(f"scheduler {scheduler}: only used with backend='dask'")
    if scheduler is not None:
        check_address(scheduler)


def _run_folder(load: Callable[[], Experiment], out: Path, call: str, workers: int | None, resume: bool,
                backend: str, scheduler: str | None, progress: bool, allow_large: bool,
                after: Callable[[Path], object] | None = None) -> None:
    """Load the design and run it into ``out`` with the folder locked, as ``run.py batch`` and ``sweep`` do; then
    ``after(out)``; warn if runs failed."""
    import warnings

    from sim.runs.batch import run_batch
    from sim.runs.estimate import announce_batch
    from sim.runs.folder_lock import folder_lock

    _check_options(out, workers, backend, scheduler, allow_large)
    with folder_lock(out, call, create=not resume):      # the lock of run.py's command_lock
        exp = load()
        announce_batch(exp, out, workers, resume, scheduler, allow_large)
        outcome = run_batch(exp, out, call, workers=workers, resume=resume, backend=backend, scheduler=scheduler,
                            progress=progress)
        if after is not None:
            after(out)
    if outcome.failed:
        warnings.warn(f"{out}: {outcome.failed} of {outcome.total} runs failed: see {out}/runs/*/error.json; "
                      f"run again with resume=True to retry them", RuntimeWarning, stacklevel=3)


# --------------------------------------------------------------------------- result folders


@dataclass(frozen=True, eq=False)
class Results:
    """A batch or sweep folder, read without writing anything (:func:`open_results`).

    ``manifest``: the folder's ``manifest.json``; ``kind``: ``"batch"`` or
    ``"sweep"``; ``runs``: the run ids of the manifest, in run order.
    """

    folder: Path
    manifest: dict

    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    @property
    def runs(self) -> list[str]:
        return [run["run_id"] for run in self.manifest["runs"]]

    @property
    def summary(self) -> pd.DataFrame:
        """One row per finished or failed run, rebuilt from ``runs/`` at each access (as ``run.py report`` does):
        the run's identity, levels, ``status``, ``error`` and summary metrics."""
        from sim.runs.store import MANIFEST, manifest_specs, stored_summary

        return stored_summary(self.folder, manifest_specs(self.manifest, self.folder / MANIFEST))

    @property
    def sweep(self) -> pd.DataFrame:
        """A sweep folder's table (as ``sweep.parquet``): run identity, status, varied parameters and outputs."""
        from sim.runs.store import OutputError, sweep_table

        if self.kind != "sweep":
            raise OutputError(f"{self.folder}: a {self.kind} folder has no sweep table; allowed: a sweep folder")
        return sweep_table(self.summary, self.manifest)

    def timeseries(self, run_id: str) -> pd.DataFrame:
        """The time series of one run (``runs/<run_id>/timeseries.parquet``; columns and units: docs/outputs.md)."""
        return self._table(run_id, "timeseries")

    def pulses(self, run_id: str) -> pd.DataFrame:
        """The stimulation pulses of one run (``runs/<run_id>/pulses.parquet``)."""
        return self._table(run_id, "pulses")

    def _table(self, run_id: str, name: str) -> pd.DataFrame:
        from sim.runs.store import read_run_table

        return read_run_table(self.folder, self.manifest, run_id, name)


def open_results(folder: str | Path) -> Results:
    """The batch or sweep folder ``folder`` (written by ``run.py batch``/``sweep`` or this module); a folder
    without a valid batch or sweep manifest is an OutputError."""
    from sim.runs.store import read_manifest

    folder = Path(folder)
    return Results(folder, read_manifest(folder))
