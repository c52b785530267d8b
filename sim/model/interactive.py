"""The model behind the interactive app (``app.py``): SynapseNetworkModel built from the page's controls.

Mesa's SolaraViz creates its model from keyword arguments, one per control,
and creates it again with the current values when Reset is pressed. This
module turns those values into a scenario the same way the command line does:
it loads ``scenarios/<name>.toml`` and sets the controls' dotted keys
(``--set``-style, the drugs as a condition of their own), so the scenario
schema validates every value and names what is allowed.

Controls arrive as text typed into the page or as numbers. A value the schema
refuses does not raise: the model then holds the message in ``input_error``,
does not run, and the page shows the message.

Two more things make the page's runs comparable at a glance:

* the vehicle: with any drug in the bath, the model also steps a second run
  of the same scenario, network and seed with no drug (``vehicle``);
* the warm start: ``warm_start=True`` starts both runs from the state at the
  end of the scenario's drug-free warm-up (``protocol.warmup_s``) and applies
  the drugs then. That state is computed once per scenario, network size and
  seed, kept in memory and in a file under the user's cache directory
  (``cache_dir()``), whose name holds a hash of the scenario and of the
  engine's source and library versions, so a changed scenario or engine never
  loads a stale state.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import os
import pickle
import platform
import tempfile
from pathlib import Path

import mesa
import numba
import numpy as np
import pandas as pd

from sim.model.model import MAX_SPACE_NEURONS, SynapseNetworkModel
from sim.model.packaged import scenarios_dir
from sim.model.params import ConditionParams, Scenario, ScenarioError
from sim.model.pharmacology import Pharmacology
from sim.model.scenario import build_scenario, load_raw, parse_value, set_dotted

SCENARIO_DIR = scenarios_dir()
#: scenario files the page offers (``scenarios/<name>.toml``)
SCENARIOS = ("normal", "depression_like")
#: name of the drug condition that the controls define
CONDITION = "interactive"
#: biological time advanced by one Step of the page (ms); also the interval of the plotted time series
STEP_MS = 100.0
#: the longest biological time one session runs (s); the model stops there
SESSION_S = 3600.0
#: the page's default network size (neurons): quick to step and small enough to draw
DEFAULT_N_NEURONS = 400
#: networks larger than this are not run on the page (use ``run.py simulate``)
MAX_N_NEURONS = 20000
#: networks up to this size get a Mesa Network space (``model.grid``), which the page draws
MAX_DRAWN_NEURONS = min(1000, MAX_SPACE_NEURONS)

#: the drug-free condition of every scenario, run beside the controls' drugs
VEHICLE = "vehicle"
#: the environment variable naming the warm-up cache directory (default: see ``cache_dir``)
CACHE_ENV = "VESICLE_SIM_CACHE_DIR"

#: each control: its label on the page and the dotted scenario key it sets
CONTROLS = {
    "ketamine_uM": ("Ketamine (µM)", f"conditions.{CONDITION}.ketamine_uM"),
    "dpcpx_uM": ("DPCPX, A1 antagonist (µM)", f"conditions.{CONDITION}.dpcpx_uM"),
    "ampa_antagonist_uM": ("AMPA antagonist (µM)", f"conditions.{CONDITION}.ampa_antagonist_uM"),
    "adenosine_uM": ("Applied adenosine (µM)", f"conditions.{CONDITION}.adenosine_uM"),
    "n_neurons": ("Network size (neurons)", "network.n_neurons"),
    "seed": ("Seed", "seed"),
}


def control_value(value: str | float) -> object:
    """A control's value as the scenario files would hold it: typed text is read as a TOML value."""
    return parse_value(value.strip()) if isinstance(value, str) else value


