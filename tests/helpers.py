"""Helpers shared by the test modules (imported as ``helpers``; pytest puts ``tests/`` on ``sys.path``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sim.model import SynapseNetworkModel
from sim.readouts import summarise
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
NORMAL = ROOT / "scenarios" / "normal.toml"
TSODYKS_MARKRAM = ROOT / "scenarios" / "checks" / "tsodyks_markram.toml"
SMOKE_EXPERIMENT = ROOT / "scenarios" / "experiments" / "smoke.toml"
SMOKE_SWEEP = ROOT / "scenarios" / "sweeps" / "smoke.toml"


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python run.py ARGS`` in a subprocess from the repository root (its exit code is not checked)."""
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def toml_value(value) -> str:
    """A Python value as the text of a ``--set`` value (TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def overrides(**sections) -> list[str]:
    """``--set`` assignments from keyword arguments whose names use ``__`` for dots."""
    return [f"{key.replace('__', '.')}={toml_value(value)}" for key, value in sections.items()]


def build(path: Path = NORMAL, sets=(), condition: str = "vehicle", seed: int | None = None) -> SynapseNetworkModel:
    """A model of the scenario at ``path`` with ``--set``-style overrides."""
    scenario, _ = load_scenario(path, list(sets))
    return SynapseNetworkModel(scenario, condition, seed=seed)


def run(path: Path = NORMAL, sets=(), condition: str = "vehicle", seed: int | None = None):
    """Run a model to the end; returns the model, its time series, its pulses and its summary metrics."""
    model = build(path, sets, condition, seed)
    model.run()
    ts, pulses = model.recorder.timeseries(), model.recorder.pulses()
    n_by_type = {kind: int(idx.size) for kind, idx in model.type_index.items()}
    summary = summarise(ts, pulses, model.params.protocol.warmup_s, n_by_type)
    return model, ts, pulses, summary
