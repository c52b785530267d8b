"""Where a batch's runs execute: local worker processes or a Dask cluster.

An executor has ``submit(fn, *args) -> future``, ``as_completed(futures)`` and
``close(cancel=False)``; futures have ``result()``. The client (the process
running ``run.py``) submits runs and writes every file itself, so the outputs
are the same whichever executor computed them.

- ``local``: a ``concurrent.futures.ProcessPoolExecutor`` (default: one
  worker per core; forked on Linux).
- ``dask``: a ``dask.distributed.Client``. Without a scheduler address it
  starts a ``LocalCluster`` of worker processes on this machine (one thread
  each; scheduler, workers and dashboard listen on 127.0.0.1 only); with
  ``tcp://HOST:PORT`` it connects to a running scheduler, whose workers must
  have this package installed (they import ``sim``, the code is not shipped).
  The address is checked and the scheduler asked who it is, within
  ``CONNECT_TIMEOUT_S`` (:mod:`sim.runs.dask_address`), before anything else. The
  dashboard address is printed on stderr.

Workers die with the client: local pool workers ask Linux for SIGKILL when
their parent dies (:mod:`sim.runs.parent_death`); the worker processes of a Dask
``LocalCluster`` exit on their own when the pipe to their parent closes
(``distributed.process.AsyncProcess``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any

from sim.runs.dask_address import check_address, probe_scheduler
from sim.runs.outputs import OutputError
from sim.runs.parent_death import die_with_parent

BACKENDS = ("local", "dask")
CONNECT_TIMEOUT_S = 5.0    # assumption: long enough for a scheduler on a busy network, short enough to fail fast
LOCAL_HOST = "127.0.0.1"   # a new local cluster's scheduler, workers and dashboard listen on this machine only


def default_workers() -> int:
    """One worker per core of this machine."""
    return os.cpu_count() or 1


def _worker_context() -> multiprocessing.context.BaseContext | None:
    """How local workers start: on Linux as forked copies of this process, with the engine already imported
    (importing Mesa 3.3 makes "spawn", which re-imports everything in every worker, the global default);
    elsewhere the platform's default."""
    return multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None


def start_worker(parent_pid: int) -> None:
    """In a new local worker: leave Ctrl-C to the parent (which cancels the batch and says what was kept), and
    die with the parent (:func:`sim.runs.parent_death.die_with_parent`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)


class LocalExecutor:
    """Runs tasks in a pool of local worker processes."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=_worker_context(),
                                         initializer=start_worker, initargs=(os.getpid(),))

    def submit(self, fn: Callable, *args: Any) -> Future:
        return self._pool.submit(fn, *args)

    def as_completed(self, futures: Iterable[Future]) -> Iterator[Future]:
        return as_completed(futures)

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)


class DaskExecutor:
    """Runs tasks on a Dask cluster: a new ``LocalCluster`` of worker processes, or the scheduler at ``scheduler``.

    ``workers`` sets the size of a new local cluster (default: one per core); a
    running cluster keeps its own workers. An address that is malformed, or where
    no Dask scheduler answers within ``connect_timeout_s`` seconds, is an OutputError.
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S, log=sys.stderr):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise OutputError("--backend dask: dask.distributed is not installed; allowed: --backend local, or "
                              "pip install 'dask[distributed]'") from None
        self._cluster = None
        if scheduler is None:
            self._cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                                         processes=True, host=LOCAL_HOST, dashboard_address=f"{LOCAL_HOST}:0",
                                         silence_logs=logging.ERROR)
        else:
            check_address(scheduler)
            probe_scheduler(scheduler, connect_timeout_s)   # a server that is not Dask fails here, in time
        try:
            self.client = Client(self._cluster or scheduler, timeout=f"{connect_timeout_s}s", set_as_default=False)
        except Exception as err:  # noqa: BLE001 - OSError, TimeoutError, a TLS address without certificates...
            if self._cluster is not None:
                self._cluster.close()
            detail = (str(err) or type(err).__name__).splitlines()[0]
            raise OutputError(f"--scheduler {scheduler}: no Dask scheduler answered within {connect_timeout_s:g} s "
                              f"({detail}); allowed: the tcp://HOST:PORT address of a running "
                              f"scheduler, or no --scheduler to start a local cluster") from None
        self.workers = len(self.client.nthreads())
        where = "local cluster" if self._cluster is not None else f"scheduler {scheduler}"
        print(f"dask: {where}, {self.workers} worker(s); dashboard {self.client.dashboard_link}", file=log)

    def submit(self, fn: Callable, *args: Any):
        # pure=False: every run is its own task, even if two runs had identical arguments
        return self.client.submit(fn, *args, pure=False)

    def as_completed(self, futures: Iterable) -> Iterator:
        from dask.distributed import as_completed as dask_as_completed

        return iter(dask_as_completed(list(futures), loop=self.client.loop))

    def close(self, cancel: bool = False) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(backend: str, workers: int | None, scheduler: str | None = None):
    """The executor of a backend: ``local`` (process pool) or ``dask``."""
    if backend == "local":
        if scheduler is not None:
            raise OutputError(f"--scheduler {scheduler}: only used with --backend dask")
        return LocalExecutor(workers or default_workers())
    if backend == "dask":
        return DaskExecutor(workers, scheduler)
    raise OutputError(f"--backend {backend}: not available; allowed: {', '.join(BACKENDS)}")
