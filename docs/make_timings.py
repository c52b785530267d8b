#!/usr/bin/env python3
"""Measure the wall times of the built-in jobs and write them wherever the README, docs and scenario files state one.

    python docs/make_timings.py                # run every job (about 15 min on 2 cores), then rewrite the files
    python docs/make_timings.py --only smoke_sweep flagship_batch   # rerun some jobs, keep the others
    python docs/make_timings.py --write        # rewrite the files from docs/timings.json, running nothing
    python docs/make_timings.py --check        # exit 1 if a file disagrees with docs/timings.json

Every job runs ``python run.py ...`` with ``--workers 2`` in a fresh temporary
folder, after one untimed run that compiles numba's kernels. The measured
seconds, the date, the machine and its load average go to ``docs/timings.json``.
A timing in a Markdown file is written between ``<!-- t:JOB -->`` and
``<!-- /t -->``; a scenario file states its own in one comment line that starts
``# Wall time (docs/make_timings.py``. Both are rewritten from the JSON file,
so that no two places can disagree; the tests run ``--check``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMINGS = ROOT / "docs" / "timings.json"
MARKDOWN = [ROOT / "README.md", ROOT / "docs" / "sweeps.md"]
MARKER = re.compile(r"<!-- t:(?P<job>[a-z0-9_]+) -->(?P<text>.*?)<!-- /t -->")
WALL_LINE = "# Wall time (docs/make_timings.py"


@dataclass(frozen=True)
class Job:
    """One timed command: ``run.py`` arguments (``{out}`` is a fresh folder) and the files that state its time."""

    name: str
    args: tuple[str, ...]
    what: str
    scenario_files: tuple[str, ...] = ()


SWEEPS = "scenarios/sweeps"
JOBS = (
    Job("flagship_batch", ("batch", "scenarios/experiments/normal_vs_depression.toml", "--out", "{out}"),
        "the flagship batch (70 runs)"),
    Job("flagship_report", ("report", "{flagship}"), "its report"),
    Job("smoke_sweep", ("sweep", f"{SWEEPS}/smoke.toml", "--out", "{out}"), "smoke sweep (8 runs)"),
    Job("ishigami_sweep", ("sweep", f"{SWEEPS}/ishigami.toml", "--out", "{out}"), "Ishigami check"),
    Job("grid_sweep", ("sweep", f"{SWEEPS}/ketamine_impairment_grid.toml", "--out", "{out}"),
        "ketamine x impairment grid (100 runs)", (f"{SWEEPS}/ketamine_impairment_grid.toml",)),
    Job("sobol_quick_sweep", ("sweep", f"{SWEEPS}/ketamine_sobol_depression.toml", "--quick", "--out", "{out}"),
        "Sobol sweep, --quick (128 runs)", (f"{SWEEPS}/ketamine_sobol_depression.toml",)),
    Job("sobol_sweep", ("sweep", f"{SWEEPS}/ketamine_sobol_depression.toml", "--out", "{out}"),
        "Sobol sweep (512 runs)", (f"{SWEEPS}/ketamine_sobol_depression.toml",)),
    Job("validate_quick", ("validate", "--quick", "--out", "{out}"), "validate --quick (143 runs)"),
    Job("validate_full", ("validate", "--out", "{out}"), "validate (234 runs)"),
    Job("calibrate_quick", ("calibrate", "scenarios/calibration/baseline_rates.toml", "--quick", "--out", "{out}"),
        "calibration, --quick"),
    Job("calibrate", ("calibrate", "scenarios/calibration/baseline_rates.toml", "--out", "{out}"),
        "calibration of the background rates"),
)
BY_NAME = {job.name: job for job in JOBS}


def duration_text(seconds: float) -> str:
    """'7 s', '49 s', '3 min 11 s' (whole seconds)."""
    s = int(round(seconds))
    return f"{s} s" if s < 100 else f"{s // 60} min {s % 60} s"


def run_job(job: Job, folders: dict[str, Path], tmp: Path) -> float:
    """Wall seconds of one job, run in ``tmp``; remembers its output folder for the jobs that read it."""
    out = tmp / job.name
    args = [a.format(out=out, flagship=folders.get("flagship_batch", "")) for a in job.args]
    if args[0] != "report":
        args += ["--workers", "2", "--quiet"]
    start = time.perf_counter()
    subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    folders[job.name] = out
    return time.perf_counter() - start


def measure(names: list[str]) -> dict:
    """Run the jobs ``names`` (in the order of ``JOBS``); returns the timings record."""
    jobs = [job for job in JOBS if job.name in names]
    if "flagship_report" in names and "flagship_batch" not in names:
        jobs.insert(0, BY_NAME["flagship_batch"])
    seconds, folders = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        run_job(BY_NAME["smoke_sweep"], {}, Path(tmp) / "compile")  # compile the kernels, untimed
        load_before = os.getloadavg()[0]
        for job in jobs:
            print(f"{job.name}: {job.what} ...", flush=True)
            seconds[job.name] = run_job(job, folders, Path(tmp))
            print(f"  {duration_text(seconds[job.name])}", flush=True)
        load_after = os.getloadavg()[0]
    return {"seconds": {k: round(v, 1) for k, v in seconds.items()},
            "measured_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
            "machine": f"{os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}",
            "load_average": [round(load_before, 1), round(load_after, 1)], "workers": 2}


def read_timings() -> dict:
    return json.loads(TIMINGS.read_text(encoding="utf-8"))


def rewrite_markdown(text: str, seconds: dict[str, float]) -> str:
    """``text`` with every timing marker's text replaced by the measured duration (unknown jobs are an error)."""
    def replace(match: re.Match) -> str:
        job = match["job"]
        if job not in seconds:
            raise SystemExit(f"timing marker t:{job} names no measured job; measured: {', '.join(sorted(seconds))}")
        return f"<!-- t:{job} -->{duration_text(seconds[job])}<!-- /t -->"
    return MARKER.sub(replace, text)


