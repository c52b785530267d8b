"""Each drug mechanism alone moves its readout the right way (same seed, so the same network, per comparison).

Two preparations, both from ``scenarios/normal.toml``:

- ``NETWORK``: 400 connected, spontaneously active neurons, 8 s with a 3 s
  warm-up, ketamine washing in within 0.5 s, and a 2 Hz test train that
  stimulates every cell;
- ``ISOLATED``: 5000 cells of the same kinds without connections or background input (no
  spontaneous firing, adenosine at its baseline), so that evoked release per
  pulse shows the presynaptic effect without network feedback; six paired
  pulses, 1 s apart, stimulate every cell.

To isolate ketamine's direct slowing of endocytosis, its NMDA block and its
adenosine gain are switched off (``nmda_ic50_uM`` huge, ``adenosine_gain_max = 0``) and its
maximal impairment is set high (0.6 glutamatergic, 0.1 GABAergic) so the effect stands out of the noise.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from helpers import NORMAL, overrides, run

from sim.model.vesicles import step_probability

SEED = 1
NETWORK = overrides(
    network__n_neurons=400, protocol__duration_s=8.0, protocol__warmup_s=3.0,
    pharmacology__ketamine__washin_tau_s=0.5, pharmacology__ketamine__adenosine_effect_tau_s=0.5,
    protocol__stimuli=[{"kind": "train", "start_s": 3.5, "rate_hz": 2.0, "n_pulses": 9, "target": "all"}])
ISOLATED = overrides(
    network__n_neurons=5000, network__excitatory_in_degree=0, network__inhibitory_in_degree=0,
    neurons__glutamatergic__background_rate_hz=0.0, neurons__gabaergic__background_rate_hz=0.0,
    protocol__duration_s=7.0, protocol__warmup_s=0.5,
    protocol__stimuli=[{"kind": "paired_pulse", "start_s": 1.5 + i, "interval_ms": 50.0, "target": "all"}
                       for i in range(6)])
KETAMINE_ENDOCYTOSIS_ONLY = overrides(pharmacology__ketamine__nmda_ic50_uM=1e9,
                                      pharmacology__ketamine__adenosine_gain_max=0.0,
                                      # a strong impairment, so the mechanism stands out of a short run's noise
                                      pharmacology__ketamine__endocytosis_max_impairment_glu=0.6,
                                      pharmacology__ketamine__endocytosis_max_impairment_gaba=0.1)
AMPA_ONLY = ["conditions.ampa_antagonist_only.ampa_antagonist_uM=10"]

PREPARATIONS = {
    "network": NETWORK,
    "network_ketamine_endocytosis_only": NETWORK + KETAMINE_ENDOCYTOSIS_ONLY,
    "network_ampa_only": NETWORK + AMPA_ONLY,
    "isolated": ISOLATED,
}


@functools.cache
def simulate(preparation: str, condition: str):
    """(model, time series, pulses, summary) of one preparation under one condition; cached for the module."""
    return run(NORMAL, PREPARATIONS[preparation], condition, SEED)


def change(new: float, old: float) -> float:
    """Relative change."""
    return (new - old) / old


def release_fraction(pulses, t: str) -> float:
    """Vesicles released per vesicle in the RRP just before the pulse (an estimate of release probability)."""
    return float(pulses[f"released_{t}"].sum() / pulses[f"rrp_before_{t}"].sum())


def same_network(a, b) -> bool:
    return (a.connectivity.post_by_pre != b.connectivity.post_by_pre).nnz == 0


# --------------------------------------------------------------------------- (a) ketamine and endocytosis


def test_ketamine_slows_endocytosis_more_in_glutamatergic_cells():
    vehicle, *_ = simulate("network", "vehicle")
    ketamine, *_ = simulate("network_ketamine_endocytosis_only", "ketamine_10uM")
    assert same_network(vehicle, ketamine)
    k = ketamine.params.pharmacology.ketamine
    c = ketamine.drugs.ketamine_uM
    assert c == pytest.approx(ketamine.params.condition("ketamine_10uM").ketamine_uM, rel=1e-3)  # washed in
    impairment = c / (c + k.endocytosis_ec50_uM)
    span_s = ketamine.slow_every * ketamine.dt_s
    rate = ketamine.bouton.endocytosis_rate_per_s
    ratio = ketamine.p_endocytosis / vehicle.p_endocytosis
    for kind, max_impairment in (("glutamatergic", k.endocytosis_max_impairment_glu),
                                 ("gabaergic", k.endocytosis_max_impairment_gaba)):
        idx = ketamine.type_index[kind]
        expected = step_probability(rate[idx] * (1 - max_impairment * impairment), span_s) / step_probability(
            rate[idx], span_s)
        assert np.allclose(ratio[idx], expected, rtol=1e-9), kind
    slowing_glu = 1 - ratio[ketamine.type_index["glutamatergic"]].mean()
    slowing_gaba = 1 - ratio[ketamine.type_index["gabaergic"]].mean()
    assert slowing_glu > 0.3 and slowing_glu > 3 * slowing_gaba > 0


def test_ketamine_endocytosis_block_shows_in_flux_and_surface_pool():
    *_, vehicle = simulate("network", "vehicle")
    *_, ketamine = simulate("network_ketamine_endocytosis_only", "ketamine_10uM")
    # the network's activity is unchanged: this is the endocytosis mechanism alone
    assert change(ketamine["rate_glu_hz"], vehicle["rate_glu_hz"]) == pytest.approx(0, abs=0.1)
    flux_glu = change(ketamine["recycling_flux_glu_per_s"], vehicle["recycling_flux_glu_per_s"])
    flux_gaba = change(ketamine["recycling_flux_gaba_per_s"], vehicle["recycling_flux_gaba_per_s"])
    surface_glu = change(ketamine["surface_glu"], vehicle["surface_glu"])
    surface_gaba = change(ketamine["surface_gaba"], vehicle["surface_gaba"])
    assert flux_glu < -0.2, f"glutamatergic recycling flux {flux_glu:+.0%}"
    assert flux_glu < flux_gaba - 0.15, f"flux glu {flux_glu:+.0%} vs GABA {flux_gaba:+.0%}"
    assert surface_glu > 0.08, f"glutamatergic surface pool {surface_glu:+.0%}"
    assert surface_glu > surface_gaba + 0.05, f"surface glu {surface_glu:+.0%} vs GABA {surface_gaba:+.0%}"


# --------------------------------------------------------------------------- (b) DPCPX


def test_dpcpx_raises_glutamatergic_release_probability_in_the_network():
    vehicle, _, pulses_vehicle, s_vehicle = simulate("network", "vehicle")
    dpcpx, _, pulses_dpcpx, s_dpcpx = simulate("network", "dpcpx")
    assert same_network(vehicle, dpcpx)
    assert s_vehicle["a1_occupancy_glu"] > 0.1 and s_dpcpx["a1_occupancy_glu"] < 0.02
    p_glu = change(s_dpcpx["release_probability_glu"], s_vehicle["release_probability_glu"])
    p_gaba = change(s_dpcpx["release_probability_gaba"], s_vehicle["release_probability_gaba"])
    assert p_glu > 0.2, f"release probability glu {p_glu:+.0%}"
    assert abs(p_gaba) < 0.05, f"release probability GABA {p_gaba:+.0%}"
    evoked_fraction = change(release_fraction(pulses_dpcpx, "glu"), release_fraction(pulses_vehicle, "glu"))
    assert evoked_fraction > 0.15, f"evoked release per RRP vesicle {evoked_fraction:+.0%}"


def test_dpcpx_raises_evoked_glutamate_release_per_pulse():
    *_, vehicle = simulate("isolated", "vehicle")
    dpcpx_model, _, _, dpcpx = simulate("isolated", "dpcpx")
    # the tonic brake: baseline adenosine alone occupies A1 receptors
    a = dpcpx_model.params.adenosine
    assert vehicle["a1_occupancy_glu"] == pytest.approx(a.baseline_uM / (a.baseline_uM + a.a1_ec50_uM), rel=0.01)
    glu = change(dpcpx["evoked_release_glu_per_pulse"], vehicle["evoked_release_glu_per_pulse"])
    gaba = change(dpcpx["evoked_release_gaba_per_pulse"], vehicle["evoked_release_gaba_per_pulse"])
    assert glu > 0.1, f"evoked glutamatergic release {glu:+.0%}"
    assert abs(gaba) < 0.5 * glu, f"evoked GABA release {gaba:+.0%} vs glutamatergic {glu:+.0%}"


# --------------------------------------------------------------------------- (c) applied adenosine


def test_adenosine_lowers_glutamate_release_and_spares_gaba_release():
    *_, vehicle = simulate("isolated", "vehicle")
    *_, adenosine = simulate("isolated", "adenosine_10uM")
    glu = change(adenosine["evoked_release_glu_per_pulse"], vehicle["evoked_release_glu_per_pulse"])
    gaba = change(adenosine["evoked_release_gaba_per_pulse"], vehicle["evoked_release_gaba_per_pulse"])
    assert glu < -0.4, f"evoked glutamatergic release {glu:+.0%} (Hargus et al. 2009: about -72 %)"
    assert abs(gaba) < 0.15 and abs(gaba) < 0.25 * abs(glu), f"evoked GABA release {gaba:+.0%} vs glu {glu:+.0%}"
    # a presynaptic effect: the paired-pulse ratio rises
    assert adenosine["paired_pulse_ratio_glu"] > vehicle["paired_pulse_ratio_glu"] + 0.03


def test_adenosine_in_the_network_lowers_glutamatergic_release_probability_only():
    _, _, pulses_vehicle, vehicle = simulate("network", "vehicle")
    _, _, pulses_adenosine, adenosine = simulate("network", "adenosine_10uM")
    glu = change(adenosine["evoked_release_glu_per_pulse"], vehicle["evoked_release_glu_per_pulse"])
    assert glu < -0.35, f"evoked glutamatergic release in the network {glu:+.0%}"
    fraction_glu = change(release_fraction(pulses_adenosine, "glu"), release_fraction(pulses_vehicle, "glu"))
    fraction_gaba = change(release_fraction(pulses_adenosine, "gaba"), release_fraction(pulses_vehicle, "gaba"))
    assert fraction_glu < -0.5, f"glutamatergic release per RRP vesicle {fraction_glu:+.0%}"
    assert abs(fraction_gaba) < 0.1, f"GABA release per RRP vesicle {fraction_gaba:+.0%}"


# --------------------------------------------------------------------------- (d) AMPA antagonist and adenosine


def adenosine_above_baseline(preparation: str, condition: str) -> float:
    model, ts, _, _ = simulate(preparation, condition)
    after = ts[ts["time_s"] > model.params.protocol.warmup_s]
    return float(after["adenosine_uM"].mean()) - model.params.adenosine.baseline_uM


def test_ampa_antagonist_removes_activity_driven_adenosine():
    vehicle = adenosine_above_baseline("network", "vehicle")
    antagonist = adenosine_above_baseline("network_ampa_only", "ampa_antagonist_only")
    assert vehicle > 0.01, f"activity adds only {vehicle:.4f} uM adenosine"
    assert antagonist < 0.1 * vehicle, f"with the AMPA antagonist {antagonist:.4f} uM vs vehicle {vehicle:.4f} uM"
    assert antagonist >= -1e-9
    model, *_ = simulate("network_ampa_only", "ampa_antagonist_only")
    assert model.rate_trace_hz[model.type_index["glutamatergic"]].mean() > 0.5, "the network still fires"


def ampa_block() -> float:
    from sim.model.scenario import load_scenario

    scenario, _ = load_scenario(NORMAL)
    c = scenario.condition("ketamine_10uM_ampa_antagonist").ampa_antagonist_uM
    return c / (c + scenario.pharmacology.ampa_antagonist.ic50_uM)


def model_gain() -> float:
    from sim.model.scenario import load_scenario

    k = load_scenario(NORMAL)[0].pharmacology.ketamine
    return k.adenosine_gain_max * 10.0 / (10.0 + k.adenosine_gain_ec50_uM)


def test_ampa_antagonist_removes_ketamine_adenosine_rise():
    vehicle = adenosine_above_baseline("network", "vehicle")
    ketamine = adenosine_above_baseline("network", "ketamine_10uM")
    antagonist = adenosine_above_baseline("network_ampa_only", "ampa_antagonist_only")
    both = adenosine_above_baseline("network", "ketamine_10uM_ampa_antagonist")
    rise = ketamine - vehicle
    assert rise > 0.5 * vehicle, f"ketamine raises adenosine by only {rise:.4f} uM"
    # 10 uM antagonist blocks ~97 % of AMPA current (IC50 0.3 uM); ketamine multiplies the residue by its gain
    residue = (1 - ampa_block()) * (1 + model_gain())
    assert both < 2 * residue * vehicle + 1e-4, f"ketamine + AMPA antagonist {both:.4f} uM above baseline"
    assert both - antagonist < 0.1 * rise, "ketamine still raises adenosine under the AMPA antagonist"
