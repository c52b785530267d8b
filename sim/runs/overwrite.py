"""What ``run.py simulate --out DIR --overwrite`` may replace: an empty folder, or one this tool made and nobody
is writing."""

from __future__ import annotations

import json
from pathlib import Path

from sim.errors import OutputError
from sim.runs.folder_lock import check_not_in_use
from sim.runs.folders import has_content

MANIFEST = "manifest.json"
TOOL_KINDS = ("simulate", "batch", "sweep", "calibration")   # the "kind" of every manifest.json run.py writes


def made_by_tool(folder: Path) -> bool:
    """Whether ``folder/manifest.json`` is a readable manifest of one of the tool's commands."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("kind") in TOOL_KINDS


def check_replaceable(out: Path) -> None:
    """Refuse to replace a non-empty folder that this tool did not make, or that a command is writing."""
    if not has_content(out):
        return
    if not made_by_tool(out):
        raise OutputError(f"--out {out}: --overwrite: the folder was not made by run.py (no {MANIFEST} of kind "
                          f"{', '.join(TOOL_KINDS)}) and is left alone; allowed: a folder run.py made, an empty "
                          f"folder or a new one")
    check_not_in_use(out)
