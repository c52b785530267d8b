"""Interactive exploration of the vesicle-recycling network: a Mesa SolaraViz page.

    solara run app.py

Controls (sidebar): scenario, bath concentrations of ketamine, DPCPX, an AMPA
antagonist and adenosine (µM), network size and seed; they take effect when
Reset is pressed. Step advances ``sim.model.interactive.STEP_MS`` of biological
time; ▶ keeps stepping. The page plots the model's own readouts
(``sim.model.readouts``; columns in docs/outputs.md) and, for small networks, draws
the neurons coloured by cell type and sized by their readily releasable pool.
The model is ``sim.model.interactive.InteractiveModel``: the scenario files and
engine of the command line, with the controls set as scenario keys.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx
import solara
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from mesa.visualization import SolaraViz

from sim.model.interactive import CONDITION, CONTROLS, MAX_DRAWN_NEURONS, SCENARIOS, STEP_MS, InteractiveModel

TITLE = "Vesicle recycling in a glutamatergic/GABAergic network"
TYPE_COLOURS = {"glutamatergic": "tab:red", "gabaergic": "tab:blue"}
TYPE_LABELS = {"glutamatergic": "glutamatergic", "gabaergic": "GABAergic"}
FIGURE_DPI = 90


# --------------------------------------------------------------------------- time series


@dataclass(frozen=True)
class Axis:
    """One y axis of a plot: readout columns (column -> legend label), scaled by ``scale`` into ``label``'s unit."""

    label: str
    columns: dict[str, str]
    scale: float = 1.0
    from_zero: bool = False  # the axis starts at zero


@dataclass(frozen=True)
class TimeSeries:
    """A plot of readouts against biological time, with an optional second y axis (dashed lines)."""

    title: str
    left: Axis
    right: Axis | None = None


def pools_plot(suffix: str, cell_type: str) -> TimeSeries:
    """The four vesicle pools of one cell type (readout suffix ``glu`` or ``gaba``)."""
    columns = {f"{pool}_{suffix}": label for pool, label in
               (("rrp", "RRP"), ("surface", "surface"), ("recycling", "recycling"), ("reserve", "reserve"))}
    return TimeSeries(f"Vesicle pools, {cell_type} boutons", Axis("vesicles per bouton", columns, from_zero=True))


PLOTS = (
    pools_plot("glu", "glutamatergic"),
    pools_plot("gaba", "GABAergic"),
    TimeSeries("Glutamate", Axis("release (10⁶ molecules/s)", {"glutamate_released_per_s": "released"}, 1e-6),
               Axis("ambient glutamate (nM)", {"ambient_glutamate_uM": "ambient"}, 1e3)),
    TimeSeries("Adenosine", Axis("adenosine (µM)", {"adenosine_uM": "at the synapses, bath included"}),
               Axis("A1 occupancy", {"a1_occupancy_glu": "A1 occupancy, glutamatergic terminals"})),
    TimeSeries("Firing rates", Axis("rate (Hz)", {"rate_glu_hz": "glutamatergic", "rate_gaba_hz": "GABAergic"},
                                    from_zero=True)),
)


def draw_timeseries(model: InteractiveModel, spec: TimeSeries) -> Figure:
    """A matplotlib figure of ``spec``'s readouts of ``model`` against biological time (s)."""
    fig = Figure(figsize=(6.0, 3.6), dpi=FIGURE_DPI)
    fig.subplots_adjust(left=0.12, right=0.87, bottom=0.14, top=0.91)  # fixed margins: quicker than a layout engine
    ax = fig.subplots()
    ts = model.timeseries()
    axes = [(spec.left, ax, "-")] + ([(spec.right, ax.twinx(), "--")] if spec.right is not None else [])
    handles, colour = [], 0
    for axis, target, style in axes:
        for column, label in axis.columns.items():
            if column in ts:
                handles += target.plot(ts["time_s"], ts[column] * axis.scale, style, color=f"C{colour}", label=label)
            colour += 1
        target.set_ylabel(axis.label)
        if axis.from_zero and handles:
            target.set_ylim(bottom=0.0)
    ax.set_xlabel("biological time (s)")
    ax.set_title(spec.title)
    if handles:
        ax.legend(handles=handles, loc="best", fontsize="small")
    else:
        ax.text(0.5, 0.5, "press Step", transform=ax.transAxes, ha="center", va="center", color="grey")
    return fig


def timeseries_component(spec: TimeSeries) -> Callable[[InteractiveModel], solara.Element]:
    """A page component (a function of the model) showing ``spec``."""

    def TimeSeriesPlot(model: InteractiveModel) -> solara.Element:
        return solara.FigureMatplotlib(draw_timeseries(model, spec), format="png")

    return TimeSeriesPlot


