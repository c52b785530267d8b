"""Neurons are real Mesa agents that read the model's arrays; connectivity and the Mesa Network space agree."""

from __future__ import annotations

import mesa
import numpy as np
import pytest
from helpers import NORMAL, build, overrides
from mesa.discrete_space import Network

from sim.model.agents import GABAergicNeuron, GlutamatergicNeuron, Neuron

SMALL = overrides(network__n_neurons=100, network__excitatory_in_degree=20, network__inhibitory_in_degree=5,
                  protocol__duration_s=0.5, protocol__warmup_s=0.1)


@pytest.fixture(scope="module")
def model():
    return build(NORMAL, SMALL, seed=3)


def test_agents_are_mesa_agents_of_the_model(model):
    agents = list(model.agents)
    n = model.params.network.n_neurons
    assert len(agents) == n == model.connectivity.n_neurons
    assert all(isinstance(a, mesa.Agent) and isinstance(a, Neuron) and a.model is model for a in agents)
    assert sorted(a.index for a in agents) == list(range(n))
    assert len({a.unique_id for a in agents}) == n


def test_counts_by_type_match_excitatory_fraction(model):
    net = model.params.network
    n_glu = round(net.n_neurons * net.excitatory_fraction)
    by_type = model.agents_by_type
    assert len(by_type[GlutamatergicNeuron]) == n_glu
    assert len(by_type[GABAergicNeuron]) == net.n_neurons - n_glu
    for agent in model.agents:
        glu = isinstance(agent, GlutamatergicNeuron)
        assert agent.kind == ("glutamatergic" if glu else "gabaergic")
        assert bool(model.connectivity.is_excitatory[agent.index]) is glu
        assert agent.index in model.type_index[agent.kind]


def agent_view(model) -> dict[str, np.ndarray]:
    agents = sorted(model.agents, key=lambda a: a.index)
    names = ("rrp", "surface", "recycling", "reserve", "fm_dye", "release_sites", "v_mV", "release_probability",
             "a1_occupancy", "adenosine_uM", "phospho_synapsin")
    return {name: np.array([getattr(a, name) for a in agents]) for name in names}


def model_view(model) -> dict[str, np.ndarray]:
    p = model.pools
    return {"rrp": p.rrp, "surface": p.surface, "recycling": p.recycling, "reserve": p.reserve, "fm_dye": p.dye,
            "release_sites": model.bouton.release_sites, "v_mV": model.membrane.v_mV,
            "release_probability": model.p_release, "a1_occupancy": model.a1_occupancy,
            "adenosine_uM": model.adenosine_uM, "phospho_synapsin": model.synapsin}


def test_agent_attributes_read_the_model_arrays_and_follow_the_steps():
    model = build(NORMAL, SMALL, seed=4)
    before = agent_view(model)
    for name, values in model_view(model).items():
        assert np.array_equal(before[name], values), name
    for _ in range(400):  # 0.2 s
        model.step()
    after = agent_view(model)
    for name, values in model_view(model).items():
        assert np.array_equal(after[name], values), f"{name} of the agents does not match the model after steps"
    for name in ("rrp", "surface", "v_mV", "adenosine_uM"):
        assert not np.array_equal(before[name], after[name]), f"{name} did not change in 0.2 s of activity"
    assert np.array_equal(after["rrp"] + after["surface"] + after["recycling"] + after["reserve"], model.bouton.total)


def test_targets_of_an_agent(model):
    post_by_pre = model.connectivity.post_by_pre.toarray() > 0
    for agent in model.agents:
        assert sorted(agent.targets) == np.flatnonzero(post_by_pre[agent.index]).tolist()


def test_network_space_holds_every_agent_and_the_connectivity(model):
    space = model.network_space
    assert isinstance(space, Network)
    assert model.network_space is space  # built once
    n = model.connectivity.n_neurons
    cells = list(space.all_cells)
    assert len(cells) == n
    for agent in model.agents:
        assert agent.cell is not None and agent.cell.coordinate == agent.index
        assert list(agent.cell.agents) == [agent]
    assert len(space.agents) == n
    coo = model.connectivity.post_by_pre.tocoo()
    edges = set(zip(coo.row.tolist(), coo.col.tolist(), strict=True))
    assert set(space.G.edges()) == edges
    assert space.G.number_of_edges() == model.connectivity.n_synapses
    # the cells are neighbours along the synapses
    for agent in list(model.agents)[:10]:
        neighbours = {c.coordinate for c in agent.cell.neighborhood}
        assert set(agent.targets) <= neighbours
    kinds = {node: data["kind"] for node, data in space.G.nodes(data=True)}
    assert all(kinds[a.index] == a.kind for a in model.agents)


def test_network_space_refused_for_large_networks():
    big = build(NORMAL, overrides(network__n_neurons=5001, network__excitatory_in_degree=1,
                                  network__inhibitory_in_degree=1, protocol__duration_s=0.01,
                                  protocol__warmup_s=0.0))
    with pytest.raises(ValueError, match="5000"):
        _ = big.network_space


@pytest.mark.parametrize("n, fraction, k_exc, k_inh, seed", [
    (100, 0.8, 20, 5, 1),
    (1000, 0.8, 80, 20, 2),   # the normal scenario's network
    (20, 0.8, 15, 3, 3),      # every possible partner: n_type - 1 for the cell's own type
    (60, 0.5, 0, 7, 4),
    (37, 0.7, 9, 0, 5),
])
def test_fixed_in_degree_without_self_loops_or_duplicates(n, fraction, k_exc, k_inh, seed):
    model = build(NORMAL, overrides(network__n_neurons=n, network__excitatory_fraction=fraction,
                                    network__excitatory_in_degree=k_exc, network__inhibitory_in_degree=k_inh,
                                    protocol__duration_s=0.01, protocol__warmup_s=0.0), seed=seed)
    conn = model.connectivity
    matrix = conn.post_by_pre.tocsc()
    exc = conn.is_excitatory
    assert exc.sum() == round(n * fraction)
    assert np.all(matrix.data == 1), "duplicate contacts (summed entries) in the connectivity"
    assert matrix.diagonal().sum() == 0, "self-connections"
    for post in range(n):
        sources = matrix.indices[matrix.indptr[post]:matrix.indptr[post + 1]]
        assert len(set(sources.tolist())) == sources.size
        assert post not in sources
        assert exc[sources].sum() == k_exc, f"neuron {post}: {exc[sources].sum()} glutamatergic inputs"
        assert (~exc[sources]).sum() == k_inh, f"neuron {post}: {(~exc[sources]).sum()} GABAergic inputs"
    assert conn.n_synapses == n * (k_exc + k_inh)


def test_same_seed_same_network_different_seed_different_network():
    a = build(NORMAL, SMALL, seed=10).connectivity.post_by_pre
    b = build(NORMAL, SMALL, seed=10).connectivity.post_by_pre
    c = build(NORMAL, SMALL, seed=11).connectivity.post_by_pre
    assert (a != b).nnz == 0
    assert (a != c).nnz > 0
