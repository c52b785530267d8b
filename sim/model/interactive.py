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
"""

from __future__ import annotations

import mesa
import pandas as pd

from sim.model.model import MAX_SPACE_NEURONS, SynapseNetworkModel
from sim.model.packaged import scenarios_dir
from sim.model.params import Scenario, ScenarioError
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

    The time series is recorded once per Step (``STEP_MS``) and the protocol
    lasts ``SESSION_S``. Raises ScenarioError naming the control and the
    allowed values.
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


class InteractiveModel(SynapseNetworkModel):
    """SynapseNetworkModel built from the page's controls; one ``step()`` advances ``STEP_MS`` of biological time.

    Args:
        scenario_name: scenario file in ``scenarios/`` (one of ``SCENARIOS``).
        ketamine_uM, dpcpx_uM, ampa_antagonist_uM, adenosine_uM: bath concentrations (µM), applied at time 0.
        n_neurons: network size (neurons).
        seed: master seed.

    Every value may be text as typed into the page. If the scenario schema
    refuses one, the model holds the message in ``input_error``, has no
    neurons, and ``step()`` does nothing.
    """

    def __init__(self, scenario_name: str = "normal", ketamine_uM: str | float = 0.0, dpcpx_uM: str | float = 0.0,
                 ampa_antagonist_uM: str | float = 0.0, adenosine_uM: str | float = 0.0,
                 n_neurons: str | int = DEFAULT_N_NEURONS, seed: str | int = 1):
        self.input_error: str | None = None
        try:
            scenario = interactive_scenario(scenario_name, ketamine_uM=ketamine_uM, dpcpx_uM=dpcpx_uM,
                                            ampa_antagonist_uM=ampa_antagonist_uM, adenosine_uM=adenosine_uM,
                                            n_neurons=n_neurons, seed=seed)
        except ScenarioError as err:
            mesa.Model.__init__(self, rng=0)  # an empty Mesa model: nothing to run, only the message
            self.input_error = str(err)
            self.params, self.grid = None, None
            self.running = False
            return
        super().__init__(scenario, CONDITION)
        self.steps_per_step = int(round(STEP_MS / 1000.0 / self.dt_s))
        n = self.connectivity.n_neurons
        #: the Mesa Network space of the neurons, which the page draws (None above ``MAX_DRAWN_NEURONS``)
        self.grid = self.network_space if n <= MAX_DRAWN_NEURONS else None

    def step(self) -> None:
        """Advance ``STEP_MS`` of biological time (one row of the time series); stop at ``SESSION_S``."""
        if self.input_error is not None or not self.running:
            return
        self._advance(min(self.steps_per_step, self.n_steps - self.step_index))
        self.running = self.step_index < self.n_steps

    def timeseries(self) -> pd.DataFrame:
        """The recorded time series so far (columns as in ``sim.model.readouts``; empty before the first step)."""
        if self.input_error is not None:
            return pd.DataFrame()
        return self.recorder.timeseries()
