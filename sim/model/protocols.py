"""Stimulation protocols: trains and paired pulses that force cells to fire, high-K+ depolarisation, FM dye.

Stimulus times are turned into step indices once, at the start; the model asks
the protocol, step by step, which cells are forced to fire, which extra
depolarisation applies and whether dye is in the bath.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.model.params import StimulusParams


@dataclass
class Pulse:
    """One stimulation pulse: its step, the stimuli that fall on it and the cells they force to fire."""

    number: int
    step: int
    stimulus: int            # index of the first stimulus pulsing at this step
    kind: str                # train | paired_pulse
    cells: np.ndarray        # bool mask of the cells forced to fire


@dataclass
class Window:
    """A high-K+ or FM-dye application from ``start`` to ``stop`` (steps, stop exclusive)."""

    kind: str
    start: int
    stop: int
    cells: np.ndarray
    depolarisation_mV: float = 0.0


def pulse_times_s(stim: StimulusParams, rng: np.random.Generator) -> np.ndarray:
    """Times of the pulses of a train or a paired pulse (s)."""
    if stim.kind == "paired_pulse":
        return stim.start_s + np.array([0.0, stim.interval_ms / 1000.0])
    if stim.pattern == "poisson":
        return stim.start_s + np.cumsum(rng.exponential(1.0 / stim.rate_hz, stim.n_pulses))
    return stim.start_s + np.arange(stim.n_pulses) / stim.rate_hz


@dataclass
class Protocol:
    """All stimuli of a run as step-indexed pulses and windows."""

    n_neurons: int
    pulses: dict[int, Pulse] = field(default_factory=dict)
    windows: list[Window] = field(default_factory=list)

    @property
    def n_pulses(self) -> int:
        return len(self.pulses)

    @classmethod
    def build(cls, stimuli: list[StimulusParams], is_excitatory: np.ndarray, dt_s: float,
              n_steps: int, rng: np.random.Generator) -> Protocol:
        """Resolve stimuli to steps and target cells (the fraction stimulated drawn from ``rng``)."""
        proto = cls(n_neurons=is_excitatory.size)
        for i, stim in enumerate(stimuli):
            cells = _target_cells(stim, is_excitatory, rng)
            start = int(round(stim.start_s / dt_s))
            if stim.kind in ("high_k", "fm_dye"):
                stop = min(n_steps, start + max(1, int(round(stim.duration_s / dt_s))))
                proto.windows.append(Window(stim.kind, start, stop, cells, stim.depolarisation_mV))
                continue
            for t in pulse_times_s(stim, rng):
                step = int(round(t / dt_s))
                if step >= n_steps:
                    continue
                if step not in proto.pulses:
                    mask = np.zeros(proto.n_neurons, dtype=bool)
                    proto.pulses[step] = Pulse(0, step, i, stim.kind, mask)
                proto.pulses[step].cells[cells] = True
        for number, step in enumerate(sorted(proto.pulses)):
            proto.pulses[step].number = number
        return proto

    def forced(self, step: int) -> np.ndarray | None:
        """Boolean mask of the cells forced to fire at ``step``, or None."""
        pulse = self.pulses.get(step)
        return None if pulse is None else pulse.cells

    def depolarisation_mV(self, step: int) -> np.ndarray | float:
        """Extra depolarising drive of each cell at ``step`` (high K+)."""
        active = [w for w in self.windows if w.kind == "high_k" and w.start <= step < w.stop]
        if not active:
            return 0.0
        drive = np.zeros(self.n_neurons)
        for w in active:
            drive[w.cells] += w.depolarisation_mV
        return drive

    def dye_in_bath(self, step: int) -> bool:
        """Whether FM dye is in the bath at ``step``."""
        return any(w.kind == "fm_dye" and w.start <= step < w.stop for w in self.windows)

    def boundaries(self) -> set[int]:
        """Steps at which a window starts or stops."""
        return {s for w in self.windows for s in (w.start, w.stop)}


def _target_cells(stim: StimulusParams, is_excitatory: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if stim.target == "glutamatergic":
        pool = np.flatnonzero(is_excitatory)
    elif stim.target == "gabaergic":
        pool = np.flatnonzero(~is_excitatory)
    else:
        pool = np.arange(is_excitatory.size)
    if stim.fraction >= 1.0:
        return pool
    n = int(round(stim.fraction * pool.size))
    return np.sort(rng.choice(pool, size=n, replace=False))
