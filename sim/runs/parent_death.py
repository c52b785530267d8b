"""Worker processes that die with their parent (Linux).

A pool worker blocks reading its task queue; if the parent is killed
(``kill -9``), nothing closes that queue (the other workers hold it open too),
so the workers would live on. :func:`die_with_parent`, run by each worker as it
starts, asks the kernel to send it SIGKILL when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), and exits at once if the parent died before it
asked. Elsewhere than on Linux it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1   # linux/prctl.h


def die_with_parent(parent_pid: int) -> None:
    """In a new worker process: be killed (SIGKILL) when the parent process ``parent_pid`` dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):    # no C library or no prctl: the worker lives as before
        return
    if os.getppid() != parent_pid:       # the parent died before the request: no signal will come
        os._exit(1)
