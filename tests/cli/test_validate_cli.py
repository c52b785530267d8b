"""``run.py validate`` as a command: a bad option is refused with exit code 2 before anything is written (the
validation itself: tests/analysis/test_validate.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def validate_cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", *args, "--quiet"], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_validate_rejects_bad_options(tmp_path: Path):
    result = validate_cli("--quick", "--workers", "0", "--out", str(tmp_path / "x"), timeout=120)
    assert result.returncode == 2 and "--workers" in result.stderr and not (tmp_path / "x").exists()

