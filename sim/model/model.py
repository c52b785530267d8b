"""SynapseNetworkModel: a Mesa model of vesicle recycling in a network of LIF neurons.

Two clocks. The fast clock (``protocol.dt_ms``) runs compiled in
``sim.model.kernels``: membranes and synaptic currents, spiking, release, priming,
spike-event delivery along the sparse connectivity and ambient glutamate, for
every neuron at once. The slow clock (``protocol.slow_dt_ms``) updates, with
vectorised numpy, endocytosis, the reserve exchange, adenosine, A1 occupancy
and release probability, the firing-rate trace, phospho-synapsin and the drug
effects. ``step()`` advances one fast step; ``run()`` advances in chunks that
end where a slow update, a time-series row or a stimulus falls.

Readouts: ``recorder`` (``sim.model.readouts.Recorder``) writes a time-series row
every ``protocol.record_interval_ms`` and is the source of the output files.
Right after each row, ``datacollector`` (a Mesa ``DataCollector``) collects a
few of that row's columns (``sim.model.readouts.DATACOLLECTOR_COLUMNS``), so it holds
one entry per record interval, not one per ``step()``.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from sim.errors import OutputError
from sim.model import kernels
from sim.model.agents import GABAergicNeuron, GlutamatergicNeuron
from sim.model.membrane import initial_membrane, membrane_constants
from sim.model.network import build_connectivity, network_space
from sim.model.params import CELL_TYPES, Scenario
from sim.model.pharmacology import Pharmacology
from sim.model.protocols import Protocol
from sim.model.readouts import Recorder, datacollector
from sim.model.vesicles import BoutonParameters, VesiclePools, initial_pools, step_probability

AVOGADRO = 6.02214076e23
#: firing rates (Hz) used only to start the pools near their steady state; the warm-up removes them
INITIAL_RATE_HZ = {"glutamatergic": 3.0, "gabaergic": 10.0}
#: networks up to this size also get a Mesa Network space on request
MAX_SPACE_NEURONS = 5000


class SynapseNetworkModel(mesa.Model):
    """Glutamatergic and GABAergic neurons with vesicle pools, adenosine feedback and drugs.

    Args:
        scenario: validated parameters (see ``sim.model.scenario.load_scenario``).
        condition: name of the drug condition in the scenario (``vehicle`` = no drug).
        seed: master seed; defaults to the scenario's ``seed``.
        threads: threads that step the network (1 to ``kernels.max_threads()``); results do not depend on it.
    """

    def __init__(self, scenario: Scenario, condition: str = "vehicle", seed: int | None = None, threads: int = 1):
        seed = scenario.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        self.params, self.condition_name, self.seed = scenario, condition, seed
        self.threads = kernels.check_threads(threads)
        net_rng, draw_rng, protocol_rng, self.dynamics_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))
        proto = scenario.protocol
        self.dt_s = proto.dt_ms / 1000.0
        self.n_steps = int(round(proto.duration_s / self.dt_s))
        self.slow_every = max(1, int(round(proto.slow_dt_ms / proto.dt_ms)))
        self.record_every = max(1, int(round(proto.record_interval_ms / proto.dt_ms)))
        self.step_index, self.time_s = 0, 0.0

        self.connectivity = build_connectivity(scenario.network, net_rng)
        #: threads the kernels use: ``threads``, but at most one per block of neurons (``kernels.BLOCK_NEURONS``)
        self.parallel_threads = min(self.threads, kernels.n_blocks(self.connectivity.n_neurons))
        exc = self.connectivity.is_excitatory
        self.type_index = {"glutamatergic": np.flatnonzero(exc), "gabaergic": np.flatnonzero(~exc)}
        n_exc = int(exc.sum())  # glutamatergic neurons come first, so each type is a contiguous block
        self.type_slice = {"glutamatergic": slice(0, n_exc), "gabaergic": slice(n_exc, exc.size)}
        self._build_neurons(draw_rng)
        self.pharmacology = Pharmacology(scenario.pharmacology, scenario.condition(condition))
        self.protocol = Protocol.build(proto.stimuli, exc, self.dt_s, self.n_steps, protocol_rng)
        self._protocol_boundaries = self.protocol.boundaries()
        self._event_steps = sorted(self._protocol_boundaries | set(self.protocol.pulses))
        self.recorder = Recorder(self)
        #: Mesa DataCollector: one entry per time-series row (see ``sim.model.readouts.DATACOLLECTOR_COLUMNS``)
        self.datacollector = datacollector()
        self._init_state()
        self._space = None
        for kind, cls in (("glutamatergic", GlutamatergicNeuron), ("gabaergic", GABAergicNeuron)):
            for i in self.type_index[kind]:
                cls(self, int(i))

    # ------------------------------------------------------------------ construction

    def _by_type(self, section) -> list[tuple[np.ndarray, object]]:
        return [(self.type_index[k], getattr(section, k)) for k in CELL_TYPES]

    def _build_neurons(self, rng: np.random.Generator) -> None:
        s, n = self.params, self.connectivity.n_neurons
        self.bouton = BoutonParameters.draw(rng, self._by_type(s.vesicles), n)
        self.cell = membrane_constants(self._by_type(s.neurons), s.synapses, s.protocol.dt_ms, n, rng)
        self.membrane = initial_membrane(self.cell, rng)
        self.priming_hazard = self.bouton.priming_rate_per_s * self.dt_s           # per empty site per step
        self.spontaneous_hazard = self.bouton.spontaneous_rate_per_s * self.dt_s   # per primed vesicle per step
        self.boutons_per_neuron = np.maximum(self.connectivity.out_degree, 1)
        g = s.glutamate
        volume_l = g.extracellular_volume_per_neuron_um3 * n * 1e-15
        self.uM_per_molecule = g.spillover_fraction / (AVOGADRO * volume_l) * 1e6
        self.eaat_decay = float(np.exp(-self.dt_s / g.eaat_tau_s))

    def _init_state(self) -> None:
        s, n = self.params, self.connectivity.n_neurons
        self.drugs = self.pharmacology.effects(0.0)
        self.adenosine_uM = np.full(n, s.adenosine.baseline_uM)
        self.synapsin = np.full(n, s.synapsin.baseline)
        self.rate_trace_hz = np.zeros(n)
        for kind in CELL_TYPES:
            self.rate_trace_hz[self.type_index[kind]] = INITIAL_RATE_HZ[kind]
        self.ampa_quanta = np.zeros(n)
        self.slow_spike_count = np.zeros(n, dtype=np.int64)
        self.a1_occupancy, self.p_release = np.zeros(n), np.zeros(n)
        self._update_release_probability()
        self._update_synapsin(relax=1.0)
        self.pools = VesiclePools(self.bouton, initial_pools(self.bouton, self.rate_trace_hz, self.synapsin,
                                                            self.p_release))
        self.streams = kernels.seed_streams(self.dynamics_rng, n)
        self.pools.start_clocks(self.streams)
        self.ambient_glutamate_uM = s.glutamate.nonvesicular_uM_per_s * s.glutamate.eaat_tau_s
        self._endocytosis_factors = None  # the drugs' factors the endocytosis rates were last computed for
        self._set_endocytosis_rate()
        self._zeros_bool = np.zeros(n, dtype=bool)
        self.extra_mV = np.zeros(n)  # applied depolarisation (mV)
        self.dye_in_bath = False
        self.spiked = np.zeros(n, dtype=np.bool_)
        self.released = np.zeros(n, dtype=np.int64)
        self._build_engine_records()

    def _build_engine_records(self) -> None:
        """The compiled fast clock's state and constants (``sim.model.kernels``), views of the model's arrays."""
        pools, rec, g = self.pools, self.recorder, self.params.glutamate
        indptr, indices = self.connectivity.unsigned_csr
        counts = kernels.StepCounts(
            spiked=self.spiked, released=self.released, spike_count=rec.spike_count,
            released_count=rec.released_count, slow_spike_count=self.slow_spike_count, ampa_quanta=self.ampa_quanta,
            senders=np.zeros_like(self.released), block_senders=np.zeros(self.streams.shape[0], dtype=np.int64))
        pool_state = kernels.PoolState(
            rrp=pools.rrp, recycling=pools.recycling, surface=pools.surface, rrp_dye=pools.rrp_dye,
            recycling_dye=pools.recycling_dye, spontaneous_clock=pools.spontaneous_clock,
            priming_clock=pools.priming_clock)
        self.engine_state = kernels.FastState(streams=self.streams, membrane=self.membrane, pools=pool_state,
                                              counts=counts)
        release = kernels.ReleaseConstants(
            release_sites=self.bouton.release_sites, p_release=self.p_release,
            spontaneous_hazard=self.spontaneous_hazard, priming_hazard=self.priming_hazard)
        network = kernels.NetworkConstants(
            is_excitatory=self.connectivity.is_excitatory, indptr=indptr, indices=indices,
            boutons=self.boutons_per_neuron, eaat_decay=self.eaat_decay,
            nonvesicular_uM_per_step=g.nonvesicular_uM_per_s * self.dt_s, uM_per_molecule=self.uM_per_molecule,
            molecules_per_vesicle=g.molecules_per_vesicle)
        self.engine_constants = kernels.FastConstants(cell=self.cell, release=release, network=network)

    # ------------------------------------------------------------------ slow variables

    def _update_release_probability(self) -> None:
        """A1 occupancy from the adenosine at each neuron's targets, and the resulting release probability."""
        a, (indptr, indices) = self.params.adenosine, self.connectivity.unsigned_csr
        args = (indptr, indices, self.adenosine_uM, self.drugs.adenosine_bath_uM, a.a1_ec50_uM, a.a1_hill,
                self.drugs.a1_block, self.bouton.release_probability, self.bouton.a1_max_inhibition, self.a1_occupancy,
                self.p_release)
        if self.parallel_threads > 1:
            self._use_threads()
            kernels.a1_release_probability_parallel(self.parallel_threads, *args)
        else:
            kernels.a1_release_probability(0, self.p_release.size, *args)

    def _update_synapsin(self, relax: float) -> None:
        """Move phospho-synapsin a fraction ``relax`` towards its activity- and A1-dependent target."""
        p = self.params.synapsin
        kernels.relax_synapsin(self.synapsin, self.rate_trace_hz, self.a1_occupancy, p.baseline,
                               p.activity_gain_per_hz, p.a1_gain, relax)

    def _set_endocytosis_rate(self) -> None:
        """Each bouton's endocytosis rate (per s per surface vesicle) under the drugs' effect on its type."""
        factors = (self.drugs.endocytosis_factor_glu, self.drugs.endocytosis_factor_gaba)
        if factors != self._endocytosis_factors:
            self._endocytosis_factors = factors
            self.endocytosis_rate_per_s = self.bouton.endocytosis_rate_per_s * np.where(
                self.connectivity.is_excitatory, *factors)

    @property
    def p_endocytosis(self) -> np.ndarray:
        """Probability that a surface vesicle is retrieved within one slow step."""
        return step_probability(self.endocytosis_rate_per_s, self.slow_every * self.dt_s)

    def _slow_update(self) -> None:
        s = self.params
        span_s = self.slow_every * self.dt_s
        self.drugs = self.pharmacology.effects(self.time_s)
        self._set_endocytosis_rate()
        ad = s.adenosine
        per_quantum_uM = ad.release_per_quantum_uM * self.drugs.adenosine_gain * (1.0 - self.drugs.ampa_block)
        kernels.relax_adenosine(self.adenosine_uM, self.ampa_quanta, ad.baseline_uM,
                                _relax_fraction(ad.tau_s, span_s), per_quantum_uM)
        self._update_release_probability()
        kernels.relax_rate_trace(self.rate_trace_hz, self.slow_spike_count, span_s,
                                 _relax_fraction(s.synapsin.activity_tau_s, span_s))
        self._update_synapsin(relax=_relax_fraction(s.synapsin.tau_s, span_s))
        self._use_threads()
        self.pools.retrieve_and_exchange(self.streams, self.endocytosis_rate_per_s, self.synapsin, span_s,
                                         self.dye_in_bath, self.recorder.endocytosed, self.parallel_threads)

    # ------------------------------------------------------------------ one time step

    def step(self) -> None:
        """Advance all neurons by one time step ``dt``."""
        self._advance(1)

    def _next_event(self, k: int) -> int:
        """The first step after ``k`` at which something other than the fast dynamics happens."""
        events = [self._next_multiple(k, self.slow_every), self._next_multiple(k, self.record_every), self.n_steps]
        events += [s for s in self._event_steps if s > k][:1]
        return min(events)

    @staticmethod
    def _next_multiple(k: int, every: int) -> int:
        return (k // every + 1) * every

    def _advance(self, n_steps: int) -> None:
        """Advance ``n_steps`` steps, in chunks that end where slow updates, records or stimuli fall."""
        stop = self.step_index + n_steps
        while self.step_index < stop:
            k = self.step_index
            if k in self._protocol_boundaries:
                self.extra_mV[:] = self.protocol.depolarisation_mV(k)
                self.dye_in_bath = self.protocol.dye_in_bath(k)
            if k % self.slow_every == 0:
                self._slow_update()
            forced = self.protocol.forced(k)
            chunk = 1 if forced is not None else min(stop, self._next_event(k)) - k
            rrp_before = self.pools.rrp.copy() if forced is not None else None
            molecules = self._run_kernel(chunk, forced)
            self.recorder.add_steps(chunk, molecules)
            self.step_index += chunk
            self.time_s = self.step_index * self.dt_s
            if forced is not None:
                self.recorder.pulse(self.protocol.pulses[k], k * self.dt_s, rrp_before, self.released, molecules)
            if self.step_index % self.record_every == 0:
                self.recorder.record()
                self.datacollector.collect(self)

    def _run_kernel(self, n_steps: int, forced: np.ndarray | None) -> float:
        """Run the compiled fast clock for ``n_steps``; returns glutamate molecules released."""
        inputs = kernels.FastInputs(
            ampa_block=self.drugs.ampa_block, nmda_block=self.drugs.nmda_block, extra_mV=self.extra_mV,
            forced=self._zeros_bool if forced is None else forced, force_first=forced is not None,
            track_dye=self.pools.any_dye)
        self._use_threads()
        self.ambient_glutamate_uM, molecules = kernels.run_steps(
            n_steps, self.engine_state, self.engine_constants, inputs, self.ambient_glutamate_uM,
            self.parallel_threads)
        return molecules

    def _use_threads(self) -> None:
        """Let the compiled kernels called next from this thread use ``parallel_threads`` threads."""
        if self.parallel_threads > 1:
            kernels.use_threads(self.parallel_threads)

    # ------------------------------------------------------------------ running

    def run(self, progress: bool = False) -> None:
        """Run the whole protocol (``protocol.duration_s``), with an optional progress bar."""
        from tqdm import tqdm

        chunk = max(1, self.n_steps // 200)
        with tqdm(total=self.n_steps * self.dt_s, unit="s bio", disable=not progress,
                  bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s biological [{elapsed}<{remaining}]") as bar:
            while self.step_index < self.n_steps:
                self._advance(min(chunk, self.n_steps - self.step_index))
                bar.update(self.time_s - bar.n)

    @property
    def network_space(self):
        """A Mesa ``Network`` space of the neurons (built on first use; small networks only)."""
        if self._space is None:
            n = self.connectivity.n_neurons
            if n > MAX_SPACE_NEURONS:
                raise ValueError(f"network space is built only up to {MAX_SPACE_NEURONS} neurons, not {n}")
            agents = sorted(self.agents, key=lambda a: a.index)
            self._space = network_space(self.connectivity, agents, self.random)
        return self._space


def resolve_threads(threads: int | None, name: str = "threads =") -> int:
    """``threads`` for a single run: all cores where None; OutputError naming ``name`` where out of range."""
    try:
        return kernels.check_threads(kernels.max_threads() if threads is None else threads, name)
    except ValueError as err:
        raise OutputError(str(err)) from None


def _relax_fraction(tau_s: float, span_s: float) -> float:
    """Fraction of the way to its target that a variable with time constant ``tau_s`` moves in ``span_s``."""
    return -math.expm1(-span_s / tau_s)
