"""The interactive app: its model is the command line's, the page renders and steps headless, and a browser uses it.

The model: the controls are scenario keys; the vehicle run is the drug-free
run of the same network; a warm start continues, exactly, the run that applies
the drugs at the end of the warm-up, from a state computed once and cached
outside the repository. The browser tests serve ``app.py`` with ``solara
run`` and drive Debian's Chromium with Playwright: the page's title, labelled
controls with their values and units, a warm start, the vehicle, the network
drawing, the badge off every plot, a bad value's message, and a server log
without a warning.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import ipyvuetify as v
import ipywidgets
import numpy as np
import pandas as pd
import pytest
import solara
from helpers import ROOT, overrides
from matplotlib.collections import PathCollection
from playwright.sync_api import sync_playwright
from served_app import CHROMIUM, apply_controls, launch_chromium, serve_app

import app
from sim.model import interactive
from sim.model.interactive import (
    CACHE_ENV,
    CONDITION,
    STEP_MS,
    InteractiveModel,
    PageRun,
    drugs_applied_at,
    interactive_scenario,
    warm_state,
)
from sim.model.model import SynapseNetworkModel
from sim.model.scenario import load_scenario

SMALL = {"n_neurons": "200", "seed": "5"}
WARM_LABEL = "Start after warm-up (drug-free, cached)"


@pytest.fixture(autouse=True)
def warm_cache(tmp_path, monkeypatch) -> Path:
    """Each test's own warm-up cache directory, and an empty in-memory cache."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "warmup"))
    warm_state.cache_clear()
    yield tmp_path / "warmup"
    warm_state.cache_clear()


# --------------------------------------------------------------------------- the model behind the page


def test_controls_are_scenario_keys_of_the_command_line_scenario():
    model = InteractiveModel("depression_like", ketamine_uM="10", dpcpx_uM="0.1", n_neurons="200", seed="5")
    cli, _ = load_scenario(ROOT / "scenarios" / "depression_like.toml",
                           overrides(network__n_neurons=200, conditions__cli__ketamine_uM=10.0,
                                     conditions__cli__dpcpx_uM=0.1), seed=5)
    for section in ("network", "neurons", "synapses", "vesicles", "adenosine", "synapsin", "glutamate",
                    "pharmacology"):
        assert getattr(model.params, section) == getattr(cli, section)
    assert model.params.condition(CONDITION) == cli.condition("cli")
    reference = SynapseNetworkModel(cli, "cli")
    assert (model.connectivity.post_by_pre != reference.connectivity.post_by_pre).nnz == 0
    assert np.array_equal(model.bouton.release_probability, reference.bouton.release_probability)
    assert model.grid is not None and len(model.grid.agents) == 200  # small networks get a Mesa Network space


def test_one_step_advances_step_ms_and_records_one_row():
    model = InteractiveModel(**SMALL)
    for _ in range(3):
        model.step()
    ts = model.timeseries()
    assert model.time_s == pytest.approx(3 * STEP_MS / 1000.0)
    assert ts["time_s"].tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert {"rrp_glu", "reserve_gaba", "glutamate_released_per_s", "ambient_glutamate_uM", "adenosine_uM",
            "rate_glu_hz", "rate_gaba_hz"} <= set(ts.columns)


@pytest.mark.parametrize(("control", "value", "message"), [
    ("ketamine_uM", "-1", "Ketamine (µM): -1 uM is out of range; allowed: >= 0 uM"),
    ("adenosine_uM", "ten", "Applied adenosine (µM): expected a number (in uM), got 'ten'"),
    ("n_neurons", "0", "Network size (neurons): 0 neurons is out of range; allowed: > 0 neurons"),
    ("n_neurons", "50", "Network size (neurons): too small for this scenario (network.excitatory_in_degree: 80 "
                        "partners but only 40 neurons of that type"),
    ("n_neurons", "1e6", "Network size (neurons): 1000000 neurons are too many to step interactively"),
    ("seed", "abc", "Seed: expected a whole number, got 'abc'"),
    ("seed", "-3", "Seed: -3 is out of range; allowed: >= 0"),
])
def test_a_bad_value_gives_a_message_and_a_model_that_does_not_run(control, value, message):
    model = InteractiveModel(**{**SMALL, control: value})
    assert message in model.input_error
    assert not model.running and model.grid is None
    model.step()
    assert model.timeseries().empty


