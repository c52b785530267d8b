"""Helpers shared by the test modules (imported as ``helpers``; pytest puts ``tests/`` on ``sys.path``)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.text import Text

from sim.model.model import SynapseNetworkModel
from sim.model.readouts import summarise
from sim.model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
NORMAL = ROOT / "scenarios" / "normal.toml"
TSODYKS_MARKRAM = ROOT / "scenarios" / "checks" / "tsodyks_markram.toml"
SMOKE_EXPERIMENT = ROOT / "scenarios" / "experiments" / "smoke.toml"
SMOKE_SWEEP = ROOT / "scenarios" / "sweeps" / "smoke.toml"
# --set overrides that make a simulate run take well under a second
FAST = ["--set", "network.n_neurons=200", "--set", "protocol.duration_s=0.05", "--set", "protocol.warmup_s=0.01"]

#: a 2 x 2 x 1 grid of the Ishigami function: four runs, no simulation
TINY_SWEEP = """name = "tiny_sweep"
description = "a grid of a test function"
model = "ishigami"
master_seed = 3
design = "grid"
outputs = ["y"]

[parameters.x1]
values = [0.0, 1.0]

[parameters.x2]
values = [0.0, 1.0]

[parameters.x3]
values = [0.5]
"""


def tiny_experiment(name: str = "tiny", replicates: int = 2, conditions: tuple[str, ...] = ("vehicle",),
                    duration_s: float = 0.3, master_seed: int = 5, readouts: tuple[str, ...] = ("rate_glu_hz",)) -> str:
    """The text of a small experiment file on normal.toml: 200 neurons, ``duration_s`` of biology (0.1 s warm-up)."""
    quoted = ", ".join(f'"{c}"' for c in conditions)
    metrics = ", ".join(f'"{r}"' for r in readouts)
    return (f'name = "{name}"\ndescription = "a small experiment for tests"\nmaster_seed = {master_seed}\n'
            f'replicates = {replicates}\nscenarios = ["{NORMAL.as_posix()}"]\nconditions = [{quoted}]\n'
            f'reference = {{ scenario = "normal", condition = "{conditions[0]}" }}\n'
            f'readouts = [{metrics}]\n\n'
            f'[scenario.network]\nn_neurons = 200\n\n'
            f'[scenario.protocol]\nduration_s = {duration_s}\nwarmup_s = 0.1\nrecord_interval_ms = 20.0\n')


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python run.py ARGS`` in a subprocess from the repository root (its exit code is not checked)."""
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def run_main(*args: str) -> subprocess.CompletedProcess:
    """``run.main(ARGS)`` in this process, its stdout and stderr captured: what :func:`run_cli` returns, without
    starting an interpreter (for tests of a command's own output; paths are taken from the working directory)."""
    import run

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = run.main(list(args))
    return subprocess.CompletedProcess(["run.py", *args], code, stdout.getvalue(), stderr.getvalue())


def run_sweep_folder(path: Path, out: Path, workers: int = 2) -> Path:
    """What ``run.py sweep PATH --out OUT`` writes, through the library: the runs and ``sweep.parquet``
    (:func:`sim.api.run_sweep`), then ``responses.parquet``, ``sensitivity.csv`` and the figures
    (:func:`analysis.sensitivity.write_sweep_outputs`); returns ``out``."""
    import sim
    from analysis.sensitivity import write_sweep_outputs

    sim.run_sweep(path, out, workers=workers)
    write_sweep_outputs(out)
    return out


def kill_batch_midway(args: list[str], out: Path, after_runs: int = 2) -> int:
    """Start ``run.py *args`` writing to ``out``, kill -9 it once ``after_runs`` run folders exist; the number of
    run folders it left."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), *args, "--quiet"], cwd=ROOT,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "runs").glob("r*"))) < after_runs:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return len(list((out / "runs").glob("r*")))


def same_outputs(a: Path, b: Path, table: str) -> None:
    """``table`` and every run's files are byte for byte the same in both folders."""
    assert (a / table).read_bytes() == (b / table).read_bytes()
    runs = sorted(p.name for p in (a / "runs").iterdir())
    assert runs == sorted(p.name for p in (b / "runs").iterdir())
    for run in runs:
        for f in (a / "runs" / run).iterdir():
            assert f.read_bytes() == (b / "runs" / run / f.name).read_bytes(), f"{run}/{f.name}"


def same_sweep_outputs(a: Path, b: Path) -> None:
    """Two sweep folders hold the same bytes: ``sweep.parquet``, every run's files, the summary and the
    sensitivity analysis (``responses.parquet``, ``sensitivity.csv``)."""
    same_outputs(a, b, "sweep.parquet")
    for name in ("summary.parquet", "responses.parquet", "sensitivity.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


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


# --------------------------------------------------------------------------- figures


def labelled_texts(fig: Figure) -> list[Text]:
    """The figure's texts that must be readable: figure texts (suptitle), and every axes' title and axis labels
    (colour bars included), with any legend's box."""
    texts = list(fig.texts)
    for ax in fig.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label]
        if ax.get_legend() is not None:
            texts.append(ax.get_legend())
    return [t for t in texts + list(fig.legends) if t.get_visible() and (not isinstance(t, Text) or t.get_text())]


def texts_outside(fig: Figure) -> list[str]:
    """Each title, label or legend that reaches beyond the figure's bounds (as drawn by matplotlib's renderer)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bounds = fig.bbox
    out = []
    for text in labelled_texts(fig):
        box = text.get_window_extent(renderer)
        if box.x0 < bounds.x0 - 1 or box.y0 < bounds.y0 - 1 or box.x1 > bounds.x1 + 1 or box.y1 > bounds.y1 + 1:
            what = text.get_text() if isinstance(text, Text) else "legend"
            out.append(f"{what!r}: {box.bounds} outside {bounds.bounds}")
    return out
