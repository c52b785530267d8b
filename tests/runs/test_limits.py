"""Size limits, seeds, whole time steps, --workers and the run estimate (sim/model/limits.py, sim/runs/estimate.py).

Every refused input gives exit code 2, one line on stderr naming the file or
option and the key, no traceback and no --out folder, and is refused before
anything is allocated: the model class, the list of runs and the sweep's design
are replaced by functions that fail the test if they are reached.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from helpers import NORMAL, ROOT, SMOKE_EXPERIMENT, SMOKE_SWEEP

import run
import sim.model.limits
import sim.runs.batch
import sim.runs.estimate
import sim.runs.experiment
import sim.runs.sweep
from sim.model.model import SynapseNetworkModel
from sim.model.params import ScenarioError
from sim.model.scenario import load_scenario
from sim.runs.batch import BatchOutcome
from sim.runs.calibration import load_calibration
from sim.runs.experiment import load_experiment
from sim.runs.sweep import load_sweep

FAST = ["--quiet", "--set", "network.n_neurons=200", "--set", "protocol.duration_s=0.05",
        "--set", "protocol.warmup_s=0.01"]
ALLOW = "pass --allow-large to run it anyway"


class Reached(AssertionError):
    """Something was allocated or run that the check should have stopped first."""


def fail(*args, **kwargs):
    raise Reached("allocated before the input was refused")


@pytest.fixture
def no_model(monkeypatch):
    """Fail if a model is built."""
    monkeypatch.setattr(SynapseNetworkModel, "__init__", fail)


@pytest.fixture
def nothing_runs(monkeypatch, no_model):
    """Fail if a model is built, a batch lists its runs, or a sweep draws its design."""
    monkeypatch.setattr(sim.runs.experiment.Experiment, "runs", fail)
    monkeypatch.setattr(sim.runs.sweep, "design_points", fail)


def assert_refused(code: int, err: str, out: Path, *fragments: str) -> None:
    assert code == 2, f"exit code {code}, stderr: {err!r}"
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {err!r}"
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert not out.exists(), "the --out folder was created"


def main(capsys, *args: str) -> tuple[int, str]:
    code = run.main(list(args))
    return code, capsys.readouterr().err


# --------------------------------------------------------------------------- one run: simulate

TRAIN = 'protocol.stimuli=[{kind = "train", start_s = 0.02, n_pulses = 1000000000}]'
STEPS_07 = ["--set", "protocol.dt_ms=0.7", "--set", "protocol.record_interval_ms=7.0", "--set",
            "protocol.slow_dt_ms=7.0", "--set", "protocol.warmup_s=0.7"]

# (id, extra arguments after FAST, fragments of the one line)
SIMULATE = [
    ("neurons-1e9", ["--set", "network.n_neurons=1e9"], ["normal.toml", "network.n_neurons", "1e+09 neurons",
                                                         "limit of 2,000,000", ALLOW]),
    ("neurons-1e30", ["--set", "network.n_neurons=1e30"], ["network.n_neurons", "1e+30 neurons", ALLOW]),
    ("synapses", ["--set", "network.n_neurons=1000000", "--set", "network.excitatory_in_degree=300"],
     ["excitatory_in_degree", "3.2e+08 synapses", "limit of 200,000,000", ALLOW]),
    ("duration-1e12", ["--set", "protocol.duration_s=1e12"], ["protocol.duration_s / protocol.dt_ms", "2e+15 steps",
                                                              "limit of 200,000,000", ALLOW]),
    ("dt-0.01-over-1e5-s", ["--set", "protocol.dt_ms=0.01", "--set", "protocol.duration_s=1e5"],
     ["protocol.duration_s / protocol.dt_ms", "1e+10 steps", ALLOW]),
    ("slow-steps", ["--set", "protocol.slow_dt_ms=0.5", "--set", "protocol.duration_s=1e4"],
     ["protocol.slow_dt_ms", "2e+07 slow steps", "limit of 10,000,000", ALLOW]),
    ("time-series-rows", ["--set", "protocol.record_interval_ms=0.5", "--set", "protocol.duration_s=1000.0"],
     ["protocol.record_interval_ms", "2,000,000 time-series rows", "limit of 1,000,000", ALLOW]),
    ("train-pulses", ["--set", TRAIN], ["protocol.stimuli.0.n_pulses", "1e+09 pulses", ALLOW]),
    ("duration-beyond-counting", ["--set", "protocol.duration_s=1e306"], ["protocol.duration_s", "too many steps"]),
    ("seed-option-10**23", ["--seed", str(10**23)], ["--seed", str(10**23), "<= 9223372036854775807"]),
    ("seed-option-negative", ["--seed", "-1"], ["--seed", "-1", "allowed: >= 0"]),
    ("seed-key-2**63", ["--set", f"seed={2**63}"], ["normal.toml", "seed", str(2**63), "<= 9223372036854775807"]),
    ("duration-not-whole-steps", [*STEPS_07, "--set", "protocol.duration_s=3.0001"],
     ["protocol.duration_s", "3.0001 s", "a multiple of dt_ms = 0.7 ms", "nearest: 2.9995 or 3.0002 s"]),
    ("warmup-not-whole-steps", ["--set", "protocol.warmup_s=0.0103"],
     ["protocol.warmup_s", "multiple of dt_ms = 0.5 ms", "nearest: 0.01 or 0.0105 s"]),
    ("record-interval-not-whole-steps", ["--set", "protocol.record_interval_ms=10.3"],
     ["protocol.record_interval_ms", "multiple of dt_ms = 0.5 ms", "nearest: 10 or 10.5 ms"]),
    ("slow-dt-not-whole-steps", ["--set", "protocol.slow_dt_ms=10.2"],
     ["protocol.slow_dt_ms", "multiple of dt_ms = 0.5 ms", "nearest: 10 or 10.5 ms"]),
]


@pytest.mark.parametrize("args, fragments", [c[1:] for c in SIMULATE], ids=[c[0] for c in SIMULATE])
def test_simulate_refuses_before_building_the_model(capsys, tmp_path, nothing_runs, args, fragments):
    out = tmp_path / "out"
    code, err = main(capsys, "simulate", str(NORMAL), "--out", str(out), *FAST, *args)
    assert_refused(code, err, out, *fragments)


@pytest.mark.parametrize("sets", [
    ["protocol.dt_ms=0.5", "protocol.duration_s=32.0"],
    ["protocol.dt_ms=0.1", "protocol.duration_s=0.3", "protocol.warmup_s=0.1", "protocol.record_interval_ms=0.3"],
    ["protocol.dt_ms=0.7", "protocol.duration_s=2.8", "protocol.warmup_s=0.7", "protocol.record_interval_ms=7.0",
     "protocol.slow_dt_ms=7.0"],
    ["protocol.dt_ms=0.01", "protocol.duration_s=1.0", "protocol.warmup_s=0.3", "protocol.slow_dt_ms=0.03"],
    ["protocol.duration_s=1e5", "protocol.record_interval_ms=1000.0"],   # 2e8 steps, 1e7 slow steps: at the limits
    ["network.n_neurons=1000000"],  # the planned 1e6 neurons x 100 synapses
], ids=["32.0/0.5", "0.3/0.1", "2.8/0.7", "1.0/0.01", "at-the-step-limit", "1e6-neurons"])
def test_whole_numbers_of_steps_and_sizes_at_the_limits_load(sets):
    scenario, _ = load_scenario(NORMAL, sets)
    assert scenario.protocol.duration_s > 0


# --------------------------------------------------------------------------- batch: experiment files


def experiment_file(tmp_path: Path, text: str) -> Path:
    scenarios = f'"{ROOT}/scenarios/normal.toml", "{ROOT}/scenarios/depression_like.toml"'
    path = tmp_path / "exp.toml"
    path.write_text(text.replace('"../normal.toml", "../depression_like.toml"', scenarios), encoding="utf-8")
    return path


SMOKE_TEXT = SMOKE_EXPERIMENT.read_text(encoding="utf-8")
#: three scenario keys that take values in [0.1, 0.6]
KEYS = ("vesicles.glutamatergic.release_probability", "vesicles.gabaergic.release_probability",
        "vesicles.glutamatergic.heterogeneity_cv")
VALUES = "[" + ", ".join(f"{0.1 + i * 0.005:.3f}" for i in range(100)) + "]"
LEVELS = "\n[levels]\n" + "".join(f'"{key}" = {VALUES}\n' for key in KEYS)   # 100 x 100 x 100 combinations
# (id, experiment text, fragments); refused before the list of runs is built
EXPERIMENTS = [
    ("replicates-1e9", SMOKE_TEXT.replace("replicates = 2", "replicates = 1000000000"),
     ["exp.toml", "replicates", "1e+09 replicates", "limit of 100,000 runs per batch", ALLOW]),
    ("level-combinations", SMOKE_TEXT.replace("[scenario.network]", LEVELS + "\n[scenario.network]"),
     ["exp.toml", "levels", "1,000,000 level combinations", "runs per batch", ALLOW]),
    ("master-seed-negative", SMOKE_TEXT.replace("master_seed = 7", "master_seed = -1"),
     ["exp.toml", "master_seed", "-1", "allowed: >= 0"]),
    ("master-seed-2**63", SMOKE_TEXT.replace("master_seed = 7", f"master_seed = {2**63}"),
     ["exp.toml", "master_seed", "<= 9223372036854775807"]),
    ("no-scenarios-no-reference", SMOKE_TEXT.replace('"../normal.toml", "../depression_like.toml"', "").replace(
        'reference = { scenario = "normal", condition = "vehicle" }\n', ""), ["exp.toml", "scenarios", "empty"]),
]


@pytest.mark.parametrize("text, fragments", [c[1:] for c in EXPERIMENTS], ids=[c[0] for c in EXPERIMENTS])
def test_batch_refuses_before_listing_runs(capsys, tmp_path, nothing_runs, text, fragments):
    out = tmp_path / "out"
    code, err = main(capsys, "batch", str(experiment_file(tmp_path, text)), "--out", str(out), "--quiet")
    assert_refused(code, err, out, *fragments)


def test_batch_refuses_a_level_above_the_scenario_limits(capsys, tmp_path, no_model):
    text = SMOKE_TEXT.replace("[scenario.network]", '[levels]\n"network.n_neurons" = [300, 1000000000]\n\n'
                                                    "[scenario.network]")
    out = tmp_path / "out"
    code, err = main(capsys, "batch", str(experiment_file(tmp_path, text)), "--out", str(out), "--quiet")
    assert_refused(code, err, out, "exp.toml", "network.n_neurons", "1e+09 neurons", ALLOW)


# --------------------------------------------------------------------------- sweep files


def sweep_file(tmp_path: Path, design: str, samples: str, parameters: str, extra: str = "") -> Path:
    path = tmp_path / "sweep.toml"
    seed = "" if "master_seed" in extra else "master_seed = 1\n"
    path.write_text(f'name = "big"\n{seed}design = "{design}"\n{samples}\nscenarios = ["{NORMAL}"]\n'
                    f'conditions = ["vehicle", "ketamine_10uM"]\noutputs = ["evoked_release_glu_per_pulse"]\n'
                    f'{extra}\n{parameters}', encoding="utf-8")
    return path


def ranges(*keys: str, levels: int | None = None) -> str:
    tail = "" if levels is None else f"levels = {levels}\n"
    return "".join(f'[parameters."{k}"]\nrange = [0.1, 0.3]\n{tail}' for k in keys)


# (id, design, samples line, parameters, extra lines, fragments); refused before the design is drawn
SWEEPS = [
    ("lhs-samples-1e9", "lhs", "samples = 1000000000", ranges(KEYS[0]), "",
     ["sweep.toml", "samples", "1e+09 samples", "limit of 100,000", ALLOW]),
    ("grid-levels-1e9", "grid", "", ranges(KEYS[0], levels=1000000000), "",
     ["sweep.toml", f'parameters."{KEYS[0]}".levels', "1e+09 levels", ALLOW]),
    ("grid-points", "grid", "", ranges(*KEYS, levels=100), "",
     ["sweep.toml", "parameters", "1,000,000 design points", "runs per sweep", ALLOW]),
    ("sobol-points", "sobol", "samples = 65536", ranges(*KEYS[:2]), "",
     ["sweep.toml", "samples", "262,144 design points", "limit of 100,000 runs per sweep", ALLOW]),
    ("morris-levels", "morris", "samples = 4", ranges(KEYS[0]), "morris_levels = 1000000",
     ["sweep.toml", "morris_levels", "1,000,000 levels", ALLOW]),
    ("replicates", "lhs", "samples = 8", ranges(KEYS[0]), "replicates = 100000",
     ["sweep.toml", "replicates", "1,600,000 runs", ALLOW]),
    ("master-seed", "lhs", "samples = 8", ranges(KEYS[0]), "master_seed = -1",
     ["sweep.toml", "master_seed", "allowed: >= 0"]),
]


@pytest.mark.parametrize("design, samples, parameters, extra, fragments", [c[1:] for c in SWEEPS],
                         ids=[c[0] for c in SWEEPS])
def test_sweep_refuses_before_drawing_the_design(capsys, tmp_path, nothing_runs, design, samples, parameters, extra,
                                                 fragments):
    path = sweep_file(tmp_path, design, samples, parameters, extra)
    out = tmp_path / "out"
    code, err = main(capsys, "sweep", str(path), "--out", str(out), "--quiet")
    assert_refused(code, err, out, *fragments)


def test_quick_samples_are_named_as_quick(capsys, tmp_path, nothing_runs):
    path = sweep_file(tmp_path, "lhs", "samples = 8", ranges(KEYS[0]), "quick = { samples = 1000000000 }")
    out = tmp_path / "out"
    code, err = main(capsys, "sweep", str(path), "--out", str(out), "--quick", "--quiet")
    assert_refused(code, err, out, "quick.samples", ALLOW)


# --------------------------------------------------------------------------- --workers, the same for every command


@pytest.mark.parametrize("command", ["batch", "sweep", "reproduce", "validate", "calibrate"])
@pytest.mark.parametrize("workers, fragment", [("0", "allowed: 1 or more"), ("-1", "allowed: 1 or more"),
                                               ("5000", "limit of 1,024")])
def test_workers_mean_the_same_in_every_command(capsys, tmp_path, nothing_runs, command, workers, fragment):
    out = tmp_path / "out"
    target = {"batch": [str(SMOKE_EXPERIMENT), "--out", str(out)], "sweep": [str(SMOKE_SWEEP), "--out", str(out)],
              "reproduce": [str(out)], "validate": ["--out", str(out)],
              "calibrate": [str(ROOT / "scenarios" / "calibration" / "baseline_rates.toml"), "--out", str(out)]}
    code, err = main(capsys, command, *target[command], "--workers", workers, "--quiet")
    assert_refused(code, err, out, f"--workers {workers}", fragment)


@pytest.mark.parametrize("args", [["simulate", "s.toml"], ["batch", "e.toml", "--out", "o"],
                                  ["sweep", "s.toml", "--out", "o"], ["validate"],
                                  ["calibrate", "c.toml", "--out", "o"], ["reproduce", "o"]],
                         ids=lambda args: args[0])
def test_every_command_that_runs_has_the_allow_large_option(args):
    assert run.build_parser().parse_args(args).allow_large is False
    assert run.build_parser().parse_args([*args, "--allow-large"]).allow_large is True


# --------------------------------------------------------------------------- --allow-large lets a limit pass


def test_allow_large_lets_a_scenario_limit_pass(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(sim.model.limits, "MAX_NEURONS", 100)
    out = tmp_path / "out"
    code, err = main(capsys, "simulate", str(NORMAL), "--out", str(out), *FAST)
    assert_refused(code, err, out, "network.n_neurons", "200 neurons", "limit of 100", ALLOW)
    code, err = main(capsys, "simulate", str(NORMAL), "--out", str(out), *FAST, "--allow-large")
    assert code == 0, err
    assert (out / "summary.csv").is_file()
    assert "estimate" not in err   # a small run prints no estimate


def fake_run_batch(calls: list):
    def run_batch(exp, out, command, **kwargs):
        calls.append(len(exp.runs()))
        return BatchOutcome(len(exp.runs()), len(exp.runs()), 0, 0)
    return run_batch


def test_allow_large_lets_a_batch_above_the_run_limit_pass(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(sim.model.limits, "MAX_RUNS", 4)
    calls: list[int] = []
    monkeypatch.setattr(sim.runs.batch, "run_batch", fake_run_batch(calls))
    out = tmp_path / "out"
    code, err = main(capsys, "batch", str(SMOKE_EXPERIMENT), "--out", str(out), "--quiet")
    assert_refused(code, err, out, "smoke.toml", "= 8 runs", "limit of 4 runs per batch", ALLOW)
    assert calls == []
    code, err = main(capsys, "batch", str(SMOKE_EXPERIMENT), "--out", str(out), "--quiet", "--allow-large")
    assert code == 0, err
    assert calls == [8]


def test_allow_large_lifts_sizes_but_not_ranges(monkeypatch):
    monkeypatch.setattr(sim.model.limits, "MAX_LEVELS", 1)
    with pytest.raises(ScenarioError, match="values: 2 levels is above the limit of 1"):
        load_sweep(SMOKE_SWEEP)
    assert len(load_sweep(SMOKE_SWEEP, allow_large=True).runs()) == 8
    monkeypatch.setattr(sim.model.limits, "MAX_WORKERS", 1)
    with pytest.raises(ValueError, match="--workers 2"):
        sim.model.limits.check_workers(2)
    sim.model.limits.check_workers(2, allow_large=True)
    with pytest.raises(ValueError, match="allowed: 1 or more"):   # not a size: --allow-large does not lift it
        sim.model.limits.check_workers(0, allow_large=True)
    with pytest.raises(ScenarioError, match="seed"):
        load_scenario(NORMAL, seed=2**63, allow_large=True)


# --------------------------------------------------------------------------- memory and the estimate


def test_a_run_larger_than_the_available_memory_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(sim.runs.estimate, "available_memory_bytes", lambda: 10_000_000)
    out = tmp_path / "out"
    monkeypatch.setattr(SynapseNetworkModel, "__init__", fail)
    code, err = main(capsys, "simulate", str(NORMAL), "--out", str(out), *FAST)
    assert_refused(code, err, out, "normal.toml", "network.n_neurons", "one run needs", "than the 10 MB of memory "
                   "available", ALLOW)
    code, err = main(capsys, "batch", str(SMOKE_EXPERIMENT), "--out", str(out), "--quiet")
    assert_refused(code, err, out, "smoke.toml", "one run needs", ALLOW)


def test_allow_large_runs_despite_the_memory_estimate(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(sim.runs.estimate, "available_memory_bytes", lambda: 10_000_000)
    out = tmp_path / "out"
    code, err = main(capsys, "simulate", str(NORMAL), "--out", str(out), *FAST, "--allow-large")
    assert code == 0, err
    assert (out / "manifest.json").is_file()


def test_the_estimate_is_one_line_before_a_large_run(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(sim.model.limits, "NS_PER_NEURON_STEP", 1e7)   # as if each neuron-step took 10 ms
    monkeypatch.setattr(SynapseNetworkModel, "__init__", fail)
    with pytest.raises(Reached):   # the estimate comes before the model is built
        run.main(["simulate", str(NORMAL), "--out", str(tmp_path / "one"), *FAST])
    err = capsys.readouterr().err
    assert re.fullmatch(r"estimate: \d+(\.\d)? (MB|GB), ~\d+(\.\d)? (min|h) for one run\n", err), err
    calls: list[int] = []
    monkeypatch.setattr(sim.runs.batch, "run_batch", fake_run_batch(calls))
    code, err = main(capsys, "batch", str(SMOKE_EXPERIMENT), "--out", str(tmp_path / "batch"), "--workers", "2",
                     "--quiet")
    assert code == 0 and calls == [8]
    lines = [ln for ln in err.splitlines() if ln.startswith("estimate:")]
    assert len(lines) == 1 and re.fullmatch(r"estimate: \d\.\d GB, ~\d+(\.\d)? (h|days) on 2 workers \(8 runs\)",
                                            lines[0]), err


def test_small_batches_print_no_estimate(capsys, tmp_path, monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(sim.runs.batch, "run_batch", fake_run_batch(calls))
    code, err = main(capsys, "batch", str(SMOKE_EXPERIMENT), "--out", str(tmp_path / "batch"), "--quiet")
    assert code == 0 and calls == [8]
    assert "estimate" not in err


def test_estimates_grow_with_the_network_and_the_protocol():
    small, _ = load_scenario(NORMAL, ["network.n_neurons=1000"])
    large, _ = load_scenario(NORMAL, ["network.n_neurons=1000000"])
    longer, _ = load_scenario(NORMAL, ["protocol.duration_s=600.0"])
    memory, size = sim.runs.estimate.run_memory_bytes, sim.model.limits.run_size

    def seconds(scenario):
        return sim.runs.estimate.run_seconds(size(scenario)) - sim.model.limits.SECONDS_PER_RUN

    assert memory(size(large)) > 4e9   # 1e8 synapses at ~40 bytes
    assert memory(size(small)) < 0.5e9
    assert seconds(large) > 500 * seconds(small)
    assert seconds(longer) == pytest.approx(10 * seconds(small), rel=0.02)


# --------------------------------------------------------------------------- the built-in files load


def builtin_files() -> list[tuple[Path, str, bool]]:
    """Every TOML file under scenarios/ as (path, kind, quick), with its quick variant where it has one."""
    out = []
    for path in sorted((ROOT / "scenarios").rglob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        kind = ("calibration" if "targets" in data else "sweep" if "design" in data
                else "experiment" if "replicates" in data else "scenario")
        out += [(path, kind, quick) for quick in ((False, True) if "quick" in data else (False,))]
    return out


@pytest.mark.parametrize("path, kind, quick", builtin_files(),
                         ids=[f"{p.relative_to(ROOT / 'scenarios')}{' --quick' if q else ''}"
                              for p, _, q in builtin_files()])
def test_every_builtin_file_loads_within_the_limits(path, kind, quick):
    from analysis.validation_measures import run_measurements

    if kind == "scenario":
        load_scenario(path)
    elif kind == "experiment":
        load_experiment(path, quick=quick)
    elif kind == "sweep":
        load_sweep(path, quick=quick)
    else:
        load_calibration(path, quick=quick, measures=tuple(run_measurements()))


def test_the_builtin_files_are_all_found():
    found = {(str(p.relative_to(ROOT / "scenarios")), k, q) for p, k, q in builtin_files()}
    assert {("normal.toml", "scenario", False), ("checks/tsodyks_markram.toml", "scenario", False),
            ("experiments/validation/mid_run.toml", "experiment", True),
            ("calibration/baseline_rates_experiment.toml", "experiment", True),
            ("sweeps/ketamine_sobol_depression.toml", "sweep", True), ("sweeps/ishigami.toml", "sweep", False),
            ("calibration/baseline_rates.toml", "calibration", True)} <= found


# --------------------------------------------------------------------------- the documentation


def test_readme_lists_every_limit():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Reliability"):]
    section = section[:section.index("\n## ", 1)]
    for name in ("MAX_NEURONS", "MAX_SYNAPSES", "MAX_STEPS", "MAX_SLOW_STEPS", "MAX_ROWS", "MAX_PULSES", "MAX_RUNS",
                 "MAX_SAMPLES", "MAX_LEVELS", "MAX_WORKERS", "MAX_SEED"):
        assert f"{getattr(sim.model.limits, name):,}" in section, f"{name} missing from README.md, Reliability"
    assert "--allow-large" in section
