"""One writer per output folder: an advisory ``fcntl.flock`` on ``DIR/.lock``.

A command that writes a folder (batch, sweep, ``--resume``, validate,
calibrate, report) holds its lock while it runs; the lock file holds the
holder's PID and command. A second writer is refused with one line naming that
PID. The kernel releases a flock when its holder dies, so the lock file a
killed process leaves behind is simply taken over; taking it removes the
temporary files of dead writers (:mod:`sim.runs.stale_files`). The holder removes the
lock file when it releases the lock.

A flock belongs to the open file, which forked children share. The file is
opened with ``O_CLOEXEC`` (closed in any program a child executes) and every
forked child (a local worker process) closes it at once, so a worker that
outlives a killed parent does not keep the folder locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sim.errors import OutputError
from sim.runs.folders import LOCK_FILE
from sim.runs.stale_files import remove_stale

ATTEMPTS = 20          # a lock file removed by its last holder between our open and flock is opened again
HOLDER_BYTES = 4096    # the lock file's text is the holder's "PID command"

_held: dict[Path, int] = {}        # folder (resolved) -> descriptor of its locked file, in this process


def _close_in_child() -> None:
    """In a forked child: close the inherited lock files (the parent alone holds the locks)."""
    for fd in _held.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_close_in_child)


@contextlib.contextmanager
def folder_lock(folder: Path, command: str, create: bool = True) -> Iterator[None]:
    """Hold the lock of ``folder`` during the block; a folder locked by another process is an OutputError.

    With ``create`` a missing folder is made (and removed again, like the lock
    file, if the block leaves it empty: a command refused for bad input writes
    nothing); without it, or if the path is not a folder, nothing is locked and
    the command reports the problem itself. Nested locks of one folder in one
    process are one lock.
    """
    key = folder.resolve()
    if key in _held or (not folder.is_dir() and (folder.exists() or not create)):
        yield
        return
    made = _make_folder(folder)
    try:
        fd = _acquire(folder, command)
    except BaseException:
        _remove_empty(made)
        raise
    _held[key] = fd
    try:
        remove_stale(folder)
        yield
    finally:
        _held.pop(key, None)
        _release(folder / LOCK_FILE, fd)
        _remove_empty(made)


def check_not_in_use(folder: Path) -> None:
    """Refuse a folder whose lock another process holds, without taking the lock or writing anything."""
    if folder.resolve() in _held:
        return
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return                               # no lock file: nobody holds the folder
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise in_use(folder) from None
    finally:
        os.close(fd)


def in_use(folder: Path) -> OutputError:
    """The error of a folder locked by another process, naming its PID and command."""
    return OutputError(f"{folder}: in use by {holder(folder)}; allowed: one command writing a folder at a time: "
                       f"wait until it has finished, or stop it")


def holder(folder: Path) -> str:
    """``PID N (command)`` of the lock's holder, as its lock file says."""
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            text = os.read(fd, HOLDER_BYTES).decode("utf-8", errors="replace").strip()
        finally:
            os.close(fd)
    except OSError:
        text = ""
    pid, _, command = text.partition(" ")
    return f"PID {pid} ({command})" if pid.isdigit() else "another process (its PID is not written yet)"


def _make_folder(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns those created, deepest first."""
    made = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{folder}: cannot create the folder ({err.strerror})") from None
    return made


def _remove_empty(made: list[Path]) -> None:
    for path in made:
        try:
            path.rmdir()
        except OSError:
            return


def _acquire(folder: Path, command: str) -> int:
    """Open, lock and label ``folder/.lock``; the descriptor of the locked file."""
    path = folder / LOCK_FILE
    for _ in range(ATTEMPTS):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as err:
            raise OutputError(f"{path}: cannot open the lock file ({err.strerror}); allowed: a folder this user "
                              f"can write to, with {LOCK_FILE} a plain file") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise in_use(folder) from None
        except OSError as err:
            os.close(fd)
            raise OutputError(f"{path}: cannot lock ({err.strerror}); allowed: a local file system") from None
        if _is_current(fd, path):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {command}\n".encode())
            return fd
        os.close(fd)                         # its last holder removed it meanwhile: lock the new one
    raise OutputError(f"{path}: the lock file keeps being replaced; allowed: one command writing a folder at a time")


def _is_current(fd: int, path: Path) -> bool:
    """Whether ``path`` is still the file open as ``fd`` (not removed or replaced since)."""
    try:
        now = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino)


def _release(path: Path, fd: int) -> None:
    """Empty and remove the lock file while still holding it, then unlock it (by closing it)."""
    try:
        os.ftruncate(fd, 0)
        if _is_current(fd, path):
            path.unlink()
    except OSError:
        pass
    finally:
        os.close(fd)
