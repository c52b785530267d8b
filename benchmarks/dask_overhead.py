"""Wall time per run of the Dask backend against the local one, on the flagship batch: prints a table.

    python benchmarks/dask_overhead.py [--rounds N] [--workers N]

Each round runs ``run.py batch scenarios/experiments/normal_vs_depression.toml``
once with ``--backend local`` and once with ``--backend dask`` (a new local
cluster of the same number of worker processes, started and closed by the
command), into fresh folders, alternating which goes first; the commands'
whole wall times are compared (start-up, cluster start and shut-down
included). A first, untimed run compiles numba's kernels.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "experiments" / "normal_vs_depression.toml"
SMOKE = ROOT / "scenarios" / "experiments" / "smoke.toml"


def batch_seconds(experiment: Path, out: Path, backend: str, workers: int) -> float:
    """Wall seconds of one ``run.py batch`` command."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "run.py", "batch", str(experiment), "--out", str(out), "--backend", backend,
                    "--workers", str(workers), "--quiet"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each backend (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of either backend (default 2)")
    args = parser.parse_args()
    n_runs = len(json.loads(subprocess.run(
        [sys.executable, "-c", "import json, sys; from sim.runs.experiment import load_experiment; "
         f"print(json.dumps(len(load_experiment({str(FLAGSHIP)!r}).runs())))"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]))
    times: dict[str, list[float]] = {"local": [], "dask": []}
    with tempfile.TemporaryDirectory() as tmp:
        batch_seconds(SMOKE, Path(tmp) / "compile", "local", args.workers)
        for r in range(args.rounds):
            for backend in ("local", "dask") if r % 2 == 0 else ("dask", "local"):
                times[backend].append(batch_seconds(FLAGSHIP, Path(tmp) / f"{backend}{r}", backend, args.workers))
    local, dask = (statistics.median(times[b]) for b in ("local", "dask"))
    print(f"Flagship batch ({n_runs} runs, {args.workers} workers), median of {args.rounds} alternating rounds:\n")
    print("| backend | wall (s) | per run (s) |\n|---|---:|---:|")
    for name, seconds in (("local", local), ("dask (new local cluster)", dask)):
        print(f"| {name} | {seconds:.1f} | {seconds / n_runs:.3f} |")
    print(f"\nDask overhead: {100 * (dask / local - 1):+.1f} % per run "
          f"(all rounds: local {', '.join(f'{t:.1f}' for t in times['local'])} s; "
          f"dask {', '.join(f'{t:.1f}' for t in times['dask'])} s)")


if __name__ == "__main__":
    main()
