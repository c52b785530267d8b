"""Batch experiments: worker-count independence, failing runs, reproduce (kill -9 and resume, and the refusals of
the command: tests/cli/test_batch_cli.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from helpers import run_main

import sim.runs.batch
from sim.model.params import ScenarioError
from sim.runs.batch import reproduce_batch, run_batch
from sim.runs.experiment import load_experiment, run_seed

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scenarios" / "experiments" / "smoke.toml"


@pytest.fixture(scope="module")
def reference_batch(smoke_batch) -> Path:
    """The smoke experiment on 2 workers (tests/conftest.py); read only."""
    return smoke_batch


def test_seeds_come_from_master_seed_and_key_only():
    exp = load_experiment(SMOKE)
    runs = exp.runs()
    assert len(runs) == 8 and len({r.seed for r in runs}) == 8
    assert all(r.seed == run_seed(exp.master_seed, r.key) for r in runs)
    assert run_seed(exp.master_seed + 1, runs[0].key) != runs[0].seed


def test_one_and_two_workers_give_identical_summary(reference_batch, tmp_path):
    out = tmp_path / "one_worker"
    run_batch(load_experiment(SMOKE), out, ["batch", str(SMOKE), "--out", str(out), "--workers", "1"], workers=1,
              progress=False)
    assert (out / "summary.parquet").read_bytes() == (reference_batch / "summary.parquet").read_bytes()
    frame = pd.read_parquet(out / "summary.parquet")
    assert list(frame["run_id"]) == sorted(frame["run_id"]) and (frame["status"] == "ok").all()
    for run in frame["run_id"]:
        for name in ("timeseries.parquet", "pulses.parquet", "summary.json"):
            assert (out / "runs" / run / name).read_bytes() == (reference_batch / "runs" / run / name).read_bytes()


def _failing_execute_run(scenario_data: dict, spec: dict, source: str) -> dict:
    if spec["replicate"] == 1 and spec["condition"] == "ketamine_10uM":
        raise RuntimeError("deliberate failure for the test")
    return ORIGINAL_EXECUTE_RUN(scenario_data, spec, source)


ORIGINAL_EXECUTE_RUN = sim.runs.batch.execute_run


def test_failing_run_is_recorded_and_the_rest_finish(tmp_path, monkeypatch):
    """Worker processes are forked after the patch, so they run the failing function."""
    monkeypatch.setattr(sim.runs.batch, "execute_run", _failing_execute_run)
    out = tmp_path / "failing"
    outcome = run_batch(load_experiment(SMOKE), out, ["batch"], workers=2, progress=False)
    assert (outcome.failed, outcome.done) == (2, 6)
    frame = pd.read_parquet(out / "summary.parquet")
    failed = frame[frame["status"] == "error"]
    assert len(failed) == 2 and failed["error"].str.contains("deliberate failure").all()
    assert (frame[frame["status"] == "ok"]["evoked_release_glu_per_pulse"] > 0).all()
    error = json.loads((out / "runs" / failed["run_id"].iloc[0] / "error.json").read_text())
    assert "RuntimeError" in error["error"]
    monkeypatch.setattr(sim.runs.batch, "execute_run", ORIGINAL_EXECUTE_RUN)
    resumed = run_batch(load_experiment(SMOKE), out, ["batch"], workers=2, resume=True, progress=False)
    assert (resumed.done, resumed.failed, resumed.skipped) == (2, 0, 6)


def test_reproduce_matches_and_detects_tampering(reference_batch, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(reference_batch, copy)
    checks = reproduce_batch(copy, ["r00001", "r00006"], workers=2, progress=False)
    assert [c.matches for c in checks] == [True, True]
    ts_path = copy / "runs" / "r00006" / "timeseries.parquet"
    frame = pd.read_parquet(ts_path)
    frame.loc[3, "rate_glu_hz"] += 0.001
    frame.to_parquet(ts_path, index=False)
    result = run_main("reproduce", str(copy), "--quiet")
    assert result.returncode == 1
    assert "r00006: MISMATCH in timeseries.parquet" in result.stdout
    assert "r00001: match" in result.stdout


def test_bad_experiment_files(tmp_path):
    text = SMOKE.read_text().replace('"../normal.toml", "../depression_like.toml"',
                                     f'"{ROOT}/scenarios/normal.toml", "{ROOT}/scenarios/depression_like.toml"')
    cases = {
        "replicats = 2\n" + text: "did you mean 'replicates'",
        text.replace('"vehicle", "ketamine_10uM"]', '"vehicle", "ketamine_10um"]'): "did you mean 'ketamine_10uM'",
        text + '\n[levels]\n"vesicles.glutamatergic.relase_probability" = [0.2]\n': "mean 'release_probability'",
        text + '\n[levels]\n"vesicles.glutamatergic.release_probability" = [1.5]\n': "out of range",
        text.replace("replicates = 2", "replicates = 0"): "replicates",
    }
    path = tmp_path / "exp.toml"
    for content, expected in cases.items():
        path.write_text(content)
        with pytest.raises(ScenarioError, match=expected):
            load_experiment(path)
    path.unlink()
    with pytest.raises(ScenarioError, match="not found"):
        load_experiment(path)


def test_a_batch_stopped_while_writing_its_manifest_leaves_a_folder_it_can_start_in_again(tmp_path, monkeypatch):
    """The manifest is written before runs/: a stop before it leaves only what a new batch may start in."""
    from helpers import tiny_experiment

    from sim.runs.folders import has_content

    path = tmp_path / "tiny.toml"
    path.write_text(tiny_experiment())
    exp, out = load_experiment(path), tmp_path / "out"

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.runs.batch, "write_json", stop)
    with pytest.raises(KeyboardInterrupt):
        sim.runs.batch.prepare_folder(out, exp, ["batch", str(path)], resume=False)
    assert not has_content(out) and not (out / "runs").exists()
    monkeypatch.undo()
    assert len(sim.runs.batch.prepare_folder(out, exp, ["batch", str(path)], resume=False)) == len(exp.runs())
    assert (out / "manifest.json").is_file() and (out / "runs").is_dir()