def test_the_vehicle_is_the_drug_free_run_of_the_same_network():
    model = InteractiveModel(ketamine_uM="10", **SMALL)
    plain = InteractiveModel(**SMALL)
    assert plain.vehicle is None  # no drug: nothing to compare with
    assert (model.vehicle.connectivity.post_by_pre != model.connectivity.post_by_pre).nnz == 0
    for _ in range(3):
        model.step()
        plain.step()
    assert model.vehicle.time_s == model.time_s == pytest.approx(0.3)
    pd.testing.assert_frame_equal(model.vehicle.timeseries(), plain.timeseries(), check_exact=True)
    assert (model.timeseries()["ketamine_uM"] > 0).all() and (model.vehicle.timeseries()["ketamine_uM"] == 0).all()


def test_a_warm_start_continues_the_run_that_applies_the_drugs_after_the_warm_up():
    model = InteractiveModel(ketamine_uM="10", warm_start=True, **SMALL)
    warmup_s = model.params.protocol.warmup_s
    assert model.warm_start and model.time_s == model.start_s == model.drugs_applied_s == pytest.approx(warmup_s)
    assert model.timeseries().empty and model.vehicle.time_s == model.time_s
    for _ in range(5):
        model.step()
    assert model.timeseries()["time_s"].tolist() == pytest.approx([warmup_s + 0.1 * i for i in range(1, 6)])
    cold = PageRun(drugs_applied_at(interactive_scenario("normal", ketamine_uM=10, **SMALL), warmup_s), CONDITION)
    for _ in range(int(round(warmup_s / 0.1)) + 5):
        cold.step()
    cold.start_s = warmup_s
    pd.testing.assert_frame_equal(model.timeseries(), cold.timeseries(), check_exact=True)
    vehicle = PageRun(interactive_scenario("normal", **SMALL))
    for _ in range(int(round(warmup_s / 0.1)) + 5):
        vehicle.step()
    vehicle.start_s = warmup_s
    pd.testing.assert_frame_equal(model.vehicle.timeseries(), vehicle.timeseries(), check_exact=True)


def test_the_warm_state_is_computed_once_per_scenario_and_size_and_kept_outside_the_repository(
        warm_cache, monkeypatch):
    computed = []
    compute = interactive.compute_warm_state
    monkeypatch.setattr(interactive, "compute_warm_state", lambda scenario: computed.append(1) or compute(scenario))
    InteractiveModel(warm_start=True, **SMALL)
    InteractiveModel(ketamine_uM="3", warm_start=True, **SMALL)  # the drugs do not matter: the memory cache
    assert len(computed) == 1
    files = list(warm_cache.glob("normal-200-5-*.pickle"))
    assert len(files) == 1
    warm_state.cache_clear()
    InteractiveModel(warm_start=True, **SMALL)  # a new process: the file
    assert len(computed) == 1
    InteractiveModel(warm_start=True, n_neurons="250", seed="5")  # another size: another state
    assert len(computed) == 2 and len(list(warm_cache.glob("*.pickle"))) == 2
    files[0].write_bytes(b"truncated")
    warm_state.cache_clear()
    InteractiveModel(warm_start=True, **SMALL)  # an unreadable file is computed again
    assert len(computed) == 3


