"""``python run.py calibrate``: calibration files, the objective, the evaluation store and its resume, the
optimiser driver, the identifiability profiles (the built-in example end to end, ``--quick``:
tests/cli/test_calibrate_cli.py)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import NORMAL, ROOT

import run
from analysis.calibration_fit import fit, profile_of, profiles
from analysis.calibration_objective import PENALTY, Evaluation, EvaluationStore, measure, objective
from analysis.validation_measures import run_measurements
from sim.runs.calibration import Calibration, FreeParameter, GroupRef, OptimiserSettings, Target, load_calibration
from sim.runs.calibration_runs import EvaluationRunner, open_folder

BASELINE = ROOT / "scenarios" / "calibration" / "baseline_rates.toml"
VEHICLE = GroupRef("normal", "vehicle")
KETAMINE = GroupRef("normal", "ketamine_10uM")

#: a tiny experiment (60 neurons, 0.3 s, a test train): a batch takes well under a second
TINY_EXPERIMENT = f"""
name = "tiny"
master_seed = 5
replicates = 2
scenarios = ["{NORMAL}"]
conditions = ["vehicle", "ketamine_10uM"]
[scenario.network]
n_neurons = 60
excitatory_in_degree = 8
inhibitory_in_degree = 2
[scenario.protocol]
duration_s = 0.3
warmup_s = 0.1
record_interval_ms = 20.0
stimuli = [{{ kind = "train", start_s = 0.2, rate_hz = 50.0, n_pulses = 3 }}]
"""


def calibration_text(parameters: str = "low = 1200.0\nhigh = 2200.0", extra_target: str = "",
                     optimiser: str = 'method = "nelder_mead"\nseed = 1\nmaxfev = 3', extra: str = "",
                     metric: str = "rate_glu_hz") -> str:
    return f"""
