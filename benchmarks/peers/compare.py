"""The engine against Brian2 (cython) on networks of the same size, alternating in one run: prints a table.

    python benchmarks/peers/compare.py [--peers-python PATH] [--sizes 1e4 1e5] [--rounds N] [--seconds S]

The engine runs ``benchmarks.bench.measure_engine`` (the full model, normal
scenario) in a fresh process of this Python; Brian2 runs
``benchmarks/peers/brian2_network.py`` (the simpler peer network described
there) in a fresh process of ``--peers-python`` (default
``benchmarks/peers/.venv/bin/python``, made as in ``benchmarks/peers/README.md``).
Each round runs both at each size, alternating which goes first; the table
shows medians of neuron-steps per second and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / "benchmarks" / "peers"
sys.path.insert(0, str(ROOT))

from benchmarks.bench import in_child  # noqa: E402


def engine(n: int, seconds: float) -> dict:
    """One engine run (``benchmarks.bench.measure_engine``) in a fresh process."""
    return in_child("engine", n, seconds)


def brian2(python: Path, n: int, seconds: float) -> dict:
    """One run of the Brian2 peer network in a fresh process of ``python``."""
    out = subprocess.run([str(python), str(PEERS / "brian2_network.py"), str(n), str(seconds)], cwd=ROOT,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def neuron_steps_per_s(row: dict) -> float:
    return row["neurons"] * row["steps"] / row["wall_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers-python", type=Path, default=PEERS / ".venv" / "bin" / "python")
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e4, 1e5], help="neurons (100 inputs each)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0, help="biological seconds per run (default 1)")
    args = parser.parse_args()
    if not args.peers_python.exists():
        sys.exit(f"error: {args.peers_python} does not exist; make the peers' venv as benchmarks/peers/README.md says")
    lines = ["| neurons | synapses | engine (neuron-steps/s) | Brian2 cython (neuron-steps/s) | engine / Brian2 "
             "| firing rate, engine / Brian2 (Hz) |", "|---:|---:|---:|---:|---:|---:|"]
    engine(1_000, 0.1)  # compile both outside the timing
    brian2(args.peers_python, 1_000, 0.1)
    for n in (int(s) for s in args.sizes):
        runs: dict[str, list[dict]] = {"engine": [], "brian2": []}
        for r in range(args.rounds):
            for name in (("engine", "brian2") if r % 2 == 0 else ("brian2", "engine")):
                row = engine(n, args.seconds) if name == "engine" else brian2(args.peers_python, n, args.seconds)
                runs[name].append(row)
        e, b = (statistics.median(neuron_steps_per_s(x) for x in runs[k]) for k in ("engine", "brian2"))
        rate_e = statistics.median(x["synaptic_events"] / x["synapses"] / x["bio_s"] for x in runs["engine"])
        rate_b = statistics.median(x["rate_hz"] for x in runs["brian2"])
        lines.append(f"| {n:,} | {runs['engine'][0]['synapses']:,} | {e:.3g} | {b:.3g} | {e / b:.2f} | "
                     f"{rate_e:.2f} / {rate_b:.2f} |")
        print(lines[-1], flush=True)
    print(f"\n{args.rounds} alternating rounds, {args.seconds:g} s of biology per run, medians:\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
