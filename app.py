"""Interactive exploration of the vesicle-recycling network: a page built from Mesa's SolaraViz components.

    solara run app.py

Sidebar: the run controls (Reset, ▶, Step; play interval and steps per redraw,
each showing its value) and the model parameters: scenario, bath
concentrations of ketamine, DPCPX, an AMPA antagonist and adenosine (µM),
network size, seed, and "start after warm-up"; they take effect when Reset is
pressed. Step advances ``sim.model.interactive.STEP_MS`` of biological time.
Main area: the status, the network (a sample of neurons coloured by how full
their readily releasable pool is) and the model's own readouts
(``sim.model.readouts``; columns in docs/outputs.md), each plot with the
vehicle run (same network and seed, no drug) as faint lines.

The page composes Mesa's ``ModelController`` and ``ModelCreator`` itself
rather than calling ``SolaraViz``: SolaraViz (Mesa 3.3 to 3.5) puts every
component on a tab named "Page 0", shows its sliders without their values,
and offers "Use Threads" (which only lets the redraws skip steps). Mesa 3.3's
``ComponentsView`` returns before calling ``use_state``, for which solara's
check of the rules of hooks warns when Mesa's components are imported; the
page does not use that component and filters that one message at the import.

The model is ``sim.model.interactive.InteractiveModel``: the scenario files
and engine of the command line, with the controls set as scenario keys.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import solara
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

with warnings.catch_warnings():
    # solara checks the hooks of every component as it is defined; Mesa 3.3's ComponentsView (which this page does
    # not use) returns before its use_state, so importing Mesa's components warns (Mesa 3.5 calls the hooks first)
    warnings.filterwarnings("ignore", message=r".*ComponentsView: `use_state` found despite early return",
                            category=UserWarning)
    from mesa.visualization.solara_viz import ModelController, ModelCreator
    from mesa.visualization.utils import update_counter

from sim.model.interactive import CONDITION, CONTROLS, MAX_DRAWN_NEURONS, SCENARIOS, STEP_MS, InteractiveModel

TITLE = "Vesicle recycling in a glutamatergic/GABAergic network"
TYPE_MARKERS = {"glutamatergic": "o", "gabaergic": "^"}
TYPE_LABELS = {"glutamatergic": "glutamatergic", "gabaergic": "GABAergic"}
FIGURE_DPI = 90
#: the most neurons drawn: a larger network is drawn as an evenly spaced sample of each cell type
MAX_MARKERS = 200
#: the vehicle's lines: the drug run's colour and style, faint and thin
VEHICLE_STYLE = {"alpha": 0.4, "linewidth": 1.0}
VEHICLE_LABEL = "faint: vehicle (same network, no drug)"
#: the run controls' defaults and ranges: play interval (ms between Steps) and Steps per redraw
PLAY_INTERVAL_MS, PLAY_RANGE_MS = 100, (0, 1000)
RENDER_INTERVAL, RENDER_RANGE = 1, (1, 50)
#: room below the scrolling views for solara's "This website runs on Solara" badge (px; it is 44 px high)
BADGE_MARGIN_PX = 48
#: the views scroll in solara's content area; ending it above the badge keeps the badge off every plot
LAYOUT_CSS = f""".v-content__wrap > div {{
    height: calc(100% - {BADGE_MARGIN_PX}px) !important;
    max-height: calc(100% - {BADGE_MARGIN_PX}px) !important;
}}"""


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
    """A matplotlib figure of ``spec``'s readouts of ``model`` against biological time (s), with its vehicle faint."""
    fig = Figure(figsize=(6.0, 3.6), dpi=FIGURE_DPI)
    fig.subplots_adjust(left=0.12, right=0.87, bottom=0.14, top=0.91)  # fixed margins: quicker than a layout engine
    ax = fig.subplots()
    ts = model.timeseries()
    vehicle = model.vehicle.timeseries() if model.vehicle is not None else None
    axes = [(spec.left, ax, "-")] + ([(spec.right, ax.twinx(), "--")] if spec.right is not None else [])
    handles, colour = [], 0
    for axis, target, style in axes:
        for column, label in axis.columns.items():
            if column in ts:
                handles += target.plot(ts["time_s"], ts[column] * axis.scale, style, color=f"C{colour}", label=label)
            if vehicle is not None and column in vehicle:
                target.plot(vehicle["time_s"], vehicle[column] * axis.scale, style, color=f"C{colour}",
                            **VEHICLE_STYLE)
            colour += 1
        target.set_ylabel(axis.label)
        if axis.from_zero and handles:
            target.set_ylim(bottom=0.0)
    ax.set_xlabel("biological time (s)")
    ax.set_title(spec.title)
    _legend(ax, handles, vehicle is not None)
    return fig


