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
def smoke_batch(tmp_path_factory) -> Path:
    """``scenarios/experiments/smoke.toml`` (2 scenarios x 2 conditions x 2 replicates) run once on 2 local workers,
    as ``run.py batch`` runs it; shared, so tests that change it work on a copy."""
    from sim.runs.batch import run_batch
    from sim.runs.experiment import load_experiment

    path = ROOT / "scenarios" / "experiments" / "smoke.toml"
    out = tmp_path_factory.mktemp("batch") / "smoke"
    command = ["batch", str(path), "--out", str(out), "--workers", "2", "--quiet"]
    outcome = run_batch(load_experiment(path), out, command, workers=2, progress=False)
    assert (outcome.done, outcome.failed) == (8, 0)
    return out


@pytest.fixture(scope="session")
def smoke_sweep(tmp_path_factory) -> Path:
    """``scenarios/sweeps/smoke.toml`` run once on the local backend (2 workers) with its sensitivity analysis, as
    ``run.py sweep`` runs it; shared by the sweep and Dask tests."""
    from helpers import run_sweep_folder

    out = tmp_path_factory.mktemp("sweep") / "smoke_local"
    return run_sweep_folder(ROOT / "scenarios" / "sweeps" / "smoke.toml", out, workers=2)
