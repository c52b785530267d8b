"""examples/slurm_dask.py writes the SLURM job script of its Dask workers (``--job-script``: nothing is started or
submitted, so no SLURM is needed).

The example runs as a subprocess, so that the test process imports neither
dask-jobqueue nor Dask's client.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from helpers import ROOT, SMOKE_SWEEP

EXAMPLE = ROOT / "examples" / "slurm_dask.py"

pytestmark = pytest.mark.skipif(importlib.util.find_spec("dask_jobqueue") is None,
                                reason="dask-jobqueue is not installed (pip install -e '.[slurm]')")


def job_script(tmp_path, *options: str) -> str:
    """What ``examples/slurm_dask.py SMOKE_SWEEP --out OUT OPTIONS --job-script`` prints; OUT must stay unwritten."""
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(EXAMPLE), str(SMOKE_SWEEP), "--out", str(out), *options,
                             "--job-script"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not out.exists(), "--job-script runs nothing"
    return result.stdout


def sbatch_lines(script: str) -> list[str]:
    return [line for line in script.splitlines() if line.startswith("#SBATCH")]


def test_job_script_asks_slurm_for_one_core_per_worker(tmp_path):
    script = job_script(tmp_path, "--queue", "normal", "--account", "mylab", "--walltime", "02:00:00",
                        "--memory", "4GB")
    assert sbatch_lines(script) == ["#SBATCH -J vesicle-sim", "#SBATCH -p normal", "#SBATCH -A mylab",
                                    "#SBATCH -n 1", "#SBATCH --cpus-per-task=1", "#SBATCH --mem=4G",
                                    "#SBATCH -t 02:00:00"]
    assert f"cd {ROOT}\n" in script, "workers start in the repository"
    worker = script.strip().splitlines()[-1]
    assert worker.startswith(f"{sys.executable} -m distributed.cli.dask_worker tcp://SCHEDULER-HOST:8786 ")
    assert "--nthreads 1" in worker and "--nanny" in worker


def test_job_script_defaults_leave_partition_and_account_to_slurm(tmp_path):
    assert sbatch_lines(job_script(tmp_path)) == ["#SBATCH -J vesicle-sim", "#SBATCH -n 1",
                                                  "#SBATCH --cpus-per-task=1", "#SBATCH --mem=2G",
                                                  "#SBATCH -t 01:00:00"]
