"""``run.py calibrate --quick`` end to end as a command: the built-in example writes its three outputs, prints a
line per evaluation on stderr, and resumes with nothing re-run (the parts: tests/runs/test_calibrate.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import ROOT, run_cli

BASELINE = ROOT / "scenarios" / "calibration" / "baseline_rates.toml"


def test_calibrate_quick_writes_the_three_outputs_and_resumes(tmp_path):
    out = tmp_path / "cal"
    result = run_cli("calibrate", str(BASELINE), "--quick", "--out", str(out), "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("evaluation ") >= 6 and "(best " in result.stderr
    record = json.loads((out / "calibration.json").read_text())
    assert [p["key"] for p in record["parameters"]] == ["neurons.glutamatergic.background_rate_hz",
                                                        "neurons.gabaergic.background_rate_hz"]
    assert record["calibration_text"] == BASELINE.read_text() and record["quick"]
    assert record["optimiser"]["method"] == "nelder_mead" and record["master_seed"] == 3301
    assert all(isinstance(p["identifiable"], bool) for p in record["parameters"])
    table = pd.read_csv(out / "evaluations.csv")
    assert len(table) == record["evaluations"]["total"] == record["evaluations"]["batches_run"]
    assert {"objective", "glutamatergic rate", "GABAergic rate"} <= set(table.columns)
    assert table["objective"].min() == pytest.approx(record["objective"])
    text = (out / "calibration.md").read_text()
    assert "| parameter | bounds | fitted |" in text and "| glutamatergic rate |" in text
    again = run_cli("calibrate", str(BASELINE), "--quick", "--out", str(out), "--resume", "--quiet")
    assert again.returncode == 0, again.stderr
    assert f"({0} batches run, {len(table)} reused)" in again.stdout
    assert json.loads((out / "calibration.json").read_text())["objective"] == record["objective"]

