"""A sweep on a Dask cluster started from the command line survives a worker killed with SIGKILL mid-sweep.

The cluster is what a real one runs: a ``dask scheduler`` and two ``dask
worker`` processes (each a nanny and its worker process, in a session of its
own), all on 127.0.0.1. The sweep is a ``run.py sweep --backend dask
--scheduler ADDRESS`` subprocess; while its runs are under way one worker's
process group gets SIGKILL, as when a node of a cluster dies. The scheduler
hands the killed worker's runs to the survivor, and the folder must be byte for
byte that of a local run of the same sweep file, each run in it exactly once.
Like tests/cli/test_dask.py, the test process itself starts no Dask threads:
every client of the cluster is a subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from helpers import NORMAL, ROOT, SMOKE_SWEEP, run_cli, same_sweep_outputs

from sim.runs.store import MANIFEST, RUN_RESULT, RUNS_DIR, SUMMARY_FILES, SWEEP_TABLE

DASK = Path(sys.executable).parent / "dask"   # the command line of this environment's Dask
HOST = "127.0.0.1"
#: every server of the cluster on 127.0.0.1 only: its Dask port, and the HTTP port (health, metrics) that scheduler
#: and workers open even without a dashboard, which would otherwise listen on all interfaces
LOOPBACK_ONLY = ["--host", HOST, "--no-dashboard", "--dashboard-address", f"{HOST}:0"]
WORKERS = ("w0", "w1")
KILLED = "w0"
START_TIMEOUT_S = 60.0     # assumption: scheduler and workers start in seconds even on a busy 2-core machine
SWEEP_TIMEOUT_S = 120.0    # a sweep that takes longer has hung: fail instead of waiting for ever
STOP_TIMEOUT_S = 10.0      # after SIGTERM, before SIGKILL
POLL_S = 0.02              # how often the output folder is looked at

#: the smoke sweep made slower: 30 s of biology per run (tenths of a second of computing each, instead of hundredths)
#: and 2 replicates (16 runs instead of 8), so that a worker can be killed with most runs still to do
SLOW_SWEEP_CHANGES = (
    ('scenarios = ["../normal.toml"]', f'scenarios = ["{NORMAL.as_posix()}"]'),   # the copy lives in tmp_path
    ("replicates = 1", "replicates = 2"),
    ("duration_s = 3.0", "duration_s = 30.0"),
)

#: asks the scheduler (argv[1]), once argv[2] workers are connected, for their names and for how often a worker
#: died while it held a task, by task prefix (``execute_run`` for a sweep's runs); prints them as JSON
QUERY_SCRIPT = """
import json, sys
from distributed import Client

address, n_workers = sys.argv[1], int(sys.argv[2])
with Client(address, timeout="10s") as client:
    client.wait_for_workers(n_workers, timeout=30)
    names = sorted(w["name"] for w in client.scheduler_info()["workers"].values())
    lost = client.run_on_scheduler(
        lambda dask_scheduler: {p.name: p.suspicious for p in dask_scheduler.task_prefixes.values()})
print(json.dumps({"workers": names, "suspicious": lost}))
"""


def slow_sweep(folder: Path) -> Path:
    """A copy of the smoke sweep in ``folder`` with the changes of ``SLOW_SWEEP_CHANGES``; returns its path."""
    text = SMOKE_SWEEP.read_text(encoding="utf-8")
    for old, new in SLOW_SWEEP_CHANGES:
        assert text.count(old) == 1, f"{SMOKE_SWEEP} no longer has exactly one '{old}'"
        text = text.replace(old, new)
    path = folder / "slow_sweep.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- processes


def start(args: list[str], log: Path) -> subprocess.Popen:
    """``args`` as a process in a session of its own (its process group can be killed whole), from the
    repository, its output to ``log``; Dask's scratch files go to the folder of ``log``, not to the shared
    /tmp/dask-scratch-space."""
    env = {**os.environ, "DASK_TEMPORARY_DIRECTORY": str(log.parent)}
    with log.open("wb") as sink:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)


def signal_group(proc: subprocess.Popen, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group of ``proc`` (a group that has gone is not an error)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def stop(processes: Iterable[subprocess.Popen]) -> None:
    """SIGTERM to the process group of each process still running, then SIGKILL to each group whose leader has
    not exited within STOP_TIMEOUT_S seconds."""
    processes = list(processes)
    for proc in processes:
        if proc.poll() is None:      # a leader that has exited was reaped: its group id may be another's by now
            signal_group(proc, signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            signal_group(proc, signal.SIGKILL)
            proc.wait()


def tail(log: Path, lines: int = 20) -> str:
    """The last lines of a process's log, for an assertion's message."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.is_file() else "(no log)"


@dataclass
class Cluster:
    """A running ``dask scheduler`` and its workers, by name (``scheduler``, ``w0``, ``w1``), with their logs."""

    address: str
    processes: dict[str, subprocess.Popen]
    logs: Path

    def log(self, name: str) -> str:
        return tail(self.logs / f"{name}.log")

    def query(self, n_workers: int) -> dict:
        """Once ``n_workers`` workers are connected: their names and the scheduler's count, by task prefix, of
        workers that died holding a task (``QUERY_SCRIPT``)."""
        result = subprocess.run([sys.executable, "-c", QUERY_SCRIPT, self.address, str(n_workers)], cwd=ROOT,
                                capture_output=True, text=True, timeout=START_TIMEOUT_S)
        assert result.returncode == 0, f"{result.stderr}\nscheduler log:\n{self.log('scheduler')}"
        return json.loads(result.stdout)

    def kill(self, name: str) -> None:
        """SIGKILL the process group of worker ``name`` (its nanny and worker process): a node that dies."""
        proc = self.processes[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT_S)


