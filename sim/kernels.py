"""Compiled (numba) kernels of the fast clock: one call advances every neuron by one step ``dt``.

``fast_step`` fuses, per neuron: Poisson background, the exponential-Euler
membrane update, spiking (threshold or forced), spontaneous then evoked release
from the RRP (FM-dye labels leave with fused vesicles), and priming of empty
release sites from the recycling pool (labels travel with primed vesicles).
``deliver`` then adds each sender's released quanta to its targets. All random
numbers come from the model's numpy ``Generator``, so a seed fixes every draw.
"""

from __future__ import annotations

import math

import numba
import numpy as np

JIT = {"cache": True, "nogil": True}


@numba.njit(**JIT)
def sparse_binomial(rng: np.random.Generator, n: int, p: float) -> int:
    """Binomial(n, p) drawn exactly, cheaply when n p is small (one uniform when nothing happens)."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if n * p > 0.05:
        return rng.binomial(n, p)
    u = rng.random()
    if u >= n * p:  # n p bounds P(at least one), so nothing happens
        return 0
    log_q = math.log1p(-p)
    if u >= -math.expm1(n * log_q):
        return 0
    # u is uniform on [0, P(at least one)): invert the geometric law of the first success within n trials
    first = min(n, max(1, int(math.ceil(math.log1p(-u) / log_q))))
    rest = n - first
    return 1 + (rng.binomial(rest, p) if rest > 0 else 0)


@numba.njit(**JIT)
def poisson_small(rng: np.random.Generator, lam: float, exp_minus_lam: float) -> int:
    """Poisson(lam) drawn exactly by inversion with one uniform (numpy's sampler above lam = 10)."""
    if lam <= 0.0:
        return 0
    if lam > 10.0:
        return rng.poisson(lam)
    u = rng.random()
    k, term = 0, exp_minus_lam
    cdf = term
    while u > cdf and term > 0.0:
        k += 1
        term *= lam / k
        cdf += term
    return k


@numba.njit(**JIT)
def hypergeometric_small(rng: np.random.Generator, good: int, total: int, draws: int) -> int:
    """How many of ``draws`` items taken without replacement from ``total`` are among ``good``."""
    if good <= 0 or draws <= 0:
        return 0
    if good >= total:
        return draws
    hits = 0
    for _ in range(draws):
        if rng.random() * total < good:
            hits += 1
            good -= 1
        total -= 1
    return hits


@numba.njit(**JIT)
def fast_step(rng, membrane, cell, decays, ampa_block, nmda_block, extra_mV, forced, use_forced,
              pools, probabilities, track_dye, counts):
    """Advance membranes and RRPs of all neurons by one step; fills the ``spikes`` and ``released`` counts.

    Arguments are grouped as ``SynapseNetworkModel._run_kernel`` passes them:
    membrane (v, g_ampa, g_nmda, g_gaba, g_bg, refractory_left), cell constants (v_rest, v_reset,
    threshold, decay_m, refractory_steps, background_p, background_exp, jump_background), decays of the
    AMPA, NMDA, GABA and background drives, pools (rrp, recycling, surface, release_sites, rrp_dye,
    recycling_dye), probabilities (p_release, p_spontaneous, p_prime) and counts (spikes, released,
    spike_count, released_count, slow_spike_count). Returns the number of neurons that released.
    """
    v, g_ampa, g_nmda, g_gaba, g_bg, refractory_left = membrane
    v_rest, v_reset, threshold, decay_m, refractory_steps, background_p, background_exp, jump_background = cell
    decay_ampa, decay_nmda, decay_gaba, decay_background = decays
    rrp, recycling, surface, release_sites, rrp_dye, recycling_dye = pools
    p_release, p_spontaneous, p_prime = probabilities
    spikes, released, spike_count, released_count, slow_spike_count = counts
    n_senders = 0
    for i in range(v.size):
        k = poisson_small(rng, background_p[i], background_exp[i])
        g_bg[i] += k * jump_background[i]
        spiked = False
        if refractory_left[i] > 0:
            refractory_left[i] -= 1
        else:
            drive = (g_ampa[i] * (1.0 - ampa_block) + g_nmda[i] * (1.0 - nmda_block)
                     - g_gaba[i] + g_bg[i] + extra_mV[i])
            target = v_rest[i] + drive
            v[i] = target + (v[i] - target) * decay_m[i]
            spiked = v[i] >= threshold[i]
        if use_forced and forced[i]:
            spiked = True
        if spiked:
            v[i] = v_reset[i]
            refractory_left[i] = refractory_steps[i]
        spikes[i] = spiked
        if spiked:
            spike_count[i] += 1
            slow_spike_count[i] += 1
        g_ampa[i] *= decay_ampa
        g_nmda[i] *= decay_nmda
        g_gaba[i] *= decay_gaba
        g_bg[i] *= decay_background

        out = sparse_binomial(rng, rrp[i], p_spontaneous[i])
        if spiked:
            out += rng.binomial(rrp[i] - out, p_release[i])
        if out > 0:
            if track_dye:
                rrp_dye[i] -= hypergeometric_small(rng, rrp_dye[i], rrp[i], out)
            rrp[i] -= out
            surface[i] += out
            n_senders += 1
        released[i] = out
        released_count[i] += out

        free = release_sites[i] - rrp[i]
        if free > 0 and recycling[i] > 0:
            primed = min(sparse_binomial(rng, free, p_prime[i]), recycling[i])
            if primed > 0:
                if track_dye:
                    moved = hypergeometric_small(rng, recycling_dye[i], recycling[i], primed)
                    recycling_dye[i] -= moved
                    rrp_dye[i] += moved
                recycling[i] -= primed
                rrp[i] += primed
    return n_senders


@numba.njit(**JIT)
def deliver(released, is_excitatory, indptr, indices, jump_ampa, jump_nmda, jump_gaba,
            g_ampa, g_nmda, g_gaba, ampa_quanta, boutons):
    """Add every sender's released quanta to its targets' synaptic drives.

    Returns the glutamatergic vesicles released summed over all boutons (vesicles x out-degree).
    """
    glutamate_vesicles = 0.0
    for j in range(released.size):
        q = released[j]
        if q == 0:
            continue
        if is_excitatory[j]:
            glutamate_vesicles += q * boutons[j]
            for s in range(indptr[j], indptr[j + 1]):
                t = indices[s]
                g_ampa[t] += q * jump_ampa[t]
                g_nmda[t] += q * jump_nmda[t]
                ampa_quanta[t] += q
        else:
            for s in range(indptr[j], indptr[j + 1]):
                t = indices[s]
                g_gaba[t] += q * jump_gaba[t]
    return glutamate_vesicles


@numba.njit(**JIT)
def run_steps(n_steps, rng, membrane, cell, decays, ampa_block, nmda_block, extra_mV, forced, force_first,
              pools, probabilities, track_dye, counts, network, glutamate):
    """Advance ``n_steps`` steps of ``dt``; returns (ambient glutamate in uM, glutamate molecules released).

    ``network`` is (is_excitatory, indptr, indices, jump_ampa, jump_nmda, jump_gaba, ampa_quanta, boutons);
    ``glutamate`` is (ambient_uM, eaat_decay, nonvesicular_uM_per_step, uM_per_molecule, molecules_per_vesicle).
    """
    g_ampa, g_nmda, g_gaba = membrane[1], membrane[2], membrane[3]
    released = counts[1]
    is_excitatory, indptr, indices, jump_ampa, jump_nmda, jump_gaba, ampa_quanta, boutons = network
    ambient_uM, eaat_decay, nonvesicular_uM_per_step, uM_per_molecule, molecules_per_vesicle = glutamate
    molecules_total = 0.0
    for step in range(n_steps):
        use_forced = force_first and step == 0
        n_senders = fast_step(rng, membrane, cell, decays, ampa_block, nmda_block, extra_mV, forced, use_forced,
                              pools, probabilities, track_dye, counts)
        molecules = 0.0
        if n_senders > 0:
            molecules = molecules_per_vesicle * deliver(released, is_excitatory, indptr, indices, jump_ampa,
                                                        jump_nmda, jump_gaba, g_ampa, g_nmda, g_gaba,
                                                        ampa_quanta, boutons)
        ambient_uM = ambient_uM * eaat_decay + nonvesicular_uM_per_step + molecules * uM_per_molecule
        molecules_total += molecules
    return ambient_uM, molecules_total


@numba.njit(**JIT)
def mean_over_targets(indptr, indices, values, fallback):
    """Each presynaptic neuron's mean of ``values`` over its targets; ``fallback`` where it has none."""
    out = np.empty(indptr.size - 1)
    for j in range(out.size):
        start, stop = indptr[j], indptr[j + 1]
        if stop == start:
            out[j] = fallback[j]
            continue
        total = 0.0
        for s in range(start, stop):
            total += values[indices[s]]
        out[j] = total / (stop - start)
    return out
