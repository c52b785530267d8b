"""The interactive app: its model is the command line's, the page renders and steps headless, and a browser uses it.

The browser tests serve ``app.py`` with ``solara run`` and drive Debian's
Chromium with Playwright: change the ketamine control, Reset, Step, and check
that the plots change; a bad value shows a message on the page.
"""

from __future__ import annotations

import os

import ipyvuetify as v
import ipywidgets
import numpy as np
import pytest
import solara
from helpers import ROOT, overrides
from playwright.sync_api import sync_playwright
from served_app import CHROMIUM, apply_controls, launch_chromium, serve_app

import app
from sim.model.interactive import CONDITION, STEP_MS, InteractiveModel
from sim.model.model import SynapseNetworkModel
from sim.model.scenario import load_scenario

SMALL = {"n_neurons": "200", "seed": "5"}


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
def app_url():
    with serve_app() as url:
        yield url


@pytest.fixture
def page(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_url)
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
