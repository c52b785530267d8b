"""Engine speed of this working tree against another revision, measured side by side: prints a table.

    python benchmarks/compare.py [--base REV] [--rounds N] [--sizes 1e4 1e5]

The other revision (default ``HEAD``) is checked out in a temporary git
worktree. Each round runs ``benchmarks.bench.measure_engine`` once per tree in
a fresh process, alternating which tree goes first, so that the load of a
shared machine falls on both alike; the table shows the median ns per
neuron-step of each and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench import in_child, ns_per_neuron_step  # noqa: E402

#: biological seconds per size: long enough that the per-run set-up is a small share
SECONDS = {10_000: 2.0, 100_000: 0.5}


def measure(tree: Path, n: int, seconds: float) -> float:
    """ns per neuron-step of one engine run of ``tree``, in a fresh process."""
    return ns_per_neuron_step(in_child("engine", n, seconds, root=tree))


def compare(base: Path, sizes: list[int], rounds: int) -> list[str]:
    """Markdown table rows: size, median ns per neuron-step of base and of this tree, their ratio."""
    lines = ["| neurons | base (ns/neuron-step) | this tree (ns/neuron-step) | this / base |", "|---:|---:|---:|---:|"]
    for n in sizes:
        seconds = SECONDS.get(n, 1.0)
        times: dict[Path, list[float]] = {base: [], ROOT: []}
        for r in range(rounds):
            order = (base, ROOT) if r % 2 == 0 else (ROOT, base)
            for tree in order:
                times[tree].append(measure(tree, n, seconds))
        b, t = statistics.median(times[base]), statistics.median(times[ROOT])
        lines.append(f"| {n:,} | {b:.1f} | {t:.1f} | {t / b:.3f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="git revision to compare against (default HEAD)")
    parser.add_argument("--rounds", type=int, default=5, help="runs per tree and size (default 5)")
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e4, 1e5], help="network sizes (neurons)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), args.base], cwd=ROOT, check=True)
        try:
            measure(base, 1_000, 0.1)  # compile both trees' kernels outside the timing
            measure(ROOT, 1_000, 0.1)
            print(f"Engine speed, {args.base} against this tree, {args.rounds} alternating rounds:\n")
            print("\n".join(compare(base, [int(s) for s in args.sizes], args.rounds)))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
