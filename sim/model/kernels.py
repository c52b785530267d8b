"""Compiled (numba) kernels: the random draws, both clocks, and the readouts' sums.

Random draws come from inline uniform streams, xoroshiro128+ (Blackman &
Vigna 2021, ACM TOMS 47:36), whose upper 53 bits give doubles uniform on
[0, 1): one stream per block of ``BLOCK_NEURONS`` consecutive neurons, its
two-word state a row of a ``uint64`` array (``seed_streams``). The first is
seeded from the model's numpy ``Generator``, each next one is the one before
moved 2^64 draws ahead (``jump``), so a seed fixes every draw and no two
streams overlap. Drawing inline costs ~1 ns, against ~4 ns for a call into
numpy's bit generator from compiled code. Every sampler is exact: inversion
of the distribution function, or a conditional law derived from it (see each
docstring).

Threads: a block is the unit of work of one thread (``*_parallel`` kernels
split the blocks, or the neurons, into one run of consecutive ones per
thread), and each neuron's draws come from its block's stream in neuron
order, so the results are the same for any number of threads. Spikes are
delivered per run of consecutive targets, each target adding its senders'
quanta in the order of the senders' indices, as on one thread.

The fast clock's arguments are named records (``NamedTuple`` classes below,
which numba compiles as tuples; names carry units): ``run_steps(n_steps,
state, constants, inputs, ambient_glutamate_uM)`` with ``FastState`` (what it
changes), ``FastConstants`` (what it reads) and ``FastInputs`` (the drugs and
the protocol). ``SynapseNetworkModel`` builds the first two once, as views of
its arrays, and the last per call.

Fast clock (every ``dt``): ``step_blocks``, block by block, draws each
neuron's Poisson background, then updates membranes, spikes and synaptic
decays (no draws, so the compiler can vectorise them), then releases vesicles
from the RRP (spontaneous, then evoked; FM-dye labels leave with fused
vesicles) and primes empty release sites from the recycling pool (labels
travel with primed vesicles); ``deliver`` adds each sender's released quanta
to its targets; ``run_steps`` repeats both and updates the ambient glutamate.

Spontaneous fusion and priming are rare per step, so each neuron carries a
hazard clock for each (an exponential with mean 1, used up by the hazard of
every step: vesicles x rate x dt for fusion, empty sites x rate x dt for
priming). An event falls in the step that exhausts the clock; how many vesicles
it moves is then drawn from the binomial law conditioned on at least one, and a
fresh clock starts. This is the same law as one binomial draw per step (the
chance of no event in a step is exp(-hazard) = (1 - p)^n either way) at the cost
of a subtraction per step instead of a random draw.

Slow clock (every ``protocol.slow_dt_ms``): ``relax_adenosine``,
``a1_release_probability``, ``relax_rate_trace``, ``relax_synapsin`` and
``retrieve_and_exchange`` (endocytosis and the reserve exchange).

All compiled code lives in this one file on purpose: numba's on-disk cache of a
function is renewed when its own file changes, not when a function it calls
from another file does.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

JIT = {"cache": True, "nogil": True}
INLINE = {**JIT, "inline": "always"}

# ---------------------------------------------------------------------- uniform stream and samplers

_ROT_A, _SHIFT_B, _ROT_C = np.uint64(24), np.uint64(16), np.uint64(37)
_ROT_A_BACK, _ROT_C_BACK = np.uint64(40), np.uint64(27)
_TO_53_BITS = np.uint64(11)
_UNIT = 1.0 / 9007199254740992.0  # 2^-53
#: binomial and Poisson draws are inverted in parts of at most this mean (their sum has the law of the whole)
INVERSION_MAX_MEAN = 10.0
#: entries per row of a Poisson table: P(X >= 16) < 1e-10 for the background means here (< 2 per step)
POISSON_TABLE_WIDTH = 16


#: neurons per block: each block of consecutive neurons draws from its own stream and is the unit of work
#: of one thread, so that results do not depend on the number of threads
BLOCK_NEURONS = 4096
#: xoroshiro128+'s jump polynomial: the state 2^64 draws ahead (Blackman & Vigna 2021)
_JUMP = np.array([0xDF900294D8F554A5, 0x170865DF4B3201FC], dtype=np.uint64)


def seed_stream(rng: np.random.Generator) -> np.ndarray:
    """A fresh stream state (two nonzero ``uint64`` words) drawn from ``rng``."""
    state = rng.integers(1, np.iinfo(np.uint64).max, size=2, dtype=np.uint64, endpoint=True)
    return state


def max_threads() -> int:
    """The most threads the compiled kernels can use here (numba's ``NUMBA_NUM_THREADS``: the cores, unless set)."""
    return int(numba.config.NUMBA_NUM_THREADS)


def check_threads(threads: int, name: str = "threads =") -> int:
    """``threads`` as an int, or ValueError naming it (``name``) and what is allowed."""
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 1 <= threads <= max_threads():
        raise ValueError(f"{name} {threads!r}: allowed: a whole number from 1 to {max_threads()} (the cores "
                         "numba may use here; NUMBA_NUM_THREADS sets it)")
    return int(threads)


def use_threads(threads: int) -> None:
    """Let the parallel kernels called next from this thread use ``threads`` threads."""
    numba.set_num_threads(threads)


def n_blocks(n_neurons: int) -> int:
    """How many blocks of ``BLOCK_NEURONS`` consecutive neurons cover ``n_neurons`` (the last may be short)."""
    return max(1, -(-n_neurons // BLOCK_NEURONS))


def seed_streams(rng: np.random.Generator, n_neurons: int) -> np.ndarray:
    """One stream per block of neurons, shape (``n_blocks``, 2): the first drawn from ``rng``, each next one
    2^64 draws further along the same sequence (so no two overlap)."""
    streams = np.empty((n_blocks(n_neurons), 2), dtype=np.uint64)
    streams[0] = seed_stream(rng)
    for b in range(1, streams.shape[0]):
        streams[b] = jump(streams[b - 1].copy())
    return streams


@numba.njit(**JIT)
def jump(state: np.ndarray) -> np.ndarray:
    """``state`` moved 2^64 draws ahead (in place; also returned)."""
    s0, s1 = np.uint64(0), np.uint64(0)
    one = np.uint64(1)
    for word in range(2):
        for bit in range(64):
            if _JUMP[word] & (one << np.uint64(bit)):
                s0 ^= state[0]
                s1 ^= state[1]
            uniform(state)
    state[0], state[1] = s0, s1
    return state


@numba.njit(**INLINE)
def uniform(state: np.ndarray) -> float:
    """Uniform on [0, 1); advances ``state``."""
    s0, s1 = state[0], state[1]
    result = s0 + s1
    s1 ^= s0
    state[0] = ((s0 << _ROT_A) | (s0 >> _ROT_A_BACK)) ^ s1 ^ (s1 << _SHIFT_B)
    state[1] = (s1 << _ROT_C) | (s1 >> _ROT_C_BACK)
    return (result >> _TO_53_BITS) * _UNIT


@numba.njit(**JIT)
def uniforms(state: np.ndarray, n: int) -> np.ndarray:
    """``n`` uniforms on [0, 1) (for tests and for starting clocks)."""
    out = np.empty(n)
    for i in range(n):
        out[i] = uniform(state)
    return out


@numba.njit(**INLINE)
def exponential(state: np.ndarray) -> float:
    """Exponential with mean 1."""
    return -math.log1p(-uniform(state))


def exponentials(state: np.ndarray, n: int) -> np.ndarray:
    """``n`` exponentials with mean 1 (as ``exponential`` draws them)."""
    return -np.log1p(-uniforms(state, n))


def block_exponentials(streams: np.ndarray, n: int) -> np.ndarray:
    """One exponential with mean 1 per neuron, each block's from its own stream: fresh hazard clocks."""
    out = np.empty(n)
    for b in range(streams.shape[0]):
        lo, hi = block_range(b, n)
        out[lo:hi] = exponentials(streams[b], int(hi - lo))
    return out


@numba.njit(**INLINE)
def binomial(state: np.ndarray, n: int, p: float) -> int:
    """Binomial(n, p), by inversion (``binomial_small``) of parts of at most mean 10 whose counts add up."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    flip = p > 0.5
    pp = 1.0 - p if flip else p
    if n * pp <= INVERSION_MAX_MEAN:
        k = binomial_small(state, n, pp)
    else:
        part = max(1, int(INVERSION_MAX_MEAN / pp))  # < n here
        k, left = 0, n
        while left > part:
            k += binomial_small(state, part, pp)
            left -= part
        k += binomial_small(state, left, pp)
    return n - k if flip else k


@numba.njit(**INLINE)
def binomial_small(state: np.ndarray, n: int, p: float) -> int:
    """Binomial(n, p) for n p <= 10 and p <= 1/2: inversion from 0 (Kachitvichyanukul & Schmeiser 1988, BINV).
    When n p is small most draws cost one uniform: n p >= P(some success), so a uniform above it means none."""
    u = uniform(state)
    if u >= n * p:
        return 0
    return _binomial_inverse(1.0 - u, n, p)


@numba.njit(**INLINE)
def binomial_hazard(state: np.ndarray, n: int, hazard: float) -> int:
    """Binomial(n, 1 - exp(-hazard)), for a per-trial hazard (rate x time); when n x hazard < 1 the probability
    is computed only if the draw can be nonzero (P(some success) <= n x hazard)."""
    if n <= 0 or hazard <= 0.0:
        return 0
    if n * hazard >= 1.0:
        return binomial(state, n, -math.expm1(-hazard))
    u = uniform(state)
    if u >= n * hazard:
        return 0
    return _binomial_inverse(1.0 - u, n, -math.expm1(-hazard))


@numba.njit(**INLINE)
def _binomial_inverse(v: float, n: int, p: float) -> int:
    """The smallest k with P(X <= k) > v, X ~ Binomial(n, p) (``v`` = 1 - uniform, so that the region of no
    success is the top of the uniform's range)."""
    ratio = p / (1.0 - p)
    pmf = math.exp(n * math.log1p(-p))
    k = 0
    while v >= pmf and k < n:
        v -= pmf
        pmf *= ratio * (n - k) / (k + 1)
        k += 1
    return k


@numba.njit(**JIT)
def binomial_given_some(state: np.ndarray, n: int, p: float) -> int:
    """Binomial(n, p) conditioned on at least one success (n >= 1, 0 < p).

    The first success's trial is drawn by inverting its geometric law truncated to
    n trials; the trials after it are a Binomial(n - first, p). Where at least one
    success is likely, plain rejection of zeros is cheaper.
    """
    if p >= 1.0:
        return n
    log_q = math.log1p(-p)
    some = -math.expm1(n * log_q)
    if some > 0.5:
        while True:
            k = binomial(state, n, p)
            if k > 0:
                return k
    u = uniform(state) * some
    first = min(n, max(1, int(math.ceil(math.log1p(-u) / log_q))))
    return 1 + binomial(state, n - first, p)


@numba.njit(**JIT)
def poisson(state: np.ndarray, lam: float) -> int:
    """Poisson(lam), by inversion of parts of at most mean 10 whose counts add up."""
    k = 0
    while lam > INVERSION_MAX_MEAN:
        k += _poisson_inverse(uniform(state), INVERSION_MAX_MEAN)
        lam -= INVERSION_MAX_MEAN
    if lam > 0.0:
        k += _poisson_inverse(uniform(state), lam)
    return k


@numba.njit(**INLINE)
def _poisson_inverse(u: float, lam: float) -> int:
    """The smallest k with P(X <= k) >= u, X ~ Poisson(lam); the table of ``poisson_cdf_table`` uses the same sums."""
    k, term = 0, math.exp(-lam)
    cdf = term
    while u > cdf and term > 0.0:
        k += 1
        term *= lam / k
        cdf += term
    return k


def poisson_cdf_table(lams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distribution functions P(X <= k), k = 0 .. ``POISSON_TABLE_WIDTH`` - 1, of Poisson(lam) for the distinct
    ``lams``, one row after another in a flat array, and each entry's row."""
    values, rows = np.unique(np.asarray(lams, dtype=float), return_inverse=True)
    table = np.concatenate([_cdf_row(lam, POISSON_TABLE_WIDTH) for lam in values])
    return table, rows.astype(np.int64)


def _cdf_row(lam: float, size: int) -> np.ndarray:
    term = math.exp(-lam)
    row, cdf = np.empty(size), term
    for k in range(size):
        row[k] = cdf
        term *= lam / (k + 1)
        cdf += term
    return row


@numba.njit(**INLINE)
def poisson_from_table(u: float, table: np.ndarray, row: int) -> int:
    """How many entries of row ``row`` of a ``poisson_cdf_table`` lie below the uniform ``u``: the Poisson draw
    by inversion. Counts below 4, nearly all of them, are settled without a branch (the count is unpredictable);
    ``POISSON_TABLE_WIDTH`` means the row did not settle it: then ``poisson_beyond_table`` finishes the draw."""
    start = row * POISSON_TABLE_WIDTH
    k = (u > table[start]) + (u > table[start + 1]) + (u > table[start + 2])
    if u > table[start + 3]:
        k = 4
        while k < POISSON_TABLE_WIDTH and u > table[start + k]:
            k += 1
    return k


@numba.njit(**JIT)
def poisson_beyond_table(state: np.ndarray, u: float, lam: float) -> int:
    """Poisson(lam) where a table row did not settle it: the full inversion with the same uniform ``u``; above
    mean 10 (where the table is not used) a fresh draw."""
    if lam > INVERSION_MAX_MEAN:
        return poisson(state, lam)
    return _poisson_inverse(u, lam)


@numba.njit(**JIT)
def hypergeometric(state: np.ndarray, good: int, total: int, draws: int) -> int:
    """How many of ``draws`` items taken without replacement from ``total`` are among ``good``."""
    if good <= 0 or draws <= 0:
        return 0
    if good >= total:
        return draws
    hits = 0
    for _ in range(draws):
        if uniform(state) * total < good:
            hits += 1
            good -= 1
        total -= 1
    return hits


# ---------------------------------------------------------------------- fast clock: records

class MembraneState(NamedTuple):
    """Per-neuron membrane state (arrays of length n_neurons). Drives are the depolarisation (mV) each current
    would hold the membrane at (see ``sim.model.membrane``)."""

    v_mV: np.ndarray
    ampa_drive_mV: np.ndarray
    nmda_drive_mV: np.ndarray
    gaba_drive_mV: np.ndarray
    background_drive_mV: np.ndarray
    refractory_steps_left: np.ndarray  # int


class PoolState(NamedTuple):
    """Per-neuron vesicle pools the fast clock moves (vesicles, int), FM-dye labels, and hazard clocks
    (exponentials with mean 1, see the module docstring)."""

    rrp: np.ndarray
    recycling: np.ndarray
    surface: np.ndarray
    rrp_dye: np.ndarray
    recycling_dye: np.ndarray
    spontaneous_clock: np.ndarray
    priming_clock: np.ndarray


class StepCounts(NamedTuple):
    """What the fast clock counts: this step's spikes and releases, and their running sums."""

    spiked: np.ndarray            # bool: spiked in the last step
    released: np.ndarray          # vesicles released in the last step
    spike_count: np.ndarray       # spikes since the last time-series row
    released_count: np.ndarray    # vesicles released since the last time-series row
    slow_spike_count: np.ndarray  # spikes since the last slow update
    ampa_quanta: np.ndarray       # glutamate quanta received since the last slow update
    senders: np.ndarray           # neurons that released in the last step, each block's from its first neuron on
    block_senders: np.ndarray     # how many of each block's neurons released in the last step


class FastState(NamedTuple):
    """Everything the fast clock changes, but the ambient glutamate (a number, passed and returned)."""

    streams: np.ndarray  # uniform stream state of each block of neurons (``seed_streams``)
    membrane: MembraneState
    pools: PoolState
    counts: StepCounts


class CellConstants(NamedTuple):
    """Per-neuron membrane constants for one step ``dt`` (arrays), and the drives' decay per step (numbers)."""

    v_rest_mV: np.ndarray
    v_reset_mV: np.ndarray
    threshold_mV: np.ndarray
    membrane_decay: np.ndarray              # exp(-dt / tau_m)
    refractory_steps: np.ndarray            # int
    background_events_per_step: np.ndarray  # Poisson mean of background events per step
    background_row: np.ndarray              # row of ``background_cdf`` for this neuron's mean
    background_cdf: np.ndarray              # ``poisson_cdf_table`` of the distinct means, flat
    background_jump_mV: np.ndarray          # drive added per background event
    ampa_jump_mV: np.ndarray                # drive added per glutamate quantum received
    nmda_jump_mV: np.ndarray
    gaba_jump_mV: np.ndarray                # drive added per GABA quantum received
    ampa_decay: float                       # exp(-dt / tau_syn), per step
    nmda_decay: float
    gaba_decay: float
    background_decay: float


class ReleaseConstants(NamedTuple):
    """Per-neuron release parameters for one step ``dt``."""

    release_sites: np.ndarray        # int
    p_release: np.ndarray            # per primed vesicle per spike (updated in place by the slow clock)
    spontaneous_hazard: np.ndarray   # per primed vesicle per step
    priming_hazard: np.ndarray       # per empty site per step


class NetworkConstants(NamedTuple):
    """Connectivity (CSR, sender -> targets) and what glutamate reaches the extracellular space."""

    is_excitatory: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    boutons: np.ndarray                 # boutons per neuron (out-degree, at least 1)
    eaat_decay: float                   # ambient glutamate left after one step of uptake
    nonvesicular_uM_per_step: float
    uM_per_molecule: float              # ambient rise per glutamate molecule spilled over
    molecules_per_vesicle: float


class FastConstants(NamedTuple):
    """What the fast clock reads and never changes (``p_release`` changes only on the slow clock)."""

    cell: CellConstants
    release: ReleaseConstants
    network: NetworkConstants


class FastInputs(NamedTuple):
    """The drugs' blocks and the protocol's inputs for a run of fast steps."""

    ampa_block: float          # fraction of the AMPA drive blocked
    nmda_block: float          # fraction of the NMDA drive blocked
    extra_mV: np.ndarray       # applied depolarisation (high K+), per neuron
    forced: np.ndarray         # bool: neurons a stimulation pulse makes fire in the first step
    force_first: bool          # whether ``forced`` applies (first step only)
    track_dye: bool            # whether FM-dye labels are followed


# ---------------------------------------------------------------------- fast clock


@numba.njit(**JIT)
def step_blocks(first, stop, state, constants, inputs, use_forced):
    """Advance membranes and RRPs of the neurons of blocks ``first`` to ``stop - 1`` by one step, each block
    drawing from its own stream; fills ``spiked`` and ``released``, each block's senders (``senders`` from the
    block's first neuron on, ``block_senders``) and adds to the counts."""
    n = state.membrane.v_mV.size
    for b in range(first, stop):
        lo, hi = block_range(b, n)
        state.counts.block_senders[b] = _step_neurons(lo, hi, state.streams[b], state, constants, inputs, use_forced)


@numba.njit(**INLINE)
def block_range(b, n):
    """Neurons ``lo`` to ``hi - 1`` of block ``b`` of ``n`` neurons, unsigned (so indexing needs no check for
    negative indices)."""
    lo = b * BLOCK_NEURONS
    return np.uint64(lo), np.uint64(min(lo + BLOCK_NEURONS, n))


@numba.njit(**JIT)
def _step_neurons(lo, hi, stream, state, constants, inputs, use_forced):
    """One step of neurons ``lo`` to ``hi - 1`` with draws from ``stream``; returns how many released (their
    indices are written to ``senders`` from ``lo`` on)."""
    mem, pools, counts = state.membrane, state.pools, state.counts
    cell, rel = constants.cell, constants.release
    for i in range(lo, hi):  # background input: the one draw every neuron needs every step
        u = uniform(stream)
        k = poisson_from_table(u, cell.background_cdf, cell.background_row[i])
        if k == POISSON_TABLE_WIDTH or cell.background_events_per_step[i] > INVERSION_MAX_MEAN:
            k = poisson_beyond_table(stream, u, cell.background_events_per_step[i])
        mem.background_drive_mV[i] += k * cell.background_jump_mV[i]
    ampa_pass, nmda_pass = 1.0 - inputs.ampa_block, 1.0 - inputs.nmda_block
    for i in range(lo, hi):  # membranes and spikes: no draws, no branches
        free_running = mem.refractory_steps_left[i] == 0
        target = (cell.v_rest_mV[i] + mem.ampa_drive_mV[i] * ampa_pass + mem.nmda_drive_mV[i] * nmda_pass
                  - mem.gaba_drive_mV[i] + mem.background_drive_mV[i] + inputs.extra_mV[i])
        v_next = target + (mem.v_mV[i] - target) * cell.membrane_decay[i]
        spike = (free_running and v_next >= cell.threshold_mV[i]) or (use_forced and inputs.forced[i])
        mem.v_mV[i] = cell.v_reset_mV[i] if spike else (v_next if free_running else mem.v_mV[i])
        left = mem.refractory_steps_left[i]
        mem.refractory_steps_left[i] = cell.refractory_steps[i] if spike else max(left - 1, 0)
        counts.spiked[i] = spike
    # one short loop each, so that the compiler can vectorise them
    _scale(mem.ampa_drive_mV, lo, hi, cell.ampa_decay)
    _scale(mem.nmda_drive_mV, lo, hi, cell.nmda_decay)
    _scale(mem.gaba_drive_mV, lo, hi, cell.gaba_decay)
    _scale(mem.background_drive_mV, lo, hi, cell.background_decay)
    for i in range(lo, hi):  # hazard clocks (no hazard when the RRP is empty, or no site or vesicle to prime)
        pools.spontaneous_clock[i] -= pools.rrp[i] * rel.spontaneous_hazard[i]
    for i in range(lo, hi):
        empty_sites = rel.release_sites[i] - pools.rrp[i]
        pools.priming_clock[i] -= empty_sites * rel.priming_hazard[i] * (pools.recycling[i] > 0)
    n_senders = np.uint64(0)
    for i in range(lo, hi):  # release and priming, where a spike or a clock says so
        counts.released[i] = 0
        if not (counts.spiked[i] or pools.spontaneous_clock[i] <= 0.0 or pools.priming_clock[i] <= 0.0):
            continue
        out = 0
        if pools.spontaneous_clock[i] <= 0.0:
            out = binomial_given_some(stream, pools.rrp[i], -math.expm1(-rel.spontaneous_hazard[i]))
            pools.spontaneous_clock[i] = exponential(stream)
        if counts.spiked[i]:
            counts.spike_count[i] += 1
            counts.slow_spike_count[i] += 1
            out += binomial(stream, pools.rrp[i] - out, rel.p_release[i])
        counts.released[i] = out
        if out > 0:
            if inputs.track_dye:
                pools.rrp_dye[i] -= hypergeometric(stream, pools.rrp_dye[i], pools.rrp[i], out)
            pools.rrp[i] -= out
            pools.surface[i] += out
            counts.released_count[i] += out
            counts.senders[lo + n_senders] = i
            n_senders += np.uint64(1)
            # the sites just emptied
            pools.priming_clock[i] -= out * rel.priming_hazard[i] * (pools.recycling[i] > 0)
        if pools.priming_clock[i] <= 0.0:
            free = rel.release_sites[i] - pools.rrp[i]
            primed = binomial_given_some(stream, free, -math.expm1(-rel.priming_hazard[i]))
            primed = min(primed, pools.recycling[i])
            pools.priming_clock[i] = exponential(stream)
            if inputs.track_dye:
                moved = hypergeometric(stream, pools.recycling_dye[i], pools.recycling[i], primed)
                pools.recycling_dye[i] -= moved
                pools.rrp_dye[i] += moved
            pools.recycling[i] -= primed
            pools.rrp[i] += primed
    return n_senders


@numba.njit(parallel=True, **JIT)
def step_blocks_parallel(n_parts, records, use_forced):
    """``step_blocks`` of all blocks, in ``n_parts`` runs of consecutive blocks, one per thread; ``records``
    is ``boxed((state, constants, inputs))``."""
    n_blocks = records[0][0].streams.shape[0]
    for part in numba.prange(n_parts):
        state, constants, inputs = records[0]
        first, stop = part_bounds(part, n_parts, n_blocks)
        step_blocks(first, stop, state, constants, inputs, use_forced)


@numba.njit(**JIT)
def boxed(records):
    """``records`` in a one-item typed List: numba passes no tuple into a parallel loop (its writes through
    a tuple's arrays are lost there), but a List it does."""
    box = numba.typed.List()
    box.append(records)
    return box


@numba.njit(**INLINE)
def part_bounds(part, n_parts, n_items):
    """Items ``first`` to ``stop - 1`` of part ``part`` of ``n_parts`` near-equal runs of ``n_items`` items."""
    return part * n_items // n_parts, (part + 1) * n_items // n_parts


@numba.njit(**JIT)
def _scale(values, lo, hi, factor):
    for i in range(lo, hi):
        values[i] *= factor


@numba.njit(**JIT)
def glutamate_vesicles(counts, network):
    """The glutamatergic vesicles released in the last step, summed over all boutons (vesicles x out-degree)."""
    total = 0.0
    for b in range(counts.block_senders.size):
        lo = b * BLOCK_NEURONS
        for n in range(lo, lo + counts.block_senders[b]):
            j = counts.senders[n]
            if network.is_excitatory[j]:
                total += counts.released[j] * network.boutons[j]
    return total


@numba.njit(**JIT)
def deliver(targets_lo, targets_hi, counts, mem, cell, network):
    """Add the last step's released quanta of every sender to the synaptic drives of its targets among
    neurons ``targets_lo`` to ``targets_hi - 1``, senders in the order of their indices."""
    indptr, indices = network.indptr, network.indices
    whole = targets_lo == 0 and targets_hi == mem.v_mV.size
    for b in range(counts.block_senders.size):
        lo = b * BLOCK_NEURONS
        for n in range(lo, lo + counts.block_senders[b]):
            j = counts.senders[n]
            q = counts.released[j]
            start, stop = np.int64(indptr[j]), np.int64(indptr[j + 1])
            if not whole:  # the row's targets are sorted: its part in range
                start = _first_at_least(indices, start, stop, targets_lo)
                stop = _first_at_least(indices, start, stop, targets_hi)
            if network.is_excitatory[j]:
                for s in range(start, stop):
                    t = indices[s]
                    mem.ampa_drive_mV[t] += q * cell.ampa_jump_mV[t]
                    mem.nmda_drive_mV[t] += q * cell.nmda_jump_mV[t]
                    counts.ampa_quanta[t] += q
            else:
                for s in range(start, stop):
                    t = indices[s]
                    mem.gaba_drive_mV[t] += q * cell.gaba_jump_mV[t]


@numba.njit(**INLINE)
def _first_at_least(indices, start, stop, value):
    """The first position in ``start`` to ``stop - 1`` of the sorted ``indices`` holding ``value`` or more."""
    while start < stop:
        mid = (start + stop) // 2
        if np.int64(indices[mid]) < value:
            start = mid + 1
        else:
            stop = mid
    return start


@numba.njit(parallel=True, **JIT)
def deliver_parallel(n_parts, records):
    """``deliver`` to all neurons, in ``n_parts`` runs of consecutive targets, one per thread (each target
    adds its senders' quanta in the same order as ``deliver`` does); ``records`` as for ``step_blocks_parallel``."""
    n = records[0][0].membrane.v_mV.size
    for part in numba.prange(n_parts):
        state, constants, _ = records[0]
        targets_lo, targets_hi = part_bounds(part, n_parts, n)
        deliver(targets_lo, targets_hi, state.counts, state.membrane, constants.cell, constants.network)


@numba.njit(**JIT)
def run_steps(n_steps, state, constants, inputs, ambient_glutamate_uM, threads):
    """Advance ``n_steps`` steps of ``dt`` on ``threads`` threads (the same results for any number); returns
    (ambient glutamate in uM, glutamate molecules released)."""
    net = constants.network
    n, n_blocks = state.membrane.v_mV.size, state.streams.shape[0]
    parts = min(threads, n_blocks)
    records = boxed((state, constants, inputs))
    molecules_total = 0.0
    for step in range(n_steps):
        use_forced = inputs.force_first and step == 0
        if parts > 1:
            step_blocks_parallel(parts, records, use_forced)
        else:
            step_blocks(0, n_blocks, state, constants, inputs, use_forced)
        molecules = 0.0
        if state.counts.block_senders.sum() > 0:
            molecules = net.molecules_per_vesicle * glutamate_vesicles(state.counts, net)
            if parts > 1:
                deliver_parallel(parts, records)
            else:
                deliver(0, n, state.counts, state.membrane, constants.cell, net)
        ambient_glutamate_uM = (ambient_glutamate_uM * net.eaat_decay + net.nonvesicular_uM_per_step
                                + molecules * net.uM_per_molecule)
        molecules_total += molecules
    return ambient_glutamate_uM, molecules_total


# ---------------------------------------------------------------------- slow clock


@numba.njit(**JIT)
def relax_adenosine(adenosine_uM, ampa_quanta, baseline_uM, relax, uM_per_quantum):
    """Adenosine at each site relaxes a fraction ``relax`` to baseline and gains ``uM_per_quantum`` per
    AMPA quantum received since the last update (``ampa_quanta`` is then cleared)."""
    for i in range(adenosine_uM.size):
        adenosine_uM[i] += (baseline_uM - adenosine_uM[i]) * relax + uM_per_quantum * ampa_quanta[i]
        ampa_quanta[i] = 0.0


@numba.njit(**INLINE)
def mean_over_targets(j, indptr, indices, values):
    """Presynaptic neuron ``j``'s mean of ``values`` over its targets; its own value where it has none."""
    start, stop = indptr[j], indptr[j + 1]
    if stop == start:
        return values[j]
    # four running sums in a fixed order: independent adds, and the same result on every run
    s0 = s1 = s2 = s3 = 0.0
    s = start
    while s + 4 <= stop:
        s0 += values[indices[s]]
        s1 += values[indices[s + 1]]
        s2 += values[indices[s + 2]]
        s3 += values[indices[s + 3]]
        s += 4
    total = (s0 + s1) + (s2 + s3)
    for r in range(s, stop):
        total += values[indices[r]]
    return total / (stop - start)


@numba.njit(**JIT)
def a1_release_probability(lo, hi, indptr, indices, adenosine_uM, bath_uM, ec50_uM, hill, a1_block,
                           base_probability, a1_max_inhibition, occupancy, p_release):
    """For neurons ``lo`` to ``hi - 1``: A1 occupancy (Hill) from the mean adenosine at each one's targets
    plus the bath, and the release probability it leaves: ``base_probability`` x (1 - ``a1_max_inhibition``
    x occupancy)."""
    ec50_hill = ec50_uM ** hill
    for i in range(np.uint64(lo), np.uint64(hi)):
        total = mean_over_targets(i, indptr, indices, adenosine_uM) + bath_uM
        bound = total if hill == 1.0 else total ** hill
        occupancy[i] = bound / (bound + ec50_hill) * (1.0 - a1_block)
        p_release[i] = base_probability[i] * (1.0 - a1_max_inhibition[i] * occupancy[i])


@numba.njit(parallel=True, **JIT)
def a1_release_probability_parallel(n_parts, indptr, indices, adenosine_uM, bath_uM, ec50_uM, hill, a1_block,
                                    base_probability, a1_max_inhibition, occupancy, p_release):
    """``a1_release_probability`` of all neurons, in ``n_parts`` runs of consecutive neurons, one per thread."""
    for part in numba.prange(n_parts):
        lo, hi = part_bounds(part, n_parts, occupancy.size)
        a1_release_probability(lo, hi, indptr, indices, adenosine_uM, bath_uM, ec50_uM, hill, a1_block,
                               base_probability, a1_max_inhibition, occupancy, p_release)


@numba.njit(**JIT)
def relax_synapsin(synapsin, rate_trace_hz, occupancy, baseline, activity_gain_per_hz, a1_gain, relax):
    """Phospho-synapsin moves a fraction ``relax`` towards its target (clipped to 0-1): baseline +
    activity gain x firing-rate trace - A1 gain x occupancy."""
    for i in range(synapsin.size):
        target = min(max(baseline + activity_gain_per_hz * rate_trace_hz[i] - a1_gain * occupancy[i], 0.0), 1.0)
        synapsin[i] += (target - synapsin[i]) * relax


@numba.njit(**JIT)
def relax_rate_trace(rate_trace_hz, slow_spike_count, span_s, relax):
    """The firing-rate trace (Hz) moves a fraction ``relax`` towards the last span's rate; clears the count."""
    for i in range(rate_trace_hz.size):
        rate_trace_hz[i] += (slow_spike_count[i] / span_s - rate_trace_hz[i]) * relax
        slow_spike_count[i] = 0


@numba.njit(**JIT)
def retrieve_and_exchange(first, stop, streams, pools, rates, span_s, dye_in_bath, track_dye, endocytosed):
    """Endocytosis (surface -> recycling) then the reserve exchange, over one slow span ``span_s``, for the
    neurons of blocks ``first`` to ``stop - 1`` (each block drawing from its own stream).

    ``pools`` is (surface, recycling, reserve, recycling_dye, reserve_dye); ``rates`` is (endocytosis,
    mobilisation at full phospho-synapsin, tethering) per s per vesicle and the phospho-synapsin fraction.
    Vesicles retrieved while dye is in the bath take it up; dye moves between recycling and reserve with
    the vesicles drawn (hypergeometric). Adds the retrieved vesicles to ``endocytosed``.
    """
    surface, recycling, reserve, recycling_dye, reserve_dye = pools
    endocytosis_rate, mobilisation_rate, tethering_rate, synapsin = rates
    for b in range(first, stop):
        stream = streams[b]
        lo, hi = block_range(b, surface.size)
        for i in range(lo, hi):
            retrieved = binomial_hazard(stream, surface[i], endocytosis_rate[i] * span_s)
            surface[i] -= retrieved
            recycling[i] += retrieved
            endocytosed[i] += retrieved
            if dye_in_bath:
                recycling_dye[i] += retrieved
            mobilised = binomial_hazard(stream, reserve[i], mobilisation_rate[i] * synapsin[i] * span_s)
            tethered = binomial_hazard(stream, recycling[i], tethering_rate[i] * span_s)
            if track_dye:
                mobilised_dye = hypergeometric(stream, reserve_dye[i], reserve[i], mobilised)
                tethered_dye = hypergeometric(stream, recycling_dye[i], recycling[i], tethered)
                reserve_dye[i] += tethered_dye - mobilised_dye
                recycling_dye[i] += mobilised_dye - tethered_dye
            reserve[i] += tethered - mobilised
            recycling[i] += mobilised - tethered


@numba.njit(**JIT)
def retrieve_and_exchange_parallel(n_parts, streams, pools, rates, span_s, dye_in_bath, track_dye, endocytosed):
    """``retrieve_and_exchange`` of all blocks, in ``n_parts`` runs of consecutive blocks, one per thread."""
    _retrieve_and_exchange_parts(n_parts, streams, boxed((pools, rates)), span_s, dye_in_bath, track_dye,
                                 endocytosed)


@numba.njit(parallel=True, **JIT)
def _retrieve_and_exchange_parts(n_parts, streams, records, span_s, dye_in_bath, track_dye, endocytosed):
    n_blocks = streams.shape[0]
    for part in numba.prange(n_parts):
        pools, rates = records[0]
        first, stop = part_bounds(part, n_parts, n_blocks)
        retrieve_and_exchange(first, stop, streams, pools, rates, span_s, dye_in_bath, track_dye, endocytosed)


# ---------------------------------------------------------------------- readouts


@numba.njit(**JIT)
def block_sums(arrays, split):
    """Sums of each array over its entries before ``split`` and from ``split`` on: shape (len(arrays), 2)."""
    out = np.zeros((len(arrays), 2))
    for a in range(len(arrays)):
        values = arrays[a]
        first = 0.0
        for i in range(split):
            first += values[i]
        second = 0.0
        for i in range(split, values.size):
            second += values[i]
        out[a, 0], out[a, 1] = first, second
    return out
