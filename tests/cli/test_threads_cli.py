"""``python run.py simulate --threads 1`` and ``--threads 2`` write identical results.

Each block of ``kernels.BLOCK_NEURONS`` neurons draws from its own random stream, and each
thread takes whole blocks, so the thread count changes no draw and no sum. The network has
three blocks (the last one short) and a train of pulses (so ``pulses.parquet`` is written);
``NUMBA_NUM_THREADS=2`` lets numba start two threads on any machine.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers import NORMAL, ROOT

from sim.model.kernels import BLOCK_NEURONS

SETS = [f"network.n_neurons={2 * BLOCK_NEURONS + 700}", "network.excitatory_in_degree=40",
        "network.inhibitory_in_degree=10", "protocol.duration_s=0.4", "protocol.warmup_s=0.1",
        'protocol.stimuli=[{kind = "train", start_s = 0.2, rate_hz = 40.0, n_pulses = 4, target = "all"}]']
FILES = ("summary.parquet", "timeseries.parquet", "pulses.parquet", "summary.csv")


def simulate(out, *options: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "run.py"), "simulate", str(NORMAL), "--condition", "ketamine_10uM",
           "--out", str(out), "--quiet", *options]
    for s in SETS:
        cmd += ["--set", s]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NUMBA_NUM_THREADS": "2"})


def test_one_and_two_threads_write_identical_files(tmp_path):
    one, two = simulate(tmp_path / "one", "--threads", "1"), simulate(tmp_path / "two", "--threads", "2")
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    assert "1 thread(s)" in one.stderr and "2 thread(s)" in two.stderr
    for name in FILES:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


@pytest.mark.parametrize("threads", ["0", "3"])
def test_a_thread_count_out_of_range_is_one_line_and_exit_2(tmp_path, threads):
    done = simulate(tmp_path / "out", "--threads", threads)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: --threads {threads}: allowed: a whole number from 1 to 2 (the cores numba may use here; "
        "NUMBA_NUM_THREADS sets it)"]
    assert not (tmp_path / "out").exists()
