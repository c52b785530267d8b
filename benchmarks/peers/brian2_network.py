"""The peer network in Brian2 (cython code generation), timed: prints one JSON line.

    PEERS_PYTHON benchmarks/peers/brian2_network.py NEURONS SECONDS

Runs in its own environment (Brian2 2.9 needs numpy < 2.3; see
``benchmarks/peers/README.md``). The network has the engine's size and wiring
and a simpler model: leaky integrate-and-fire neurons (80 % excitatory) with
the parameters of ``scenarios/normal.toml`` (membrane and synaptic time
constants, threshold, reset, refractory periods, charge-equivalent weights as
drives in mV, Poisson background), a fixed in-degree of 80 excitatory and 20
inhibitory inputs without self-contacts or duplicates, and event-driven
Tsodyks-Markram short-term depression on every synapse (U = 0.2, tau_d =
500 ms, tau_f = 50 ms; Tsodyks & Markram 1997, PNAS 94:719-723) in place of
vesicle pools, adenosine and drugs; a spike releases ``SITES`` x u x x quanta.
Time step 0.5 ms. A first run of 50 ms, which compiles the code, is not timed.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from brian2 import Hz, Network, NeuronGroup, PoissonInput, SpikeMonitor, Synapses, defaultclock, ms, mV, prefs, seed

EQUATIONS = """
dv/dt = (-70 * mV - v + d_ampa + d_nmda - d_gaba + d_bg) / tau_m : volt (unless refractory)
dd_ampa/dt = -d_ampa / (5 * ms) : volt
dd_nmda/dt = -d_nmda / (100 * ms) : volt
dd_gaba/dt = -d_gaba / (10 * ms) : volt
dd_bg/dt = -d_bg / (5 * ms) : volt
tau_m : second (constant)
refractory_t : second (constant)
threshold_v : volt (constant)
jump_ampa : volt (constant)
jump_nmda : volt (constant)
jump_gaba : volt (constant)
"""
STP = """
du/dt = (0.2 - u) / (50 * ms) : 1 (event-driven)
dx/dt = (1 - x) / (500 * ms) : 1 (event-driven)
"""
RELEASE = "u += 0.2 * (1 - u)\n{drives}\nx -= u * x"
#: background events per step as Binomial(20, rate dt / 20), close to the engine's Poisson(rate dt)
BACKGROUND_SOURCES = 20
SITES = 10.0  # release sites per bouton (normal.toml): quanta per spike = SITES x u x x
#: per cell type (normal.toml): tau_m (ms), refractory (ms), background (Hz), weights (mV): bg, ampa, nmda, gaba
TYPES = {"exc": (20.0, 2.0, 1650.0, 0.5, 0.1, 0.02, 0.5), "inh": (10.0, 1.0, 3400.0, 0.5, 0.05, 0.5, 0.3)}


def sources(rng: np.random.Generator, n_post: int, lo: int, hi: int, k: int) -> np.ndarray:
    """``k`` distinct sources in [lo, hi) for each postsynaptic neuron, never itself: shape (n_post, k). The rule of
    ``sim.model.network.build_connectivity``, restated because this script runs where the project is not
    installed (the peers' venv)."""
    chosen = rng.integers(lo, hi, size=(n_post, k))
    posts = np.arange(n_post)[:, None]
    while True:
        chosen.sort(axis=1)
        bad = chosen == posts
        bad[:, 1:] |= chosen[:, 1:] == chosen[:, :-1]
        if not bad.any():
            return chosen
        chosen[bad] = rng.integers(lo, hi, size=int(bad.sum()))


def neurons(n: int, rng: np.random.Generator):
    """The neurons (excitatory first), their Poisson background, and the number of excitatory ones."""
    n_exc = round(0.8 * n)
    group = NeuronGroup(n, EQUATIONS, threshold="v > threshold_v", reset="v = -60 * mV",
                        refractory="refractory_t", method="exponential_euler")
    backgrounds = []
    for kind, part in (("exc", group[:n_exc]), ("inh", group[n_exc:])):
        tau_m, refractory, rate, w_bg, w_ampa, w_nmda, w_gaba = TYPES[kind]
        part.tau_m, part.refractory_t = tau_m * ms, refractory * ms
        part.threshold_v = (-50 + rng.standard_normal(len(part))) * mV
        part.jump_ampa, part.jump_nmda = w_ampa * tau_m / 5 * mV, w_nmda * tau_m / 100 * mV
        part.jump_gaba = w_gaba * tau_m / 10 * mV
        backgrounds.append(PoissonInput(part, "d_bg", N=BACKGROUND_SOURCES, rate=rate / BACKGROUND_SOURCES * Hz,
                                        weight=w_bg * tau_m / 5 * mV))
    group.v = (-70 + 20 * rng.uniform(size=n)) * mV
    return group, backgrounds, n_exc


def synapses(group, n_exc: int, rng: np.random.Generator) -> list:
    """Excitatory (AMPA + NMDA) and inhibitory (GABA) synapses with short-term depression."""
    n, out = len(group), []
    for lo, hi, k, drives in ((0, n_exc, 80, ("d_ampa_post += SITES * u * x * jump_ampa_post",
                                               "d_nmda_post += SITES * u * x * jump_nmda_post")),
                              (n_exc, n, 20, ("d_gaba_post += SITES * u * x * jump_gaba_post",))):
        pre = sources(rng, n, lo, hi, k)
        syn = Synapses(group, group, STP, on_pre=RELEASE.format(drives="\n".join(drives)),
                       namespace={"SITES": SITES})
        syn.connect(i=pre.ravel(), j=np.repeat(np.arange(n), k))
        syn.u, syn.x = 0.2, 1.0
        out.append(syn)
    return out


def main() -> None:
    n, seconds = int(float(sys.argv[1])), float(sys.argv[2])
    prefs.codegen.target = "cython"
    defaultclock.dt = 0.5 * ms
    seed(1)
    rng = np.random.default_rng(1)
    group, backgrounds, n_exc = neurons(n, rng)
    conns = synapses(group, n_exc, rng)
    spikes = SpikeMonitor(group, record=False)
    net = Network(group, *backgrounds, *conns, spikes)
    net.run(50 * ms)  # compiles; not timed
    before = int(spikes.num_spikes)
    start = time.perf_counter()
    net.run(seconds * 1000 * ms)
    wall = time.perf_counter() - start
    n_spikes = int(spikes.num_spikes) - before
    steps = int(round(seconds / 0.0005))
    n_synapses = sum(len(s) for s in conns)
    print(json.dumps({"neurons": n, "synapses": n_synapses, "bio_s": seconds, "wall_s": wall, "steps": steps,
                      "rate_hz": n_spikes / n / seconds, "synaptic_events": n_spikes * n_synapses / n}))


if __name__ == "__main__":
    main()
