"""Shared paths and fixtures of the tests; puts the repository root on ``sys.path`` for runs without installation."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def normal_toml() -> Path:
    return ROOT / "scenarios" / "normal.toml"


@pytest.fixture(scope="session")
def tm_toml() -> Path:
    return ROOT / "scenarios" / "checks" / "tsodyks_markram.toml"


@pytest.fixture(scope="session")
def smoke_sweep(tmp_path_factory) -> Path:
    """``scenarios/sweeps/smoke.toml`` run once on the local backend (2 workers); shared by the sweep and Dask tests."""
    from helpers import run_cli

    out = tmp_path_factory.mktemp("sweep") / "smoke_local"
    result = run_cli("sweep", str(ROOT / "scenarios" / "sweeps" / "smoke.toml"), "--out", str(out), "--workers", "2",
                     "--quiet")
    assert result.returncode == 0, result.stderr
    return out