def test_the_default_cache_directory_is_the_users_not_the_repositorys(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert interactive.cache_dir() == tmp_path / "vesicle-sim" / "warmup"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert interactive.cache_dir() == Path.home() / ".cache" / "vesicle-sim" / "warmup"
    assert ROOT not in interactive.cache_dir().parents


def test_the_warm_key_names_the_scenario_and_size():
    key = interactive.warm_key
    normal = interactive_scenario("normal", **SMALL)
    assert key(normal) == key(interactive_scenario("normal", **SMALL))
    assert key(normal) != key(interactive_scenario("normal", n_neurons=250, seed=5))
    assert key(normal) != key(interactive_scenario("depression_like", **SMALL))


# --------------------------------------------------------------------------- the page's drawings


def test_every_plot_shows_the_vehicle_faint_and_labelled():
    model = InteractiveModel(ketamine_uM="10", **SMALL)
    model.step()
    for spec in app.PLOTS:
        fig = app.draw_timeseries(model, spec)
        lines = [line for ax in fig.axes for line in ax.get_lines()]
        faint = [line for line in lines if line.get_alpha() == app.VEHICLE_STYLE["alpha"]]
        assert faint and len(faint) == len(lines) - len(faint), spec.title
        assert app.VEHICLE_LABEL in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    plain = InteractiveModel(**SMALL)
    plain.step()
    legend = app.draw_timeseries(plain, app.PLOTS[0]).axes[0].get_legend()
    assert app.VEHICLE_LABEL not in [t.get_text() for t in legend.get_texts()]


@pytest.mark.parametrize("n", [200, 1000])
def test_the_network_drawing_is_a_sample_coloured_by_rrp_fill(n):
    model = InteractiveModel(n_neurons=str(n))
    fig = app.draw_network(model)
    points = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    drawn = sum(len(c.get_offsets()) for c in points)
    assert drawn == min(n, app.MAX_MARKERS)
    for collection in points:
        fill = collection.get_array()
        assert fill is not None and 0.0 <= fill.min() and fill.max() <= 1.0  # coloured by RRP / release sites
    assert any("RRP fill" in ax.get_ylabel() for ax in fig.axes[1:])  # the colour bar
    drawn_kinds = {neuron.kind for neuron in app.drawn_neurons(model)}
    assert drawn_kinds == {"glutamatergic", "gabaergic"}


# --------------------------------------------------------------------------- the page, rendered headless


def render_page(model: InteractiveModel):
    """The page in Solara's app layout (which holds the sidebar with the controls); returns the render context."""
    _, rc = solara.render(solara.AppLayout(children=[app.build_page(model)]), handle_error=False)
    return rc


def texts(rc) -> list[str]:
    return [w.children[0] for w in rc.find(v.Html, tag="span").widgets if w.children]


def plots(rc) -> list[bytes]:
    return [w.value for w in rc.find(ipywidgets.Image).widgets]


def test_the_page_renders_and_its_step_button_advances_the_model():
    model = InteractiveModel(**SMALL)
    rc = render_page(model)
    before = plots(rc)
    assert len(before) == 1 + len(app.PLOTS)  # the network and every time series
    assert not rc.find(v.Tab)  # no tab named "Page 0"
    assert not rc.find(v.Checkbox, label="Use Threads")
    assert "Biological time 0.0 s; each Step adds 100 ms" in texts(rc)
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert model.time_s == pytest.approx(STEP_MS / 1000.0)
    assert "Biological time 0.1 s; each Step adds 100 ms" in texts(rc)
    after = plots(rc)
    assert all(a != b for a, b in zip(before, after, strict=True))


def test_a_value_typed_into_the_page_takes_effect_on_reset_or_shows_its_message():
    rc = render_page(InteractiveModel(**SMALL))
    field = rc.find(v.TextField, label="Ketamine (µM)").widget
    field.v_model = "-2"
    field.fire_event("keyup.enter")
    rc.find(v.Btn, children=["Reset"]).widget.click()
    alert = rc.find(v.Alert).widget
    assert "Ketamine (µM): -2 uM is out of range; allowed: >= 0 uM" in alert.children[0]
    rc.find(v.Btn, children=["Step"]).widget.click()  # nothing to run; no error
    field.v_model = "5"
    field.fire_event("keyup.enter")
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert not rc.find(v.Alert).widgets
    assert any(t.startswith("Bath: ketamine 5 µM") for t in texts(rc))


# --------------------------------------------------------------------------- the page, served and used in Chromium


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        reason = "no chromium on this machine (Debian: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the browser tests (.ci/run installs it)")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def served():
    with serve_app() as served:
        yield served


@pytest.fixture
def page(browser, served):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(served.url)
    page.get_by_role("button", name="Step").wait_for(timeout=60_000)
    yield page
    page.close()


def plot_sources(page) -> list[str]:
    """The ``src`` of every plot image on the page."""
    return page.locator("img").evaluate_all("images => images.map(i => i.src)")


def test_in_the_browser_ketamine_and_step_change_the_plots(page):
    page.get_by_text("Biological time 0.0 s").wait_for()
    apply_controls(page, {"Ketamine (µM)": "10"}, "Bath: ketamine 10 µM")
    page.wait_for_function("n => document.querySelectorAll('img').length >= n", arg=1 + len(app.PLOTS))
    before = plot_sources(page)
    page.get_by_role("button", name="Step").click()
    page.get_by_text("Biological time 0.1 s").wait_for()
    page.wait_for_function("old => [...document.querySelectorAll('img')].every(i => !old.includes(i.src))",
                           arg=before)
    assert len(plot_sources(page)) == len(before)
    assert page.get_by_text("NMDA block 0%").count() == 0  # ketamine has reached the tissue


def test_in_the_browser_a_bad_value_shows_a_message_not_a_traceback(page):
    apply_controls(page, {"Network size (neurons)": "0"},
                   "Network size (neurons): 0 neurons is out of range; allowed: > 0 neurons")
    apply_controls(page, {"Seed": "abc", "Network size (neurons)": "200"}, "Seed: expected a whole number, got 'abc'")
    assert "Traceback" not in page.inner_text("body")
    apply_controls(page, {"Seed": "2"}, "Scenario normal: 200 neurons")
    assert page.get_by_role("alert").count() == 0


