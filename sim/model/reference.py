"""The readable specification of the model: the synapse network written the plain Mesa way, agent by agent.

The fast engine (``sim.model.model.SynapseNetworkModel`` with ``sim.model.kernels``) is checked against it
(tests/model/test_reference.py: agreement in distribution) and measured against it (benchmarks/bench.py). A newcomer
reads the biology here: each neuron's ``step()`` is the whole of what one neuron does in one time step.

The model of ``sim.model.model.SynapseNetworkModel`` written the plain Mesa way: each
neuron is a ``mesa.Agent`` with its own state in Python attributes (pools as
ints, membrane potential, synaptic drives, adenosine at its site, synapsin, its
parameter draws) and its own ``step()`` with scalar random draws. The model's
``step()`` runs the slow clock (drugs, adenosine, A1, synapsin, reserve pool),
forces stimulated cells to fire, calls ``self.agents.shuffle_do("step")``, then
lets each neuron that released vesicles add its quanta to its targets (a list
of agents; delivered after all neurons have stepped, so the order of the
shuffle does not matter) and updates the ambient glutamate.

Shared with the engine: scenario loading, ``build_connectivity``, the per-neuron
parameter draws (``BoutonParameters.draw``, ``membrane_constants``) and the drug
functions; none of its vectorised state classes. With the same seed the network,
the draws and the initial potentials equal the engine's; the dynamics use their
own random streams, so the two agree in distribution, not bit for bit. FM-dye
labels are not tracked (they do not affect the dynamics). Endocytosis is drawn
every fast step here and every slow step in the engine: both sample the same
continuous-time retrieval exactly at their own clock, an independent check of
the engine's coarser clock.

``python -m sim.model.reference [key=value ...]`` runs a small scenario
and prints its readouts and the wall time per neuron-step.
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import mesa
import numpy as np

from sim.model.membrane import membrane_constants
from sim.model.model import AVOGADRO, INITIAL_RATE_HZ
from sim.model.network import build_connectivity
from sim.model.params import CELL_TYPES, SUFFIX, Scenario
from sim.model.pharmacology import Pharmacology
from sim.model.scenario import load_scenario
from sim.model.vesicles import BoutonParameters

POOLS = ("rrp", "surface", "recycling", "reserve")


def p_step(rate_per_s: float, dt_s: float) -> float:
    """Probability of an event of the given rate within ``dt_s``."""
    return -math.expm1(-rate_per_s * dt_s)


def binomial(model: mesa.Model, n: int, p: float) -> int:
    """Binomial(n, p) by inversion with one uniform (exact); numpy for large means."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if n * p > 20.0:
        return int(model.rng.binomial(n, p))
    u, q = model.random.random(), 1.0 - p
    pk = q ** n
    cdf, k, ratio = pk, 0, p / q
    while u > cdf and k < n:
        pk *= ratio * (n - k) / (k + 1)
        k += 1
        cdf += pk
    return k


def poisson(model: mesa.Model, lam: float, exp_minus_lam: float) -> int:
    """Poisson(lam) by inversion with one uniform (exact); numpy for large means."""
    if lam > 20.0:
        return int(model.rng.poisson(lam))
    u, k, pk = model.random.random(), 0, exp_minus_lam
    cdf = pk
    while u > cdf and k < 200:
        k += 1
        pk *= lam / k
        cdf += pk
    return k


