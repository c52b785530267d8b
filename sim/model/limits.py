"""Size limits of runs, batches and sweeps, checked when a file is loaded: before anything is allocated or run.

A typo such as ``n_neurons = 1e9``, ``replicates = 1000000000`` or
``duration_s = 1e12`` would otherwise fill the memory or run for days. Every
limit is far above the built-in scenarios, experiments, sweeps and calibrations
and the benchmark sizes (up to the planned 1e6 neurons x 100 synapses), and
below what a machine can hold or finish. A value above a limit stops with one
line naming the file, the key, the value and the limit; ``--allow-large``
(``allow_large=True``) lets it through. Ranges that are not sizes (seeds,
``--workers`` of at least 1) are always enforced. README.md § Reliability lists
the limits.

The cost constants at the end (memory per neuron, synapse and time-series row,
time per neuron-step) are rough measurements; :mod:`sim.runs.estimate` uses them.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

from sim.errors import OutputError
from sim.model.params import Scenario, ScenarioError

ALLOW = "pass --allow-large to run it anyway"

# --------------------------------------------------------------------------- limits (--allow-large lifts them)

#: neurons per network: each neuron is a Mesa agent and its arrays, ~1 KB and ~30 us to build (BYTES_PER_NEURON,
#: US_PER_NEURON_BUILD), so 2e6 neurons take ~2 GB and a minute before the first step; twice the planned 1e6
MAX_NEURONS = 2_000_000
#: synapses per network (neurons x in-degree): ~40 bytes each at the peak of building the connectivity
#: (BYTES_PER_SYNAPSE), so 2e8 synapses need ~8 GB; twice the planned 1e6 neurons x 100 synapses
MAX_SYNAPSES = 200_000_000
#: fast steps per run (duration_s / dt_ms): at ~25 ns per neuron-step 2e8 steps of the default 1000-neuron network
#: take ~1.4 h; 2e8 steps are 1e5 s of biology at dt_ms = 0.5
MAX_STEPS = 200_000_000
#: slow-clock steps per run (duration_s / slow_dt_ms): each costs ~50 us of Python and numpy whatever the size
#: (US_PER_SLOW_STEP); 1e7 are 1e5 s at the default slow_dt_ms = 10, i.e. MAX_STEPS at the default clocks
MAX_SLOW_STEPS = 10_000_000
#: time-series rows per run (duration_s / record_interval_ms): each row is held in memory until the run ends,
#: ~4 KB (BYTES_PER_ROW), so 1e6 rows take ~4 GB; 1e6 rows are 1e4 s at the default 10 ms
MAX_ROWS = 1_000_000
#: pulses of one stimulus (a train's n_pulses): every pulse time is drawn before the end of the protocol drops the
#: late ones, and each pulse inside the run keeps a mask of one byte per neuron
MAX_PULSES = 1_000_000
#: runs per batch or sweep: the manifest lists every run, each run has its folder, and the summary is rebuilt from
#: every run's folder as runs finish; 1e5 runs are ~30 MB of manifest and half a day of 1-s runs on 2 cores
MAX_RUNS = 100_000
#: a sweep's samples (lhs points, Sobol' base samples N giving N (D + 2) points, Morris trajectories of D + 1
#: points): the samplers draw the whole design in memory, and every point is at least one run (MAX_RUNS)
MAX_SAMPLES = 100_000
#: levels of one grid parameter (its levels or values) and morris_levels: the grid is the product of the levels
MAX_LEVELS = 100_000
#: worker processes (--workers): each local worker is a process of ~250 MB (Python, the libraries and the compiled
#: kernels: BYTES_PER_PROCESS), so 1024 workers already need ~250 GB
MAX_WORKERS = 1024

# --------------------------------------------------------------------------- ranges (always enforced)

#: seeds (a scenario's seed, master_seed, --seed) are stored in 64-bit integer columns of the summaries and
#: manifests; a run's own seed (sim.runs.experiment.run_seed) is below 2**63 too
MAX_SEED = 2**63 - 1

# --------------------------------------------------------------------------- costs (rough measurements)
# Measured on the 2-core Xeon of docs/performance.md (shared with other jobs), normal.toml, Python 3.11, numpy 2.4:
# tracemalloc peak while building the model at (neurons, synapses) = (2e4, 4e5), (2e4, 2e6), (1e5, 2e6), (1e5, 1e7):
# 36, 88, 129, 441 MB -> 32-39 bytes per synapse and 0.4-1.2 KB per neuron; RSS grew by 60-100 MB more than the
# traced memory (the compiled kernels). Time: 12-28 ns per neuron-step (400 to 1e5 neurons, 100 inputs each; more
# for larger networks: docs/performance.md, 17-24 ns), 26-28 us per neuron to build, ~50 us per slow step for a
# 200-neuron network beyond its neuron-steps, ~0.15 s per run of a batch beyond its simulation (README's sweep
# timings). The constants round these towards the larger networks, whose estimates matter.

BYTES_PER_NEURON = 1_000        # agent, state arrays, drawn parameters
BYTES_PER_SYNAPSE = 40          # sources, targets and the sparse matrix while the connectivity is built
BYTES_PER_ROW = 4_000           # one time-series row (a dict of ~30 floats): 3.1 KB held, 3.6 KB at the end
BYTES_PER_RUN = 100_000_000     # the compiled kernels and buffers of any run, beyond the counts above
BYTES_PER_PROCESS = 250_000_000  # a worker process: Python, numpy, Mesa, numba (RSS 204 MB after import) and kernels
NS_PER_NEURON_STEP = 25         # fast clock, 100 inputs per neuron
US_PER_NEURON_BUILD = 30        # building the network, the agents and their parameters
US_PER_SLOW_STEP = 50           # the slow clock and a time-series row, beyond the neuron-steps
SECONDS_PER_RUN = 0.15          # starting a run in a worker and writing its tables


@dataclass(frozen=True)
class RunSize:
    """The counts a run's memory and time grow with."""

    neurons: int
    synapses: int
    steps: int         # fast steps (duration_s / dt_ms)
    slow_steps: int    # slow-clock updates
    rows: int          # time-series rows
    pulses: int        # stimulation pulses drawn (trains and paired pulses), at most one mask per step is kept


