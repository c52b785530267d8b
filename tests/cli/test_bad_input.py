"""Bad input to ``run.py simulate``: one line naming the file or key and what is allowed, exit code 2, no traceback.

Most cases call ``run.main([...])`` in-process (it returns the exit code); a
few run the real command line in a subprocess. In every case the ``--out``
folder must not be created.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FAST as SHORT
from helpers import NORMAL, ROOT, TSODYKS_MARKRAM

import run

FAST = ["--quiet", *SHORT]


def simulate(capsys, tmp_path: Path, scenario: Path | str, *args: str) -> tuple[int, str, Path]:
    """Run ``simulate`` in-process; returns exit code, stderr and the --out folder."""
    out = tmp_path / "out"
    code = run.main(["simulate", str(scenario), "--out", str(out), *args])
    return code, capsys.readouterr().err, out


def assert_bad_input(code: int, err: str, out: Path, *fragments: str) -> None:
    assert code == 2, f"exit code {code}, stderr: {err!r}"
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {err!r}"
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert not out.exists() or not any(out.iterdir()), "output written despite bad input"
    assert not out.exists(), "the --out folder was created"


# (description, scenario, extra arguments, fragments the message must contain)
CASES = [
    ("unknown key", NORMAL, ["--set", "vesicles.glutamatergic.relase_probability=0.3"],
     ["normal.toml", "vesicles.glutamatergic.relase_probability", "unknown key",
      "did you mean 'release_probability'", "allowed:"]),
    ("unknown key in a section", NORMAL, ["--set", "adenosine.tau=3"],
     ["normal.toml", "adenosine.tau", "unknown key", "did you mean 'tau_s'", "allowed:"]),
    ("unknown section", NORMAL, ["--set", "vesicle.glutamatergic.total=100"],
     ["normal.toml", "vesicle", "unknown section", "did you mean 'vesicles'", "allowed:"]),
    ("wrong type: text for a number", NORMAL, ["--set", "protocol.duration_s=abc"],
     ["normal.toml", "protocol.duration_s", "expected a number", "'abc'"]),
    ("wrong type: fraction for a count", NORMAL, ["--set", "network.n_neurons=2.5"],
     ["normal.toml", "network.n_neurons", "expected a whole number", "2.5"]),
    ("wrong type: number for a choice", TSODYKS_MARKRAM, ["--set", "protocol.stimuli.0.pattern=3"],
     ["tsodyks_markram.toml", "protocol.stimuli.0.pattern", "expected text"]),
    ("not one of the choices", TSODYKS_MARKRAM, ["--set", "protocol.stimuli.0.pattern=poison"],
     ["tsodyks_markram.toml", "protocol.stimuli.0.pattern", "did you mean 'poisson'", "allowed: regular, poisson"]),
    ("negative time constant", NORMAL, ["--set", "vesicles.glutamatergic.priming_tau_s=-1"],
     ["normal.toml", "vesicles.glutamatergic.priming_tau_s", "out of range", "allowed: > 0"]),
    ("zero time constant", NORMAL, ["--set", "adenosine.tau_s=0"],
     ["normal.toml", "adenosine.tau_s", "out of range", "allowed: > 0"]),
    ("probability above 1", NORMAL, ["--set", "vesicles.glutamatergic.release_probability=1.5"],
     ["normal.toml", "vesicles.glutamatergic.release_probability", "out of range", ">= 0 and <= 1"]),
    ("more release sites than vesicles", NORMAL, ["--set", "vesicles.gabaergic.release_sites=50",
                                                  "--set", "vesicles.gabaergic.total=20"],
     ["normal.toml", "vesicles.gabaergic.release_sites", "release_sites <= total"]),
    ("negative drug concentration", NORMAL, ["--set", "conditions.vehicle.ketamine_uM=-1"],
     ["normal.toml", "conditions.vehicle.ketamine_uM", "out of range", ">= 0"]),
    ("warm-up not shorter than the protocol", NORMAL, ["--set", "protocol.warmup_s=5", "--set",
                                                       "protocol.duration_s=5"],
     ["normal.toml", "protocol.warmup_s", "not shorter than"]),
    ("in-degree above the population", NORMAL, ["--set", "network.n_neurons=50"],
     ["normal.toml", "network.excitatory_in_degree", "allowed: fewer than 40"]),
    ("unknown condition", NORMAL, ["--condition", "ketamin_10uM"],
     ["normal.toml", "unknown condition 'ketamin_10uM'", "did you mean 'ketamine_10uM'", "vehicle"]),
    ("list index out of range", TSODYKS_MARKRAM, ["--set", "protocol.stimuli.3.rate_hz=5"],
     ["protocol.stimuli.3", "out of range", "allowed: 0 to 0"]),
    ("list index not a number", TSODYKS_MARKRAM, ["--set", "protocol.stimuli.first.rate_hz=5"],
     ["protocol.stimuli.first", "allowed: 0 to 0"]),
    ("list index into a scenario without the list", NORMAL, ["--set", "protocol.stimuli.0.rate_hz=5"],
     ["protocol.stimuli.0", "not a list", "allowed:"]),
    ("stimulus key of another kind", TSODYKS_MARKRAM, ["--set", "protocol.stimuli.0.interval_ms=20"],
     ["tsodyks_markram.toml", "protocol.stimuli.0.interval_ms", "does not apply", "allowed:"]),
    ("FM-dye window shorter than a slow-clock tick", NORMAL,
     ["--set", 'protocol.stimuli=[{kind = "fm_dye", start_s = 0.01, duration_s = 0.002}]'],
     ["normal.toml", "protocol.stimuli.0.duration_s", "allowed: >= protocol.slow_dt_ms"]),
    ("--set without a value", NORMAL, ["--set", "protocol.duration_s"],
     ["--set protocol.duration_s", "key=value"]),
]


@pytest.mark.parametrize("scenario, args, fragments", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_override_or_condition(capsys, tmp_path, scenario, args, fragments):
    code, err, out = simulate(capsys, tmp_path, scenario, *FAST, *args)  # args after FAST win
    assert_bad_input(code, err, out, *fragments)


def test_missing_file(capsys, tmp_path):
    missing = tmp_path / "no_such_scenario.toml"
    code, err, out = simulate(capsys, tmp_path, missing, *FAST)
    assert_bad_input(code, err, out, str(missing), "not found")


def test_malformed_toml(capsys, tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text('extends = "normal.toml"\n[network\nn_neurons = 10\n', encoding="utf-8")
    code, err, out = simulate(capsys, tmp_path, bad, *FAST)
    assert_bad_input(code, err, out, str(bad), "malformed TOML", "line 2")


def write_child(folder: Path, body: str, name: str = "child.toml", parent: Path = NORMAL) -> Path:
    path = folder / name
    path.write_text(f'extends = "{parent.as_posix()}"\n{body}', encoding="utf-8")
    return path


def test_typo_in_scenario_file_names_that_file(capsys, tmp_path):
    child = write_child(tmp_path, "[vesicles.glutamatergic]\nrelase_probability = 0.3\n")
    code, err, out = simulate(capsys, tmp_path, child, *FAST)
    assert_bad_input(code, err, out, str(child), "vesicles.glutamatergic.relase_probability",
                     "did you mean 'release_probability'")


def test_typo_in_extended_file_names_the_extended_file(capsys, tmp_path):
    base = write_child(tmp_path, "[adenosine]\nbaseline_um = 0.2\n", name="base.toml")
    child = write_child(tmp_path, "[network]\nn_neurons = 200\n", parent=base)
    code, err, out = simulate(capsys, tmp_path, child, *FAST)
    assert_bad_input(code, err, out, str(base), "adenosine.baseline_um", "did you mean 'baseline_uM'")
    assert str(child) not in err


def test_unknown_section_in_scenario_file(capsys, tmp_path):
    child = write_child(tmp_path, "[glutamat]\neaat_tau_s = 0.2\n")
    code, err, out = simulate(capsys, tmp_path, child, *FAST)
    assert_bad_input(code, err, out, str(child), "glutamat", "did you mean 'glutamate'")


def test_wrong_type_in_scenario_file(capsys, tmp_path):
    child = write_child(tmp_path, '[glutamate]\neaat_tau_s = "slow"\n')
    code, err, out = simulate(capsys, tmp_path, child, *FAST)
    assert_bad_input(code, err, out, str(child), "glutamate.eaat_tau_s", "expected a number")


def test_existing_empty_out_folder_stays_empty(capsys, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    code = run.main(["simulate", str(NORMAL), "--out", str(out), "--set", "adenosine.tau_s=-2", *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "adenosine.tau_s" in err and len(err.strip().splitlines()) == 1
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("args, fragments", [
    (["--set", "vesicles.glutamatergic.relase_probability=0.3"], ["did you mean 'release_probability'"]),
    (["--condition", "ketamine_100uM"], ["unknown condition", "ketamine_100uM"]),
], ids=["unknown-key", "unknown-condition"])
def test_command_line_in_subprocess(tmp_path, args, fragments):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "simulate", str(NORMAL), "--out", str(out),
                           *args, *FAST], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert_bad_input(proc.returncode, proc.stderr, out, "normal.toml", *fragments)
    assert proc.stdout == ""


# --------------------------------------------------------------------------- edge cases
# Values below a value, whole sections replaced, non-finite numbers, a negative seed and a protocol
# that would record nothing: each must give the one-line error and exit code 2.

EDGE_CASES = [
    pytest.param(["--set", "seed.x=1"], "seed.x", id="set-below-a-value"),
    pytest.param(["--set", "protocol=3"], "protocol", id="set-a-section-to-a-value"),
    pytest.param(["--set", "vesicles.glutamatergic.release_probability=nan"], "release_probability", id="nan"),
    pytest.param(["--set", "protocol.duration_s=inf"], "duration_s", id="infinite-duration"),
    pytest.param(["--seed", "-1"], "seed", id="negative-seed"),
    pytest.param(["--set", "protocol.record_interval_ms=1000"], "record_interval_ms", id="no-recorded-row"),
]


@pytest.mark.parametrize("args, key", EDGE_CASES)
def test_edge_cases_give_one_line_errors(capsys, tmp_path, args, key):
    # the overrides come after FAST so that they win (duration 0.05 s)
    out = tmp_path / "out"
    code = run.main(["simulate", str(NORMAL), "--out", str(out), *FAST, *args])
    err = capsys.readouterr().err
    assert_bad_input(code, err, out, key)
