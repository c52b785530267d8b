"""Temporary files and folders left by writers that died: ``.NAME.tmp-PID``, ``.NAME.partial-PID``, ``.NAME.old-PID``.

``sim.runs.outputs`` writes every file to ``.NAME.tmp-PID`` and renames it; a run
folder or a simulate folder is staged as ``.NAME.partial-PID`` (and the folder
it replaces moved to ``.NAME.old-PID``). A writer killed in between leaves them
behind. They are removed when the next writer takes the folder's lock
(:mod:`sim.runs.folder_lock`), but only those whose PID is not a live process.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

TEMPORARY = re.compile(r"\..+\.(?:tmp|partial|old)-([0-9]+)")
PLACES = (".", "runs")      # a folder and its runs/ (sim.runs.batch.RUNS_DIR)


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (one of another user counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


def stale_entries(folder: Path, places: tuple[str, ...] = PLACES) -> list[Path]:
    """The temporary files and folders of dead writers directly in ``folder`` and in its ``places``."""
    out = []
    for place in places:
        where = folder / place
        if not where.is_dir() or where.is_symlink():
            continue
        for entry in sorted(where.iterdir()):
            match = TEMPORARY.fullmatch(entry.name)
            if match and not pid_alive(int(match.group(1))):
                out.append(entry)
    return out


def remove(entry: Path) -> None:
    """Delete a file, a symbolic link (not its target) or a folder tree, as far as permissions allow."""
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            entry.unlink(missing_ok=True)


def remove_stale(folder: Path, places: tuple[str, ...] = PLACES) -> list[Path]:
    """Remove the dead writers' temporary entries of ``folder`` and its ``places``; returns what was removed."""
    entries = stale_entries(folder, places)
    for entry in entries:
        remove(entry)
    return entries


def remove_stale_stages(out: Path) -> list[Path]:
    """Remove the dead writers' staging folders of ``out`` itself (``.OUT.partial-PID``, ``.OUT.old-PID`` beside
    it, made by ``sim.runs.outputs.staged_output``); returns what was removed."""
    if not out.parent.is_dir():
        return []
    pattern = re.compile(re.escape(f".{out.name}.") + r"(?:partial|old)-([0-9]+)")
    entries = []
    for entry in sorted(out.parent.iterdir()):
        match = pattern.fullmatch(entry.name)
        if match and not pid_alive(int(match.group(1))):
            remove(entry)
            entries.append(entry)
    return entries