def run_size(s: Scenario) -> RunSize:
    """The counts of a validated scenario (durations whole numbers of dt_ms: sim.model.scenario.check_consistency)."""
    p, net = s.protocol, s.network
    steps = round(p.duration_s * 1000.0 / p.dt_ms)
    pulses = sum(st.n_pulses if st.kind == "train" else 2 for st in p.stimuli if st.kind in ("train", "paired_pulse"))
    in_degree = net.excitatory_in_degree + net.inhibitory_in_degree
    return RunSize(neurons=net.n_neurons, synapses=net.n_neurons * in_degree, steps=steps,
                   slow_steps=steps // max(1, round(p.slow_dt_ms / p.dt_ms)),
                   rows=steps // max(1, round(p.record_interval_ms / p.dt_ms)), pulses=pulses)


def count(n: float) -> str:
    """A count for a message: with thousands separators, or in e-notation when huge."""
    return f"{int(n):,}" if n < 1e7 else f"{float(n):.3g}"


def refuse_above(where: str, value: float, limit: int, what: str, reason: str, allow_large: bool,
                 error: type[ValueError] = ScenarioError) -> None:
    """Raise ``error`` naming ``where`` (file and key) if ``value`` is above ``limit``, unless ``allow_large``."""
    if value > limit and not allow_large:
        raise error(f"{where}: {what} is above the limit of {limit:,} ({reason}); {ALLOW}")


def check_scenario(s: Scenario, source: str, allow_large: bool = False) -> None:
    """Refuse a scenario whose network or protocol is above the limits (before its model is built)."""
    net, p, size = s.network, s.protocol, run_size(s)
    refuse_above(f"{source}: network.n_neurons", size.neurons, MAX_NEURONS, f"{count(size.neurons)} neurons",
                 "~1 KB and ~30 us to build per neuron", allow_large)
    k = net.excitatory_in_degree + net.inhibitory_in_degree
    refuse_above(f"{source}: network.n_neurons x (excitatory_in_degree + inhibitory_in_degree)", size.synapses,
                 MAX_SYNAPSES, f"{count(size.neurons)} x {k} = {count(size.synapses)} synapses",
                 "~40 bytes per synapse while the network is built", allow_large)
    refuse_above(f"{source}: protocol.duration_s / protocol.dt_ms", size.steps, MAX_STEPS,
                 f"{p.duration_s:g} s / {p.dt_ms:g} ms = {count(size.steps)} steps",
                 "~25 ns per neuron-step", allow_large)
    refuse_above(f"{source}: protocol.duration_s / protocol.slow_dt_ms", size.slow_steps, MAX_SLOW_STEPS,
                 f"{p.duration_s:g} s / {p.slow_dt_ms:g} ms = {count(size.slow_steps)} slow steps",
                 "~50 us of Python per slow step", allow_large)
    refuse_above(f"{source}: protocol.duration_s / protocol.record_interval_ms", size.rows, MAX_ROWS,
                 f"{p.duration_s:g} s / {p.record_interval_ms:g} ms = {count(size.rows)} time-series rows",
                 "~4 KB per row, held until the run ends", allow_large)
    for i, stim in enumerate(p.stimuli):
        if stim.kind == "train":
            refuse_above(f"{source}: protocol.stimuli.{i}.n_pulses", stim.n_pulses, MAX_PULSES,
                         f"{count(stim.n_pulses)} pulses", "every pulse time is drawn, each pulse keeps a mask "
                         "of the neurons", allow_large)


def check_runs(path: Path | str, factors: list[tuple[str, int, str]], allow_large: bool, what: str = "batch") -> None:
    """Refuse a design whose factors ``(key, count, noun)`` multiply to more than MAX_RUNS runs (before its list of
    runs is built); the message names the key of the largest factor."""
    total = math.prod(n for _, n, _ in factors)
    if total > MAX_RUNS and not allow_large:
        key = max(factors, key=lambda f: f[1])[0]
        product = " x ".join(f"{count(n)} {noun}" for _, n, noun in factors)
        raise ScenarioError(f"{path}: {key}: {product} = {count(total)} runs is above the limit of "
                            f"{MAX_RUNS:,} runs per {what} (the manifest lists every run, each has its folder "
                            f"and the summary is rebuilt from them); {ALLOW}")


def check_seed(seed: int, where: str, error: type[ValueError] = ScenarioError) -> None:
    """Refuse a seed outside 0 .. 2**63 - 1 (seeds are stored as 64-bit integers)."""
    if not 0 <= seed <= MAX_SEED:
        raise error(f"{where}: {seed} is out of range; allowed: >= 0 and <= {MAX_SEED} (2**63 - 1: seeds are "
                    f"stored as 64-bit integers)")


def check_workers(workers: int | None, allow_large: bool = False) -> None:
    """Refuse ``--workers`` below 1 (leave it out for one worker per core) or above MAX_WORKERS."""
    if workers is None:
        return
    if workers < 1:
        raise OutputError(f"--workers {workers}: allowed: 1 or more (leave it out for one worker per core)")
    refuse_above(f"--workers {workers}", workers, MAX_WORKERS, f"{count(workers)} worker processes",
                 "each is a process of ~250 MB", allow_large, OutputError)


def check_command_line(args: argparse.Namespace) -> None:
    """The options several commands share, the same for every command: ``--workers`` and ``--seed``."""
    check_workers(getattr(args, "workers", None), getattr(args, "allow_large", False))
    if getattr(args, "seed", None) is not None:
        check_seed(args.seed, "--seed", OutputError)


def add_option(parser: argparse.ArgumentParser) -> None:
    """The ``--allow-large`` option of a command."""
    parser.add_argument("--allow-large", action="store_true",
                        help="run even above the size limits (neurons, synapses, steps, runs, samples, workers, "
                             "memory; README.md, Reliability)")
