"""Random directed connectivity as sparse matrices (spikes are delivered along it in ``sim.model.kernels``)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from sim.model.params import NetworkParams


@dataclass
class Connectivity:
    """Who contacts whom: ``post_by_pre`` (CSR, rows = presynaptic neurons, columns = targets)."""

    n_neurons: int
    is_excitatory: np.ndarray   # bool per neuron
    post_by_pre: sp.csr_matrix  # presynaptic row -> its targets

    @property
    def n_synapses(self) -> int:
        return int(self.post_by_pre.nnz)

    @property
    def out_degree(self) -> np.ndarray:
        return np.diff(self.post_by_pre.indptr)

    @cached_property
    def unsigned_csr(self) -> tuple[np.ndarray, np.ndarray]:
        """``post_by_pre``'s (indptr, indices) as unsigned integers, which the compiled kernels index with no
        check for negative indices."""
        dtype = np.uint32 if self.n_synapses < 2**32 else np.uint64
        return self.post_by_pre.indptr.astype(dtype), self.post_by_pre.indices.astype(dtype)

    def to_networkx(self):
        """The connectivity as a networkx DiGraph (nodes carry ``kind``)."""
        import networkx as nx

        graph = nx.DiGraph()
        for i, exc in enumerate(self.is_excitatory):
            graph.add_node(i, kind="glutamatergic" if exc else "gabaergic")
        coo = self.post_by_pre.tocoo()
        graph.add_edges_from(zip(coo.row.tolist(), coo.col.tolist(), strict=False))
        return graph


def build_connectivity(params: NetworkParams, rng: np.random.Generator) -> Connectivity:
    """Fixed in-degree random connectivity without self-connections or duplicate contacts."""
    n = params.n_neurons
    n_exc = round(n * params.excitatory_fraction)
    is_exc = np.zeros(n, dtype=bool)
    is_exc[:n_exc] = True
    exc_sources = _sample_sources(rng, n, np.arange(n_exc), params.excitatory_in_degree)
    inh_sources = _sample_sources(rng, n, np.arange(n_exc, n), params.inhibitory_in_degree)
    sources = np.hstack([exc_sources, inh_sources])
    posts = np.repeat(np.arange(n), sources.shape[1])
    data = np.ones(posts.size, dtype=np.float32)
    matrix = sp.csr_matrix((data, (sources.ravel(), posts)), shape=(n, n))
    matrix.sort_indices()
    return Connectivity(n, is_exc, matrix)


def _sample_sources(rng: np.random.Generator, n_post: int, pool: np.ndarray, k: int) -> np.ndarray:
    """For each postsynaptic neuron, ``k`` distinct sources from ``pool``, never itself."""
    if k == 0:
        return np.zeros((n_post, 0), dtype=np.int64)
    chosen = pool[rng.integers(0, pool.size, size=(n_post, k))]
    posts = np.arange(n_post)[:, None]
    while True:
        chosen.sort(axis=1)
        bad = chosen == posts
        bad[:, 1:] |= chosen[:, 1:] == chosen[:, :-1]
        n_bad = int(bad.sum())
        if n_bad == 0:
            return chosen
        chosen[bad] = pool[rng.integers(0, pool.size, size=n_bad)]


def network_space(connectivity: Connectivity, agents, rng_random):
    """A Mesa ``Network`` space with each neuron agent placed in the cell of its node."""
    from mesa.discrete_space import Network

    kwargs = {"random": rng_random}
    if "layout" in inspect.signature(Network.__init__).parameters:
        kwargs["layout"] = None
    space = Network(connectivity.to_networkx(), capacity=1, **kwargs)
    for agent in agents:
        cell = space[agent.index]
        cell.add_agent(agent)
        agent.cell = cell
    return space