class Neuron(mesa.Agent):
    """A LIF neuron with one representative presynaptic bouton; all state in plain attributes."""

    kind = "neuron"

    def __init__(self, model: ReferenceModel, index: int, bouton: BoutonParameters, const) -> None:
        super().__init__(model)
        i, dt_s = index, model.dt_s
        self.index = index
        self.targets: list[Neuron] = []
        self.boutons = 1                   # boutons = targets (>= 1): scales glutamate per vesicle
        # parameter draws of this neuron
        self.release_sites = int(bouton.release_sites[i])
        self.p0 = float(bouton.release_probability[i])
        self.a1_max_inhibition = float(bouton.a1_max_inhibition[i])
        self.priming_rate = float(bouton.priming_rate_per_s[i])
        self.spontaneous_rate = float(bouton.spontaneous_rate_per_s[i])
        self.endocytosis_rate = float(bouton.endocytosis_rate_per_s[i])
        self.mobilisation_rate = float(bouton.mobilisation_rate_per_s[i])
        self.tethering_rate = float(bouton.tethering_rate_per_s[i])
        self.p_prime = p_step(self.priming_rate, dt_s)
        self.p_spontaneous = p_step(self.spontaneous_rate, dt_s)
        self.p_tether = p_step(self.tethering_rate, model.slow_span_s)
        self.v_rest_mV = float(const.v_rest_mV[i])
        self.v_reset_mV = float(const.v_reset_mV[i])
        self.threshold_mV = float(const.threshold_mV[i])
        self.membrane_decay = float(const.membrane_decay[i])
        self.refractory_steps = int(const.refractory_steps[i])
        self.background_events_per_step = float(const.background_events_per_step[i])
        self.background_exp = math.exp(-self.background_events_per_step)
        self.background_jump_mV = float(const.background_jump_mV[i])
        self.ampa_jump_mV = float(const.ampa_jump_mV[i])
        self.nmda_jump_mV = float(const.nmda_jump_mV[i])
        self.gaba_jump_mV = float(const.gaba_jump_mV[i])
        # state
        self.v_mV = 0.0                    # set by the model (initial draw shared with the engine)
        self.ampa_drive_mV = self.nmda_drive_mV = self.gaba_drive_mV = self.background_drive_mV = 0.0
        self.refractory_steps_left = 0
        self.extra_mV = 0.0                # high-K+ depolarisation
        self.forced = False                # a stimulation pulse makes this cell fire this step
        self.released = 0                  # vesicles released this step
        self.adenosine_uM = model.params.adenosine.baseline_uM
        self.ampa_quanta = 0.0             # glutamate quanta received since the last slow update
        self.slow_spike_count = 0
        self.rate_trace_hz = INITIAL_RATE_HZ[self.kind]
        self.synapsin = model.params.synapsin.baseline
        self.a1_occupancy = self.p_release = self.p_endocytosis = 0.0
        self.rrp = self.surface = self.recycling = self.reserve = 0

    # ------------------------------------------------------------------ slow clock

    def update_adenosine(self) -> None:
        """Adenosine at this neuron's postsynaptic site: relaxation plus AMPA-driven release."""
        m, d = self.model, self.model.drugs
        per_quantum = m.adenosine_per_quantum_uM * d.adenosine_gain * (1.0 - d.ampa_block)
        self.adenosine_uM += ((m.adenosine_baseline_uM - self.adenosine_uM) * m.p_adenosine_relax
                              + per_quantum * self.ampa_quanta)
        self.ampa_quanta = 0.0

    def update_release_probability(self) -> None:
        """A1 occupancy from the mean adenosine at the targets' sites (retrograde), and p_release."""
        m, a = self.model, self.model.params.adenosine
        if self.targets:
            at_targets = sum(t.adenosine_uM for t in self.targets) / len(self.targets)
        else:
            at_targets = self.adenosine_uM
        hill = (at_targets + m.drugs.adenosine_bath_uM) ** a.a1_hill
        self.a1_occupancy = hill / (hill + a.a1_ec50_uM ** a.a1_hill) * (1.0 - m.drugs.a1_block)
        self.p_release = self.p0 * (1.0 - self.a1_max_inhibition * self.a1_occupancy)

    def relax_synapsin(self, fraction: float) -> None:
        s = self.model.params.synapsin
        target = s.baseline + s.activity_gain_per_hz * self.rate_trace_hz - s.a1_gain * self.a1_occupancy
        self.synapsin += (min(max(target, 0.0), 1.0) - self.synapsin) * fraction

    def set_endocytosis_probability(self) -> None:
        d = self.model.drugs
        factor = d.endocytosis_factor_glu if self.kind == "glutamatergic" else d.endocytosis_factor_gaba
        self.p_endocytosis = p_step(self.endocytosis_rate * factor, self.model.dt_s)

    def slow_step(self) -> None:
        """Drug effect on endocytosis, A1, firing-rate trace, synapsin, reserve <-> recycling exchange."""
        m = self.model
        self.set_endocytosis_probability()
        self.update_release_probability()
        self.rate_trace_hz += (self.slow_spike_count / m.slow_span_s - self.rate_trace_hz) * m.p_activity
        self.slow_spike_count = 0
        self.relax_synapsin(m.p_synapsin)
        mobilised = binomial(m, self.reserve, p_step(self.mobilisation_rate * self.synapsin, m.slow_span_s))
        tethered = binomial(m, self.recycling, self.p_tether)
        self.reserve += tethered - mobilised
        self.recycling += mobilised - tethered

    # ------------------------------------------------------------------ one time step

    def step(self) -> None:
        """Membrane, spike, release, endocytosis and priming of this neuron for one ``dt``."""
        m = self.model
        events = poisson(m, self.background_events_per_step, self.background_exp)
        self.background_drive_mV += events * self.background_jump_mV
        if self.refractory_steps_left == 0:
            target = self.v_rest_mV + (self.ampa_drive_mV * m.ampa_pass + self.nmda_drive_mV * m.nmda_pass
                                    - self.gaba_drive_mV + self.background_drive_mV + self.extra_mV)
            self.v_mV = target + (self.v_mV - target) * self.membrane_decay
            spike = self.v_mV >= self.threshold_mV
        else:
            self.refractory_steps_left -= 1
            spike = False
        if self.forced:
            spike, self.forced = True, False
        if spike:
            self.v_mV = self.v_reset_mV
            self.refractory_steps_left = self.refractory_steps
            self.slow_spike_count += 1
            if m.counting:
                m.spikes[self.kind] += 1
        self.ampa_drive_mV *= m.ampa_decay
        self.nmda_drive_mV *= m.nmda_decay
        self.gaba_drive_mV *= m.gaba_decay
        self.background_drive_mV *= m.background_decay
        # release from the RRP: spontaneous, then evoked from what is left
        released = binomial(m, self.rrp, self.p_spontaneous)
        if spike:
            released += binomial(m, self.rrp - released, self.p_release)
        self.rrp -= released
        self.surface += released
        self.released = released
        if released:
            m.senders.append(self)
        # endocytosis, then priming of empty sites from the recycling pool
        retrieved = binomial(m, self.surface, self.p_endocytosis)
        self.surface -= retrieved
        self.recycling += retrieved
        primed = min(binomial(m, self.release_sites - self.rrp, self.p_prime), self.recycling)
        self.recycling -= primed
        self.rrp += primed

    def transmit(self) -> None:
        """Add this step's released quanta to the targets' synaptic drives."""
        raise NotImplementedError


