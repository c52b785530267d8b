"""Leaky integrate-and-fire membranes with AMPA, NMDA, GABA_A and background currents: constants and state.

The update itself runs in the compiled fast clock (``sim.model.kernels.step_blocks``).

Currents are expressed as the depolarisation (mV) they would hold the membrane
at: ``tau_m dV/dt = (v_rest - V) + ampa_drive_mV (1 - ampa_block) + nmda_drive_mV (1 - nmda_block)
- gaba_drive_mV + background_drive_mV + high_K``. Each synaptic variable decays exponentially with its
own time constant; a quantum of charge-equivalent weight ``w`` mV adds
``w tau_m / tau_syn`` so that the time integral of its depolarisation is ``w tau_m``.
"""

from __future__ import annotations

import numpy as np

from sim.model.kernels import CellConstants, MembraneState, poisson_cdf_table
from sim.model.params import NeuronParams, SynapseParams

#: a drawn threshold is kept at least this far above the reset potential (mV)
MIN_THRESHOLD_ABOVE_RESET_MV = 1.0


def membrane_constants(by_type: list[tuple[np.ndarray, NeuronParams]], syn: SynapseParams, dt_ms: float,
                       n: int, rng: np.random.Generator) -> CellConstants:
    """Constants of every neuron from its type's parameters; thresholds drawn with the type's SD."""
    per_neuron = [name for name in CellConstants._fields
                  if name not in ("ampa_decay", "nmda_decay", "gaba_decay", "background_decay", "background_row",
                                  "background_cdf")]
    arrays = {name: np.zeros(n) for name in per_neuron}
    for idx, p in by_type:
        arrays["v_rest_mV"][idx] = p.v_rest_mV
        arrays["v_reset_mV"][idx] = p.v_reset_mV
        threshold = p.v_threshold_mV + p.threshold_sd_mV * rng.standard_normal(idx.size)
        arrays["threshold_mV"][idx] = np.maximum(threshold, p.v_reset_mV + MIN_THRESHOLD_ABOVE_RESET_MV)
        arrays["membrane_decay"][idx] = np.exp(-dt_ms / p.tau_m_ms)
        arrays["refractory_steps"][idx] = round(p.refractory_ms / dt_ms)
        arrays["background_events_per_step"][idx] = p.background_rate_hz * dt_ms / 1000.0
        arrays["background_jump_mV"][idx] = p.background_weight_mV * p.tau_m_ms / syn.background_tau_ms
        arrays["ampa_jump_mV"][idx] = p.ampa_weight_mV * p.tau_m_ms / syn.ampa_tau_ms
        arrays["nmda_jump_mV"][idx] = p.nmda_weight_mV * p.tau_m_ms / syn.nmda_tau_ms
        arrays["gaba_jump_mV"][idx] = p.gaba_weight_mV * p.tau_m_ms / syn.gaba_tau_ms
    arrays["refractory_steps"] = arrays["refractory_steps"].astype(np.int64)
    background_cdf, background_row = poisson_cdf_table(arrays["background_events_per_step"])
    return CellConstants(
        **arrays, background_row=background_row, background_cdf=background_cdf,
        ampa_decay=float(np.exp(-dt_ms / syn.ampa_tau_ms)),
        nmda_decay=float(np.exp(-dt_ms / syn.nmda_tau_ms)),
        gaba_decay=float(np.exp(-dt_ms / syn.gaba_tau_ms)),
        background_decay=float(np.exp(-dt_ms / syn.background_tau_ms)),
    )


def initial_membrane(const: CellConstants, rng: np.random.Generator) -> MembraneState:
    """Membrane potentials drawn uniformly between rest and threshold (mV); drives at 0 mV; none refractory."""
    n = const.v_rest_mV.size
    v_mV = const.v_rest_mV + rng.uniform(0.0, 1.0, n) * (const.threshold_mV - const.v_rest_mV)
    return MembraneState(v_mV=v_mV, ampa_drive_mV=np.zeros(n), nmda_drive_mV=np.zeros(n), gaba_drive_mV=np.zeros(n),
                         background_drive_mV=np.zeros(n), refractory_steps_left=np.zeros(n, dtype=np.int64))
