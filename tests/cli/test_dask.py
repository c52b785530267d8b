"""The Dask backend: a real local cluster gives the same bytes as local processes, resumes, and fails fast.

The cluster (a ``dask.distributed.LocalCluster`` of 2 worker processes) runs
in a helper process, and every client is a ``run.py`` subprocess, so that the
test process itself never holds Dask's threads (later tests fork workers):
these tests are in tests/cli for that reason. The local runs they are compared
with are the shared smoke batch and sweep of tests/conftest.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, SMOKE_EXPERIMENT, SMOKE_SWEEP, kill_batch_midway, run_cli, same_outputs, same_sweep_outputs

CLUSTER_SCRIPT = """
import logging, sys
from dask.distributed import LocalCluster

if __name__ == "__main__":
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    print(cluster.scheduler_address, flush=True)
    sys.stdin.read()          # until the test closes stdin
    cluster.close()
"""


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory) -> str:
    """The address of a running local Dask cluster with 2 worker processes."""
    script = tmp_path_factory.mktemp("dask") / "cluster.py"
    script.write_text(CLUSTER_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    address = proc.stdout.readline().strip()
    assert address.startswith("tcp://"), f"cluster did not start: {address!r}"
    yield address
    proc.stdin.close()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def local_batch(smoke_batch) -> Path:
    """The smoke experiment on 2 local worker processes (tests/conftest.py); read only."""
    return smoke_batch


def test_batch_on_a_running_cluster_matches_local_processes(scheduler, local_batch, tmp_path):
    out = tmp_path / "dask_batch"
    result = run_cli("batch", str(SMOKE_EXPERIMENT), "--out", str(out), "--backend", "dask", "--scheduler", scheduler,
                     "--quiet")
    assert result.returncode == 0, result.stderr
    assert f"scheduler {scheduler}, 2 worker(s); dashboard" in result.stderr
    same_outputs(out, local_batch, "summary.parquet")


def test_sweep_on_a_new_local_cluster_matches_local_processes(smoke_sweep, tmp_path):
    out = tmp_path / "dask_sweep"
    result = run_cli("sweep", str(SMOKE_SWEEP), "--out", str(out), "--backend", "dask", "--workers", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "dask: local cluster, 2 worker(s); dashboard http" in result.stderr
    same_sweep_outputs(out, smoke_sweep)


def test_killed_batch_resumes_on_the_cluster(scheduler, local_batch, tmp_path):
    out = tmp_path / "killed"
    done_before = kill_batch_midway(["batch", str(SMOKE_EXPERIMENT), "--out", str(out), "--backend", "dask",
                                     "--scheduler", scheduler], out)
    assert 2 <= done_before < 8, "the kill should land mid-batch"
    result = run_cli("batch", str(SMOKE_EXPERIMENT), "--out", str(out), "--backend", "dask", "--scheduler", scheduler,
                     "--resume", "--quiet")
    assert result.returncode == 0, result.stderr
    assert f"{8 - done_before} runs done, {done_before} already done, 0 failed" in result.stdout
    same_outputs(out, local_batch, "summary.parquet")
    assert not list((out / "runs").glob(".*")), "no partial run folders left behind"


def test_unreachable_scheduler_fails_within_seconds(tmp_path):
    out = tmp_path / "never"
    start = time.monotonic()
    result = run_cli("batch", str(SMOKE_EXPERIMENT), "--out", str(out), "--backend", "dask",
                     "--scheduler", "tcp://127.0.0.1:1", "--quiet", timeout=120)
    elapsed = time.monotonic() - start
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "--scheduler tcp://127.0.0.1:1: no Dask scheduler answered within 5 s" in lines[0]
    assert elapsed < 20, f"took {elapsed:.0f} s"
    assert not out.exists(), "nothing is written when the scheduler does not answer"
