"""Mesa's ``batch_run`` on the model: ``BatchRunModel`` and ``mesa_batch_run``.

``mesa.batch_run(model_cls, parameters, ...)`` builds the model from keyword
parameters, calls ``step()`` until ``max_steps`` or ``model.running`` is False,
and reads ``model.datacollector``. ``BatchRunModel`` takes simple keyword
parameters (a scenario name or path, a condition, a seed, a few ``--set``-style
overrides) and one ``step()`` advances one record interval
(``protocol.record_interval_ms``), so each step adds one time-series row and
one DataCollector entry; ``running`` turns False at the end of the protocol.

Seeds differ between Mesa versions. Mesa 3.3's ``batch_run`` passes the
parameters as given: a ``seed`` in ``parameters`` reaches the model, and
``iterations`` repeats each combination with the same keywords. Mesa 3.5's
``batch_run`` sets the model's ``seed`` keyword itself, from its ``rng``
argument (``iterations=n`` is deprecated and means ``rng=[None] * n``), and so
overwrites a ``seed`` in ``parameters``. ``seed=None`` means the scenario's
``seed``, so repeated iterations without seeds are identical runs.
``mesa_batch_run`` takes the seeds as a list and passes them the way the
installed Mesa expects.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mesa

from sim.model.interactive import SCENARIO_DIR
from sim.model.model import SynapseNetworkModel
from sim.model.scenario import load_scenario


def scenario_file(scenario: str | Path) -> Path:
    """The scenario file: a bare name (``"normal"``) is ``scenarios/<name>.toml``; anything else is a path."""
    text = str(scenario)
    if isinstance(scenario, str) and "/" not in text and "\\" not in text and not text.endswith(".toml"):
        return SCENARIO_DIR / f"{text}.toml"
    return Path(scenario)


def batch_overrides(n_neurons: int | None = None, duration_s: float | None = None, warmup_s: float | None = None,
                    record_interval_ms: float | None = None, overrides: str | Sequence[str] = ()) -> list[str]:
    """``--set``-style assignments for the keyword parameters that are given, then ``overrides``."""
    keys = {"network.n_neurons": n_neurons, "protocol.duration_s": duration_s, "protocol.warmup_s": warmup_s,
            "protocol.record_interval_ms": record_interval_ms}
    extra = [overrides] if isinstance(overrides, str) else list(overrides)
    return [f"{key}={value}" for key, value in keys.items() if value is not None] + extra


class BatchRunModel(SynapseNetworkModel):
    """SynapseNetworkModel from simple keyword parameters; one ``step()`` advances one record interval.

    Args:
        scenario: a scenario name in ``scenarios/`` (``"normal"``) or the path of a scenario file.
        condition: a drug condition of the scenario (``"vehicle"``: no drug).
        seed: master seed (an int); None: the scenario's ``seed``.
        n_neurons: network size (neurons); None: the scenario's.
        duration_s, warmup_s: protocol duration and warm-up (s); None: the scenario's.
        record_interval_ms: the time-series interval and the biological time of one ``step()`` (ms).
        overrides: further ``--set``-style assignments (``"key=value"``), applied last. In
            ``batch_run``'s ``parameters`` a list of values is iterated, so give one tuple per run.

    Invalid values raise ``ScenarioError`` as on the command line. The
    duration must be a whole number of record intervals (the DataCollector
    then has one entry per step).
    """

    def __init__(self, scenario: str | Path = "normal", condition: str = "vehicle", seed: int | None = None,
                 n_neurons: int | None = None, duration_s: float | None = None, warmup_s: float | None = None,
                 record_interval_ms: float | None = None, overrides: str | Sequence[str] = ()):
        sets = batch_overrides(n_neurons, duration_s, warmup_s, record_interval_ms, overrides)
        built, _ = load_scenario(scenario_file(scenario), sets)
        super().__init__(built, condition, seed=seed)
        if self.n_steps % self.record_every:
            p = built.protocol
            raise ValueError(f"protocol.duration_s = {p.duration_s:g} s is not a whole number of record intervals "
                             f"({p.record_interval_ms:g} ms): one step() advances one record interval")

    def step(self) -> None:
        """Advance one record interval (``protocol.record_interval_ms``; one row); stop at the protocol's end."""
        if not self.running:
            return
        self._advance(min(self.record_every, self.n_steps - self.step_index))
        self.running = self.step_index < self.n_steps


def mesa_batch_run(parameters: Mapping[str, Any], seeds: Sequence[int | None] = (None,),
                   data_collection_period: int = 1, number_processes: int | None = 1,
                   display_progress: bool = False) -> list[dict[str, Any]]:
    """``mesa.batch_run`` of ``BatchRunModel``: every parameter combination once per seed, on Mesa 3.3 and 3.5.

    Each run goes to the end of its protocol. Rows carry ``iteration`` (the
    index of the seed) and ``seed``. ``Step`` is Mesa's own label and differs
    between versions (Mesa 3.3: 0, 1, ...; Mesa 3.5: 1.0, 2.0, ...); the
    ``time_s`` column gives the biological time of each row (s).
    ``data_collection_period``: 1 keeps every record interval's row, ``k`` every
    k-th (Mesa 3.3 also keeps the last), -1 only the last. On Mesa 3.3 the seeds
    run one after another, each as its own ``batch_run`` (its own worker pool).
    """
    if "seed" in parameters:
        raise ValueError("give the seeds as seeds=[...], not in parameters (Mesa 3.5's batch_run overwrites them)")
    options = {"data_collection_period": data_collection_period, "max_steps": 2**62,
               "number_processes": number_processes, "display_progress": display_progress}
    if "rng" in inspect.signature(mesa.batch_run).parameters:  # Mesa >= 3.5: the seeds go in as rng
        return mesa.batch_run(BatchRunModel, parameters, rng=list(seeds), **options)
    rows: list[dict[str, Any]] = []
    for i, seed in enumerate(seeds):  # Mesa 3.3: one batch per seed, numbered as Mesa 3.5 numbers them
        batch = mesa.batch_run(BatchRunModel, {**parameters, "seed": [seed]}, iterations=1, **options)
        first = len({row["RunId"] for row in rows})
        rows += [{**row, "RunId": first + row["RunId"], "iteration": i} for row in batch]
    return rows
