"""Speed and memory of the engine: prints a table and writes docs/performance.md.

    python benchmarks/bench.py [--quick] [--repeats N] [--no-write]
    python benchmarks/bench.py --sizes 1e6 [1e5 ...]   # only these sizes (1 s of biology each), print only
    python benchmarks/bench.py --threads [--sizes 1e5]  # only 1 vs 2 threads (default 10^5 and 10^6), print only

Each size runs in a fresh process (so peak memory is its own), ``--repeats``
times; the table shows medians, with ns per neuron-step and per synaptic event,
and ends with the one-thread runs of the thread table at 10^6 neurons. A size
with a memory bound (``MEMORY_BOUND_MB``: 12 GB at 10^6 neurons) fails the
command (exit 1) if its peak resident memory exceeds it. Also: the plain-Mesa
reference model at 1,000 neurons (the speed-up is per neuron-step), the fitted
exponent of cost per step against network size, a batch of 8 flagship runs on
1 vs 2 workers, and one network on 1 vs 2 threads at 10^5 and 10^6 neurons.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NORMAL = ROOT / "scenarios" / "normal.toml"
FLAGSHIP = ROOT / "scenarios" / "experiments" / "normal_vs_depression.toml"
#: (neurons, biological seconds): the issue's targets are 10^4 neurons x 10 s and 10^5 neurons x 1 s
SIZES = [(1_000, 10.0), (3_000, 10.0), (10_000, 10.0), (30_000, 1.0), (100_000, 1.0)]
QUICK_SIZES = [(1_000, 2.0), (3_000, 1.0), (10_000, 1.0)]
#: the section of docs/performance.md that benchmarks/peers/compare.py fills, kept when this script rewrites the page
PEERS_HEADING = "## Peer comparison: Brian2"
#: peak resident memory allowed per size (MB): 10^6 neurons x 100 inputs (10^8 synapses) within 12 GB
MEMORY_BOUND_MB = {1_000_000: 12_000}
#: (neurons, biological seconds) at which one network runs on 1 and on 2 threads, alternating
THREAD_SIZES = [(100_000, 1.0), (1_000_000, 1.0)]
REFERENCE = (1_000, 0.2)
PROFILE = (1_000, 5.0)


def overrides(n: int, seconds: float) -> list[str]:
    """Scenario overrides for a benchmark run: size, duration, warm-up, 100 inputs per neuron."""
    return [f"network.n_neurons={n}", f"protocol.duration_s={seconds}", f"protocol.warmup_s={seconds / 2}"]


def measure_engine(n: int, seconds: float, threads: int = 1) -> dict:
    """One run of the engine on ``threads`` threads in this process (called in a child)."""
    import resource

    from sim.model.model import SynapseNetworkModel
    from sim.model.scenario import load_scenario

    scenario, _ = load_scenario(NORMAL, overrides(n, seconds))
    build = time.perf_counter()
    model = SynapseNetworkModel(scenario, threads=threads)
    model.step()  # compile / load the kernels outside the timing
    start = time.perf_counter()
    model.run()
    wall = time.perf_counter() - start
    spikes = sum(row["rate_glu_hz"] * model.type_index["glutamatergic"].size
                 + row["rate_gaba_hz"] * model.type_index["gabaergic"].size for row in model.recorder.rows)
    spikes *= scenario.protocol.record_interval_ms / 1000.0
    steps = model.n_steps - 1
    return {"neurons": n, "threads": threads, "synapses": model.connectivity.n_synapses, "bio_s": seconds,
            "wall_s": wall,
            "build_s": start - build, "steps": steps, "synaptic_events": spikes * model.connectivity.n_synapses / n,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def measure_reference(n: int, seconds: float) -> dict:
    """One run of the plain-Mesa reference model (called in a child)."""
    from sim.model.reference import run_reference
    from sim.model.scenario import load_scenario

    scenario, _ = load_scenario(NORMAL, overrides(n, seconds))
    start = time.perf_counter()
    run_reference(scenario, "vehicle", seed=scenario.seed)
    wall = time.perf_counter() - start
    steps = int(round(seconds / (scenario.protocol.dt_ms / 1000.0)))
    return {"neurons": n, "bio_s": seconds, "wall_s": wall, "steps": steps}


#: where a run's time goes: profiled functions by phase (cumulative time of each)
PHASES = {"fast clock (compiled kernel)": "run_steps", "slow clock": "_slow_update", "time-series rows": "record"}


def measure_profile(n: int, seconds: float) -> dict:
    """Share of a run's wall time by phase, from cProfile (called in a child)."""
    import cProfile
    import pstats

    from sim.model.model import SynapseNetworkModel
    from sim.model.scenario import load_scenario

    scenario, _ = load_scenario(NORMAL, overrides(n, seconds))
    model = SynapseNetworkModel(scenario)
    model.step()
    profile = cProfile.Profile()
    profile.runcall(model.run)
    stats = pstats.Stats(profile).stats
    total = sum(tt for _, _, tt, _, _ in stats.values())
    shares = {phase: sum(ct for (_, _, name), (_, _, _, ct, _) in stats.items() if name == func) / total
              for phase, func in PHASES.items()}
    shares["other (chunking, kernel calls, Python glue)"] = 1.0 - sum(shares.values())
    return {"neurons": n, "shares": shares}


