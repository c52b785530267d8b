"""The Python interface (sim.api, docs/api.md): packaged names from any working directory, overrides both ways,
bad names, a single run that matches ``run.py simulate``, an experiment, a sweep, their folders (the installed
command: tests/cli/test_console_script.py; ``import sim`` in a new interpreter: tests/test_imports.py)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from helpers import FAST, NORMAL, ROOT, TINY_SWEEP, TSODYKS_MARKRAM, tiny_experiment

import run
import sim
from sim.model.params import ScenarioError
from sim.model.scenario import load_scenario as load_file
from sim.model.testfunctions import ishigami
from sim.runs.outputs import OutputError

SETS = FAST[1::2]          # the --set assignments of FAST: 200 neurons, 0.05 s


def test_packaged_names_load_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert {"normal", "depression_like", "checks/tsodyks_markram"} <= set(sim.scenario_names())
    assert {"smoke", "normal_vs_depression", "validation/recycling"} <= set(sim.experiment_names())
    assert {"smoke", "ishigami"} <= set(sim.sweep_names())
    assert sim.load_scenario("normal") == load_file(NORMAL)[0]
    assert sim.load_scenario("checks/tsodyks_markram") == load_file(TSODYKS_MARKRAM)[0]   # extends ../normal.toml
    depression = sim.load_scenario("depression_like", "ketamine_10uM")                    # extends normal.toml
    assert depression == load_file(ROOT / "scenarios" / "depression_like.toml")[0]
    assert sim.load_scenario(NORMAL) == sim.load_scenario(str(NORMAL)) == sim.load_scenario("normal")


def test_every_packaged_file_is_shipped_by_the_wheel():
    """pyproject.toml ships scenarios/ as package data matching *.toml and **/*.toml: nothing else would install."""
    others = [p for p in (ROOT / "scenarios").rglob("*") if p.is_file() and p.suffix != ".toml"]
    assert not others, f"not installed by a non-editable pip install: {others}"
    assert 'vesicle-sim = "run:main"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_overrides_as_keywords_and_as_sets():
    both = sim.load_scenario("normal", network__n_neurons=200, sets=["protocol.duration_s=30.0"], seed=9)
    assert both == load_file(NORMAL, ["network.n_neurons=200", "protocol.duration_s=30.0"], seed=9)[0]
    assert (both.network.n_neurons, both.protocol.duration_s, both.seed) == (200, 30.0, 9)
    assert sim.load_scenario("normal", sets="network.n_neurons=300").network.n_neurons == 300
    keyword_last = sim.load_scenario("normal", sets=["network.n_neurons=300"], network__n_neurons=200)
    assert keyword_last.network.n_neurons == 200
    nested = sim.load_scenario("normal", vesicles__glutamatergic__release_probability=0.4)
    assert nested.vesicles.glutamatergic.release_probability == 0.4


def test_bad_names_and_overrides_name_what_is_allowed(tmp_path):
    with pytest.raises(ScenarioError, match=r"scenario 'nromal': not a packaged scenario \(did you mean 'normal'\?\); "
                                            r"allowed: checks/tsodyks_markram, depression_like, normal, or the path"):
        sim.load_scenario("nromal")
    with pytest.raises(ScenarioError, match=r"network\.n_neuron\b.*did you mean 'n_neurons'"):
        sim.load_scenario("normal", network__n_neuron=200)
    with pytest.raises(ScenarioError, match=r"condition: unknown condition 'ketamin'"):
        sim.simulate("normal", "ketamin")
    with pytest.raises(ScenarioError, match=r"experiment 'smok': .*did you mean 'smoke'"):
        sim.run_experiment("smok", tmp_path / "out")
    with pytest.raises(ScenarioError, match=r"sweep 'ishigam': .*did you mean 'ishigami'"):
        sim.run_sweep("ishigam", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_simulate_returns_what_run_py_simulate_writes(tmp_path):
    out = tmp_path / "cli"
    assert run.main(["simulate", str(NORMAL), *FAST, "--seed", "3", "--out", str(out), "--quiet"]) == 0
    result = sim.simulate("normal", seed=3, sets=SETS)
    pd.testing.assert_frame_equal(result.summary, pd.read_parquet(out / "summary.parquet"))
    csv = pd.read_csv(out / "summary.csv")
    assert list(csv.columns) == list(result.summary.columns)
    for column in csv.columns:
        mine, theirs = result.summary[column].iloc[0], csv[column].iloc[0]
        if isinstance(theirs, str):
            assert mine == theirs, column
        else:
            assert math.isclose(mine, theirs, rel_tol=1e-9) or (np.isnan(mine) and np.isnan(theirs)), column
    pd.testing.assert_frame_equal(result.timeseries, pd.read_parquet(out / "timeseries.parquet"))
    assert result.model.seed == 3 and len(result.timeseries) > 0
    keywords = sim.simulate("normal", seed=3, network__n_neurons=200, protocol__duration_s=0.05,
                            protocol__warmup_s=0.01)
    pd.testing.assert_frame_equal(keywords.summary, result.summary)


def test_run_experiment_returns_its_summary_and_open_results_reads_the_folder(tmp_path):
    path, out = tmp_path / "tiny.toml", tmp_path / "batch"
    path.write_text(tiny_experiment(), encoding="utf-8")
    frame = sim.run_experiment(path, out, workers=1)
    pd.testing.assert_frame_equal(frame, pd.read_parquet(out / "summary.parquet"))
    assert len(frame) == 2 and (frame["status"] == "ok").all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == f"sim.run_experiment({str(path)!r}, {str(out)!r}, workers=1)"
    assert not (out / ".lock").exists()

    results = sim.open_results(out)
    assert (results.kind, results.runs, results.manifest) == ("batch", ["r00000", "r00001"], manifest)
    pd.testing.assert_frame_equal(results.summary, frame)
    run_dir = out / "runs" / "r00001"
    pd.testing.assert_frame_equal(results.timeseries("r00001"), pd.read_parquet(run_dir / "timeseries.parquet"))
    pd.testing.assert_frame_equal(results.pulses("r00001"), pd.read_parquet(run_dir / "pulses.parquet"))
    with pytest.raises(OutputError, match="not a run id of this tool"):
        results.timeseries("../r00000")
    with pytest.raises(OutputError, match=r"not a run of this folder; allowed: r00000 to r00001 \(2 runs\)"):
        results.timeseries("r00002")
    with pytest.raises(OutputError, match="a batch folder has no sweep table"):
        _ = results.sweep

    pd.testing.assert_frame_equal(sim.run_experiment(path, out, workers=1, resume=True), frame)
    with pytest.raises(OutputError, match="folder exists and is not empty"):
        sim.run_experiment(path, out, workers=1)
    with pytest.raises(OutputError, match="no manifest.json"):
        sim.open_results(tmp_path)


def test_run_experiment_takes_the_folder_lock(tmp_path):
    path, out = tmp_path / "tiny.toml", tmp_path / "batch"
    path.write_text(tiny_experiment(replicates=1), encoding="utf-8")
    out.mkdir()
    hold = (f"import time; from pathlib import Path; from sim.runs.folder_lock import folder_lock\n"
            f"with folder_lock(Path({str(out)!r}), 'holder'):\n    print('held', flush=True); time.sleep(30)\n")
    # another process holds the lock (this process's own nested locks of a folder are one lock)
    holder = subprocess.Popen([sys.executable, "-c", hold], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputError, match=rf"in use by PID {holder.pid} \(holder\)"):
            sim.run_experiment(path, out, workers=1)
    finally:
        holder.kill()
        holder.wait()
    assert list(out.iterdir()) in ([], [out / ".lock"])


def test_run_sweep_of_a_test_function(tmp_path):
    path, out = tmp_path / "sweep.toml", tmp_path / "sweep"
    path.write_text(TINY_SWEEP, encoding="utf-8")
    table = sim.run_sweep(path, out, workers=1)
    pd.testing.assert_frame_equal(table, pd.read_parquet(out / "sweep.parquet"))
    assert list(zip(table["x1"], table["x2"], strict=True)) == [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
    assert np.allclose(table["y"], [ishigami(a, b, 0.5) for a, b in zip(table["x1"], table["x2"], strict=True)])
    results = sim.open_results(out)
    assert results.kind == "sweep" and len(results.runs) == 4
    pd.testing.assert_frame_equal(results.sweep, table, check_dtype=False)
    with pytest.raises(OutputError, match="the run stored no tables"):
        results.timeseries("r00000")
