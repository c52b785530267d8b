#!/usr/bin/env python3
"""Run a sweep (or a batch) on a SLURM cluster: Dask workers as SLURM jobs, this script as the client.

Run it on the cluster's login node (or in a small SLURM job of its own), from
the repository, in the virtual environment where the project is installed
(``pip install -e ".[slurm]"``, which adds dask-jobqueue; the workers run the
same Python and import the same installed code from the shared file system):

    python examples/slurm_dask.py scenarios/sweeps/ketamine_sobol_depression.toml --out results/sobol \\
        --jobs 20 --queue normal --account mylab --walltime 02:00:00

What it does:

1. starts a ``dask_jobqueue.SLURMCluster``: each SLURM job runs one Dask worker
   process with one core (the model is single-threaded; more runs, not more
   threads, is what speeds a sweep up);
2. asks for ``--jobs`` such jobs and prints the job script, the scheduler's
   address and its dashboard address (open it through an SSH tunnel, e.g.
   ``ssh -L 8787:localhost:8787 login-node``, then http://localhost:8787/status);
3. runs ``run.py sweep SWEEP --out DIR --backend dask --scheduler ADDRESS``
   (``--batch`` for an experiment file instead); runs start as soon as the
   first workers join, and the client writes every file, so ``DIR`` is the same
   as on one machine, bit for bit;
4. closes the cluster (cancels the jobs) at the end or on Ctrl-C. If the client
   is killed, run the same command with ``--resume`` to finish the folder.

With ``--job-script`` it only prints the job script that each SLURM job would
run (with a placeholder for the scheduler's address) and exits: no scheduler is
started and nothing is submitted, so the options can be checked anywhere
dask-jobqueue is installed, without SLURM.

The scheduler can equally be started by hand (``dask scheduler`` on one node,
``dask worker tcp://HOST:8786 --nthreads 1`` in SLURM jobs); then pass its
address to ``run.py ... --backend dask --scheduler tcp://HOST:8786``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER_SCHEDULER = "tcp://SCHEDULER-HOST:8786"   # in a job script printed by --job-script


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="sweep file (or experiment file with --batch)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--batch", action="store_true", help="the file is an experiment: run.py batch")
    parser.add_argument("--resume", action="store_true", help="finish an interrupted folder")
    parser.add_argument("--jobs", type=int, default=10, help="SLURM jobs = Dask workers (default 10)")
    parser.add_argument("--queue", default=None, help="SLURM partition (#SBATCH -p)")
    parser.add_argument("--account", default=None, help="SLURM account (#SBATCH -A)")
    parser.add_argument("--walltime", default="01:00:00", help="wall time of each worker job (default 01:00:00)")
    parser.add_argument("--memory", default="2GB", help="memory of each worker job (default 2GB: a 1000-neuron "
                                                        "run needs well under 1 GB)")
    parser.add_argument("--job-script", action="store_true",
                        help="only print the job script of a worker job, then exit (nothing is started or submitted)")
    return parser.parse_args(argv)


def job_options(args: argparse.Namespace) -> dict:
    """The keywords of each worker job, for ``SLURMCluster`` and ``SLURMJob`` alike: one Dask worker process with
    one core, ``args.memory`` of memory and ``args.walltime`` of wall time (HH:MM:SS), started in the repository."""
    return {"queue": args.queue, "account": args.account, "cores": 1, "processes": 1, "memory": args.memory,
            "walltime": args.walltime, "job_name": "vesicle-sim",
            "job_script_prologue": [f"cd {ROOT}"]}   # workers start this Python (sys.executable)


def job_script(args: argparse.Namespace) -> str:
    """The job script of one worker job, its scheduler address a placeholder; starts and submits nothing."""
    from dask_jobqueue.slurm import SLURMJob

    return SLURMJob(PLACEHOLDER_SCHEDULER, name="dummy-name", **job_options(args)).job_script()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.job_script:
        print(job_script(args))
        return 0

    from dask_jobqueue import SLURMCluster  # the slurm extra (not a dependency of the project)

    cluster = SLURMCluster(**job_options(args))
    try:
        print(cluster.job_script())
        cluster.scale(jobs=args.jobs)
        print(f"scheduler {cluster.scheduler_address}; dashboard {cluster.dashboard_link}", flush=True)
        sys.path.insert(0, str(ROOT))
        import run

        command = ["batch" if args.batch else "sweep", str(args.file), "--out", str(args.out),
                   "--backend", "dask", "--scheduler", cluster.scheduler_address]
        return run.main(command + (["--resume"] if args.resume else []))
    finally:
        cluster.close()


if __name__ == "__main__":
    sys.exit(main())
