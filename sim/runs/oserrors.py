"""Operating-system errors as one line, and an early check that an output folder can be written.

``run.main`` prints any ``OSError`` of a command as ``error: PATH: reason``
(exit code 2: the environment, not the model, failed). :func:`check_writable`
finds an ``--out`` that cannot be written before anything is simulated, and
:func:`removed_on_error` keeps a failed atomic write (disk full) from leaving
its temporary file behind while naming the file it was writing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sim.errors import OutputError


def reason(err: OSError) -> str:
    """The operating system's words for ``err`` ('No space left on device'), without the library's wrapping."""
    if isinstance(err.errno, int) and err.errno > 0:
        return os.strerror(err.errno)
    text = err.strerror or str(err) or type(err).__name__
    return text.splitlines()[0]


def describe(err: OSError, where: str | Path | None = None) -> str:
    """``PATH: reason`` of ``err``; ``where`` stands for the path when the error names none."""
    path = err.filename if err.filename is not None else where
    if path is not None and err.filename2 is not None:
        path = f"{path} -> {err.filename2}"
    return f"{path}: {reason(err)}" if path is not None else reason(err)


def _nearest_existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (the folder a new ``path`` would be created in)."""
    base = path
    while not os.path.lexists(base) and base.parent != base:
        base = base.parent
    return base


def check_writable(path: Path, option: str = "--out") -> None:
    """Refuse (OutputError) an output folder that cannot be made or written, without creating anything.

    ``path`` must be a folder or not exist; its nearest existing ancestor must be
    a folder in which a file can be created (a probe file, removed at once).
    """
    path = base = Path(path)
    try:
        base = _nearest_existing(path)
        if base == path and not path.is_dir():
            raise OutputError(f"{option} {path}: exists and is not a folder; allowed: a new or existing folder")
        if not base.is_dir():
            raise OutputError(f"{option} {path}: {base} is not a folder, so nothing can be created in it; "
                              f"allowed: a path below a folder")
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=base)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OutputError(f"{option} {path}: cannot write in {base} ({reason(err)}); allowed: a folder you can "
                          f"write to") from None


@contextlib.contextmanager
def removed_on_error(tmp: Path, path: Path) -> Iterator[None]:
    """Remove the temporary file ``tmp`` if the block fails; an OSError that names no file (a full disk while
    writing) is raised again naming ``path``, the file being written."""
    try:
        yield
    except BaseException as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.filename is None:
            raise OSError(err.errno, reason(err), str(path)) from err
        raise