def wall_line(path: str, seconds: dict[str, float]) -> str:
    """The scenario file's own timing line, from the jobs that run it."""
    parts = [f"{BY_NAME[name].what}: {duration_text(seconds[name])}" for name in seconds
             if path in BY_NAME[name].scenario_files]
    return f"{WALL_LINE}, 2 workers on 2 cores): " + "; ".join(parts) + "."


def rewrite_scenario(text: str, path: str, seconds: dict[str, float]) -> str:
    lines = [wall_line(path, seconds) if line.startswith(WALL_LINE) else line for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def expected_files(seconds: dict[str, float]) -> dict[Path, str]:
    """Every file that states a timing, as it should read."""
    out = {path: rewrite_markdown(path.read_text(encoding="utf-8"), seconds) for path in MARKDOWN}
    for path in sorted({p for job in JOBS for p in job.scenario_files}):
        out[ROOT / path] = rewrite_scenario((ROOT / path).read_text(encoding="utf-8"), path, seconds)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the files from docs/timings.json only")
    mode.add_argument("--check", action="store_true", help="exit 1 if a file disagrees with docs/timings.json")
    mode.add_argument("--only", nargs="+", choices=sorted(BY_NAME), help="rerun these jobs, keep the others")
    args = parser.parse_args()
    if not (args.write or args.check):
        record = measure(args.only or list(BY_NAME))
        if args.only and TIMINGS.exists():
            record["seconds"] = {**read_timings()["seconds"], **record["seconds"]}
        TIMINGS.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    files = expected_files(read_timings()["seconds"])
    stale = [p for p, text in files.items() if p.read_text(encoding="utf-8") != text]
    if args.check:
        for p in stale:
            print(f"{p.relative_to(ROOT)} disagrees with docs/timings.json: run python docs/make_timings.py --write")
        return 1 if stale else 0
    for p in stale:
        p.write_text(files[p], encoding="utf-8")
        print(f"rewrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
