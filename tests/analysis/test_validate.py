"""``python run.py validate``: the finding computations on synthetic data, the quick experiment variants, and the
whole quick validation end to end (exit code 0, every finding PASS, with a master seed other than the files'), run
by ``run.main`` in this process (a refused option: tests/cli/test_validate_cli.py)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import run_main

from analysis import stats
from analysis.report_figures import Design
from analysis.validate_outputs import summary_line
from analysis.validation_checks import (
    ALPHA,
    TM_ALPHA,
    Change,
    Contrast,
    LargerImpairment,
    RatioOfChanges,
    TrainRelease,
    normal,
    tm_release,
    tm_test,
)
from analysis.validation_findings import AFTER_BEFORE, FINDINGS, ROW_COLUMNS, STATUSES
from analysis.validation_measures import (
    EXPERIMENTS,
    RUN_METRICS,
    Run,
    ValidationData,
    fit_decay,
    release_at_test_pulses,
)
from sim.model.packaged import VALIDATION_DIR
from sim.model.params import ScenarioError
from sim.model.scenario import build_scenario
from sim.runs.experiment import load_experiment

ROOT = Path(__file__).resolve().parents[2]
QUICK_LIMIT_S = 600.0     # a generous bound (about 2.5 min on 2 idle cores); catches a run-away quick mode


# --------------------------------------------------------------------------- synthetic groups


def synthetic(groups: dict[tuple[str, str], dict[str, np.ndarray]]) -> ValidationData:
    """A ValidationData whose experiment 'x' holds the given runs: (scenario, condition) -> {metric: values}."""
    rows = [{"run_id": f"r{i}", "scenario": s, "condition": c, "replicate": i, "status": "ok",
             **{m: values[i] for m, values in metrics.items()}}
            for (s, c), metrics in groups.items() for i in range(len(next(iter(metrics.values()))))]
    data = ValidationData(Path("/nonexistent"))
    frame = pd.DataFrame(rows)
    data._runs["x"] = frame
    data.__dict__["design"] = Design.from_summary(frame)
    return data


def normal_values(mean: float, n: int = 6, sd: float = 0.02, seed: int = 0) -> np.ndarray:
    return mean + sd * np.random.default_rng(seed).standard_normal(n)


def check(data: ValidationData, item) -> dict:
    return item.evaluate(data, "x")


def test_fit_decay_recovers_a_known_time_constant():
    t = np.arange(24.0, 54.0, 0.02)
    y = 0.12 + 0.08 * np.exp(-(t - 24.0) / 13.7)
    noisy = y + 2e-4 * np.random.default_rng(1).standard_normal(t.size)
    for trace in (y, noisy):
        fit = fit_decay(t, trace, 24.0)
        assert abs(fit["tau"] - 13.7) / 13.7 < 0.02
    assert np.isnan(fit_decay(t, np.full(t.size, 0.3), 24.0)["tau"])      # a flat trace has no time constant


def test_tsodyks_markram_sequence_reaches_its_steady_state():
    u, tau, interval = 0.5, 0.8, 0.05
    release = tm_release(u, tau, 10, np.arange(60) * interval)
    e = np.exp(-interval / tau)
    assert release[0] == pytest.approx(5.0)
    assert release[-1] == pytest.approx(10 * u * (1 - e) / (1 - (1 - u) * e), rel=1e-9)


def tm_train(u_true: float, seed: int = 3) -> TrainRelease:
    """Binomial release of independent sites following TM with ``u_true``; prediction with U = 0.5."""
    times = np.arange(20) * 0.05
    q = tm_release(u_true, 0.8, 10, times) / 10
    counts = np.random.default_rng(seed).binomial(800 * 10, q, size=(4, q.size))
    return TrainRelease(counts / 800, times, tm_release(0.5, 0.8, 10, times), 10, 800)


def test_tsodyks_markram_test_accepts_the_model_and_rejects_another():
    assert tm_test(tm_train(0.5))["p_bonferroni"] >= TM_ALPHA
    assert tm_test(tm_train(0.45))["p_bonferroni"] < TM_ALPHA


def test_change_needs_the_direction_significance_and_size():
    data = synthetic({("normal", "vehicle"): {"m": normal_values(1.0)},
                      ("normal", "ketamine_10uM"): {"m": normal_values(0.8, seed=1)},
                      ("normal", "dpcpx"): {"m": normal_values(1.01, seed=2)}})
    ket = Contrast("m", normal("ketamine_10uM"), normal("vehicle"))
    assert check(data, Change(ket, "decrease"))["passed"]
    assert check(data, Change(ket, "decrease", min_pct=15.0))["passed"]
    assert not check(data, Change(ket, "decrease", min_pct=30.0))["passed"]      # -20 % is not -30 %
    assert not check(data, Change(ket, "increase"))["passed"]
    assert not check(data, Change(ket, "decrease", below=0.5))["passed"]
    row = check(data, Change(ket, "decrease"))
    assert row["effect"] == pytest.approx(-20.0, abs=2.0) and row["ci_low"] < row["effect"] < row["ci_high"]
    same = Contrast("m", normal("dpcpx"), normal("vehicle"))
    assert not check(data, Change(same, "increase"))["passed"]                  # +1 % is not significant
    assert check(data, Change(same, "unchanged"))["passed"]
    assert not check(data, Change(ket, "unchanged"))["passed"]                 # -20 %, significant


def test_a_decrease_must_stay_within_the_stated_range():
    data = synthetic({("normal", "vehicle"): {"m": normal_values(1.0)},
                      ("normal", "adenosine_10uM"): {"m": normal_values(0.8, seed=1)}})
    ado = Contrast("m", normal("adenosine_10uM"), normal("vehicle"))
    assert check(data, Change(ado, "decrease", min_pct=10.0, max_pct=30.0))["passed"]
    assert not check(data, Change(ado, "decrease", min_pct=10.0, max_pct=15.0))["passed"]   # -20 % is too large
    assert not check(data, Change(ado, "decrease", min_pct=25.0, max_pct=75.0))["passed"]   # ... or too small


def test_unchanged_is_an_equivalence_test_not_a_missing_difference():
    """TOST: tight groups 1 % apart are equivalent within ±10 %; noisy groups 5 % apart are not shown equivalent,
    although their difference is far from significant; groups 20 % apart are not equivalent."""
    tight = synthetic({("normal", "vehicle"): {"m": normal_values(1.0)},
                       ("normal", "dpcpx"): {"m": normal_values(1.01, seed=2)},
                       ("normal", "ketamine_10uM"): {"m": normal_values(0.8, seed=1)}})
    noisy = synthetic({("normal", "vehicle"): {"m": normal_values(1.0, n=4, sd=0.3)},
                       ("normal", "dpcpx"): {"m": normal_values(1.05, n=4, sd=0.3, seed=2)}})
    same = Contrast("m", normal("dpcpx"), normal("vehicle"))
    ket = Contrast("m", normal("ketamine_10uM"), normal("vehicle"))
    assert check(tight, Change(same, "unchanged"))["passed"]
    assert not check(tight, Change(ket, "unchanged"))["passed"]
    row = check(noisy, Change(same, "unchanged"))
    assert not row["passed"] and row["p"] > ALPHA
    assert stats.welch_test(*same.values(noisy, "x"))[1] > ALPHA               # the old criterion would pass it


def test_every_finding_is_calibrated_predicted_or_informational_as_docs_calibration_says():
    text = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    listed = {}
    for status in STATUSES:
        line = next(x for x in text.splitlines() if x.startswith(f"- **{status}**:"))
        listed.update({key.strip(" ."): status for key in line.split(":", 1)[1].split(",")})
    assert listed == {f.key: f.status for f in FINDINGS}


def test_summary_line_counts_calibrated_and_predicted_checks_apart():
    rows = pd.DataFrame({"id": ["1", "2", "3", "D"],
                         "status": ["calibrated", "predicted", "predicted", "informational"],
                         "result": ["PASS", "PASS", "FAIL", "INFO"]})
    assert summary_line(rows) == "2 of 3 checks pass (calibrated 1 of 1, predicted 1 of 2); FAIL: 3"


def test_too_few_runs_fail():
    data = synthetic({("normal", "vehicle"): {"m": np.array([1.0])},
                      ("normal", "ketamine_10uM"): {"m": normal_values(0.5)}})
    row = check(data, Change(Contrast("m", normal("ketamine_10uM"), normal("vehicle")), "decrease"))
    assert row["passed"] is False and row["measured"] == "not enough runs"


@pytest.mark.parametrize(("with_antagonist", "passes"), [(0.95, True), (0.85, False), (1.05, True)])
def test_half_ratio_criterion(with_antagonist: float, passes: bool):
    """Ketamine -20 % alone; with the antagonist -5 % (ratio 0.25), -15 % (0.75) or +5 % (-0.25)."""
    data = synthetic({("normal", "vehicle"): {"m": normal_values(1.0)},
                      ("normal", "ketamine_10uM"): {"m": normal_values(0.8, seed=1)},
                      ("normal", "dpcpx"): {"m": normal_values(1.4, seed=2)},
                      ("normal", "ketamine_10uM_dpcpx"): {"m": normal_values(1.4 * with_antagonist, seed=3)}})
    ratio = RatioOfChanges(Contrast("m", normal("ketamine_10uM_dpcpx"), normal("dpcpx")),
                             Contrast("m", normal("ketamine_10uM"), normal("vehicle")), 0.5)
    row = check(data, ratio)
    assert row["passed"] is passes
    assert row["effect"] == pytest.approx((with_antagonist - 1) / -0.2, abs=0.1)
    assert row["ci_low"] < row["effect"] < row["ci_high"]


def test_half_ratio_criterion_uses_the_upper_ci_bound():
    """A point ratio of 0.4 fails when its 95 % CI reaches above 0.5 (noisy groups); with tight groups it passes."""
    def data(sd: float) -> ValidationData:
        return synthetic({("normal", "vehicle"): {"m": normal_values(1.0, sd=sd)},
                          ("normal", "ketamine_10uM"): {"m": normal_values(0.8, sd=sd, seed=1)},
                          ("normal", "dpcpx"): {"m": normal_values(1.4, sd=sd, seed=2)},
                          ("normal", "ketamine_10uM_dpcpx"): {"m": normal_values(1.4 * 0.92, sd=sd, seed=3)}})
    ratio = RatioOfChanges(Contrast("m", normal("ketamine_10uM_dpcpx"), normal("dpcpx")),
                             Contrast("m", normal("ketamine_10uM"), normal("vehicle")), 0.5)
    tight, noisy = check(data(0.005), ratio), check(data(0.05), ratio)
    assert tight["passed"] and tight["ci_high"] <= 0.5
    assert noisy["effect"] < 0.5 < noisy["ci_high"] and not noisy["passed"]


def test_a_ratio_without_a_decrease_to_prevent_fails():
    data = synthetic({("normal", "vehicle"): {"m": normal_values(1.0)},
                      ("normal", "ketamine_10uM"): {"m": normal_values(1.2, seed=1)},
                      ("normal", "dpcpx"): {"m": normal_values(1.4, seed=2)},
                      ("normal", "ketamine_10uM_dpcpx"): {"m": normal_values(1.4, seed=3)}})
    ratio = RatioOfChanges(Contrast("m", normal("ketamine_10uM_dpcpx"), normal("dpcpx")),
                             Contrast("m", normal("ketamine_10uM"), normal("vehicle")), 0.5)
    assert not check(data, ratio)["passed"]


def test_larger_impairment_in_glutamatergic_cells():
    def data(glu: float, gaba: float) -> ValidationData:
        return synthetic({("normal", "vehicle"): {"fm_glu": normal_values(20, seed=1),
                                                  "fm_gaba": normal_values(20, seed=2)},
                          ("normal", "ketamine_10uM"): {"fm_glu": normal_values(20 * glu, seed=3),
                                                        "fm_gaba": normal_values(20 * gaba, seed=4)}})

    impairment = LargerImpairment(*(Contrast(f"fm_{t}", normal("ketamine_10uM"), normal("vehicle"))
                                      for t in ("glu", "gaba")), sign=-1)
    assert check(data(0.7, 0.98), impairment)["passed"]
    assert not check(data(0.95, 0.95), impairment)["passed"]
    assert not check(data(0.98, 0.7), impairment)["passed"]


def mid_run(condition: str = "ketamine_10uM", apply_at_s: float = 30.0, before: float = 2.0,
            after: float = 1.5) -> Run:
    """A run of the mid_run protocol (scenarios/experiments/validation/mid_run.toml) whose test pulses release
    ``before`` vesicles per stimulated bouton at their first pulse before the drug and ``after`` after it (later
    pulses of a train, and a GABAergic pulse, release other amounts that the measure must ignore)."""
    exp = load_experiment(VALIDATION_DIR / "mid_run.toml")
    data = exp.scenario_data["normal"]
    data["conditions"][condition]["apply_at_s"] = apply_at_s
    data["protocol"]["stimuli"].append({"kind": "paired_pulse", "start_s": 40.0, "interval_ms": 50.0,
                                        "target": "gabaergic"})
    scenario = build_scenario(data, str(VALIDATION_DIR))
    rows = []
    for index, stim in enumerate(scenario.stimuli):
        glu = stim.target == "glutamatergic"
        first = (before if stim.start_s < apply_at_s else after) if glu else 9.0
        times = [stim.start_s + k * (1 / stim.rate_hz if stim.kind == "train" else stim.interval_ms / 1000)
                 for k in range(stim.n_pulses if stim.kind == "train" else 2)]
        for k, t in enumerate(times):
            rows.append({"stimulus": index, "time_s": t, "n_stimulated_glu": 100 if glu else 0,
                         "released_glu": 100 * (first if k == 0 else 0.3) if glu else 0.0,
                         "n_stimulated_gaba": 0 if glu else 50, "released_gaba": 0.0 if glu else 50.0})
    return Run(pd.DataFrame({"time_s": [0.0, 0.02]}), pd.DataFrame(rows).sample(frac=1.0, random_state=1),
                 scenario, condition)


def test_evoked_release_after_over_before_the_drug_in_the_same_run():
    """First pulses of the glutamatergic tests before and after the application; nothing else counts."""
    metrics = RUN_METRICS["mid_run"](mid_run(before=2.0, after=1.5))
    assert metrics["evoked_release_glu_before"] == pytest.approx(2.0)
    assert metrics["evoked_release_glu_after"] == pytest.approx(1.5)
    assert metrics["evoked_release_after_before"] == pytest.approx(0.75)
    # the split follows the condition's own application time: at 61 s the train at 60 s counts as "before"
    late = RUN_METRICS["mid_run"](mid_run(apply_at_s=61.0, before=2.0, after=1.0))
    assert late["evoked_release_glu_before"] == pytest.approx(2.0)
    assert late["evoked_release_after_before"] == pytest.approx(0.5)
    # all test stimuli after the warm-up, as before: the mean of the six first pulses
    assert release_at_test_pulses(mid_run(before=2.0, after=1.0)) == pytest.approx(1.5)


def test_evoked_release_after_over_before_needs_tests_on_both_sides():
    with pytest.raises(ValueError, match="not after the warm-up"):
        RUN_METRICS["mid_run"](mid_run(apply_at_s=10.0))
    with pytest.raises(ValueError, match="no glutamatergic test pulse"):
        RUN_METRICS["mid_run"](mid_run(apply_at_s=80.0))                  # no test after the drug


def within_network(ketamine: float, ketamine_dpcpx: float, vehicle: float = 1.0, dpcpx: float = 1.28,
                   sd: float = 0.02) -> ValidationData:
    """Synthetic mid_run runs: after / before ratios of the four conditions."""
    data = synthetic({("normal", c): {AFTER_BEFORE: normal_values(m, n=8, sd=sd, seed=i)}
                      for i, (c, m) in enumerate((("vehicle", vehicle), ("ketamine_10uM", ketamine),
                                                  ("dpcpx", dpcpx), ("ketamine_10uM_dpcpx", ketamine_dpcpx)))})
    data._runs["mid_run"] = data._runs.pop("x")
    return data


def test_within_network_checks_of_findings_1_and_3():
    """Finding 1's within-network row: ketamine's after / before below the vehicle's; finding 3's: the decrease
    that DPCPX leaves, over ketamine's, with the upper CI bound at most 0.5."""
    f1, f3 = (next(f for f in FINDINGS if f.key == k) for k in ("1", "3"))
    (id1, decrease), = [(i, c) for i, c in zip(f1.row_ids(), f1.checks, strict=True) if c.experiment == "mid_run"]
    (id3, ratio), = [(i, c) for i, c in zip(f3.row_ids(), f3.checks, strict=True) if c.experiment == "mid_run"]
    assert (id1, id3) == ("1e", "3b") and f1.status == f3.status == "calibrated"
    assert decrease.contrast.metric == ratio.numerator.metric == ratio.denominator.metric == AFTER_BEFORE
    prevented = within_network(ketamine=0.67, ketamine_dpcpx=1.24)          # -33 %; with DPCPX -3 % (ratio 0.09)
    row = decrease.evaluate(prevented, "mid_run")
    assert row["passed"] and row["effect"] == pytest.approx(-33.0, abs=2.0)
    row = ratio.evaluate(prevented, "mid_run")
    assert row["passed"] and row["effect"] == pytest.approx(0.09, abs=0.05) and row["ci_high"] <= 0.5
    not_prevented = within_network(ketamine=0.67, ketamine_dpcpx=0.90)      # with DPCPX -30 % (ratio 0.9)
    assert decrease.evaluate(not_prevented, "mid_run")["passed"]
    assert not ratio.evaluate(not_prevented, "mid_run")["passed"]
    no_effect = within_network(ketamine=1.0, ketamine_dpcpx=1.28)          # ketamine changes nothing
    assert not decrease.evaluate(no_effect, "mid_run")["passed"]
    assert not ratio.evaluate(no_effect, "mid_run")["passed"]


