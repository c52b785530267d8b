"""Leaky integrate-and-fire membranes with AMPA, NMDA, GABA_A and background currents.

Currents are expressed as the depolarisation (mV) they would hold the membrane
at: ``tau_m dV/dt = (v_rest - V) + g_ampa (1 - ampa_block) + g_nmda (1 - nmda_block)
- g_gaba + g_bg + high_K``. Each synaptic variable decays exponentially with its
own time constant; a quantum of charge-equivalent weight ``w`` mV adds
``w tau_m / tau_syn`` so that the time integral of its depolarisation is ``w tau_m``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.params import NeuronParams, SynapseParams


@dataclass
class MembraneConstants:
    """Per-neuron constants (arrays of length n_neurons) for one time step ``dt_ms``."""

    v_rest_mV: np.ndarray
    v_reset_mV: np.ndarray
    threshold_mV: np.ndarray
    decay_m: np.ndarray          # exp(-dt / tau_m)
    refractory_steps: np.ndarray
    background_p: np.ndarray     # mean background events per step
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
                  if name not in ("decay_ampa", "decay_nmda", "decay_gaba", "decay_background")]
    arrays = {name: np.zeros(n) for name in per_neuron}
    for idx, p in by_type:
        arrays["v_rest_mV"][idx] = p.v_rest_mV
        arrays["v_reset_mV"][idx] = p.v_reset_mV
        arrays["threshold_mV"][idx] = p.v_threshold_mV + p.threshold_sd_mV * rng.standard_normal(idx.size)
        arrays["decay_m"][idx] = np.exp(-dt_ms / p.tau_m_ms)
        arrays["refractory_steps"][idx] = round(p.refractory_ms / dt_ms)
        arrays["background_p"][idx] = p.background_rate_hz * dt_ms / 1000.0
        arrays["jump_background"][idx] = p.background_weight_mV * p.tau_m_ms / syn.background_tau_ms
        arrays["jump_ampa"][idx] = p.ampa_weight_mV * p.tau_m_ms / syn.ampa_tau_ms
        arrays["jump_nmda"][idx] = p.nmda_weight_mV * p.tau_m_ms / syn.nmda_tau_ms
        arrays["jump_gaba"][idx] = p.gaba_weight_mV * p.tau_m_ms / syn.gaba_tau_ms
    arrays["refractory_steps"] = arrays["refractory_steps"].astype(np.int64)
    return MembraneConstants(
        **arrays,
        decay_ampa=float(np.exp(-dt_ms / syn.ampa_tau_ms)),
        decay_nmda=float(np.exp(-dt_ms / syn.nmda_tau_ms)),
        decay_gaba=float(np.exp(-dt_ms / syn.gaba_tau_ms)),
        decay_background=float(np.exp(-dt_ms / syn.background_tau_ms)),
    )


class Membrane:
    """Membrane potentials and synaptic drives of all neurons."""

    def __init__(self, const: MembraneConstants, rng: np.random.Generator):
        self.const = const
        n = const.v_rest_mV.size
        self.v_mV = const.v_rest_mV + rng.uniform(0.0, 1.0, n) * (const.threshold_mV - const.v_rest_mV)
        self.g_ampa = np.zeros(n)
        self.g_nmda = np.zeros(n)
        self.g_gaba = np.zeros(n)
        self.g_background = np.zeros(n)
        self.refractory_left = np.zeros(n, dtype=np.int64)

    def integrate(self, rng: np.random.Generator, ampa_block: float, nmda_block: float,
                  extra_mV: np.ndarray | float, forced: np.ndarray | None) -> np.ndarray:
        """Advance one step; returns the boolean mask of neurons that spike."""
        c = self.const
        self.g_background += rng.poisson(c.background_p) * c.jump_background
        drive = (self.g_ampa * (1.0 - ampa_block) + self.g_nmda * (1.0 - nmda_block)
                 - self.g_gaba + self.g_background + extra_mV)
        target = c.v_rest_mV + drive
        free = self.refractory_left == 0
        self.v_mV = np.where(free, target + (self.v_mV - target) * c.decay_m, self.v_mV)
        self.refractory_left[~free] -= 1
        spikes = free & (self.v_mV >= c.threshold_mV)
        if forced is not None:
            spikes |= forced
        self.v_mV[spikes] = c.v_reset_mV[spikes]
        self.refractory_left[spikes] = c.refractory_steps[spikes]
        self.g_ampa *= c.decay_ampa
        self.g_nmda *= c.decay_nmda
        self.g_gaba *= c.decay_gaba
        self.g_background *= c.decay_background
        return spikes

    def receive(self, glutamate_quanta: np.ndarray, gaba_quanta: np.ndarray) -> None:
        """Add the quanta delivered this step to the synaptic drives."""
        c = self.const
        self.g_ampa += glutamate_quanta * c.jump_ampa
        self.g_nmda += glutamate_quanta * c.jump_nmda
        self.g_gaba += gaba_quanta * c.jump_gaba
