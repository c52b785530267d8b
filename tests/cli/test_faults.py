"""Faults while a batch writes its folder: kill -9 at random moments, Ctrl-C, a second writer (while the first is
paused with SIGSTOP, so that it is surely still writing).

After every fault the folder is finished with ``--resume`` and compared with an
uninterrupted batch of the same experiment: the same runs, none lost or
duplicated, no stray temporary files, and every run's files and the summary
tables bit-identical. The moments of the kills are drawn in the test from a
fixed seed, so a failure can be replayed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, tiny_experiment

import run

EXPERIMENT = tiny_experiment("faults", replicates=5, conditions=("vehicle", "ketamine_10uM"), duration_s=0.6,
                             master_seed=11)

KILL_TRIALS = 10
KILL_SEED = 20261201


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "faults.toml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(experiment: Path) -> Path:
    """The experiment run without faults."""
    out = experiment.parent / "reference"
    assert run.main(["batch", str(experiment), "--out", str(out), "--quiet", "--workers", "2"]) == 0
    return out


def start_batch(experiment: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "run.py"), "batch", str(experiment), "--out", str(out),
                             "--quiet", "--workers", "2", *extra], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(experiment: Path, out: Path) -> None:
    """Resume ``out`` (or start it, if the fault came before its manifest) until every run is done."""
    resume = ["--resume"] if (out / "manifest.json").is_file() else []
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "batch", str(experiment), "--out", str(out),
                           "--quiet", "--workers", "2", *resume], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr


def files(folder: Path) -> dict[str, bytes]:
    """Every file of a batch folder but its manifest (which records times and commands) and its lock."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in ("manifest.json", ".lock")}


def assert_same_as_reference(out: Path, reference: Path) -> None:
    got, want = files(out), files(reference)
    assert sorted(got) == sorted(want), (f"runs lost or extra files: missing {sorted(set(want) - set(got))}, "
                                         f"extra {sorted(set(got) - set(want))}")
    differing = [name for name in want if got[name] != want[name]]
    assert not differing, f"files differ from the uninterrupted batch: {differing}"
    hidden = [p.name for p in out.rglob(".*") if p.name != ".lock"]
    assert not hidden, f"temporary files left: {hidden}"


def wait_for_runs(out: Path, n: int, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not (out / "manifest.json").is_file() or len(list((out / "runs").glob("r*"))) < n:
        assert proc.poll() is None, f"the batch ended before {n} runs: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "the batch did not start"
        time.sleep(0.02)


def test_kill_at_random_moments_loses_and_duplicates_nothing(experiment, reference, tmp_path):
    rng = random.Random(KILL_SEED)
    for trial in range(KILL_TRIALS):
        out = tmp_path / f"trial{trial}"
        proc = start_batch(experiment, out)
        time.sleep(rng.uniform(0.0, 4.0))      # from before the manifest to after the last run
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        finish(experiment, out)
        assert_same_as_reference(out, reference)


def test_ctrl_c_keeps_finished_runs_and_says_so(experiment, reference, tmp_path):
    out = tmp_path / "interrupted"
    proc = start_batch(experiment, out)
    wait_for_runs(out, 2, proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    kept = len(list((out / "runs").glob("r*")))
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "--resume" in last and str(out) in last and "nothing was written" not in last, last
    assert kept >= 2
    finish(experiment, out)
    assert_same_as_reference(out, reference)


def test_a_second_writer_is_refused_and_the_first_finishes(experiment, reference, tmp_path):
    out = tmp_path / "contended"
    first = start_batch(experiment, out)
    wait_for_runs(out, 0, first)     # the folder exists: the lock is taken before the manifest is written
    os.killpg(first.pid, signal.SIGSTOP)   # the first writer holds the folder, paused mid-batch
    try:
        before = files(out)
        second = subprocess.run([sys.executable, str(ROOT / "run.py"), "batch", str(experiment), "--out",
                                 str(out), "--resume", "--quiet", "--workers", "1"], cwd=ROOT, capture_output=True,
                                text=True, timeout=120)
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    lines = second.stderr.strip().splitlines()
    assert second.returncode == 2 and len(lines) == 1, second.stderr
    assert str(first.pid) in lines[0] and "Traceback" not in second.stderr
    assert all(files(out).get(name) == data for name, data in before.items()), "the second writer changed files"
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert_same_as_reference(out, reference)
