"""Where a batch's runs execute: local worker processes or a Dask cluster.

An executor has ``submit(fn, *args) -> future``, ``as_completed(futures)`` and
``close(cancel=False)``; futures have ``result()``. The client (the process
running ``run.py``) submits runs and writes every file itself, so the outputs
are the same whichever executor computed them.

- ``local``: a ``concurrent.futures.ProcessPoolExecutor`` (default: one
  worker per core; forked on Linux).
- ``dask``: a ``dask.distributed.Client``. Without a scheduler address it
  starts a ``LocalCluster`` of worker processes on this machine (one thread
  each); with ``tcp://HOST:PORT`` it connects to a running scheduler, whose
  workers must have this package installed (they import ``sim``, the code is
  not shipped). The dashboard address is printed on stderr.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any

from sim.outputs import OutputError

BACKENDS = ("local", "dask")
CONNECT_TIMEOUT_S = 5.0    # assumption: long enough for a scheduler on a busy network, short enough to fail fast


def default_workers() -> int:
    """One worker per core of this machine."""
    return os.cpu_count() or 1


def _worker_context() -> multiprocessing.context.BaseContext | None:
    """How local workers start: on Linux as forked copies of this process, with the engine already imported
    (importing Mesa 3.3 makes "spawn", which re-imports everything in every worker, the global default);
    elsewhere the platform's default."""
    return multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None


class LocalExecutor:
    """Runs tasks in a pool of local worker processes."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=_worker_context())

    def submit(self, fn: Callable, *args: Any) -> Future:
        return self._pool.submit(fn, *args)

    def as_completed(self, futures: Iterable[Future]) -> Iterator[Future]:
        return as_completed(futures)

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)


class DaskExecutor:
    """Runs tasks on a Dask cluster: a new ``LocalCluster`` of worker processes, or the scheduler at ``scheduler``.

    ``workers`` sets the size of a new local cluster (default: one per core); a
    running cluster keeps its own workers. An address that does not answer
    within ``connect_timeout_s`` seconds is an OutputError.
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
                                         processes=True, dashboard_address=":0", silence_logs=logging.ERROR)
        try:
            self.client = Client(self._cluster or scheduler, timeout=f"{connect_timeout_s}s", set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise OutputError(f"--scheduler {scheduler}: no Dask scheduler answered within {connect_timeout_s:g} s "
                              f"({str(err).splitlines()[0]}); allowed: the tcp://HOST:PORT address of a running "
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