def interactive_scenario(scenario_name: str = "normal", **controls: str | float) -> Scenario:
    """The scenario ``scenarios/<scenario_name>.toml`` with the controls' values set (see ``CONTROLS``).

    The time series is recorded once per Step (``STEP_MS``), the protocol
    lasts ``SESSION_S`` and the drugs are applied at 0 s (``drugs_applied_at``
    moves them). Raises ScenarioError naming the control and the allowed values.
    """
    if scenario_name not in SCENARIOS:
        raise ScenarioError(f"Scenario: '{scenario_name}' is not offered; allowed: {', '.join(SCENARIOS)}")
    unknown = set(controls) - set(CONTROLS)
    if unknown:
        raise TypeError(f"unknown controls: {', '.join(sorted(unknown))}; known: {', '.join(CONTROLS)}")
    path = SCENARIO_DIR / f"{scenario_name}.toml"
    data, _ = load_raw(path)
    set_dotted(data, "protocol.duration_s", SESSION_S)
    set_dotted(data, "protocol.record_interval_ms", STEP_MS)
    set_dotted(data, f"conditions.{CONDITION}.apply_at_s", 0.0)  # the condition exists even with no drug
    for name, value in controls.items():
        set_dotted(data, CONTROLS[name][1], control_value(value))
    try:
        scenario = build_scenario(data, str(path))
    except ScenarioError as err:
        raise ScenarioError(_labelled(str(err), str(path))) from None
    if scenario.network.n_neurons > MAX_N_NEURONS:
        raise ScenarioError(f"{CONTROLS['n_neurons'][0]}: {scenario.network.n_neurons} neurons are too many to step "
                            f"interactively; allowed: <= {MAX_N_NEURONS} (run.py simulate runs larger networks)")
    return scenario


def _labelled(message: str, source: str) -> str:
    """A validation message with the control's label in place of the file and dotted key it sets."""
    for label, key in CONTROLS.values():
        prefix = f"{source}: {key}: "
        if message.startswith(prefix):
            return f"{label}: {message[len(prefix):]}"
    if message.startswith(f"{source}: network.") and "_in_degree: " in message:  # too few neurons of a type
        return f"{CONTROLS['n_neurons'][0]}: too small for this scenario ({message[len(source) + 2:]})"
    return message


def drugs_applied_at(scenario: Scenario, time_s: float) -> Scenario:
    """``scenario`` with the controls' drugs applied at ``time_s`` (s) instead of 0 s."""
    condition = dataclasses.replace(scenario.condition(CONDITION), apply_at_s=time_s)
    return dataclasses.replace(scenario, conditions={**scenario.conditions, CONDITION: condition})


def has_drugs(condition: ConditionParams) -> bool:
    """Whether ``condition`` puts any drug in the bath (a concentration above 0 µM)."""
    return any(getattr(condition, key.rsplit(".", 1)[1]) > 0
               for _label, key in CONTROLS.values() if key.startswith("conditions."))


# --------------------------------------------------------------------------- a run stepped by the page


class _ModelPickler(pickle.Pickler):
    """Pickles a model's attributes with every reference to the model itself replaced by a token."""

    def __init__(self, file: io.BytesIO, model: mesa.Model):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.model = model

    def persistent_id(self, obj: object) -> str | None:
        return "model" if obj is self.model else None


class _ModelUnpickler(pickle.Unpickler):
    """Loads attributes pickled by ``_ModelPickler``, the token becoming ``model``."""

    def __init__(self, file: io.BytesIO, model: mesa.Model):
        super().__init__(file)
        self.model = model

    def persistent_load(self, pid: str) -> mesa.Model:
        if pid != "model":
            raise pickle.UnpicklingError(f"unknown reference {pid!r}")
        return self.model


