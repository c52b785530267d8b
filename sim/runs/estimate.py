"""Memory and wall time of a run or a batch before it starts, from the cost constants of :mod:`sim.model.limits`.

Before a large run (estimated wall time above ``PRINT_SECONDS`` or memory
above ``PRINT_BYTES``) ``simulate``, ``batch`` and ``sweep`` print one line on
stderr, e.g. ``estimate: 1.2 GB, ~15 min on 2 workers (512 runs)``; small runs
print nothing. A run whose own memory would exceed the memory this machine has
available is refused (one line) unless ``--allow-large``. The estimates are
rough (the constants are measured on one machine, and time depends on firing
rates); they tell a minute from a day, not 10 min from 12.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from sim.model import limits
from sim.model.limits import ALLOW, RunSize, run_size
from sim.model.params import Scenario, ScenarioError

if TYPE_CHECKING:
    from sim.runs.experiment import Experiment

PRINT_SECONDS = 60.0        # print the estimate when the wall time may exceed a minute ...
PRINT_BYTES = 1e9           # ... or the runs may need more than 1 GB at once
#: the scenario keys that change a run's size (a level or sweep parameter under these is built to size its runs)
SIZE_SECTIONS = ("network.", "protocol.")


def size_bytes(size: RunSize) -> float:
    """The memory of one run that grows with its size (bytes): network, connectivity, time series, pulse masks."""
    return (size.neurons * limits.BYTES_PER_NEURON + size.synapses * limits.BYTES_PER_SYNAPSE
            + size.rows * limits.BYTES_PER_ROW + min(size.pulses, size.steps) * size.neurons)


def run_memory_bytes(size: RunSize) -> float:
    """Peak memory of one run (bytes): ``size_bytes`` plus the compiled kernels and buffers of any run."""
    return limits.BYTES_PER_RUN + size_bytes(size)


def run_seconds(size: RunSize) -> float:
    """Wall time of one run (s): building it, its neuron-steps, its slow steps, and starting and writing it."""
    return (size.neurons * limits.US_PER_NEURON_BUILD * 1e-6 + size.steps * size.neurons * limits.NS_PER_NEURON_STEP
            * 1e-9 + size.slow_steps * limits.US_PER_SLOW_STEP * 1e-6 + limits.SECONDS_PER_RUN)


def available_memory_bytes() -> int | None:
    """Memory available to new allocations (bytes): MemAvailable of /proc/meminfo, else the physical memory, else
    None (unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(size: RunSize, source: str, allow_large: bool, at_once: int = 1) -> None:
    """Refuse a run whose estimated memory (times ``at_once`` runs side by side) exceeds the available memory,
    naming the key that dominates it."""
    need, have = run_memory_bytes(size), available_memory_bytes()
    if allow_large or have is None or need * at_once <= have:
        return
    parts = {"network.n_neurons": size.neurons * limits.BYTES_PER_NEURON + size.synapses * limits.BYTES_PER_SYNAPSE,
             "protocol.record_interval_ms": size.rows * limits.BYTES_PER_ROW,
             "protocol.stimuli": min(size.pulses, size.steps) * size.neurons}
    key = max(parts, key=parts.get)
    runs = "one run needs" if at_once == 1 else f"{at_once} runs at once (one per worker) need"
    raise ScenarioError(f"{source}: {key}: {runs} ~{_size(need * at_once)} ({limits.count(size.neurons)} neurons, "
                        f"{limits.count(size.synapses)} synapses, {limits.count(size.rows)} rows each), more than "
                        f"the {_size(have)} of memory available{'; pass fewer --workers or' if at_once > 1 else ';'} "
                        f"{ALLOW}")


def _size(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.0f} MB"


def _duration(seconds: float) -> str:
    for unit, span in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 1.5 * span:
            return f"~{seconds / span:.1f} {unit}" if unit != "min" else f"~{seconds / span:.0f} min"
    return f"~{seconds:.0f} s"


def is_large(run_bytes: float, seconds: float) -> bool:
    """Whether a job's estimate is worth a line: wall time above PRINT_SECONDS or runs' memory above PRINT_BYTES."""
    return seconds > PRINT_SECONDS or run_bytes > PRINT_BYTES


def announce_run(scenario: Scenario, source: str, allow_large: bool, stream: TextIO | None = None) -> None:
    """Before ``simulate``: refuse a run that cannot fit in memory, print the estimate of a large one."""
    size = run_size(scenario)
    check_memory(size, source, allow_large)
    seconds = run_seconds(size)
    if is_large(size_bytes(size), seconds):
        print(f"estimate: {_size(run_memory_bytes(size))}, {_duration(seconds)} for one run",
              file=stream or sys.stderr)


def batch_sizes(exp: Experiment, out: Path, resume: bool) -> list[RunSize]:
    """The sizes of the runs of a batch or sweep still to do; a run is built only where its levels change its size."""
    from sim.model.scenario import build_scenario
    from sim.runs.store import is_finished

    if exp.model != "simulation":
        return []
    cache: dict[tuple, RunSize] = {}
    sizes = []
    for spec in exp.runs():
        if resume and is_finished(out, spec):
            continue
        sig = (spec.scenario, tuple(sorted((k, v) for k, v in spec.levels.items() if k.startswith(SIZE_SECTIONS))))
        if sig not in cache:
            cache[sig] = run_size(build_scenario(exp.run_scenario(spec), str(exp.path)))
        sizes.append(cache[sig])
    return sizes


def announce_batch(exp: Experiment, out: Path, workers: int | None, resume: bool = False, scheduler: str | None = None,
                   allow_large: bool = False, stream: TextIO | None = None) -> None:
    """Before ``batch`` or ``sweep``: refuse a run that cannot fit in memory, print the estimate of a large batch
    (on ``workers`` local processes, default one per core; on a scheduler's workers the total run time)."""
    from sim.runs.executors import default_workers

    sizes = batch_sizes(exp, out, resume)
    if not sizes:
        return
    largest = max(sizes, key=size_bytes)
    check_memory(largest, str(exp.path), allow_large)
    times = [run_seconds(s) for s in sizes]
    runs = f"{len(sizes)} run{'s' if len(sizes) > 1 else ''}"
    if scheduler is not None:   # the cluster's workers are not known before it is connected
        if is_large(size_bytes(largest), sum(times)):
            line = (f"estimate: {_size(run_memory_bytes(largest))} per run, {_duration(sum(times))} of run time in "
                    f"total ({runs}), shared by the scheduler's workers")
            print(line, file=stream or sys.stderr)
        return
    at_once = min(workers or default_workers(), len(sizes))
    check_memory(largest, str(exp.path), allow_large, at_once)
    wall = max(sum(times) / at_once, max(times))
    if is_large(size_bytes(largest) * at_once, wall):
        total = (run_memory_bytes(largest) + limits.BYTES_PER_PROCESS) * at_once
        print(f"estimate: {_size(total)}, {_duration(wall)} on {at_once} worker{'s' if at_once > 1 else ''} "
              f"({runs})", file=stream or sys.stderr)
