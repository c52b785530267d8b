#!/usr/bin/env python3
"""Generate ``docs/experiments.md`` from the declared keys of experiment files (``sim.runs.experiment_keys``).

    python docs/make_experiment_keys.py            # (re)write docs/experiments.md
    python docs/make_experiment_keys.py --check    # exit 1 if docs/experiments.md is stale

The tests check that the committed page equals this script's output and load
every example of the page in an experiment file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.runs.experiment_keys import EXPERIMENT, Key  # noqa: E402

OUT = ROOT / "docs" / "experiments.md"

INTRO = """# Experiment files (`python run.py batch EXPERIMENT`)

An experiment file crosses scenarios x conditions x parameter levels x
replicates; every run's seed derives from the master seed. The built-in ones
are in `scenarios/experiments/` (`normal_vs_depression.toml` is the flagship,
`smoke.toml` the smallest); `python run.py batch FILE --out DIR` runs one and
`python run.py report DIR` analyses it. Every name in the file (keys,
scenarios, conditions, readouts, contrasts) is checked before any run: a typo
is one line naming the file, the key and what is allowed, exit code 2.

This page is generated from `sim/runs/experiment_keys.py` by
`python docs/make_experiment_keys.py`; the tests load every example below.

| key | type | default | meaning |
|---|---|---|---|
"""


def row(key: Key) -> str:
    return f"| `{key.name}` | {key.type} | {key.default} | {key.meaning} |"


def example(key: Key) -> str:
    return f"### `{key.name}`\n\n{key.meaning}\n\n```toml\n{key.example}\n```\n"


def render() -> str:
    rows = "\n".join(row(k) for k in EXPERIMENT)
    examples = "\n".join(example(k) for k in EXPERIMENT)
    return f"{INTRO}{rows}\n\n## Examples\n\n{examples}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/experiments.md is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        stale = not OUT.is_file() or OUT.read_text(encoding="utf-8") != text
        print(f"{OUT}: {'stale; run python docs/make_experiment_keys.py' if stale else 'up to date'}")
        return int(stale)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
