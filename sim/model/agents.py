"""Neuron agents: glutamatergic and GABAergic cells whose state lives in the model's arrays.

Each agent is a real ``mesa.Agent`` in the model's AgentSet. It holds only its
row ``index``; its attributes read that row of the model's vectorised state,
so the model steps all neurons at once.
"""

from __future__ import annotations

import mesa


class Neuron(mesa.Agent):
    """A neuron with one representative presynaptic bouton."""

    kind = "neuron"

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index
        self.cell = None  # set when the model builds its Network space

    # vesicle pools (vesicles)
    @property
    def rrp(self) -> int:
        return int(self.model.pools.rrp[self.index])

    @property
    def surface(self) -> int:
        return int(self.model.pools.surface[self.index])

    @property
    def recycling(self) -> int:
        return int(self.model.pools.recycling[self.index])

    @property
    def reserve(self) -> int:
        return int(self.model.pools.reserve[self.index])

    @property
    def fm_dye(self) -> int:
        """FM-dye-labelled vesicles in the bouton."""
        return int(self.model.pools.dye[self.index])

    @property
    def release_sites(self) -> int:
        return int(self.model.bouton.release_sites[self.index])

    # membrane and modulation
    @property
    def v_mV(self) -> float:
        """Membrane potential (mV)."""
        return float(self.model.membrane.v_mV[self.index])

    @property
    def release_probability(self) -> float:
        """Current release probability per primed vesicle (A1 inhibition included)."""
        return float(self.model.p_release[self.index])

    @property
    def a1_occupancy(self) -> float:
        return float(self.model.a1_occupancy[self.index])

    @property
    def adenosine_uM(self) -> float:
        """Adenosine at this neuron's postsynaptic site (µM)."""
        return float(self.model.adenosine_uM[self.index])

    @property
    def phospho_synapsin(self) -> float:
        """Phosphorylated fraction of synapsin (0-1)."""
        return float(self.model.synapsin[self.index])

    @property
    def targets(self) -> list[int]:
        """Indices of the neurons this one contacts."""
        m = self.model.connectivity.post_by_pre
        return m.indices[m.indptr[self.index]:m.indptr[self.index + 1]].tolist()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(index={self.index}, rrp={self.rrp}, v={self.v_mV:.1f} mV)"


class GlutamatergicNeuron(Neuron):
    """Excitatory neuron: releases glutamate; its terminals carry A1 receptors."""

    kind = "glutamatergic"


class GABAergicNeuron(Neuron):
    """Inhibitory interneuron: releases GABA; relies more on NMDA drive."""

    kind = "gabaergic"
