"""Wall time per run of the Dask backend against the local one, on the flagship batch: prints a table.

    python benchmarks/dask_overhead.py [--rounds N] [--workers N]

Each round runs ``run.py batch scenarios/experiments/normal_vs_depression.toml``
into fresh folders with ``--backend local``, with ``--backend dask`` (a new
local cluster of the same number of worker processes, started and closed by
the command) and with ``--backend dask --scheduler ADDRESS`` (a cluster already
running, as on a cluster: started once by this script, its workers warmed by
one untimed batch), in an order that rotates from round to round; the
commands' whole wall times are compared. A first, untimed run compiles
numba's kernels.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "experiments" / "normal_vs_depression.toml"
SMOKE = ROOT / "scenarios" / "experiments" / "smoke.toml"


CLUSTER = """
import logging, sys
from dask.distributed import LocalCluster
cluster = LocalCluster(n_workers=int(sys.argv[1]), threads_per_worker=1, processes=True, host="127.0.0.1",
                       dashboard_address=None, silence_logs=logging.ERROR)
print(cluster.scheduler_address, flush=True)
sys.stdin.read()
cluster.close()
"""


@contextlib.contextmanager
def running_cluster(workers: int) -> Iterator[str]:
    """The address of a local Dask cluster of ``workers`` processes, running in a child until the block ends."""
    proc = subprocess.Popen([sys.executable, "-c", CLUSTER, str(workers)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


def batch_seconds(experiment: Path, out: Path, backend: str, workers: int) -> float:
    """Wall seconds of one ``run.py batch`` command; ``backend`` 'local', 'dask' or a scheduler address."""
    where = ["--backend", backend] if backend in ("local", "dask") else ["--backend", "dask", "--scheduler", backend]
    start = time.perf_counter()
    subprocess.run([sys.executable, "run.py", "batch", str(experiment), "--out", str(out), *where,
                    "--workers", str(workers), "--quiet"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each backend (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of either backend (default 2)")
    args = parser.parse_args()
    n_runs = int(json.loads(subprocess.run(
        [sys.executable, "-c", "import json, sys; from sim.runs.experiment import load_experiment; "
         f"print(json.dumps(len(load_experiment({str(FLAGSHIP)!r}).runs())))"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]))
    names = {"local": "local processes", "dask": "dask, a new local cluster per command",
             "running": "dask, a running cluster (--scheduler)"}
    times: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp, running_cluster(args.workers) as address:
        batch_seconds(SMOKE, Path(tmp) / "compile", "local", args.workers)
        batch_seconds(SMOKE, Path(tmp) / "warm", address, args.workers)
        for r in range(args.rounds):
            order = list(names)[r % 3:] + list(names)[:r % 3]
            for name in order:
                backend = address if name == "running" else name
                times[name].append(batch_seconds(FLAGSHIP, Path(tmp) / f"{name}{r}", backend, args.workers))
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"Flagship batch ({n_runs} runs, {args.workers} workers), median of {args.rounds} rounds:\n")
    print("| backend | wall (s) | per run (s) | against local |\n|---|---:|---:|---:|")
    for name, label in names.items():
        print(f"| {label} | {medians[name]:.1f} | {medians[name] / n_runs:.3f} | "
              f"{100 * (medians[name] / medians['local'] - 1):+.1f} % |")
    print("\nAll rounds (s): " + "; ".join(f"{name} " + ", ".join(f"{t:.1f}" for t in times[name]) for name in names))


if __name__ == "__main__":
    main()