class PageRun(SynapseNetworkModel):
    """SynapseNetworkModel stepped by the page: one ``step()`` advances ``STEP_MS``; it stops at ``SESSION_S``.

    ``snapshot()`` pickles the run's whole state; ``from_snapshot`` (or
    ``restore`` on an object not yet initialised) continues it in a new object.
    ``start_s`` is the biological time (s) the run started from.
    """

    def __init__(self, scenario: Scenario, condition: str = VEHICLE):
        super().__init__(scenario, condition)
        self.start_s = 0.0

    @classmethod
    def from_snapshot(cls, data: bytes) -> PageRun:
        """A new run continuing the state in ``data`` (from ``snapshot()``)."""
        run = cls.__new__(cls)
        run.restore(data)
        return run

    def snapshot(self) -> bytes:
        """The run's state (every attribute, Mesa's included) as bytes."""
        buffer = io.BytesIO()
        _ModelPickler(buffer, self).dump(vars(self))
        return buffer.getvalue()

    def restore(self, data: bytes) -> None:
        """Take the state in ``data``; only on an object whose ``__init__`` has not run (methods resolve by name)."""
        vars(self).update(_ModelUnpickler(io.BytesIO(data), self).load())
        self.start_s = self.time_s

    def step(self) -> None:
        """Advance ``STEP_MS`` of biological time (one row of the time series); stop at ``SESSION_S``."""
        if not self.running:
            return
        per_step = int(round(STEP_MS / 1000.0 / self.dt_s))
        self._advance(min(per_step, self.n_steps - self.step_index))
        self.running = self.step_index < self.n_steps

    def timeseries(self) -> pd.DataFrame:
        """The time series recorded since ``start_s`` (columns as in ``sim.model.readouts``; empty before a step)."""
        ts = self.recorder.timeseries()
        if ts.empty:
            return ts
        return ts[ts["time_s"] > self.start_s + 1e-9].reset_index(drop=True)


# --------------------------------------------------------------------------- the warm-up, computed once