name = "tiny"
experiment = "tiny_experiment.toml"
{extra}
[parameters."neurons.glutamatergic.background_rate_hz"]
{parameters}
[[targets]]
metric = "{metric}"
group = {{ scenario = "normal", condition = "vehicle" }}
value = 2.5
sd = 0.5
[[targets]]
name = "ketamine on the first pulse"
metric = "first_pulse_release_glu"
treated = {{ scenario = "normal", condition = "ketamine_10uM" }}
reference = {{ scenario = "normal", condition = "vehicle" }}
value = -20.0
sd = 10.0
{extra_target}
[optimiser]
{optimiser}
[profile]
points = 3
"""


def write_calibration(folder: Path, text: str) -> Path:
    (folder / "tiny_experiment.toml").write_text(TINY_EXPERIMENT)
    path = folder / "tiny.toml"
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- bad files


BAD = [
    ("unknown key", calibration_text(extra="optimizer = 1"), ["optimizer", "unknown key",
                                                              "did you mean 'optimiser'", "allowed:"]),
    ("unknown parameter key", calibration_text(parameters="low = 1.0\nhigh = 2.0\nlog = true\nstep = 1"),
     ['parameters."neurons.glutamatergic.background_rate_hz".step', "unknown key", "allowed: low, high, log, start"]),
    ("bad bounds", calibration_text(parameters="low = 2200.0\nhigh = 1200.0"),
     ["background_rate_hz", "empty range", "allowed: low < high"]),
    ("log bounds from zero", calibration_text(parameters="low = 0.0\nhigh = 10.0\nlog = true"),
     ["background_rate_hz\".low", "zero or below", "allowed: low > 0"]),
    ("bound out of the schema's range", calibration_text(parameters="low = -5.0\nhigh = 10.0"),
     ["background_rate_hz", "out of range", "allowed: >= 0"]),
    ("unknown metric", calibration_text(metric="rate_glut_hz"),
     ["targets[0].metric", "'rate_glut_hz'", "did you mean 'rate_glu_hz'", "allowed:"]),
    ("unknown method", calibration_text(optimiser='method = "nelder-mead"\nseed = 1'),
     ["optimiser.method", "did you mean 'nelder_mead'", "allowed: differential_evolution, nelder_mead"]),
    ("budget key of the other method", calibration_text(optimiser='method = "nelder_mead"\nseed = 1\npopsize = 4'),
     ["optimiser.popsize", "not used by method 'nelder_mead'", "allowed: maxfev"]),
    ("unknown condition", calibration_text(extra_target='[[targets]]\nmetric = "rate_gaba_hz"\n'
                                                        'group = { scenario = "normal", condition = "dpcpx" }\n'
                                                        'value = 1.0\nsd = 1.0'),
     ["targets[2].group.condition", "'dpcpx'", "allowed: vehicle, ketamine_10uM"]),
    ("sd not positive", calibration_text(extra_target='[[targets]]\nmetric = "rate_gaba_hz"\n'
                                                      'group = { scenario = "normal", condition = "vehicle" }\n'
                                                      'value = 1.0\nsd = 0.0'),
     ["targets[2].sd", "allowed: > 0"]),
]


@pytest.mark.parametrize("text, fragments", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_calibration_files_give_one_line_and_exit_code_2(capsys, tmp_path, text, fragments):
    path = write_calibration(tmp_path, text)
    out = tmp_path / "out"
    code = run.main(["calibrate", str(path), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert str(path) in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert not out.exists(), "nothing is written for bad input"


def test_quick_without_a_quick_table_is_refused(capsys, tmp_path):
    path = write_calibration(tmp_path, calibration_text())
    assert run.main(["calibrate", str(path), "--out", str(tmp_path / "out"), "--quick", "--quiet"]) == 2
    assert "--quick: the file has no quick table" in capsys.readouterr().err


def test_the_built_in_calibration_loads_with_run_measurements():
    cal = load_calibration(BASELINE, measures=tuple(run_measurements()))
    assert [p.key for p in cal.parameters] == ["neurons.glutamatergic.background_rate_hz",
                                               "neurons.gabaergic.background_rate_hz"]
    assert [(t.metric, t.value, t.sd) for t in cal.targets] == [("rate_glu_hz", 2.5, 0.5), ("rate_gaba_hz", 15.0, 2.0)]
    quick = load_calibration(BASELINE, quick=True, measures=tuple(run_measurements()))
    assert quick.optimiser.budget == {"maxfev": 6} and quick.profile_points == 3
    assert len(quick.experiment.runs()) < len(cal.experiment.runs())
    at = cal.experiment_at((1500.0, 3000.0))
    assert at.scenario_data["normal"]["neurons"]["glutamatergic"]["background_rate_hz"] == 1500.0
    assert [r.seed for r in at.runs()] == [r.seed for r in cal.experiment.runs()], "common random numbers"
    assert "first_pulse_release_glu" in run_measurements() and "evoked_release_glu" in run_measurements()


# --------------------------------------------------------------------------- the objective


def test_objective_on_synthetic_groups():
    runs = pd.DataFrame({"scenario": ["normal"] * 4, "condition": ["vehicle", "vehicle", "ketamine_10uM",
                                                                    "ketamine_10uM"],
                         "rate": [2.0, 3.0, 1.0, 2.0], "release": [4.0, 6.0, 3.0, np.nan]})
    mean = Target("mean", "rate", 2.0, 0.25, group=VEHICLE)
    change = Target("change", "release", -50.0, 10.0, treated=KETAMINE, reference=VEHICLE)
    assert measure(mean, runs) == pytest.approx(2.5)
    assert measure(change, runs) == pytest.approx(100 * (3.0 - 5.0) / 5.0)      # NaN replicate left out
    measured = {t.name: measure(t, runs) for t in (mean, change)}
    assert objective([mean, change], measured) == pytest.approx(((2.5 - 2.0) / 0.25) ** 2 + ((-40 + 50) / 10) ** 2)
    missing = Target("missing", "rate", 1.0, 1.0, group=GroupRef("normal", "dpcpx"))
    assert math.isnan(measure(missing, runs))
    assert objective([mean, missing], {"mean": 2.5, "missing": math.nan}) == pytest.approx(4.0 + PENALTY)


# --------------------------------------------------------------------------- the store and its resume


def test_resume_reuses_finished_evaluations_and_finishes_interrupted_ones(tmp_path):
    cal = load_calibration(write_calibration(tmp_path, calibration_text()), measures=tuple(run_measurements()))
    out = tmp_path / "out"
    open_folder(out, cal, ["calibrate"], resume=False)
    vectors = [(1500.0,), (1700.0,), (1900.0,)]
    store = EvaluationStore(cal, EvaluationRunner(cal, out, ["calibrate"], workers=1), progress=False)
    first = store.evaluate(vectors, "optimiser")
    assert store.batches_run == 3 and not any(e.reused for e in first)
    assert store.evaluate(vectors[:1], "optimiser")[0] is first[0] and store.batches_run == 3, "kept in memory"
    store.close()
    assert all(np.isfinite(list(e.measured.values())).all() for e in first)
    assert first[0].objective != first[2].objective, "the parameter changes the objective"

    shutil.rmtree(out / "evaluations" / first[1].hash / "runs" / "r00001")     # an interrupted evaluation
    with pytest.raises(Exception, match="folder exists"):
        open_folder(out, cal, ["calibrate"], resume=False)
    open_folder(out, cal, ["calibrate"], resume=True)
    again = EvaluationStore(cal, EvaluationRunner(cal, out, ["calibrate"], workers=1), progress=False)
    second = again.evaluate(vectors, "optimiser")
    again.close()
    assert again.batches_run == 1, "only the interrupted evaluation is run (resumed)"
    assert [e.reused for e in second] == [True, False, True]
    assert [e.objective for e in second] == [e.objective for e in first], "the same runs give the same objective"
    assert [e.hash for e in second] == [e.hash for e in first]


# --------------------------------------------------------------------------- the optimiser and the profile


class SyntheticStore:
    """The store's interface over a cheap function of the parameter values (no runs)."""

    def __init__(self, cal: Calibration, function):
        self.cal, self.function, self.evaluations = cal, function, {}

    def __call__(self, unit) -> float:
        return self.evaluate_units([unit], "optimiser")[0]

    def evaluate_units(self, units, phase):
        return [e.objective for e in self.evaluate([self.cal.values(u) for u in units], phase)]

    def evaluate(self, vectors, phase):
        out = []
        for values in vectors:
            key = repr(values)
            if key not in self.evaluations:
                self.evaluations[key] = Evaluation(len(self.evaluations) + 1, key, phase, values,
                                                   float(self.function(*values)), {}, 0, 0, False, 0.0)
            out.append(self.evaluations[key])
        return out


