"""The installed command ``vesicle-sim`` (pyproject's console script) runs the commands of run.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest


def test_console_script_runs_the_commands_of_run_py(tmp_path):
    try:
        metadata.distribution("vesicle-sim")
    except metadata.PackageNotFoundError:
        pytest.skip("the package is not installed (pip install -e .)")
    script = Path(sys.executable).parent / "vesicle-sim"
    assert script.is_file() or shutil.which("vesicle-sim"), "vesicle-sim is not installed next to python"
    result = subprocess.run([str(script) if script.is_file() else "vesicle-sim", "--help"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ("simulate", "batch", "sweep", "report", "reproduce", "validate", "calibrate"):
        assert command in result.stdout