def _legend(ax, handles: list[Line2D], with_vehicle: bool) -> None:
    """The readouts' legend, with one entry for the vehicle's faint lines; or a hint before the first Step."""
    if not handles:
        ax.text(0.5, 0.5, "press Step", transform=ax.transAxes, ha="center", va="center", color="grey")
        return
    if with_vehicle:
        handles = [*handles, Line2D([], [], color="grey", alpha=0.7, linewidth=1.0, label=VEHICLE_LABEL)]
    ax.legend(handles=handles, loc="best", fontsize="small")


def timeseries_component(spec: TimeSeries) -> Callable[[InteractiveModel], solara.Element]:
    """A page component (a function of the model) showing ``spec``."""

    def TimeSeriesPlot(model: InteractiveModel) -> solara.Element:
        return solara.FigureMatplotlib(draw_timeseries(model, spec), format="png")

    return TimeSeriesPlot


# --------------------------------------------------------------------------- network


def drawn_neurons(model: InteractiveModel) -> list:
    """The neuron agents drawn: every k-th of each cell type, k the smallest giving at most ``MAX_MARKERS``."""
    neurons = sorted(model.grid.agents, key=lambda neuron: neuron.index)
    every = -(-len(neurons) // MAX_MARKERS)
    return [n for kind in TYPE_MARKERS for n in [m for m in neurons if m.kind == kind][::every]]


def ring_positions(count: int, radius: float) -> np.ndarray:
    """``count`` points evenly spaced on a circle of ``radius`` (arbitrary units), as (count, 2)."""
    angle = 2.0 * np.pi * np.arange(count) / max(count, 1)
    return radius * np.column_stack([np.cos(angle), np.sin(angle)])


def draw_network(model: InteractiveModel) -> Figure:
    """A sample of the neurons of ``model``'s Mesa Network space, coloured by RRP fill.

    Glutamatergic neurons (circles) on the outer ring, GABAergic (triangles)
    on the inner ring; colour = readily releasable pool / release sites (0-1).
    Drawn here rather than with Mesa's ``make_space_component``, whose
    matplotlib drawer (Mesa 3.3 to 3.5) ignores the portrayal's marker size.
    Connections are not drawn (about 100 per neuron).
    """
    fig = Figure(figsize=(6.0, 4.0), dpi=FIGURE_DPI)
    fig.subplots_adjust(left=0.02, right=0.9, bottom=0.02, top=0.9)
    ax = fig.subplots()
    drawn = drawn_neurons(model)
    for kind, radius in (("glutamatergic", 1.0), ("gabaergic", 0.55)):
        group = [n for n in drawn if n.kind == kind]
        xy = ring_positions(len(group), radius)
        fill = [n.rrp / max(n.release_sites, 1) for n in group]
        points = ax.scatter(xy[:, 0], xy[:, 1], c=fill, cmap="viridis", vmin=0.0, vmax=1.0, s=26,
                            marker=TYPE_MARKERS[kind], edgecolors="black", linewidths=0.3, label=TYPE_LABELS[kind])
    fig.colorbar(points, ax=ax, fraction=0.05, pad=0.02, label="RRP fill (primed vesicles / release sites)")
    ax.legend(loc="upper left", fontsize="small", frameon=False, markerscale=1.2)
    n = model.connectivity.n_neurons
    ax.set_title(f"Neurons: {len(drawn)} of {n} drawn, coloured by RRP fill", fontsize="medium")
    ax.set_xlim(-1.15, 1.15)
    ax.set_ylim(-1.15, 1.15)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig


def NetworkView(model: InteractiveModel) -> solara.Element:
    """The network drawn, for networks of up to ``MAX_DRAWN_NEURONS`` (those have a Mesa Network space)."""
    if model.grid is None:
        if model.input_error is None:
            return solara.Info(f"The network is drawn for up to {MAX_DRAWN_NEURONS} neurons.")
        return solara.Text("")
    with solara.Column(gap="0px") as view:
        solara.FigureMatplotlib(draw_network(model), format="png")
        solara.Text(sample_text(model), style={"font-size": "0.85em"})
    return view


def sample_text(model: InteractiveModel) -> str:
    """The caption of the network drawing: how many neurons it shows, which, and what the colour means."""
    n = model.connectivity.n_neurons
    every = -(-n // MAX_MARKERS)
    which = "all" if every == 1 else f"one in {every} of each type"
    return (f"Network drawing: {len(drawn_neurons(model))} of {n} neurons ({which}), "
            "colour = readily releasable pool / release sites")


# --------------------------------------------------------------------------- status


def Status(model: InteractiveModel) -> solara.Element:
    """What is running: scenario, network, drugs, start and biological time; or why nothing runs."""
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
            solara.Text(start_text(model))
            solara.Text(vehicle_text(model))
            solara.Text(f"Biological time {model.time_s:.1f} s; each Step adds {STEP_MS:g} ms")
        solara.Text("Changed controls take effect when Reset is pressed.")
    return status


def start_text(model: InteractiveModel) -> str:
    """How the run started: at 0 s, or after the drug-free warm-up, and when the drugs were applied (s)."""
    if model.warm_start:
        return f"Started after the {model.start_s:g} s drug-free warm-up (cached); drugs applied at its end"
    return "Started at 0 s; drugs applied at 0 s"


def vehicle_text(model: InteractiveModel) -> str:
    """What the faint lines are, or why there are none."""
    if model.vehicle is None:
        return "No drug in the bath: no vehicle run to compare with"
    return f"Faint lines: vehicle run (same network and seed, no drug) at {model.vehicle.time_s:.1f} s"


# --------------------------------------------------------------------------- page


def model_params() -> dict[str, dict]:
    """The model's controls: the scenario as a choice, the warm start as a checkbox, every other control typed."""
    defaults = inspect.signature(InteractiveModel).parameters
    params = {"scenario_name": {"type": "Select", "label": "Scenario", "values": list(SCENARIOS),
                                "value": defaults["scenario_name"].default}}
    for name, (label, _key) in CONTROLS.items():
        params[name] = {"type": "InputText", "label": label, "value": format(defaults[name].default, "g")}
    params["warm_start"] = {"type": "Checkbox", "label": "Start after warm-up (drug-free, cached)",
                            "value": defaults["warm_start"].default}
    return params


def play_label(interval_ms: int) -> str:
    """The play-interval slider's label, with its value (ms)."""
    return f"Play interval: {interval_ms} ms between Steps"


def render_label(steps: int) -> str:
    """The steps-per-redraw slider's label, with its value (Steps and s of biological time)."""
    return f"Steps per redraw: {steps} ({steps * STEP_MS / 1000.0:g} s of biology)"


@solara.component
def RunControls(model: solara.Reactive, parameters: solara.Reactive) -> None:
    """Reset, ▶ and Step (Mesa's ModelController), with two sliders that show their values."""
    play = solara.use_reactive(PLAY_INTERVAL_MS)
    render = solara.use_reactive(RENDER_INTERVAL)
    threads = solara.use_reactive(False)  # Mesa's "Use Threads" stays off and is not offered
    solara.SliderInt(play_label(play.value), value=play, min=PLAY_RANGE_MS[0], max=PLAY_RANGE_MS[1], step=10)
    solara.SliderInt(render_label(render.value), value=render, min=RENDER_RANGE[0], max=RENDER_RANGE[1])
    ModelController(model, model_parameters=parameters, play_interval=play, render_interval=render,
                    use_threads=threads)


def component(view: Callable[[InteractiveModel], solara.Element]) -> Callable:
    """``view`` as a component that redraws whenever Mesa's controller steps or resets the model."""

    @solara.component
    def Redrawn(model: InteractiveModel) -> solara.Element:
        update_counter.get()
        return view(model)

    Redrawn.__name__ = view.__name__
    return Redrawn


COMPONENTS = [component(view) for view in (Status, NetworkView, *(timeseries_component(s) for s in PLOTS))]


@solara.component
def Page(model: InteractiveModel | None = None) -> None:
    """The page: title, sidebar with the run controls and the model's parameters, views two to a row."""
    first = solara.use_memo(lambda: model if model is not None else InteractiveModel(), [])
    current = solara.use_reactive(first)
    parameters = solara.use_reactive({})
    solara.Title(TITLE)
    solara.Style(LAYOUT_CSS)
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar(), solara.Column():
        with solara.Card("Run"):
            RunControls(current, parameters)
        with solara.Card("Model parameters"):
            ModelCreator(current, model_params(), model_parameters=parameters)
    with solara.ColumnsResponsive(12, large=6):
        for view in COMPONENTS:
            view(current.value)


def build_page(model: InteractiveModel | None = None) -> solara.Element:
    """The page for ``model`` (default: one built from the controls' defaults, for each browser session)."""
    return Page(model=model)


page = build_page()
