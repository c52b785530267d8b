"""Leaky integrate-and-fire membranes with AMPA, NMDA, GABA_A and background currents: constants and state.

The update itself runs in the compiled fast clock (``sim.model.kernels.fast_step``).

Currents are expressed as the depolarisation (mV) they would hold the membrane
at: ``tau_m dV/dt = (v_rest - V) + g_ampa (1 - ampa_block) + g_nmda (1 - nmda_block)
- g_gaba + g_bg + high_K``. Each synaptic variable decays exponentially with its
own time constant; a quantum of charge-equivalent weight ``w`` mV adds
``w tau_m / tau_syn`` so that the time integral of its depolarisation is ``w tau_m``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.kernels import poisson_cdf_table
from sim.model.params import NeuronParams, SynapseParams

#: a drawn threshold is kept at least this far above the reset potential (mV)
MIN_THRESHOLD_ABOVE_RESET_MV = 1.0


@dataclass
class MembraneConstants:
    """Per-neuron constants (arrays of length n_neurons) for one time step ``dt_ms``."""

    v_rest_mV: np.ndarray
    v_reset_mV: np.ndarray
    threshold_mV: np.ndarray
    decay_m: np.ndarray          # exp(-dt / tau_m)
    refractory_steps: np.ndarray
    background_p: np.ndarray     # mean background events per step
    background_row: np.ndarray   # row of ``background_cdf`` for this neuron's mean
    background_cdf: np.ndarray   # Poisson distribution functions of the distinct means (``sim.model.kernels``), flat
    jump_background: np.ndarray  # mV per event
    jump_ampa: np.ndarray        # mV per glutamate quantum
    jump_nmda: np.ndarray
    jump_gaba: np.ndarray        # mV per GABA quantum
    decay_ampa: float
    decay_nmda: float
    decay_gaba: float
    decay_background: float


def membrane_constants(by_type: list[tuple[np.ndarray, NeuronParams]], syn: SynapseParams, dt_ms: float,
                       n: int, rng: np.random.Generator) -> MembraneConstants:
    """Constants of every neuron from its type's parameters; thresholds drawn with the type's SD."""
    per_neuron = [name for name in MembraneConstants.__dataclass_fields__
                  if name not in ("decay_ampa", "decay_nmda", "decay_gaba", "decay_background", "background_row",
                                  "background_cdf")]
    arrays = {name: np.zeros(n) for name in per_neuron}
    for idx, p in by_type:
        arrays["v_rest_mV"][idx] = p.v_rest_mV
        arrays["v_reset_mV"][idx] = p.v_reset_mV
        threshold = p.v_threshold_mV + p.threshold_sd_mV * rng.standard_normal(idx.size)
        arrays["threshold_mV"][idx] = np.maximum(threshold, p.v_reset_mV + MIN_THRESHOLD_ABOVE_RESET_MV)
        arrays["decay_m"][idx] = np.exp(-dt_ms / p.tau_m_ms)
        arrays["refractory_steps"][idx] = round(p.refractory_ms / dt_ms)
        arrays["background_p"][idx] = p.background_rate_hz * dt_ms / 1000.0
        arrays["jump_background"][idx] = p.background_weight_mV * p.tau_m_ms / syn.background_tau_ms
        arrays["jump_ampa"][idx] = p.ampa_weight_mV * p.tau_m_ms / syn.ampa_tau_ms
        arrays["jump_nmda"][idx] = p.nmda_weight_mV * p.tau_m_ms / syn.nmda_tau_ms
        arrays["jump_gaba"][idx] = p.gaba_weight_mV * p.tau_m_ms / syn.gaba_tau_ms
    arrays["refractory_steps"] = arrays["refractory_steps"].astype(np.int64)
    background_cdf, background_row = poisson_cdf_table(arrays["background_p"])
    return MembraneConstants(
        **arrays, background_row=background_row, background_cdf=background_cdf,
        decay_ampa=float(np.exp(-dt_ms / syn.ampa_tau_ms)),
        decay_nmda=float(np.exp(-dt_ms / syn.nmda_tau_ms)),
        decay_gaba=float(np.exp(-dt_ms / syn.gaba_tau_ms)),
        decay_background=float(np.exp(-dt_ms / syn.background_tau_ms)),
    )


class Membrane:
    """Membrane potentials (mV) and synaptic drives (mV) of all neurons."""

    def __init__(self, const: MembraneConstants, rng: np.random.Generator):
        self.const = const
        n = const.v_rest_mV.size
        self.v_mV = const.v_rest_mV + rng.uniform(0.0, 1.0, n) * (const.threshold_mV - const.v_rest_mV)
        self.g_ampa = np.zeros(n)
        self.g_nmda = np.zeros(n)
        self.g_gaba = np.zeros(n)
        self.g_background = np.zeros(n)
        self.refractory_left = np.zeros(n, dtype=np.int64)
