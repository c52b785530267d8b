"""``python run.py simulate`` is bit-reproducible: the same seed gives byte-identical output files.

(Stepping and running the engine give the same result: tests/runs/test_reproducibility.py.)

Three short runs of a small network with a train (so ``pulses.parquet`` is
written) run in parallel: two with one seed, one with another. Each run works
in its own folder with the same relative ``--out`` so that the command line,
which the manifest records, is the same. The runs are separate interpreters,
as a user starts them: each has its own hash seed, and none inherits state
from an earlier run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import NORMAL, ROOT

SETS = ["protocol.duration_s=2", "protocol.warmup_s=0.5", "network.n_neurons=200"]
TIMESTAMPS = ("started_utc", "finished_utc")


def scenario_with_train(folder: Path) -> Path:
    path = folder / "with_train.toml"
    path.write_text(f'extends = "{NORMAL.as_posix()}"\nname = "with_train"\n\n'
                    "[[protocol.stimuli]]\nkind = \"train\"\nstart_s = 1.0\nrate_hz = 20.0\nn_pulses = 5\n"
                    "target = \"all\"\n\n"
                    "[[protocol.stimuli]]\nkind = \"paired_pulse\"\nstart_s = 1.6\ninterval_ms = 50.0\n",
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Output folders of seeds 11, 11 and 12."""
    base = tmp_path_factory.mktemp("repro")
    scenario = scenario_with_train(base)
    procs, outs = [], []
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        cwd = base / name
        cwd.mkdir()
        cmd = [sys.executable, str(ROOT / "run.py"), "simulate", str(scenario), "--seed", str(seed),
               "--out", "out", "--quiet"]
        for s in SETS:
            cmd += ["--set", s]
        procs.append(subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        outs.append(cwd / "out")
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"simulate failed:\n{stderr}"
    return outs


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def manifest_without_times(folder: Path) -> dict:
    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for key in TIMESTAMPS:
        assert key in data, f"manifest.json has no {key}"
        data.pop(key)
    return data


def test_expected_outputs_are_written(runs):
    names = set(files(runs[0]))
    for required in ("manifest.json", "timeseries.parquet", "pulses.parquet", "summary.csv", "summary.parquet"):
        assert required in names
    assert any(name.endswith(".png") for name in names)
    pulses = pd.read_parquet(runs[0] / "pulses.parquet")
    assert len(pulses) == 7  # five train pulses and one pair
    assert not any(p.name.startswith(".") for p in runs[0].parent.iterdir()), "staging folder left behind"


def test_same_seed_gives_byte_identical_outputs(runs):
    a, b = files(runs[0]), files(runs[1])
    assert sorted(a) == sorted(b)
    different = [name for name in a if name != "manifest.json" and a[name] != b[name]]
    assert not different, f"outputs differ between two runs with the same seed: {different}"
    assert manifest_without_times(runs[0]) == manifest_without_times(runs[1])


def test_manifest_records_the_run(runs):
    manifest = manifest_without_times(runs[0])
    assert manifest["seed"] == 11
    assert manifest["condition"] == "vehicle"
    assert manifest["scenario"]["network"]["n_neurons"] == 200
    assert any(Path(p).name == "normal.toml" for p in manifest["scenario_files"])
    assert any(Path(p).name == "with_train.toml" for p in manifest["scenario_files"])


def test_different_seed_gives_different_timeseries(runs):
    a = (runs[0] / "timeseries.parquet").read_bytes()
    c = (runs[2] / "timeseries.parquet").read_bytes()
    assert a != c
    ta, tc = pd.read_parquet(runs[0] / "timeseries.parquet"), pd.read_parquet(runs[2] / "timeseries.parquet")
    assert list(ta.columns) == list(tc.columns) and len(ta) == len(tc)
    assert not ta["rate_glu_hz"].equals(tc["rate_glu_hz"])
    assert json.loads((runs[2] / "manifest.json").read_text())["seed"] == 12