def cache_dir() -> Path:
    """Where warmed-up states are kept: ``$VESICLE_SIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/vesicle-sim/warmup``,
    else ``~/.cache/vesicle-sim/warmup`` (never inside the repository)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "vesicle-sim" / "warmup"


def warm_key(scenario: Scenario) -> str:
    """A hash of what a warmed-up state depends on: the scenario (size and seed included), the engine's source
    (``sim/model/*.py``) and the versions of Python, numpy, numba and Mesa."""
    digest = hashlib.sha256(repr(scenario).encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    digest.update(f"{platform.python_version()} {np.__version__} {numba.__version__} {mesa.__version__}".encode())
    return digest.hexdigest()[:20]


def warmup_steps(scenario: Scenario) -> int:
    """Steps of ``STEP_MS`` in the scenario's warm-up (``protocol.warmup_s``)."""
    return int(round(scenario.protocol.warmup_s * 1000.0 / STEP_MS))


def compute_warm_state(scenario: Scenario) -> bytes:
    """The drug-free state of ``scenario`` at the end of its warm-up, as ``PageRun.snapshot()`` bytes."""
    run = PageRun(scenario, VEHICLE)
    for _ in range(warmup_steps(scenario)):
        run.step()
    return run.snapshot()


@functools.lru_cache(maxsize=4)
def warm_state(scenario_name: str, n_neurons: int, seed: int) -> bytes:
    """The warmed-up state of ``scenarios/<scenario_name>.toml`` at this size (neurons) and seed.

    Computed once (``compute_warm_state``), then read from the file
    ``cache_dir()/<scenario>-<n>-<seed>-<warm_key>.pickle`` and kept in memory.
    An unreadable file is computed again; an unwritable directory only loses the file.
    """
    scenario = interactive_scenario(scenario_name, n_neurons=n_neurons, seed=seed)
    path = cache_dir() / f"{scenario_name}-{n_neurons}-{seed}-{warm_key(scenario)}.pickle"
    try:
        data = path.read_bytes()
        PageRun.from_snapshot(data)  # readable
        return data
    except Exception:  # noqa: BLE001 -- missing, truncated or from another environment: compute it again
        pass
    data = compute_warm_state(scenario)
    _write_atomically(path, data)
    return data


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in its directory; give up quietly on OSError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
            tmp.write(data)
        os.replace(tmp.name, path)
    except OSError:
        pass


# --------------------------------------------------------------------------- the page's model


class InteractiveModel(PageRun):
    """The page's model, built from its controls: the controls' drugs, and beside them their vehicle.

    Args:
        scenario_name: scenario file in ``scenarios/`` (one of ``SCENARIOS``).
        ketamine_uM, dpcpx_uM, ampa_antagonist_uM, adenosine_uM: bath concentrations (µM).
        n_neurons: network size (neurons).
        seed: master seed.
        warm_start: start from the end of the drug-free warm-up (``protocol.warmup_s``, cached; see
            ``warm_state``) and apply the drugs then; otherwise start at 0 s with the drugs applied.

    One ``step()`` advances ``STEP_MS`` of biological time of this run and of
    ``vehicle``: the same scenario, network and seed with no drug (None when
    the controls put no drug in the bath). Every value may be text as typed
    into the page. If the scenario schema refuses one, the model holds the
    message in ``input_error``, has no neurons, and ``step()`` does nothing.
    """

    def __init__(self, scenario_name: str = "normal", ketamine_uM: str | float = 0.0, dpcpx_uM: str | float = 0.0,
                 ampa_antagonist_uM: str | float = 0.0, adenosine_uM: str | float = 0.0,
                 n_neurons: str | int = DEFAULT_N_NEURONS, seed: str | int = 1, warm_start: bool = False):
        controls = {"ketamine_uM": ketamine_uM, "dpcpx_uM": dpcpx_uM, "ampa_antagonist_uM": ampa_antagonist_uM,
                    "adenosine_uM": adenosine_uM, "n_neurons": n_neurons, "seed": seed}
        try:
            scenario = interactive_scenario(scenario_name, **controls)
        except ScenarioError as err:
            self._refuse(str(err))
            return
        warm = warm_state(scenario_name, scenario.network.n_neurons, scenario.seed) if warm_start else None
        if warm is None:
            super().__init__(scenario, CONDITION)
        else:
            self.restore(warm)
            self._apply_drugs(drugs_applied_at(scenario, self.time_s))
        self.input_error: str | None = None
        self.warm_start = warm is not None
        #: the same network with no drug, stepped with this run (None without a drug)
        self.vehicle = self._vehicle_run(scenario, warm)
        n = self.connectivity.n_neurons
        #: the Mesa Network space of the neurons, which the page draws (None above ``MAX_DRAWN_NEURONS``)
        self.grid = self.network_space if n <= MAX_DRAWN_NEURONS else None

    def _refuse(self, message: str) -> None:
        """An empty Mesa model that holds only the message of a refused control."""
        mesa.Model.__init__(self, rng=0)
        self.input_error, self.warm_start, self.vehicle = message, False, None
        self.params, self.grid = None, None
        self.running = False

    def _apply_drugs(self, scenario: Scenario) -> None:
        """Continue a restored drug-free state under the controls' condition of ``scenario``."""
        self.params, self.condition_name = scenario, CONDITION
        self.pharmacology = Pharmacology(scenario.pharmacology, scenario.condition(CONDITION))

    @staticmethod
    def _vehicle_run(scenario: Scenario, warm: bytes | None) -> PageRun | None:
        """The vehicle run beside the controls' drugs: from the warm state if there is one."""
        if not has_drugs(scenario.condition(CONDITION)):
            return None
        return PageRun.from_snapshot(warm) if warm is not None else PageRun(scenario, VEHICLE)

    @property
    def drugs_applied_s(self) -> float:
        """When the controls' drugs entered the bath (s of biological time)."""
        return self.pharmacology.condition.apply_at_s

    def step(self) -> None:
        """Advance this run and its vehicle by ``STEP_MS`` of biological time; stop at ``SESSION_S``."""
        if self.input_error is not None:
            return
        super().step()
        if self.vehicle is not None:
            self.vehicle.step()

    def timeseries(self) -> pd.DataFrame:
        """The recorded time series since the start (columns as in ``sim.model.readouts``; empty before a step)."""
        if self.input_error is not None:
            return pd.DataFrame()
        return super().timeseries()