def in_child(kind: str, n: int, seconds: float, root: Path = ROOT, **options) -> dict:
    """``measure_<kind>(n, seconds, **options)`` of the source tree ``root`` (default this one), in a fresh
    process."""
    code = (f"import json, sys; sys.path.insert(0, {str(root)!r}); from benchmarks.bench import measure_{kind}; "
            f"print(json.dumps(measure_{kind}({n}, {seconds}, **{options!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_run(kind: str, n: int, seconds: float, repeats: int) -> dict:
    return medians([in_child(kind, n, seconds) for _ in range(repeats)])


def medians(runs: list[dict]) -> dict:
    """The first run's row with the medians of wall time and peak memory over ``runs``."""
    best = dict(runs[0])
    for key in ("wall_s", "peak_mb"):
        if key in best:
            best[key] = statistics.median(r[key] for r in runs)
    best["repeats"] = len(runs)
    return best


def batch_speedup(n_runs: int = 8) -> dict:
    """Wall time of ``n_runs`` flagship runs on 1 and on 2 worker processes (same runs), run twice in one pool:
    cold (the workers start, import the engine and load its compiled kernels) and warm (they have)."""
    from sim.runs.batch import execute_run, make_executor
    from sim.runs.experiment import load_experiment

    exp = load_experiment(FLAGSHIP)
    specs = exp.runs()[:n_runs]
    out = {"runs": n_runs}
    for workers in (1, 2):
        executor = make_executor("local", workers)
        for state in ("cold", "warm"):
            start = time.perf_counter()
            futures = [executor.submit(execute_run, exp.run_scenario(s), s.as_dict(), str(exp.path)) for s in specs]
            for future in futures:
                future.result()
            out[f"{state}_{workers}"] = time.perf_counter() - start
        executor.close()
    out["speedup"], out["cold_speedup"] = out["warm_1"] / out["warm_2"], out["cold_1"] / out["cold_2"]
    return out


def scaling_exponent(rows: list[dict]) -> float:
    """Slope of log(wall per step) against log(neurons)."""
    x = np.log([r["neurons"] for r in rows])
    y = np.log([r["wall_s"] / r["steps"] for r in rows])
    return float(np.polyfit(x, y, 1)[0])


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    from sim.runs.outputs import versions

    v = versions()
    import os

    return (f"{cpu}, {os.cpu_count()} cores; Python {v['python']}, Mesa {v['mesa']}, numpy {v['numpy']}, "
            f"numba {v['numba']}; {platform.platform()}")


def table(rows: list[dict]) -> str:
    head = ("| neurons | synapses | biological time (s) | wall (s, median) | neuron-steps/s | ns per neuron-step "
            "| synaptic events/s | ns per synaptic event | peak memory (MB) |\n"
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        lines.append(f"| {r['neurons']:,} | {r['synapses']:,} | {r['bio_s']:g} | {r['wall_s']:.2f} | "
                     f"{r['neurons'] * r['steps'] / r['wall_s']:.3g} | {ns_per_neuron_step(r):.1f} | "
                     f"{r['synaptic_events'] / r['wall_s']:.3g} | {1e9 * r['wall_s'] / r['synaptic_events']:.1f} | "
                     f"{r['peak_mb']:.0f} |")
    return "\n".join(lines)


def thread_rows(sizes: list[tuple[int, float]], repeats: int, threads: tuple[int, ...] = (1, 2)) -> list[dict]:
    """Medians of each size on each thread count, the thread counts alternating within each repeat."""
    rows = []
    for n, seconds in sizes:
        runs = {t: [] for t in threads}
        for _ in range(repeats):
            for t in threads:
                runs[t].append(in_child("engine", n, seconds, threads=t))
        for t in threads:
            row = medians(runs[t])
            rows.append(row)
            print(f"  {n:>9,} neurons, {t} thread(s): {row['wall_s']:.2f} s wall for {seconds:g} s", flush=True)
    return rows


def thread_table(rows: list[dict]) -> str:
    """Wall time and speed-up over one thread, by size and thread count."""
    lines = ["| neurons | synapses | threads | wall (s, median) | ns per neuron-step | speed-up over 1 thread |",
             "|---:|---:|---:|---:|---:|---:|"]
    one = {r["neurons"]: r["wall_s"] for r in rows if r["threads"] == 1}
    for r in rows:
        lines.append(f"| {r['neurons']:,} | {r['synapses']:,} | {r['threads']} | {r['wall_s']:.2f} | "
                     f"{ns_per_neuron_step(r):.1f} | {one[r['neurons']] / r['wall_s']:.2f}x |")
    return "\n".join(lines)


def over_memory_bound(rows: list[dict]) -> list[str]:
    """Each size whose peak memory exceeds its bound (``MEMORY_BOUND_MB``), as a sentence."""
    return [f"{r['neurons']:,} neurons: peak memory {r['peak_mb']:,.0f} MB exceeds {MEMORY_BOUND_MB[r['neurons']]:,} MB"
            for r in rows if r["peak_mb"] > MEMORY_BOUND_MB.get(r["neurons"], float("inf"))]


def speedup_lines(rows: list[dict], repeats: int) -> list[str]:
    """The speed-up over the plain-Mesa reference and the scaling exponent."""
    ref = median_run("reference", *REFERENCE, repeats=repeats)
    engine = next(r for r in rows if r["neurons"] == REFERENCE[0])
    ref_us, engine_us = (1e6 * r["wall_s"] / r["steps"] for r in (ref, engine))
    return [f"Plain-Mesa reference (`sim/model/reference.py`) at {REFERENCE[0]:,} neurons: {ref_us:,.0f} us per "
            f"step; engine {engine_us:.1f} us per step: **{ref_us / engine_us:.0f}x faster per neuron-step**.",
            f"Cost per step grows as neurons^{scaling_exponent(rows):.2f} over "
            f"{rows[0]['neurons']:,}-{rows[-1]['neurons']:,} neurons (100 inputs each, so synapses grow alike): "
            f"{ns_per_neuron_step(rows[0]):.0f} ns per neuron-step at {rows[0]['neurons']:,} neurons, "
            f"{ns_per_neuron_step(rows[-1]):.0f} ns at {rows[-1]['neurons']:,}."]


def ns_per_neuron_step(row: dict) -> float:
    return 1e9 * row["wall_s"] / (row["steps"] * row["neurons"])


def profile_lines() -> list[str]:
    """A table of the shares of a run's wall time by phase."""
    shares = in_child("profile", *PROFILE)["shares"]
    return ["", f"Where the time goes at {PROFILE[0]:,} neurons ({PROFILE[1]:g} s biological; cProfile, which "
            "inflates the Python-side shares a little):", "", "| phase | share of wall time |", "|---|---:|",
            *(f"| {phase} | {share:.0%} |" for phase, share in shares.items())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only, one repeat, no batch")
    parser.add_argument("--sizes", type=float, nargs="+", help="only these network sizes (neurons; 1 s of biology "
                        "each); prints the table and checks the memory bounds, writes nothing")
    parser.add_argument("--repeats", type=int, help="runs per size (default 3; 1 with --quick or --sizes)")
    parser.add_argument("--threads", action="store_true",
                        help="only the thread table (1 vs 2 threads) at --sizes (default 10^5 and 10^6 neurons)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write docs/performance.md")
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick or args.sizes else 3)
    if args.threads:
        sizes = [(int(n), 1.0) for n in args.sizes] if args.sizes else THREAD_SIZES
        print(f"Machine: {machine()}\n\n{thread_table(thread_rows(sizes, repeats))}")
        return 0
    if args.sizes:
        return sizes_only([int(n) for n in args.sizes], repeats)
    report, rows = page(args.quick, repeats)
    print(report)
    problems = over_memory_bound(rows)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if not args.no_write and not args.quick:
        write_page(report, repeats)
    return 1 if problems else 0


def page(quick: bool, repeats: int) -> tuple[str, list[dict]]:
    """The page's text and its size table's rows: the sizes, then the thread table's one-thread runs of the
    sizes beyond them (10^6 neurons)."""
    rows = engine_rows(QUICK_SIZES if quick else SIZES, repeats)
    threads = [] if quick else thread_rows(THREAD_SIZES, repeats)
    rows += [r for r in threads if r["threads"] == 1 and r["neurons"] > rows[-1]["neurons"]]
    text = [f"Machine: {machine()}", "", table(rows), "", *speedup_lines(rows, repeats)]
    if not quick:
        text += [batch_line(batch_speedup()), "", "One network on 1 and on 2 threads (`run.py simulate --threads "
                 f"N`; the same results on any number, docs/model.md § Threads), {repeats} runs of each, "
                 "alternating:", "", thread_table(threads)]
    return "\n".join(text + profile_lines()), rows


def write_page(report: str, repeats: int) -> None:
    """docs/performance.md: a header, ``report``, and the peer comparison kept from the page as it was."""
    header = ("# Performance\n\nMeasured by `python benchmarks/bench.py` (medians of "
              f"{repeats} runs, each in a fresh process; {time.strftime('%Y-%m-%d')}). On a shared machine the "
              "times of two runs of the script can differ by a third; compare the ratios measured side by side in "
              "one run (1 vs 2 workers, 1 vs 2 threads, the engine vs Brian2).\n\n")
    path = ROOT / "docs" / "performance.md"
    kept = path.read_text(encoding="utf-8").partition(PEERS_HEADING)[1:] if path.exists() else ("", "")
    path.write_text(header + report + "\n" + ("\n" + "".join(kept) if kept[0] else ""), encoding="utf-8")


def engine_rows(sizes: list[tuple[int, float]], repeats: int) -> list[dict]:
    """The engine's medians at each (neurons, biological seconds), printed as they come."""
    rows = []
    for n, seconds in sizes:
        rows.append(median_run("engine", n, seconds, repeats))
        print(f"  {n:>9,} neurons: {rows[-1]['wall_s']:.2f} s wall for {seconds:g} s", flush=True)
    return rows


def sizes_only(sizes: list[int], repeats: int) -> int:
    """``--sizes``: the table at these sizes (1 s of biology each) and the memory bounds; exit 1 over a bound."""
    rows = engine_rows([(n, 1.0) for n in sizes], repeats)
    print(f"Machine: {machine()}\n\n{table(rows)}")
    problems = over_memory_bound(rows)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    bounded = [r for r in rows if r["neurons"] in MEMORY_BOUND_MB]
    if bounded and not problems:
        print("memory within bounds: " + ", ".join(f"{r['neurons']:,} neurons {r['peak_mb']:,.0f} MB "
                                                   f"(bound {MEMORY_BOUND_MB[r['neurons']]:,} MB)" for r in bounded))
    return 1 if problems else 0


def batch_line(b: dict) -> str:
    startup = b["cold_2"] - b["warm_2"]
    cost = f"about {startup:.1f} s, once per batch" if startup >= 0.05 else "lost in the noise here"
    return (f"Batch of {b['runs']} flagship runs, on workers that have started and loaded the engine: "
            f"1 worker {b['warm_1']:.1f} s, 2 workers {b['warm_2']:.1f} s: **{b['speedup']:.2f}x**. "
            f"The first batch on fresh workers, which also start and load the compiled kernels ({cost}): "
            f"{b['cold_1']:.1f} s vs {b['cold_2']:.1f} s ({b['cold_speedup']:.2f}x).")


if __name__ == "__main__":
    sys.exit(main())