def scheduler_address(scheduler_file: Path, proc: subprocess.Popen, log: Path) -> str:
    """The address in the scheduler file that ``dask scheduler --scheduler-file`` writes once it listens."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):   # not yet written, or half written
            return json.loads(scheduler_file.read_text())["address"]
        time.sleep(0.1)
    raise AssertionError(f"dask scheduler did not start within {START_TIMEOUT_S:g} s:\n{tail(log)}")


@pytest.fixture
def cluster(tmp_path) -> Iterator[Cluster]:
    """``dask scheduler`` and the ``dask worker`` processes of WORKERS (one thread each) on 127.0.0.1, started
    from this environment's command line as a cluster would start them; stopped at the end, failed or not."""
    logs = tmp_path / "logs"
    logs.mkdir()
    processes: dict[str, subprocess.Popen] = {}
    try:
        processes["scheduler"] = start([str(DASK), "scheduler", *LOOPBACK_ONLY, "--port", "0",
                                        "--scheduler-file", str(logs / "scheduler.json")], logs / "scheduler.log")
        address = scheduler_address(logs / "scheduler.json", processes["scheduler"], logs / "scheduler.log")
        for name in WORKERS:
            processes[name] = start([str(DASK), "worker", address, *LOOPBACK_ONLY, "--nworkers", "1", "--nthreads", "1",
                                     "--name", name], logs / f"{name}.log")
        running = Cluster(address, processes, logs)
        assert running.query(len(WORKERS))["workers"] == list(WORKERS)
        yield running
    finally:
        stop(reversed(processes.values()))   # the workers first, then their scheduler


@contextlib.contextmanager
def sweep_process(args: list[str], logs: Path) -> Iterator[subprocess.Popen]:
    """``run.py ARGS`` running in a session of its own (stdout to ``logs/sweep.out``, stderr to
    ``logs/sweep.err``); killed at the end if it is still running."""
    with (logs / "sweep.out").open("wb") as out, (logs / "sweep.err").open("wb") as err:
        proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, start_new_session=True)
    try:
        yield proc
    finally:
        stop([proc])


# --------------------------------------------------------------------------- the folder


def finished_runs(out: Path) -> int:
    """The number of finished runs in the folder ``out`` (run folders appear whole, with their RUN_RESULT)."""
    return len(list((out / RUNS_DIR).glob(f"r*/{RUN_RESULT}")))


def wait_for_first_run(out: Path, proc: subprocess.Popen) -> int:
    """Wait until ``out`` holds a finished run, or the process ``proc`` has exited; the number of finished runs."""
    deadline = time.monotonic() + SWEEP_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None and finished_runs(out) == 0:
        time.sleep(POLL_S)
    return finished_runs(out)


def assert_each_run_once(out: Path) -> None:
    """Every run of the manifest is in ``out`` exactly once: one finished run folder, one row of each table,
    no partial folder and no other run."""
    planned = sorted(run["run_id"] for run in json.loads((out / MANIFEST).read_text())["runs"])
    folders = sorted(p.name for p in (out / RUNS_DIR).iterdir())
    assert folders == planned, "one folder per planned run, nothing else (no partial folders)"
    assert all((out / RUNS_DIR / run / RUN_RESULT).is_file() for run in planned), "every run finished"
    for table in (SWEEP_TABLE, SUMMARY_FILES[0]):
        assert sorted(pd.read_parquet(out / table)["run_id"]) == planned, f"{table}: one row per run"


# --------------------------------------------------------------------------- the test


def test_sweep_survives_a_worker_killed_mid_sweep(cluster, tmp_path):
    sweep = slow_sweep(tmp_path)
    local = tmp_path / "local"
    result = run_cli("sweep", str(sweep), "--out", str(local), "--workers", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    total = len(json.loads((local / MANIFEST).read_text())["runs"])

    out = tmp_path / "on_cluster"
    with sweep_process(["sweep", str(sweep), "--out", str(out), "--backend", "dask", "--scheduler",
                        cluster.address, "--quiet"], cluster.logs) as proc:
        done_at_kill = wait_for_first_run(out, proc)
        running_at_kill = proc.poll() is None
        cluster.kill(KILLED)
        assert running_at_kill and 1 <= done_at_kill <= total // 2, (
            f"the kill should land mid-sweep, with most runs to do: {done_at_kill} of {total} runs were finished, "
            f"sweep {'running' if running_at_kill else 'exited'}\n{(cluster.logs / 'sweep.err').read_text()}")
        code = proc.wait(timeout=SWEEP_TIMEOUT_S)

    stdout, stderr = ((cluster.logs / name).read_text() for name in ("sweep.out", "sweep.err"))
    assert code == 0, f"{stderr}\nscheduler log:\n{cluster.log('scheduler')}"
    assert f"scheduler {cluster.address}, 2 worker(s)" in stderr
    assert f"{total} runs done, 0 already done, 0 failed (of {total})" in stdout
    after = cluster.query(1)
    assert after["workers"] == [w for w in WORKERS if w != KILLED], "the killed worker is gone, the other one left"
    assert after["suspicious"].get("execute_run", 0) >= 1, "the killed worker was computing a run, which was redone"
    same_sweep_outputs(out, local)
    assert_each_run_once(out)