def test_in_the_browser_the_page_is_titled_and_its_controls_show_values_and_units(page):
    assert page.title() == app.TITLE
    assert page.get_by_text(app.TITLE).count() >= 1  # the app bar
    assert page.get_by_role("tab").count() == 0 and page.get_by_text("Page 0").count() == 0
    assert page.get_by_text("Use Threads").count() == 0
    page.get_by_text("Play interval: 100 ms between Steps").wait_for()
    page.get_by_text("Steps per redraw: 1 (0.1 s of biology)").wait_for()
    for label, value in {"Ketamine (µM)": "0", "DPCPX, A1 antagonist (µM)": "0", "AMPA antagonist (µM)": "0",
                         "Applied adenosine (µM)": "0", "Network size (neurons)": "400", "Seed": "1"}.items():
        assert page.get_by_label(label).input_value() == value, label
    assert not page.get_by_label(WARM_LABEL).is_checked()
    page.get_by_role("slider").nth(1).focus()
    page.keyboard.press("ArrowRight")
    page.get_by_text("Steps per redraw: 2 (0.2 s of biology)").wait_for()
    page.get_by_role("button", name="Step").click()  # one press: two Steps of 100 ms
    page.get_by_text("Biological time 0.2 s").wait_for()


def test_in_the_browser_a_warm_start_shows_ketamine_against_its_vehicle(page, served):
    page.get_by_text("Network drawing: 200 of 400 neurons").wait_for()
    apply_controls(page, {"Ketamine (µM)": "10", "Network size (neurons)": "1000", WARM_LABEL: True},
                   "Biological time 20.0 s", timeout_ms=180_000)
    page.get_by_text("Started after the 20 s drug-free warm-up (cached); drugs applied at its end").wait_for()
    page.get_by_text("Network drawing: 200 of 1000 neurons").wait_for()  # a sample, not a solid disc
    for step in (1, 2):
        page.get_by_role("button", name="Step").click()
        page.get_by_text(f"Biological time {20 + step / 10:.1f} s").wait_for()
    page.get_by_text("Faint lines: vehicle run (same network and seed, no drug) at 20.2 s").wait_for()
    assert page.get_by_text("NMDA block 0%").count() == 0  # ketamine acts from the end of the warm-up
    assert list(served.cache_dir.glob("normal-1000-1-*.pickle"))  # the server's cache, outside the repository
    assert not served.cache_dir.is_relative_to(ROOT)


BADGE_OVER_PLOTS = """() => {
    const badge = [...document.querySelectorAll('b')].find(b => b.textContent.includes('runs on'));
    const a = badge.parentElement.getBoundingClientRect();
    return [...document.querySelectorAll('img')].filter(img => {
        let r = img.getBoundingClientRect();
        for (let e = img.parentElement; e; e = e.parentElement) {  // what its scrolling ancestors let be seen
            if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(e).overflowY)) {
                const c = e.getBoundingClientRect();
                r = {left: Math.max(r.left, c.left), right: Math.min(r.right, c.right),
                     top: Math.max(r.top, c.top), bottom: Math.min(r.bottom, c.bottom)};
            }
        }
        return r.left < a.right && a.left < r.right && r.top < a.bottom && a.top < r.bottom;
    }).length;
}"""


def test_in_the_browser_the_solara_badge_covers_no_plot(page):
    page.wait_for_function("n => document.querySelectorAll('img').length >= n", arg=1 + len(app.PLOTS))
    assert page.evaluate(BADGE_OVER_PLOTS) == 0
    page.mouse.move(900, 600)
    for _ in range(10):
        page.mouse.wheel(0, 600)
    page.wait_for_timeout(500)
    assert page.evaluate(BADGE_OVER_PLOTS) == 0


#: what a clean server log has none of
WARNING = re.compile(r"warn|error|traceback|exception|deprecat", re.IGNORECASE)


def test_in_the_browser_using_the_page_leaves_no_warning_in_the_server_log(page, served):
    apply_controls(page, {"Ketamine (µM)": "10", WARM_LABEL: True}, "Biological time 20.0 s", timeout_ms=180_000)
    page.get_by_role("button", name="▶").click()
    page.get_by_text("Biological time 20.3 s").wait_for(timeout=60_000)
    page.get_by_role("button", name="❚❚").click()
    apply_controls(page, {"Seed": "x"}, "Seed: expected a whole number, got 'x'")
    log = served.log()
    assert "Solara server is starting" in log
    assert not WARNING.search(log), log