def test_mid_run_applies_every_condition_at_the_same_time_between_its_tests():
    for quick in (False, True):
        exp = load_experiment(VALIDATION_DIR / "mid_run.toml", quick=quick)
        scenario = build_scenario(exp.scenario_data["normal"], str(VALIDATION_DIR))
        applied = {scenario.condition(c).apply_at_s for c in exp.conditions}
        assert set(exp.conditions) == {"vehicle", "ketamine_10uM", "dpcpx", "ketamine_10uM_dpcpx"}
        assert len(applied) == 1
        (t_apply,) = applied
        tests = sorted(s.start_s for s in scenario.stimuli if s.target == "glutamatergic")
        assert scenario.protocol.warmup_s < tests[0] and any(t < t_apply for t in tests)
        assert min(t for t in tests if t > t_apply) - t_apply >= 20.0         # wash-in and the adenosine loop
        assert all(b - a >= 2.5 for a, b in zip(tests, tests[1:], strict=False))


def test_every_finding_of_science_md_has_its_experiment_groups():
    keys = {f.key for f in FINDINGS}
    assert {str(k) for k in range(1, 11)} <= keys
    for quick in (False, True):
        experiments = {name: load_experiment(VALIDATION_DIR / f"{name}.toml", quick=quick)
                       for name in EXPERIMENTS}
        for finding in FINDINGS:
            for check_ in finding.checks:
                for panel in check_.panels():
                    for group in panel.groups:
                        exp = experiments[group.experiment or check_.experiment or finding.experiment]
                        assert group.condition in exp.conditions, (finding.key, group, quick)
                        assert group.scenario in (None, *exp.scenario_data), (finding.key, group)