# --------------------------------------------------------------------------- network


def cell_type_layout(graph: nx.DiGraph) -> dict:
    """Node positions: GABAergic neurons on the inner ring, glutamatergic neurons on the outer ring."""
    rings = [[n for n, kind in graph.nodes(data="kind") if kind == k] for k in ("gabaergic", "glutamatergic")]
    return nx.shell_layout(graph, nlist=[r for r in rings if r])


def draw_network(model: InteractiveModel) -> Figure:
    """The neurons of ``model``'s Mesa Network space: coloured by cell type, marker area growing with the RRP.

    Drawn here rather than with Mesa's ``make_space_component``, whose
    matplotlib drawer (Mesa 3.3 to 3.5) ignores the portrayal's marker size.
    Connections are not drawn (about 100 per neuron).
    """
    fig = Figure(figsize=(6.0, 4.0), dpi=FIGURE_DPI)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.92)
    ax = fig.subplots()
    pos = cell_type_layout(model.grid.G)
    neurons = list(model.grid.agents)
    xy = [pos[neuron.cell.coordinate] for neuron in neurons]
    ax.scatter([p[0] for p in xy], [p[1] for p in xy], s=[4.0 + 6.0 * neuron.rrp for neuron in neurons],
               c=[TYPE_COLOURS[neuron.kind] for neuron in neurons], alpha=0.8, linewidths=0)
    handles = [Line2D([], [], marker="o", linestyle="", color=TYPE_COLOURS[k], label=TYPE_LABELS[k])
               for k in TYPE_COLOURS]
    ax.legend(handles=handles, loc="upper right", fontsize="small", frameon=False)
    ax.set_title("Neurons (marker area: readily releasable pool)")
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig


def NetworkView(model: InteractiveModel) -> solara.Element:
    """The network drawn, for networks of up to ``MAX_DRAWN_NEURONS`` (those have a Mesa Network space)."""
    if model.grid is None:
        if model.input_error is None:
            return solara.Info(f"The network is drawn for up to {MAX_DRAWN_NEURONS} neurons.")
        return solara.Text("")
    return solara.FigureMatplotlib(draw_network(model), format="png")


# --------------------------------------------------------------------------- status


def Status(model: InteractiveModel) -> solara.Element:
    """What is running: scenario, network, drugs and biological time; or why nothing runs."""
    with solara.Column() as status:
        if model.input_error is not None:
            solara.Error(f"{model.input_error}. Correct the value and press Reset.")
        else:
            p, c, d, net = model.params, model.params.condition(CONDITION), model.drugs, model.connectivity
            solara.Text(f"Scenario {p.name}: {net.n_neurons} neurons "
                        f"({model.type_index['glutamatergic'].size} glutamatergic, "
                        f"{model.type_index['gabaergic'].size} GABAergic), {net.n_synapses} synapses, seed {p.seed}")
            solara.Text(f"Bath: ketamine {c.ketamine_uM:g} µM, DPCPX {c.dpcpx_uM:g} µM, "
                        f"AMPA antagonist {c.ampa_antagonist_uM:g} µM, adenosine {c.adenosine_uM:g} µM")
            solara.Text(f"Ketamine at the tissue {d.ketamine_uM:.2f} µM, NMDA block {d.nmda_block:.0%}")
            solara.Text(f"Biological time {model.time_s:.1f} s; each Step adds {STEP_MS:g} ms")
        solara.Text("Changed controls take effect when Reset is pressed.")
    return status


# --------------------------------------------------------------------------- page


def model_params() -> dict[str, dict]:
    """SolaraViz's controls: the scenario as a choice, every other control typed, with the model's defaults."""
    defaults = inspect.signature(InteractiveModel).parameters
    params = {"scenario_name": {"type": "Select", "label": "Scenario", "values": list(SCENARIOS),
                                "value": defaults["scenario_name"].default}}
    for name, (label, _key) in CONTROLS.items():
        params[name] = {"type": "InputText", "label": label, "value": format(defaults[name].default, "g")}
    return params


COMPONENTS = [Status, NetworkView, *(timeseries_component(spec) for spec in PLOTS)]


def build_page(model: InteractiveModel | None = None) -> solara.Element:
    """The SolaraViz page for ``model`` (default: one built from the controls' defaults)."""
    return SolaraViz(model if model is not None else InteractiveModel(), components=COMPONENTS,
                     model_params=model_params(), name=TITLE)


page = build_page()
