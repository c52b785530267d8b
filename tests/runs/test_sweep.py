"""Parameter sweeps: designs, paired seeds, the Ishigami check of the whole pipeline, outputs, report, bad files.

The Ishigami sweep (``scenarios/sweeps/ishigami.toml``) runs the same code as
a simulation sweep (sweep file -> design -> runs in worker processes -> run
folders -> sweep.parquet -> responses -> SALib -> sensitivity.csv), with the
test function in place of the model, so its indices can be compared with the
analytic values.
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest
from helpers import NORMAL, ROOT, SMOKE_SWEEP, run_main, run_sweep_folder

import run
from analysis.report_folder import build_report
from analysis.sensitivity import grid_indices
from sim.model.testfunctions import ishigami
from sim.runs.store import rebuild_tables
from sim.runs.sweep import Parameter, design_points, load_sweep

ISHIGAMI = ROOT / "scenarios" / "sweeps" / "ishigami.toml"
SMOKE_OUTPUTS = ["evoked_release_glu_per_pulse", "released_glu_per_s", "recycling_flux_glu_per_s"]
SMOKE_KEYS = ["conditions.ketamine.ketamine_uM", "pharmacology.ketamine.endocytosis_max_impairment_glu"]
TOLERANCE = 0.02    # added to SALib's confidence half-width when comparing with analytic indices


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[list[float], list[float]]:
    """Analytic first-order and total Sobol indices of the Ishigami function (Sobol' & Levitan 1999)."""
    pi4, pi8 = math.pi ** 4, math.pi ** 8
    v1 = 0.5 * (1 + b * pi4 / 5) ** 2
    v2 = a ** 2 / 8
    v13 = 8 * b ** 2 * pi8 / 225
    total = v1 + v2 + v13
    return [v1 / total, v2 / total, 0.0], [(v1 + v13) / total, v2 / total, v13 / total]


def test_analytic_ishigami_indices_are_the_textbook_values():
    s1, st = ishigami_indices()
    assert s1 == pytest.approx([0.314, 0.442, 0.0], abs=1e-3)
    assert st == pytest.approx([0.558, 0.442, 0.244], abs=1e-3)


# --------------------------------------------------------------------------- designs


PARAMETERS = [Parameter("a", 0.1, 10.0, "log", levels=3), Parameter("b", 100, 300, integer=True, levels=2),
              Parameter("c", -1.0, 1.0, levels=2)]


@pytest.mark.parametrize("design, samples, size", [("grid", None, 12), ("lhs", 10, 10), ("sobol", 8, 8 * (3 + 2)),
                                                   ("morris", 4, 4 * (3 + 1))])
def test_designs_have_the_samplers_sizes_and_are_reproducible(design, samples, size):
    points = design_points(design, PARAMETERS, samples, seed=99)
    assert len(points) == size
    assert points == design_points(design, PARAMETERS, samples, seed=99)
    if design != "grid":
        assert points != design_points(design, PARAMETERS, samples, seed=100)
    a = np.array([p["a"] for p in points])
    assert (a >= 0.1 - 1e-12).all() and (a <= 10.0 + 1e-12).all()
    assert all(isinstance(p["b"], int) and 100 <= p["b"] <= 300 for p in points)
    if design == "grid":
        assert sorted({p["a"] for p in points}) == pytest.approx([0.1, 1.0, 10.0])   # evenly spaced in log10
    if design == "lhs":   # one point in each of the 10 equal-probability strata of every parameter
        for key, p in (("a", PARAMETERS[0]), ("c", PARAMETERS[2])):
            unit = (p.to_design(np.array([q[key] for q in points])) - p.design_bounds[0]) / np.ptp(p.design_bounds)
            assert sorted(np.floor(unit * 10).astype(int)) == list(range(10))


def test_grid_indices_of_an_additive_function_are_its_variance_shares():
    """y = x1 + 2 x2 on a full 3 x 3 grid: no interaction, S1 = ST = Var(term) / Var(y)."""
    grid = pd.DataFrame([{"x1": x1, "x2": x2} for x1 in (-1.0, 0.0, 1.0) for x2 in (-1.0, 0.0, 1.0)])
    grid["y"] = grid["x1"] + 2 * grid["x2"]
    rows = {r["parameter"]: r for r in grid_indices(grid, ["x1", "x2"], "y")}
    assert rows["x1"]["S1"] == pytest.approx(0.2) and rows["x1"]["ST"] == pytest.approx(0.2)
    assert rows["x2"]["S1"] == pytest.approx(0.8) and rows["x2"]["ST"] == pytest.approx(0.8)
    grid["y"] = grid["x1"] * grid["x2"]   # pure interaction: no first-order effect, all total
    rows = {r["parameter"]: r for r in grid_indices(grid, ["x1", "x2"], "y")}
    assert rows["x1"]["S1"] == pytest.approx(0.0) and rows["x1"]["ST"] == pytest.approx(1.0)


def test_sweep_runs_pair_conditions_and_share_seeds(tmp_path):
    sweep = load_sweep(SMOKE_SWEEP)
    runs = sweep.runs()
    assert len(runs) == 4 * 2 and [r.run_id for r in runs] == [f"r{i:05d}" for i in range(8)]
    assert {r.sample for r in runs} == {0, 1, 2, 3}
    assert len({r.seed for r in runs}) == 1, "common seeds: every point and condition of replicate 0 share one"
    assert len({r.key for r in runs}) == 8
    path = tmp_path / "per_sample.toml"
    path.write_text(SMOKE_SWEEP.read_text().replace('replicates = 1', 'replicates = 1\nseeds = "per_sample"')
                    .replace('"../normal.toml"', f'"{NORMAL}"'))
    per_sample = load_sweep(path)
    seeds = {}
    for r in per_sample.runs():
        seeds.setdefault(r.sample, set()).add(r.seed)
    assert all(len(s) == 1 for s in seeds.values()), "the conditions of one point share its seed"
    assert len({next(iter(s)) for s in seeds.values()}) == 4
    data = sweep.run_scenario(runs[1])
    assert data["conditions"]["ketamine"]["ketamine_uM"] == runs[1].levels["conditions.ketamine.ketamine_uM"]


def test_whole_number_keys_are_rounded(tmp_path):
    path = tmp_path / "counts.toml"
    path.write_text(sweep_text(design="grid", samples="", key="network.n_neurons",
                               parameter="range = [150, 251]\nlevels = 3"))
    sweep = load_sweep(path)
    assert [p["network.n_neurons"] for p in sweep.points] == [150, 200, 251]
    assert all(isinstance(p["network.n_neurons"], int) for p in sweep.points)


# --------------------------------------------------------------------------- Ishigami through the machinery


def test_ishigami_sobol_indices_match_the_analytic_values(tmp_path):
    out = run_sweep_folder(ISHIGAMI, tmp_path / "ishigami", workers=2)
    runs = pd.read_parquet(out / "sweep.parquet")
    assert len(runs) == 512 * 5 and (runs["status"] == "ok").all()
    for row in runs.sample(5, random_state=1).itertuples():
        assert row.y == ishigami(row.x1, row.x2, row.x3)
    indices = pd.read_csv(out / "sensitivity.csv").set_index("parameter").loc[["x1", "x2", "x3"]]
    s1, st = ishigami_indices()
    for name, analytic in (("S1", s1), ("ST", st)):
        error = np.abs(indices[name].to_numpy() - analytic)
        assert (error <= indices[f"{name}_conf"].to_numpy() + TOLERANCE).all(), (name, indices, analytic)
    assert indices.loc["x3", "S1"] < 0.1 and indices.loc["x3", "ST"] > 0.15, "x3 acts only through its interaction"


@pytest.mark.parametrize("design, samples, columns", [("morris", 20, ["mu", "mu_star", "mu_star_conf", "sigma"]),
                                                      ("lhs", 512, ["S1", "S1_conf"])])
def test_morris_and_lhs_sweeps_give_their_indices(tmp_path, design, samples, columns):
    path = tmp_path / f"ishigami_{design}.toml"
    path.write_text(ISHIGAMI.read_text().replace('design = "sobol"', f'design = "{design}"')
                    .replace("samples = 512", f"samples = {samples}"))
    out = run_sweep_folder(path, tmp_path / design, workers=2)
    indices = pd.read_csv(out / "sensitivity.csv").set_index("parameter")
    assert list(indices.columns[indices.columns.get_loc("n_points") + 1:-1]) == columns
    assert np.isfinite(indices[columns].to_numpy()).all()
    if design == "morris":   # x2 acts through sin^2 x2 (non-monotonic): its effects cancel in mu, not in mu*
        assert indices.loc["x2", "mu_star"] > 3 * abs(indices.loc["x2", "mu"])
        assert len(pd.read_parquet(out / "sweep.parquet")) == 20 * (3 + 1)
    else:                    # RBD-FAST's first-order indices from the Latin hypercube
        error = np.abs(indices.loc[["x1", "x2", "x3"], "S1"].to_numpy() - ishigami_indices()[0])
        assert (error <= indices.loc[["x1", "x2", "x3"], "S1_conf"].to_numpy() + TOLERANCE).all(), indices


# --------------------------------------------------------------------------- the smoke sweep's outputs


def test_smoke_sweep_writes_runs_responses_indices_and_figures(smoke_sweep):
    runs = pd.read_parquet(smoke_sweep / "sweep.parquet")
    assert list(runs.columns) == ["run_id", "sample", "scenario", "condition", "replicate", "seed", "status", "error",
                                  *SMOKE_KEYS, *SMOKE_OUTPUTS]
    assert len(runs) == 8 and (runs["status"] == "ok").all()
    responses = pd.read_parquet(smoke_sweep / "responses.parquet")
    assert len(responses) == 4
    for _, point in responses.iterrows():
        mine = runs[runs["sample"] == point["sample"]].set_index("condition")
        for o in SMOKE_OUTPUTS:
            expected = 100 * (mine.loc["ketamine", o] - mine.loc["vehicle", o]) / mine.loc["vehicle", o]
            assert point[f"pct_change:{o}"] == pytest.approx(expected, rel=1e-12)
    indices = pd.read_csv(smoke_sweep / "sensitivity.csv")
    assert len(indices) == 3 * 2 and set(indices["response"]) == {f"pct_change:{o}" for o in SMOKE_OUTPUTS}
    assert (indices["ST"] >= indices["S1"] - 1e-12).all()
    figures = {p.name for p in (smoke_sweep / "figures").glob("*.png")}
    for kind in ("heatmap", "indices", "scatter"):
        assert f"{kind}-normal-pct_change-recycling_flux_glu_per_s.png" in figures


def test_report_of_a_sweep_folder(smoke_sweep, tmp_path):
    folder = tmp_path / "report"
    shutil.copytree(smoke_sweep, folder)
    rebuild_tables(folder)          # what run.py report does: the tables from the runs, then the report
    build_report(folder)
    text = (folder / "report.html").read_text(encoding="utf-8")
    for fragment in ("sweep report", "Sweep and sensitivity", "Varied parameters", "Heatmap", "full-factorial",
                     "pharmacology.ketamine.endocytosis_max_impairment_glu", "Methods", "Manifest"):
        assert fragment in text
    assert text.count('<img src="data:image/png;base64,') == 9
    assert (folder / "report.pdf").stat().st_size > 10_000
    assert (folder / "sensitivity.csv").read_bytes() == (smoke_sweep / "sensitivity.csv").read_bytes()


def test_resumed_sweep_and_reproduced_runs_match(smoke_sweep, tmp_path):
    folder = tmp_path / "resume"
    shutil.copytree(smoke_sweep, folder)
    shutil.rmtree(folder / "runs" / "r00003")
    (folder / "sweep.parquet").unlink()
    result = run_main("sweep", str(SMOKE_SWEEP), "--out", str(folder), "--resume", "--workers", "1", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "1 runs done, 7 already done, 0 failed" in result.stdout
    for name in ("sweep.parquet", "summary.parquet", "sensitivity.csv", "responses.parquet"):
        assert (folder / name).read_bytes() == (smoke_sweep / name).read_bytes(), name
    result = run_main("reproduce", str(folder), "--runs", "2", "--workers", "1", "--quiet")
    assert result.returncode == 0 and "2 of 2 runs reproduced bit for bit" in result.stdout, result.stdout


# --------------------------------------------------------------------------- bad sweep files


def sweep_text(design: str = "lhs", samples: str = "samples = 8", parameter: str = "range = [0.1, 0.3]",
               key: str = "vesicles.glutamatergic.release_probability", extra: str = "") -> str:
    return (f'name = "bad"\nmaster_seed = 1\ndesign = "{design}"\n{samples}\nscenarios = ["{NORMAL}"]\n'
            f'conditions = ["vehicle", "ketamine_10uM"]\noutputs = ["evoked_release_glu_per_pulse"]\n{extra}\n'
            f'[parameters."{key}"]\n{parameter}\n')


# (description, file text, extra arguments, fragments of the one line)
BAD = [
    ("unknown key", sweep_text(extra="replicats = 2"), [], ["replicats", "did you mean 'replicates'", "allowed:"]),
    ("unknown design", sweep_text(design="sobl"), [], ["design", "'sobl'", "did you mean 'sobol'",
                                                       "allowed: grid, lhs, sobol, morris"]),
    ("empty range", sweep_text(parameter="range = [0.3, 0.1]"), [],
     ["release_probability\".range", "is empty", "allowed: [low, high] with low < high"]),
    ("log range crossing zero", sweep_text(parameter='range = [-0.1, 0.3]\nscale = "log"'), [],
     ["release_probability\".range", "zero or below", "allowed: low > 0"]),
    ("log range from zero", sweep_text(parameter='range = [0.0, 0.3]\nscale = "log"'), [],
     ["range", "zero or below", "allowed: low > 0"]),
    ("sobol samples not a power of two", sweep_text(design="sobol", samples="samples = 48"), [],
     ["samples", "48 is not a power of two", "allowed: 2, 4, 8, 16"]),
    ("unknown parameter key", sweep_text(key="vesicles.glutamatergic.relase_probability"), [],
     ["vesicles.glutamatergic.relase_probability", "unknown key", "did you mean 'release_probability'"]),
    ("parameter out of the schema's range", sweep_text(parameter="range = [0.1, 1.5]"), [],
     ["vesicles.glutamatergic.release_probability", "out of range", "allowed:"]),
    ("unknown key of a parameter", sweep_text(parameter="rnage = [0.1, 0.3]"), [],
     ["rnage", "did you mean 'range'", "allowed: range, values, levels, scale"]),
    ("unknown scale", sweep_text(parameter='range = [0.1, 0.3]\nscale = "lg"'), [], ["scale", "allowed: linear, log"]),
    ("level list with lhs", sweep_text(parameter="values = [0.1, 0.3]"), [], ["values", "design 'grid' only"]),
    ("grid with samples", sweep_text(design="grid", parameter="values = [0.1, 0.3]"), [],
     ["samples", "not used by design 'grid'"]),
    ("grid range without levels", sweep_text(design="grid", samples="", parameter="range = [0.1, 0.3]"), [],
     ["levels", "missing required key"]),
    ("unknown output", sweep_text().replace('"evoked_release_glu_per_pulse"', '"evoked_release_per_pulse"'), [],
     ["outputs", "'evoked_release_per_pulse'", "did you mean 'evoked_release_glu_per_pulse'", "allowed:"]),
    ("contrast with an unknown condition", sweep_text(extra='contrast = {reference = "vehicle", '
                                                            'treatment = "ketamine"}'), [],
     ["contrast.treatment", "'ketamine'", "allowed: vehicle, ketamine_10uM"]),
    ("--quick without a quick table", sweep_text(), ["--quick"], ["--quick", "no quick table"]),
    ("--scheduler without --backend dask", sweep_text(), ["--scheduler", "tcp://127.0.0.1:8786"],
     ["--scheduler", "only used with --backend dask"]),
]


@pytest.mark.parametrize("text, extra, fragments", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_sweep_files_give_one_line_and_exit_code_2(capsys, tmp_path, text, extra, fragments):
    path = tmp_path / "bad_sweep.toml"
    path.write_text(text)
    out = tmp_path / "out"
    code = run.main(["sweep", str(path), "--out", str(out), "--quiet", *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    if not fragments[0].startswith("--"):
        assert str(path) in lines[0]
    assert not out.exists(), "nothing is written for bad input"