def test_antagonists_use_the_protocol_of_evoked_release():
    evoked, antagonists = (load_experiment(VALIDATION_DIR / f"{n}.toml") for n in ("evoked_release", "antagonists"))
    assert evoked.scenario_data["normal"]["protocol"] == antagonists.scenario_data["normal"]["protocol"]


def test_quick_variant_and_master_seed_of_an_experiment(tmp_path: Path):
    path = VALIDATION_DIR / "evoked_release.toml"
    full, quick = load_experiment(path), load_experiment(path, quick=True, master_seed=99)
    assert quick.replicates < full.replicates and set(quick.conditions) < set(full.conditions)
    assert quick.master_seed == 99 and full.master_seed != 99
    for name, data in quick.scenario_data.items():
        assert data["network"]["n_neurons"] == 400
        assert data["network"]["excitatory_in_degree"] == full.scenario_data[name]["network"]["excitatory_in_degree"]
        assert data["protocol"]["stimuli"] == full.scenario_data[name]["protocol"]["stimuli"]
    bad = tmp_path / "bad.toml"
    text = path.read_text().replace("[quick]", "[quick]\nreplicate = 2", 1)
    bad.write_text(text.replace('"../../', f'"{ROOT}/scenarios/'))
    with pytest.raises(ScenarioError, match="quick.replicate: unknown key"):
        load_experiment(bad, quick=True)