class GlutamatergicNeuron(Neuron):
    kind = "glutamatergic"

    def transmit(self) -> None:
        q = self.released
        for t in self.targets:
            t.ampa_drive_mV += q * t.ampa_jump_mV
            t.nmda_drive_mV += q * t.nmda_jump_mV
            t.ampa_quanta += q
        self.model.glutamate_molecules += q * self.boutons * self.model.params.glutamate.molecules_per_vesicle


class GABAergicNeuron(Neuron):
    kind = "gabaergic"

    def transmit(self) -> None:
        q = self.released
        for t in self.targets:
            t.gaba_drive_mV += q * t.gaba_jump_mV


class ReferenceModel(mesa.Model):
    """The synapse network with per-agent Python state and per-agent ``step()``."""

    def __init__(self, scenario: Scenario, condition: str = "vehicle", seed: int = 0) -> None:
        super().__init__(rng=int(seed))
        self.params = s = scenario
        p = s.protocol
        net_rng, draw_rng, protocol_rng, _ = (np.random.default_rng(x) for x in np.random.SeedSequence(seed).spawn(4))
        self.dt_s = p.dt_ms / 1000.0
        self.n_steps = int(round(p.duration_s / self.dt_s))
        self.slow_every = max(1, int(round(p.slow_dt_ms / p.dt_ms)))
        self.record_every = max(1, int(round(p.record_interval_ms / p.dt_ms)))
        self.slow_span_s = self.slow_every * self.dt_s
        self.step_index, self.time_s = 0, 0.0
        self.pharmacology = Pharmacology(s.pharmacology, s.condition(condition))
        self.drugs = self.pharmacology.effects(0.0)
        self.ampa_pass, self.nmda_pass = 1.0 - self.drugs.ampa_block, 1.0 - self.drugs.nmda_block
        ad, syn = s.adenosine, s.synapsin
        self.adenosine_baseline_uM = ad.baseline_uM
        self.p_adenosine_relax = p_step(1.0 / ad.tau_s, self.slow_span_s)
        self.adenosine_per_quantum_uM = ad.release_per_quantum_uM
        self.p_activity = p_step(1.0 / syn.activity_tau_s, self.slow_span_s)
        self.p_synapsin = p_step(1.0 / syn.tau_s, self.slow_span_s)
        self.ampa_decay = math.exp(-p.dt_ms / s.synapses.ampa_tau_ms)
        self.nmda_decay = math.exp(-p.dt_ms / s.synapses.nmda_tau_ms)
        self.gaba_decay = math.exp(-p.dt_ms / s.synapses.gaba_tau_ms)
        self.background_decay = math.exp(-p.dt_ms / s.synapses.background_tau_ms)
        g = s.glutamate
        volume_l = g.extracellular_volume_per_neuron_um3 * s.network.n_neurons * 1e-15
        self.uM_per_molecule = g.spillover_fraction / (AVOGADRO * volume_l) * 1e6
        self.eaat_decay = math.exp(-self.dt_s / g.eaat_tau_s)
        self.ambient_glutamate_uM = g.nonvesicular_uM_per_s * g.eaat_tau_s
        self.glutamate_molecules = 0.0
        self.senders: list[Neuron] = []
        self.spikes = dict.fromkeys(CELL_TYPES, 0)
        self.counting = False

        # network and per-neuron parameter draws (same streams and order as the engine)
        conn = build_connectivity(s.network, net_rng)
        exc = conn.is_excitatory
        type_index = {"glutamatergic": np.flatnonzero(exc), "gabaergic": np.flatnonzero(~exc)}
        by_type = [(type_index[k], getattr(s.vesicles, k)) for k in CELL_TYPES]
        bouton = BoutonParameters.draw(draw_rng, by_type, conn.n_neurons)
        const = membrane_constants([(type_index[k], getattr(s.neurons, k)) for k in CELL_TYPES],
                                   s.synapses, p.dt_ms, conn.n_neurons, draw_rng)
        v0 = const.v_rest_mV + draw_rng.uniform(0.0, 1.0, conn.n_neurons) * (const.threshold_mV - const.v_rest_mV)
        self.neurons = [(GlutamatergicNeuron if exc[i] else GABAergicNeuron)(self, i, bouton, const)
                        for i in range(conn.n_neurons)]
        self.by_kind = {k: [self.neurons[i] for i in type_index[k]] for k in CELL_TYPES}
        indptr, indices = conn.post_by_pre.indptr, conn.post_by_pre.indices
        for i, neuron in enumerate(self.neurons):
            neuron.targets = [self.neurons[j] for j in indices[indptr[i]:indptr[i + 1]]]
            neuron.boutons = max(len(neuron.targets), 1)
            neuron.v_mV = float(v0[i])
        for neuron in self.neurons:
            self._init_neuron(neuron, int(bouton.total[neuron.index]))
        self._build_stimuli(protocol_rng, type_index)

        # readouts (after the warm-up; rows of ``record_every`` steps as in the engine's recorder)
        first_row = math.floor((p.warmup_s + 1e-12) / (self.record_every * self.dt_s)) + 1
        self.count_from = (first_row - 1) * self.record_every
        self.count_to = (self.n_steps // self.record_every) * self.record_every
        self.sums: dict[str, float] = defaultdict(float)   # sums over the sampled rows
        self.n_rows = 0
        self.pulse_release: list[dict[str, int]] = []

    def _init_neuron(self, n: Neuron, total: int) -> None:
        """Synapsin and pools near the steady state of the initial firing rate (as in the engine)."""
        n.update_release_probability()
        n.relax_synapsin(1.0)
        n.set_endocytosis_probability()
        n.rrp = round(n.release_sites / (1.0 + n.p_release * n.rate_trace_hz / n.priming_rate))
        flux = n.rate_trace_hz * n.p_release * n.rrp + n.spontaneous_rate * n.rrp
        n.surface = min(round(flux / n.endocytosis_rate), total - n.rrp)
        free = total - n.rrp - n.surface
        mob = n.mobilisation_rate * n.synapsin
        share = mob / (mob + n.tethering_rate) if mob + n.tethering_rate > 0 else 1.0
        n.recycling = round(free * share)
        n.reserve = free - n.recycling

    def _build_stimuli(self, rng: np.random.Generator, type_index: dict[str, np.ndarray]) -> None:
        """Pulses (step -> neurons forced to fire) and high-K+ windows; same draws as the engine's protocol."""
        self.pulses: dict[int, list[Neuron]] = {}
        self.windows: list[tuple[int, int, list[Neuron], float]] = []
        for stim in self.params.protocol.stimuli:
            pool = (np.arange(len(self.neurons)) if stim.target == "all" else type_index[stim.target])
            if stim.fraction < 1.0:
                pool = np.sort(rng.choice(pool, size=int(round(stim.fraction * pool.size)), replace=False))
            cells = [self.neurons[i] for i in pool]
            start = int(round(stim.start_s / self.dt_s))
            if stim.kind in ("high_k", "fm_dye"):
                if stim.kind == "high_k":
                    stop = min(self.n_steps, start + max(1, int(round(stim.duration_s / self.dt_s))))
                    self.windows.append((start, stop, cells, stim.depolarisation_mV))
                continue
            if stim.kind == "paired_pulse":
                times = stim.start_s + np.array([0.0, stim.interval_ms / 1000.0])
            elif stim.pattern == "poisson":
                times = stim.start_s + np.cumsum(rng.exponential(1.0 / stim.rate_hz, stim.n_pulses))
            else:
                times = stim.start_s + np.arange(stim.n_pulses) / stim.rate_hz
            for t in times:
                step = int(round(t / self.dt_s))
                if step < self.n_steps:
                    self.pulses.setdefault(step, []).extend(cells)
        self.window_edges = {e for w in self.windows for e in w[:2]}

    # ------------------------------------------------------------------ one model step

    def step(self) -> None:
        k = self.step_index
        if k % self.slow_every == 0:
            self.drugs = self.pharmacology.effects(self.time_s)
            self.ampa_pass, self.nmda_pass = 1.0 - self.drugs.ampa_block, 1.0 - self.drugs.nmda_block
            self.agents.do("update_adenosine")   # every site first: neighbours read each other's adenosine
            self.agents.do("slow_step")
        if k in self.window_edges:
            for n in self.neurons:
                n.extra_mV = 0.0
            for start, stop, cells, mV in self.windows:
                if start <= k < stop:
                    for n in cells:
                        n.extra_mV += mV
        for n in self.pulses.get(k, ()):
            n.forced = True
        self.counting = self.count_from <= k < self.count_to
        self.senders = []
        self.agents.shuffle_do("step")
        self.glutamate_molecules = 0.0
        for sender in self.senders:
            sender.transmit()
        g = self.params.glutamate
        self.ambient_glutamate_uM = (self.ambient_glutamate_uM * self.eaat_decay + g.nonvesicular_uM_per_s * self.dt_s
                                     + self.glutamate_molecules * self.uM_per_molecule)
        if k in self.pulses and k * self.dt_s > self.params.protocol.warmup_s + 1e-12:
            self.pulse_release.append({kind: sum(n.released for n in self.senders if n.kind == kind)
                                       for kind in CELL_TYPES})
        self.step_index += 1
        self.time_s = self.step_index * self.dt_s
        if self.counting and self.step_index % self.record_every == 0:
            self._sample()

    def _sample(self) -> None:
        """One row of the time series (as the engine's recorder): pools and slow variables by type."""
        self.n_rows += 1
        self.sums["ambient_glutamate_uM"] += self.ambient_glutamate_uM
        self.sums["adenosine_uM"] += (sum(n.adenosine_uM for n in self.neurons) / len(self.neurons)
                                      + self.drugs.adenosine_bath_uM)
        for kind, cells in self.by_kind.items():
            for name in (*POOLS, "p_release", "synapsin"):
                self.sums[f"{name}_{SUFFIX[kind]}"] += sum(getattr(n, name) for n in cells) / max(len(cells), 1)

    def run(self) -> None:
        for _ in range(self.n_steps - self.step_index):
            self.step()

    def summary(self) -> dict[str, float]:
        """Readouts after the warm-up, named as in ``sim.model.readouts.summarise``."""
        span_s = (self.count_to - self.count_from) * self.dt_s
        out = {key: total / self.n_rows for key, total in self.sums.items()} if self.n_rows else {}
        for kind, cells in self.by_kind.items():
            t, n = SUFFIX[kind], max(len(cells), 1)
            out[f"rate_{t}_hz"] = self.spikes[kind] / n / span_s if span_s > 0 else math.nan
            released = [row[kind] for row in self.pulse_release]
            out[f"evoked_release_{t}_per_pulse"] = float(np.mean(released)) / n if released else math.nan
            out[f"release_probability_{t}"] = out.pop(f"p_release_{t}", math.nan)
            out[f"phospho_synapsin_{t}"] = out.pop(f"synapsin_{t}", math.nan)
        return out


def run_reference(scenario: Scenario, condition: str = "vehicle", seed: int = 0) -> dict[str, float]:
    """Run the reference model once; returns its summary readouts plus ``wall_s`` and ``neuron_steps``."""
    start = time.perf_counter()
    model = ReferenceModel(scenario, condition, seed)
    model.run()
    out = model.summary()
    out["wall_s"] = time.perf_counter() - start
    out["neuron_steps"] = float(len(model.neurons) * model.n_steps)
    return out


SMALL = ["network.n_neurons=150", "network.excitatory_in_degree=40", "network.inhibitory_in_degree=10",
         "protocol.duration_s=2.0", "protocol.warmup_s=0.5",
         'protocol.stimuli=[{kind = "train", start_s = 1.0, rate_hz = 20.0, n_pulses = 10}]']


if __name__ == "__main__":
    normal = Path(__file__).resolve().parents[2] / "scenarios" / "normal.toml"
    scenario, _ = load_scenario(normal, SMALL + sys.argv[1:])
    result = run_reference(scenario, "vehicle", seed=1)
    for key, value in result.items():
        print(f"{key:34s} {value:.6g}")
    print(f"wall time per neuron-step: {result['wall_s'] / result['neuron_steps'] * 1e6:.2f} us "
          f"({scenario.network.n_neurons} neurons, {scenario.protocol.duration_s:g} s biological)")
