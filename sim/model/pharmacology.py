"""Drug actions: ketamine, DPCPX (A1 antagonist), an AMPA antagonist, applied adenosine.

Each drug acts only through its documented targets:
ketamine blocks NMDA currents, slows endocytosis (cell-type-specific) and raises
the adenosine released per AMPA activation (this last action lags the tissue
concentration by ``adenosine_effect_tau_s``, an effect compartment); DPCPX blocks A1 receptors; the AMPA
antagonist blocks AMPA currents (and so the AMPA-driven adenosine release);
applied adenosine adds to the adenosine at every site.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.model.params import ConditionParams, PharmacologyParams


def occupancy(c_uM: float, half_uM: float) -> float:
    """Fractional effect of a drug at concentration ``c_uM`` with half-effect ``half_uM`` (Hill n = 1)."""
    return c_uM / (c_uM + half_uM) if c_uM > 0 else 0.0


@dataclass(frozen=True)
class DrugEffects:
    """The drugs' effects at one moment (all dimensionless fractions unless a unit is named)."""

    ketamine_uM: float = 0.0
    nmda_block: float = 0.0
    ampa_block: float = 0.0
    a1_block: float = 0.0
    adenosine_bath_uM: float = 0.0
    adenosine_gain: float = 1.0            # multiplier of adenosine release per AMPA quantum
    endocytosis_factor_glu: float = 1.0    # multiplier of the endocytosis rate
    endocytosis_factor_gaba: float = 1.0


class Pharmacology:
    """The drugs of one condition and their effects over time."""

    def __init__(self, params: PharmacologyParams, condition: ConditionParams):
        self.params = params
        self.condition = condition

    def ketamine_uM(self, t_s: float) -> float:
        """Ketamine at the tissue at time ``t_s``: exponential wash-in after application."""
        c = self.condition
        if c.ketamine_uM == 0 or t_s < c.apply_at_s:
            return 0.0
        tau = self.params.ketamine.washin_tau_s
        return c.ketamine_uM if tau == 0 else c.ketamine_uM * -math.expm1(-(t_s - c.apply_at_s) / tau)

    def ketamine_effect_site_uM(self, t_s: float) -> float:
        """Ketamine at the site of its adenosine action: the tissue concentration equilibrating with
        ``adenosine_effect_tau_s`` (a first-order effect compartment fed by the exponential wash-in)."""
        c, k = self.condition, self.params.ketamine
        if c.ketamine_uM == 0 or t_s < c.apply_at_s:
            return 0.0
        elapsed, tau_w, tau_e = t_s - c.apply_at_s, k.washin_tau_s, k.adenosine_effect_tau_s
        if tau_e == 0:
            return self.ketamine_uM(t_s)
        if tau_w == 0:
            return c.ketamine_uM * -math.expm1(-elapsed / tau_e)
        if math.isclose(tau_w, tau_e):
            return c.ketamine_uM * (1.0 - (1.0 + elapsed / tau_e) * math.exp(-elapsed / tau_e))
        lag = (tau_w * math.exp(-elapsed / tau_w) - tau_e * math.exp(-elapsed / tau_e)) / (tau_w - tau_e)
        return c.ketamine_uM * (1.0 - lag)

    def effects(self, t_s: float) -> DrugEffects:
        """All drug effects at time ``t_s``."""
        c, k = self.condition, self.params.ketamine
        if t_s < c.apply_at_s:
            return DrugEffects()
        ket = self.ketamine_uM(t_s)
        impairment = occupancy(ket, k.endocytosis_ec50_uM)
        return DrugEffects(
            ketamine_uM=ket,
            nmda_block=occupancy(ket, k.nmda_ic50_uM),
            ampa_block=occupancy(c.ampa_antagonist_uM, self.params.ampa_antagonist.ic50_uM),
            a1_block=occupancy(c.dpcpx_uM, self.params.dpcpx.ic50_uM),
            adenosine_bath_uM=c.adenosine_uM,
            adenosine_gain=1.0 + k.adenosine_gain_max * occupancy(self.ketamine_effect_site_uM(t_s),
                                                                  k.adenosine_gain_ec50_uM),
            endocytosis_factor_glu=1.0 - k.endocytosis_max_impairment_glu * impairment,
            endocytosis_factor_gaba=1.0 - k.endocytosis_max_impairment_gaba * impairment,
        )
