"""Vesicle pools of every neuron's representative bouton and their slow-clock transitions.

Release and priming run on the fast clock, endocytosis and the reserve exchange
every ``protocol.slow_dt_ms``; both in the compiled kernels of ``sim.model.kernels``.

Pools (integer vesicle counts, their sum conserved exactly per neuron):
``rrp`` (docked, primed), ``surface`` (fused, pHluorin-visible), ``recycling``
(mobile), ``reserve`` (synapsin-tethered). FM-dye labels travel with vesicles:
``*_dye`` arrays hold the labelled part of each internal pool (a fused vesicle
loses its dye, so the surface pool carries none).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model import kernels
from sim.model.params import VesicleParams

POOLS = ("rrp", "surface", "recycling", "reserve")


def step_probability(rate_per_s: np.ndarray | float, dt_s: float) -> np.ndarray:
    """Probability that an event of the given rate happens within ``dt_s``: 1 - exp(-rate dt)."""
    return -np.expm1(-np.asarray(rate_per_s, dtype=float) * dt_s)


@dataclass
class BoutonParameters:
    """Each neuron's own draws of its bouton parameters (one entry per neuron)."""

    total: np.ndarray               # vesicles
    release_sites: np.ndarray       # sites
    release_probability: np.ndarray  # per primed vesicle per spike, without A1
    priming_rate_per_s: np.ndarray
    endocytosis_rate_per_s: np.ndarray
    mobilisation_rate_per_s: np.ndarray
    tethering_rate_per_s: np.ndarray
    spontaneous_rate_per_s: np.ndarray
    a1_max_inhibition: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, by_type: list[tuple[np.ndarray, VesicleParams]], n: int
             ) -> BoutonParameters:
        """Draw each neuron's parameters around its type's means with the type's CV."""
        out = {name: np.zeros(n, dtype=np.int64 if name in ("total", "release_sites") else float)
               for name in cls.__dataclass_fields__}
        for idx, vp in by_type:
            m, cv = idx.size, vp.heterogeneity_cv
            out["release_sites"][idx] = vp.release_sites
            total = np.rint(vp.total * _lognormal(rng, cv, m)).astype(np.int64)
            out["total"][idx] = np.maximum(total, vp.release_sites)
            out["release_probability"][idx] = _beta(rng, vp.release_probability, cv, m)
            out["priming_rate_per_s"][idx] = 1.0 / (vp.priming_tau_s * _lognormal(rng, cv, m))
            out["endocytosis_rate_per_s"][idx] = 1.0 / (vp.endocytosis_tau_s * _lognormal(rng, cv, m))
            out["mobilisation_rate_per_s"][idx] = vp.mobilisation_rate_per_s
            out["tethering_rate_per_s"][idx] = vp.tethering_rate_per_s
            out["spontaneous_rate_per_s"][idx] = vp.spontaneous_rate_per_s
            out["a1_max_inhibition"][idx] = vp.a1_max_inhibition
        return cls(**out)


def _lognormal(rng: np.random.Generator, cv: float, n: int) -> np.ndarray:
    """Multiplicative factors with mean 1 and coefficient of variation ``cv``."""
    if cv == 0:
        return np.ones(n)
    sigma2 = np.log1p(cv * cv)
    return rng.lognormal(-0.5 * sigma2, np.sqrt(sigma2), n)


def _beta(rng: np.random.Generator, mean: float, cv: float, n: int) -> np.ndarray:
    """Probabilities with the given mean and CV (Beta); the CV is capped where Beta cannot reach it."""
    if cv == 0 or mean in (0.0, 1.0):
        return np.full(n, mean)
    var = min((cv * mean) ** 2, 0.9 * mean * (1 - mean))
    if not var > 0.0:  # a CV too small to represent: no spread
        return np.full(n, mean)
    k = mean * (1 - mean) / var - 1
    return rng.beta(mean * k, (1 - mean) * k, n)


class VesiclePools:
    """Integer vesicle pools and FM-dye labels of all boutons, with their transitions."""

    def __init__(self, params: BoutonParameters, initial: dict[str, np.ndarray]):
        self.params = params
        self.rrp = initial["rrp"].astype(np.int64)
        self.surface = initial["surface"].astype(np.int64)
        self.recycling = initial["recycling"].astype(np.int64)
        self.reserve = initial["reserve"].astype(np.int64)
        zeros = np.zeros_like(self.rrp)
        self.rrp_dye, self.recycling_dye, self.reserve_dye = zeros.copy(), zeros.copy(), zeros.copy()
        self.any_dye = False

    @property
    def total(self) -> np.ndarray:
        """Vesicles per bouton, all pools (conserved)."""
        return self.rrp + self.surface + self.recycling + self.reserve

    @property
    def dye(self) -> np.ndarray:
        """FM-dye-labelled vesicles per bouton."""
        return self.rrp_dye + self.recycling_dye + self.reserve_dye

    def start_clocks(self, streams: np.ndarray) -> None:
        """Fresh hazard clocks (exponentials, mean 1) for spontaneous fusion and priming (see ``sim.model.kernels``),
        drawn from each block's stream (``kernels.seed_streams``)."""
        n = self.rrp.size
        self.spontaneous_clock = kernels.block_exponentials(streams, n)
        self.priming_clock = kernels.block_exponentials(streams, n)

    def retrieve_and_exchange(self, streams: np.ndarray, endocytosis_rate_per_s: np.ndarray, synapsin: np.ndarray,
                              span_s: float, dye_in_bath: bool, endocytosed: np.ndarray, threads: int = 1) -> None:
        """Over ``span_s``: endocytosis (surface -> recycling; vesicles retrieved while dye is in the bath take
        it up), then reserve <-> recycling exchange (mobilisation scaled by phospho-synapsin, re-tethering).
        Retrieved vesicles are added to ``endocytosed``; ``threads`` share the blocks of neurons."""
        self.any_dye = self.any_dye or dye_in_bath
        p = self.params
        pools = (self.surface, self.recycling, self.reserve, self.recycling_dye, self.reserve_dye)
        rates = (endocytosis_rate_per_s, p.mobilisation_rate_per_s, p.tethering_rate_per_s, synapsin)
        if threads > 1:
            kernels.retrieve_and_exchange_parallel(threads, streams, pools, rates, span_s, dye_in_bath, self.any_dye,
                                                   endocytosed)
        else:
            kernels.retrieve_and_exchange(0, streams.shape[0], streams, pools, rates, span_s, dye_in_bath,
                                          self.any_dye, endocytosed)


def initial_pools(p: BoutonParameters, rate_hz: np.ndarray, synapsin: np.ndarray,
                  p_release: np.ndarray) -> dict[str, np.ndarray]:
    """Pools near the steady state of a neuron firing at ``rate_hz`` (mean-field, rounded)."""
    tau_prime = 1.0 / p.priming_rate_per_s
    rrp = np.rint(p.release_sites / (1.0 + p_release * rate_hz * tau_prime)).astype(np.int64)
    flux = rate_hz * p_release * rrp + p.spontaneous_rate_per_s * rrp
    surface = np.minimum(np.rint(flux / p.endocytosis_rate_per_s).astype(np.int64), p.total - rrp)
    free = p.total - rrp - surface
    mob = p.mobilisation_rate_per_s * synapsin
    share = np.divide(mob, mob + p.tethering_rate_per_s, out=np.ones_like(mob),
                      where=(mob + p.tethering_rate_per_s) > 0)
    recycling = np.rint(free * share).astype(np.int64)
    return {"rrp": rrp, "surface": surface, "recycling": recycling, "reserve": free - recycling}
