"""``run.py batch`` and ``run.py reproduce`` as commands: kill -9 and resume, the counts they print, exit code 2
with one line for a corrupt, foreign or existing folder (the runs themselves: tests/runs/test_batch.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import kill_batch_midway

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
def reference_batch(smoke_batch) -> Path:
    """The smoke experiment on 2 workers (tests/conftest.py); read only."""
    return smoke_batch


def test_killed_batch_resumes_to_the_same_result(reference_batch, tmp_path):
    out = tmp_path / "killed"
    done_before = kill_batch_midway(["batch", str(SMOKE), "--out", str(out), "--workers", "1"], out)
    assert 2 <= done_before < 8, "the kill should land mid-batch"
    result = batch_cli(str(SMOKE), "--out", str(out), "--workers", "2", "--resume")
    assert f"{done_before} already done" in result.stdout
    assert (out / "summary.parquet").read_bytes() == (reference_batch / "summary.parquet").read_bytes()
    assert not list((out / "runs").glob(".*")), "no partial run folders left behind"


def test_cli_exit_code_says_runs_failed(tmp_path):
    out = tmp_path / "cli"
    batch_cli(str(SMOKE), "--out", str(out), "--workers", "2")
    (out / "runs" / "r00003" / "summary.json").unlink()
    shutil.rmtree(out / "runs" / "r00003")
    result = batch_cli(str(SMOKE), "--out", str(out), "--resume", "--workers", "1")
    assert "1 runs done, 7 already done, 0 failed" in result.stdout


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

