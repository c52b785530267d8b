"""Batch experiments: worker-count independence, resume after kill -9, failing runs, reproduce."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import kill_batch_midway

import sim.runs.batch
from sim.model.params import ScenarioError
from sim.runs.batch import reproduce_batch, run_batch
from sim.runs.experiment import load_experiment, run_seed
from sim.runs.outputs import OutputError
from sim.runs.store import read_manifest

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scenarios" / "experiments" / "smoke.toml"


def batch_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "batch", *args, "--quiet"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def reference_batch(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("batch") / "two_workers"
    batch_cli(str(SMOKE), "--out", str(out), "--workers", "2")
    return out


def test_seeds_come_from_master_seed_and_key_only():
    exp = load_experiment(SMOKE)
    runs = exp.runs()
    assert len(runs) == 8 and len({r.seed for r in runs}) == 8
    assert all(r.seed == run_seed(exp.master_seed, r.key) for r in runs)
    assert run_seed(exp.master_seed + 1, runs[0].key) != runs[0].seed


def test_one_and_two_workers_give_identical_summary(reference_batch, tmp_path):
    out = tmp_path / "one_worker"
    batch_cli(str(SMOKE), "--out", str(out), "--workers", "1")
    assert (out / "summary.parquet").read_bytes() == (reference_batch / "summary.parquet").read_bytes()
    frame = pd.read_parquet(out / "summary.parquet")
    assert list(frame["run_id"]) == sorted(frame["run_id"]) and (frame["status"] == "ok").all()
    for run in frame["run_id"]:
        for name in ("timeseries.parquet", "pulses.parquet", "summary.json"):
            assert (out / "runs" / run / name).read_bytes() == (reference_batch / "runs" / run / name).read_bytes()


def test_killed_batch_resumes_to_the_same_result(reference_batch, tmp_path):
    out = tmp_path / "killed"
    done_before = kill_batch_midway(["batch", str(SMOKE), "--out", str(out), "--workers", "1"], out)
    assert 2 <= done_before < 8, "the kill should land mid-batch"
    result = batch_cli(str(SMOKE), "--out", str(out), "--workers", "2", "--resume")
    assert f"{done_before} already done" in result.stdout
    assert (out / "summary.parquet").read_bytes() == (reference_batch / "summary.parquet").read_bytes()
    assert not list((out / "runs").glob(".*")), "no partial run folders left behind"


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


def test_cli_exit_code_says_runs_failed(tmp_path):
    out = tmp_path / "cli"
    batch_cli(str(SMOKE), "--out", str(out), "--workers", "2")
    (out / "runs" / "r00003" / "summary.json").unlink()
    shutil.rmtree(out / "runs" / "r00003")
    result = batch_cli(str(SMOKE), "--out", str(out), "--resume", "--workers", "1")
    assert "1 runs done, 7 already done, 0 failed" in result.stdout


def test_reproduce_matches_and_detects_tampering(reference_batch, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(reference_batch, copy)
    checks = reproduce_batch(copy, ["r00001", "r00006"], workers=2, progress=False)
    assert [c.matches for c in checks] == [True, True]
    ts_path = copy / "runs" / "r00006" / "timeseries.parquet"
    frame = pd.read_parquet(ts_path)
    frame.loc[3, "rate_glu_hz"] += 0.001
    frame.to_parquet(ts_path, index=False)
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "reproduce", str(copy), "--quiet"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    assert "r00006: MISMATCH in timeseries.parquet" in result.stdout
    assert "r00001: match" in result.stdout


@pytest.mark.parametrize("damage", ["no_manifest", "not_json", "foreign", "other_experiment"])
def test_corrupt_or_foreign_folders_are_refused(reference_batch, tmp_path, damage):
    folder = tmp_path / "damaged"
    shutil.copytree(reference_batch, folder)
    manifest = folder / "manifest.json"
    if damage == "no_manifest":
        manifest.unlink()
    elif damage == "not_json":
        manifest.write_text("{ not json")
    elif damage == "foreign":
        manifest.write_text(json.dumps({"kind": "simulate", "command": "run.py simulate"}))
    else:
        data = json.loads(manifest.read_text())
        data["experiment_sha256"] = "0" * 64
        manifest.write_text(json.dumps(data))
    for args in (["reproduce", str(folder)], ["batch", str(SMOKE), "--out", str(folder), "--resume"]):
        if damage == "other_experiment" and args[0] == "reproduce":
            continue
        result = subprocess.run([sys.executable, str(ROOT / "run.py"), *args, "--quiet"], cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr
        assert str(folder) in lines[0]
    if damage != "other_experiment":
        with pytest.raises(OutputError):
            read_manifest(folder)


def test_existing_folder_without_resume_is_refused(reference_batch):
    result = batch_cli(str(SMOKE), "--out", str(reference_batch), check=False)
    assert result.returncode == 2 and "--resume" in result.stderr


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
