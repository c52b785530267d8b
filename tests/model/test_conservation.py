"""Vesicle conservation and pool bounds at every step, over random parameters, protocols and drugs.

Each example loads ``scenarios/normal.toml`` with ``--set``-style overrides
(random pool sizes, probabilities, time constants, rates, a small network, a
short protocol with sometimes a train, a high-K+ window, an FM-dye window and
drugs), builds the model and checks after construction and after every step:

- per neuron, rrp + surface + recycling + reserve equals its initial total and
  ``model.bouton.total`` exactly;
- no pool is negative, the RRP never exceeds the neuron's release sites;
- FM-dye labels satisfy 0 <= label <= pool for rrp, recycling and reserve, and
  stay 0 unless an FM-dye window has begun.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import NORMAL, build, overrides
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KINDS = ("glutamatergic", "gabaergic")
CONDITIONS = ("vehicle", "ketamine_1uM", "ketamine_10uM", "ketamine_10uM_dpcpx", "ketamine_10uM_ampa_antagonist",
              "dpcpx", "adenosine_10uM")


def _float(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def vesicle_overrides(draw, kind: str) -> dict:
    sites = draw(st.integers(1, 20))
    return {
        f"vesicles__{kind}__release_sites": sites,
        f"vesicles__{kind}__total": draw(st.integers(sites, 300)),
        f"vesicles__{kind}__release_probability": draw(
            st.one_of(st.sampled_from([0.0, 1.0]), _float(1e-6, 1.0))),  # see test_tiny_release_probability
        f"vesicles__{kind}__priming_tau_s": draw(_float(0.002, 5.0)),
        f"vesicles__{kind}__endocytosis_tau_s": draw(_float(0.002, 30.0)),
        f"vesicles__{kind}__mobilisation_rate_per_s": draw(_float(0.0, 20.0)),
        f"vesicles__{kind}__tethering_rate_per_s": draw(_float(0.0, 20.0)),
        f"vesicles__{kind}__spontaneous_rate_per_s": draw(_float(0.0, 50.0)),
        f"vesicles__{kind}__a1_max_inhibition": draw(_float(0.0, 1.0)),
        f"vesicles__{kind}__heterogeneity_cv": draw(st.one_of(st.just(0.0), _float(0.01, 0.6))),
    }


@st.composite
def stimulus(draw, duration_s: float, slow_dt_s: float) -> dict:
    kind = draw(st.sampled_from(["train", "paired_pulse", "high_k", "fm_dye"]))
    stim = {"kind": kind, "start_s": draw(_float(0.0, 0.8 * duration_s))}
    if kind != "fm_dye":
        stim.update(target=draw(st.sampled_from(["glutamatergic", "gabaergic", "all"])),
                    fraction=draw(_float(0.05, 1.0)))
    if kind == "train":
        stim.update(rate_hz=draw(_float(2.0, 300.0)), n_pulses=draw(st.integers(1, 30)),
                    pattern=draw(st.sampled_from(["regular", "poisson"])))
    elif kind == "paired_pulse":
        stim.update(interval_ms=draw(_float(1.0, 100.0)))
    else:  # FM dye is taken up on the slow clock: its window must span a slow tick
        stim.update(duration_s=draw(_float(0.005 if kind == "high_k" else slow_dt_s, duration_s)))
        if kind == "high_k":
            stim.update(depolarisation_mV=draw(_float(0.0, 60.0)))
    return stim


@st.composite
def scenario_case(draw) -> tuple[list[str], str, int]:
    n = draw(st.integers(20, 80))
    exc_fraction = draw(_float(0.5, 0.9))
    n_exc = round(n * exc_fraction)
    sets = dict(network__n_neurons=n, network__excitatory_fraction=exc_fraction,
                network__excitatory_in_degree=draw(st.integers(0, min(n_exc - 1, 30))),
                network__inhibitory_in_degree=draw(st.integers(0, min(n - n_exc - 1, 10))))
    for kind in KINDS:
        sets.update(draw(vesicle_overrides(kind)))
    dt_ms = draw(st.sampled_from([0.25, 0.5, 1.0]))
    duration_s = draw(st.integers(round(200 / dt_ms), round(500 / dt_ms))) * dt_ms / 1000.0   # whole time steps
    slow_dt_ms = draw(st.sampled_from([dt_ms, 2 * dt_ms, 10.0, 20.0]))
    sets.update(protocol__dt_ms=dt_ms, protocol__duration_s=duration_s, protocol__warmup_s=0.05,
                protocol__record_interval_ms=draw(st.sampled_from([dt_ms, 5.0, 10.0])),
                protocol__slow_dt_ms=slow_dt_ms)
    # the core of the test: always a high-K+ window and an FM-dye window, sometimes a train, sometimes more
    stimuli = [draw(stimulus(duration_s, 1.001 * slow_dt_ms / 1000)) for _ in range(draw(st.integers(0, 2)))]
    stimuli.append({"kind": "high_k", "start_s": draw(_float(0.0, 0.6 * duration_s)),
                    "duration_s": draw(_float(0.01, 0.2)), "depolarisation_mV": draw(_float(5.0, 40.0)),
                    "target": draw(st.sampled_from(["glutamatergic", "gabaergic", "all"]))})
    stimuli.append({"kind": "fm_dye", "start_s": draw(_float(0.0, 0.5 * duration_s)),
                    "duration_s": draw(_float(0.02, duration_s))})
    if draw(st.booleans()):
        stimuli.append({"kind": "train", "start_s": draw(_float(0.0, 0.7 * duration_s)),
                        "rate_hz": draw(_float(5.0, 200.0)), "n_pulses": draw(st.integers(1, 40)),
                        "target": "all"})
    sets["protocol__stimuli"] = draw(st.permutations(stimuli))
    condition = draw(st.sampled_from(CONDITIONS + ("custom",)))
    if condition == "custom":
        sets.update(conditions__custom__ketamine_uM=draw(_float(0.0, 50.0)),
                    conditions__custom__dpcpx_uM=draw(_float(0.0, 1.0)),
                    conditions__custom__ampa_antagonist_uM=draw(_float(0.0, 20.0)),
                    conditions__custom__adenosine_uM=draw(_float(0.0, 50.0)),
                    conditions__custom__apply_at_s=draw(_float(0.0, duration_s)))
    if condition != "vehicle" and draw(st.booleans()):
        sets["pharmacology__ketamine__washin_tau_s"] = 0.0  # drugs at full strength at once
        sets["pharmacology__ketamine__adenosine_effect_tau_s"] = 0.0
    seed = draw(st.integers(0, 2**32 - 1))
    return overrides(**sets), condition, seed


def check_pools(model, initial_total: np.ndarray, dye_allowed: bool) -> None:
    pools, bouton = model.pools, model.bouton
    where = f"step {model.step_index}"
    for name in ("rrp", "surface", "recycling", "reserve"):
        pool = getattr(pools, name)
        assert pool.dtype.kind == "i", f"{name} is not an integer array"
        assert (pool >= 0).all(), f"{where}: negative {name}: {pool.min()}"
    total = pools.rrp + pools.surface + pools.recycling + pools.reserve
    drift = np.abs(total - initial_total).max()
    assert np.array_equal(total, initial_total), f"{where}: vesicles not conserved (largest change {drift})"
    assert np.array_equal(total, bouton.total), f"{where}: pools do not sum to model.bouton.total"
    assert np.array_equal(pools.total, bouton.total)
    assert (pools.rrp <= bouton.release_sites).all(), f"{where}: rrp above release_sites"
    for name in ("rrp", "recycling", "reserve"):
        dye, pool = getattr(pools, f"{name}_dye"), getattr(pools, name)
        assert (dye >= 0).all(), f"{where}: negative dye label in {name}"
        assert (dye <= pool).all(), f"{where}: more labelled vesicles than vesicles in {name}"
        if not dye_allowed:
            assert not dye.any(), f"{where}: dye in {name} before any FM-dye window"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=scenario_case())
def test_vesicles_conserved_and_pools_bounded_at_every_step(case):
    sets, condition, seed = case
    model = build(NORMAL, sets, condition, seed)
    initial_total = model.pools.total.copy()
    assert (initial_total >= model.bouton.release_sites).all()
    dye_start = min(w.start for w in model.protocol.windows if w.kind == "fm_dye")
    check_pools(model, initial_total, dye_allowed=False)
    for _ in range(model.n_steps):
        dye_allowed = model.step_index >= dye_start
        model.step()
        check_pools(model, initial_total, dye_allowed)
    assert model.step_index == model.n_steps


@pytest.mark.parametrize("probability, cv", [(1e-200, 0.5), (0.5, 1e-300)])
def test_tiny_release_probability_or_cv_builds(probability, cv):
    """A variance (cv * mean)**2 that underflows to 0 must give no spread, not a division by zero."""
    sets = overrides(network__n_neurons=20, network__excitatory_in_degree=2, network__inhibitory_in_degree=1,
                     vesicles__gabaergic__release_probability=probability, vesicles__gabaergic__heterogeneity_cv=cv)
    model = build(NORMAL, sets)
    p = model.bouton.release_probability[model.type_index["gabaergic"]]
    assert ((p >= 0) & (p <= 1)).all()


def test_conservation_holds_under_extreme_drive():
    """A deterministic hard case: p = 1, one release site, instant retrieval, strong high K+ and a dye pulse."""
    sets = overrides(network__n_neurons=40, network__excitatory_in_degree=10, network__inhibitory_in_degree=4,
                     vesicles__glutamatergic__release_probability=1.0, vesicles__glutamatergic__release_sites=1,
                     vesicles__glutamatergic__total=1, vesicles__glutamatergic__endocytosis_tau_s=0.001,
                     vesicles__glutamatergic__priming_tau_s=0.001, vesicles__gabaergic__total=20,
                     vesicles__gabaergic__release_sites=20, vesicles__gabaergic__spontaneous_rate_per_s=1000.0,
                     protocol__duration_s=0.3, protocol__warmup_s=0.01,
                     protocol__stimuli=[{"kind": "high_k", "start_s": 0.0, "duration_s": 0.2, "target": "all",
                                         "depolarisation_mV": 60.0},
                                        {"kind": "fm_dye", "start_s": 0.0, "duration_s": 0.1}])
    model = build(NORMAL, sets, "ketamine_10uM", seed=5)
    initial_total = model.pools.total.copy()
    most_dye = 0
    for _ in range(model.n_steps):
        model.step()
        check_pools(model, initial_total, dye_allowed=True)
        most_dye = max(most_dye, int(model.pools.dye.sum()))
    ts = model.recorder.timeseries()
    assert ts["released_glu_per_s"].sum() > 0 and ts["released_gaba_per_s"].sum() > 0
    assert most_dye > 0, "the FM-dye window labelled nothing"