def synthetic_calibration(method: str, budget: dict, points: int = 5) -> Calibration:
    parameters = [FreeParameter("a", 0.0, 10.0), FreeParameter("b", 1.0, 1000.0, log=True)]
    return Calibration(Path("synthetic.toml"), "synthetic", "", False, None, parameters, [],
                       OptimiserSettings(method, 3, budget), points, 0.2)


def bowl(a: float, b: float) -> float:
    """Minimum 0 at a = 3, b = 100 (log10 b = 2)."""
    return ((a - 3.0) / 0.5) ** 2 + ((math.log10(b) - 2.0) / 0.1) ** 2


@pytest.mark.parametrize("method, budget", [("nelder_mead", {"maxfev": 200}),
                                            ("differential_evolution", {"maxiter": 40, "popsize": 8})])
def test_the_optimisers_recover_a_known_optimum_within_bounds(method, budget):
    cal = synthetic_calibration(method, budget)
    store = SyntheticStore(cal, bowl)
    result = fit(cal, store)
    assert result.values[0] == pytest.approx(3.0, abs=0.05)
    assert result.values[1] == pytest.approx(100.0, rel=0.03)
    assert result.objective < 0.05
    assert all(0.0 <= v <= 10.0 for v, _ in (e.values for e in store.evaluations.values()))
    assert all(1.0 <= v <= 1000.0 for _, v in (e.values for e in store.evaluations.values()))
    if method == "nelder_mead":
        assert len(store.evaluations) <= 200


def test_nelder_mead_respects_bounds_when_the_optimum_is_outside():
    cal = synthetic_calibration("nelder_mead", {"maxfev": 100})
    store = SyntheticStore(cal, lambda a, b: (a - 20.0) ** 2 + (math.log10(b) - 2.0) ** 2)
    result = fit(cal, store)
    assert result.values[0] == pytest.approx(10.0, abs=0.05)
    assert all(e.values[0] <= 10.0 for e in store.evaluations.values())


def test_the_profile_flags_a_flat_parameter_as_not_identifiable():
    cal = synthetic_calibration("nelder_mead", {"maxfev": 200})
    flat_in_b = SyntheticStore(cal, lambda a, b: ((a - 3.0) / 0.5) ** 2 + 1e-3 * math.log10(b))
    result = fit(cal, flat_in_b)
    a, b = profiles(cal, flat_in_b.evaluate, result)
    assert a.identifiable and a.ranges["+1"][2] and a.ranges["+1"][3]
    assert a.ranges["+1"][0] == pytest.approx(2.5, abs=0.2) and a.ranges["+1"][1] == pytest.approx(3.5, abs=0.2)
    assert not b.identifiable and "not identifiable" in b.note
    assert len(a.values) == 5, "the optimum and two points on each side"
    profiled = sum(e.phase.startswith("profile:") for e in flat_in_b.evaluations.values())
    assert profiled == (len(a.values) - 1) + (len(b.values) - 1), "each profile point is one more evaluation"
    one_sided = profile_of("c", [1.0, 2.0, 3.0], [0.0, 0.5, 9.0], (1.0, 3.0))
    assert not one_sided.identifiable and "below" in one_sided.note and "bound below" in one_sided.note
