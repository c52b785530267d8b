"""Shared paths for the test suite; puts the repository root on ``sys.path`` for runs without installation."""

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