# --------------------------------------------------------------------------- end to end


def validate_cli(*args: str) -> subprocess.CompletedProcess:
    """``run.py validate ARGS --quiet`` in this process (:func:`helpers.run_main`): its exit code and output."""
    return run_main("validate", *args, "--quiet")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess, float]:
    out = tmp_path_factory.mktemp("validate") / "quick"
    start = time.perf_counter()
    result = validate_cli("--quick", "--seed", "12345", "--out", str(out))
    return out, result, time.perf_counter() - start


def test_quick_validation_passes_with_another_seed(quick_run):
    out, result, seconds = quick_run
    table = pd.read_csv(out / "validation.csv")
    failed = table[table["result"] == "FAIL"]
    assert failed.empty, "failing findings:\n" + failed[["id", "compared", "measured", "p"]].to_string()
    assert result.returncode == 0, result.stderr[-2000:]
    assert set(table["result"]) <= {"PASS", "INFO"}
    assert seconds < QUICK_LIMIT_S, f"--quick took {seconds:.0f} s"


def test_quick_validation_outputs(quick_run):
    out, result, _ = quick_run
    table = pd.read_csv(out / "validation.csv")
    assert list(table.columns) == list(ROW_COLUMNS)
    assert set(table["id"]) >= {"1a", "1b", "1e", "2a", "3a", "3b", "4", "5", "6a", "6b", "6c", "7a", "7b", "8a",
                                "8b", "9a", "9b", "10"}
    text = (out / "validation.md").read_text()
    assert "| id | finding |" in text and "master seeds: evoked_release 12345, antagonists 12346" in text
    figures = {p.name for p in (out / "figures").glob("*.png")}
    assert {f"finding_{k:02d}.png" for k in range(1, 11)} <= figures
    assert "dose_response_evoked_release_glu.png" in figures
    assert all(name in result.stdout for name in ("1a", "10", "checks pass"))


def test_validation_resumes_its_folder_and_refuses_another_seed(quick_run, tmp_path: Path):
    out, first, _ = quick_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    before = (copy / "validation.csv").read_bytes()
    start = time.perf_counter()
    again = validate_cli("--quick", "--seed", "12345", "--out", str(copy))
    assert time.perf_counter() - start < 300, "resuming a finished validation re-runs nothing: well under 300 s"
    assert again.returncode == first.returncode in (0, 1), again.stderr[-2000:]
    assert (copy / "validation.csv").read_bytes() == before          # nothing re-run, same table
    other = validate_cli("--quick", "--seed", "7", "--out", str(copy))
    assert other.returncode == 2 and "another validation" in other.stderr
