"""Drug time courses: ketamine's wash-in and the effect compartment of its adenosine action."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import NORMAL
from scipy import integrate

from sim.model.params import ConditionParams
from sim.model.pharmacology import Pharmacology
from sim.model.scenario import load_scenario

APPLY_S = 5.0
KETAMINE_UM = 10.0


def pharmacology(washin_tau_s: float, effect_tau_s: float) -> Pharmacology:
    scenario, _ = load_scenario(NORMAL)
    p = scenario.pharmacology
    ketamine = p.ketamine.__class__(**{**vars(p.ketamine), "washin_tau_s": washin_tau_s,
                                       "adenosine_effect_tau_s": effect_tau_s})
    condition = ConditionParams(**{**vars(scenario.condition("vehicle")), "ketamine_uM": KETAMINE_UM,
                                   "apply_at_s": APPLY_S})
    return Pharmacology(p.__class__(**{**vars(p), "ketamine": ketamine}), condition)


def integrated_effect_site(drug: Pharmacology, t_end_s: float) -> float:
    """dc_e/dt = (c(t) - c_e)/tau_e from c_e = 0 at application, integrated numerically (scipy)."""
    tau_e = drug.params.ketamine.adenosine_effect_tau_s
    solution = integrate.solve_ivp(lambda t, c_e: (drug.ketamine_uM(t) - c_e) / tau_e, (APPLY_S, t_end_s), [0.0],
                                   rtol=1e-10, atol=1e-12, max_step=0.05)
    return float(solution.y[0, -1])


@pytest.mark.parametrize(("washin_tau_s", "effect_tau_s"), [(2.0, 10.0), (2.0, 2.0), (0.0, 5.0), (8.0, 1.0)])
def test_effect_site_solves_its_differential_equation(washin_tau_s: float, effect_tau_s: float):
    drug = pharmacology(washin_tau_s, effect_tau_s)
    for elapsed in (0.5, 3.0, 12.0, 40.0):
        exact = drug.ketamine_effect_site_uM(APPLY_S + elapsed)
        assert exact == pytest.approx(integrated_effect_site(drug, APPLY_S + elapsed), rel=1e-4, abs=1e-6)


def test_effect_site_lags_the_tissue_and_reaches_the_bath():
    drug = pharmacology(2.0, 10.0)
    assert drug.ketamine_effect_site_uM(APPLY_S - 1.0) == 0.0
    times = APPLY_S + np.array([1.0, 4.0, 10.0, 30.0])
    tissue = np.array([drug.ketamine_uM(t) for t in times])
    site = np.array([drug.ketamine_effect_site_uM(t) for t in times])
    assert np.all(site < tissue) and np.all(np.diff(site) > 0)
    assert drug.ketamine_effect_site_uM(APPLY_S + 200.0) == pytest.approx(KETAMINE_UM, rel=1e-6)


def test_adenosine_gain_follows_the_effect_site_and_nmda_block_the_tissue():
    drug = pharmacology(2.0, 10.0)
    k, t = drug.params.ketamine, APPLY_S + 3.0
    effects = drug.effects(t)
    assert effects.nmda_block == pytest.approx(drug.ketamine_uM(t) / (drug.ketamine_uM(t) + k.nmda_ic50_uM))
    site = drug.ketamine_effect_site_uM(t)
    assert effects.adenosine_gain == pytest.approx(1 + k.adenosine_gain_max * site / (site + k.adenosine_gain_ec50_uM))
    no_lag = pharmacology(2.0, 0.0).effects(t)
    assert no_lag.adenosine_gain > effects.adenosine_gain
    assert math.isclose(no_lag.nmda_block, effects.nmda_block)
