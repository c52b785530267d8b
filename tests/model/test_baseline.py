"""The default normal scenario: 1,000 neurons, 60 s, a stable asynchronous baseline in the target ranges."""

from __future__ import annotations

import pytest
from helpers import NORMAL

from sim.model.model import SynapseNetworkModel
from sim.model.readouts import run_results
from sim.model.scenario import load_scenario

#: plausible baseline firing (Hz), an assumption of the project (docs/science.md, section 3, Baseline firing)
RANGES = {"glu": (1.0, 10.0), "gaba": (5.0, 30.0)}


@pytest.fixture(scope="module")
def baseline():
    scenario, _ = load_scenario(NORMAL)
    model = SynapseNetworkModel(scenario)
    model.run()
    return scenario, model, run_results(model)


def test_default_scenario_is_large_and_long_enough(baseline):
    scenario, model, _ = baseline
    assert scenario.network.n_neurons >= 1000
    assert scenario.protocol.duration_s >= 60.0
    assert model.time_s == pytest.approx(scenario.protocol.duration_s)


@pytest.mark.parametrize("t", ["glu", "gaba"])
def test_rates_stay_in_range_in_every_10_s_window(baseline, t):
    scenario, _, results = baseline
    ts = results["timeseries"]
    after = ts[ts["time_s"] > scenario.protocol.warmup_s]
    window = ((after["time_s"] - 1e-9) // 10.0).astype(int)  # a row closes the interval ending at time_s
    windows = after.groupby(window)[f"rate_{t}_hz"].mean()
    lo, hi = RANGES[t]
    assert len(windows) >= 4
    assert ((windows >= lo) & (windows <= hi)).all(), windows.to_dict()
    assert windows.max() / windows.min() < 1.5, "the baseline drifts"


def test_population_activity_is_asynchronous(baseline):
    """Population spike counts per 10 ms: Fano factor 1 for independent Poisson neurons, ~N if synchronous."""
    _, model, results = baseline
    summary = results["summary"]
    n_glu = model.type_index["glutamatergic"].size
    assert summary["population_fano_glu"] < 0.02 * n_glu
    assert summary["population_fano_gaba"] < 0.1 * model.type_index["gabaergic"].size


def test_pools_and_glutamate_are_plausible(baseline):
    _, model, results = baseline
    s = results["summary"]
    sites = model.params.vesicles.glutamatergic.release_sites
    assert 0.3 * sites < s["rrp_glu"] <= sites
    assert s["reserve_glu"] > s["recycling_glu"], "the reserve is the majority pool (Rizzoli & Betz 2005)"
    assert 0.005 < s["ambient_glutamate_uM"] < 0.1, "tens of nM (Herman & Jahr 2007)"
    assert 0.02 < s["adenosine_uM"] < 0.3, "basal 20-300 nM (microdialysis reviews)"
