"""The output folder of ``run.py validate``: which folders it may write into, and its mark.

A validate folder holds one batch folder per validation experiment, named after
it, plus ``validation.md``, ``validation.csv``, ``figures/`` and
``validate.json``, the mark written when the folder is first used
(``{"kind": "validate", ...}``). ``--out`` may be a new or empty folder, a
marked folder, or an unmarked folder holding only those names (made before the
mark existed); anything else (a file, a batch folder, a folder of other files)
is refused before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from sim.runs.oserrors import check_writable
from sim.runs.store import OutputError, utc_now, write_json

MARKER = "validate.json"
KIND = "validate"
OWN_FILES = ("validation.md", "validation.csv", "figures", MARKER)
ALLOWED = "allowed: a new or empty folder, or one made by validate"


def _marker_kind(path: Path) -> object:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise OutputError(f"{path}: corrupt validate mark ({err}); {ALLOWED}") from None
    return data.get("kind") if isinstance(data, dict) else None


def check_folder(out: Path, experiments: Sequence[str]) -> None:
    """Refuse (OutputError) an ``--out`` that validate must not write into; ``experiments`` are the names of the
    validation experiments (their sub-folders)."""
    check_writable(out)
    if not out.is_dir():
        return
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    if (out / MARKER).is_file():
        kind = _marker_kind(out / MARKER)
        if kind != KIND:
            raise OutputError(f"--out {out}: {MARKER} is not a validate mark (kind {kind!r}); {ALLOWED}")
        return
    foreign = [n for n in names if n not in OWN_FILES and n not in experiments]
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise OutputError(f"--out {out}: not empty and not a folder made by validate (no {MARKER}; holds {shown}); "
                          f"{ALLOWED}")


def mark_folder(out: Path, command: list[str], quick: bool) -> None:
    """Create ``out`` if needed and mark it as a validate folder (once: an existing mark is kept)."""
    out.mkdir(parents=True, exist_ok=True)
    if not (out / MARKER).is_file():
        write_json(out / MARKER, {"kind": KIND, "command": " ".join(["run.py", *command]),
                                  "mode": "quick" if quick else "full", "created_utc": utc_now()})
