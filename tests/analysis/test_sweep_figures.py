"""Sweep reports adapt to the design, and no figure of a sweep report clips a title or a label.

Real sweeps (library calls): the built-in smoke and Ishigami sweeps, a tiny
one-parameter simulation sweep (log range, two replicates, a contrast), a tiny
2-D grid and a tiny Morris design of the Ishigami function. The two large
built-in designs (``ketamine_impairment_grid``, ``ketamine_sobol_depression``,
their quick variants) are drawn from their real design points and parameter
names with synthetic outputs (a smooth function of the levels), so that their
figures are checked without hours of simulation.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from helpers import NORMAL, ROOT, TINY_SWEEP, run_sweep_folder, texts_outside

from analysis.sensitivity import (
    SweepAnalysis,
    analyse,
    analyse_sweep,
    paired_pct_change_ci,
    sweep_figures,
)
from analysis.sweep_report import build_sweep_report
from sim.runs.sweep import load_sweep

SWEEPS = ROOT / "scenarios" / "sweeps"
ONE_KEY = "conditions.ketamine.ketamine_uM"
#: one parameter on a log range, two replicates, vehicle vs ketamine: 3 levels x 2 conditions x 2 replicates
ONE_D_SWEEP = f"""name = "one_parameter_sweep"
description = "ketamine concentration only"
master_seed = 41
design = "grid"
replicates = 2
scenarios = ["{NORMAL.as_posix()}"]
conditions = ["vehicle", "ketamine"]
contrast = {{ reference = "vehicle", treatment = "ketamine" }}
outputs = ["released_glu_per_s", "recycling_flux_glu_per_s"]

[parameters."{ONE_KEY}"]
range = [1.0, 10.0]
scale = "log"
levels = 3

[scenario.network]
n_neurons = 200

[scenario.protocol]
duration_s = 0.6
warmup_s = 0.2
record_interval_ms = 20.0

[scenario.conditions.ketamine]
ketamine_uM = 10.0
"""
MORRIS_SWEEP = TINY_SWEEP.replace('design = "grid"', 'design = "morris"\nsamples = 4').replace(
    "values = [0.0, 1.0]", "range = [-3.0, 3.0]").replace("values = [0.5]", "range = [-3.0, 3.0]")


def _folder(tmp_path_factory, name: str, text: str | None = None, path: Path | None = None) -> Path:
    if path is None:
        path = tmp_path_factory.mktemp("files") / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
    return run_sweep_folder(path, tmp_path_factory.mktemp("sweeps") / name, workers=2)


@pytest.fixture(scope="module")
def one_d(tmp_path_factory) -> Path:
    return _folder(tmp_path_factory, "one_d", ONE_D_SWEEP)


@pytest.fixture(scope="module")
def two_d(tmp_path_factory) -> Path:
    return _folder(tmp_path_factory, "two_d", TINY_SWEEP)


@pytest.fixture(scope="module")
def folders(tmp_path_factory, smoke_sweep, one_d, two_d) -> dict[str, Path]:
    return {"smoke": smoke_sweep, "one_d": one_d, "two_d": two_d,
            "morris": _folder(tmp_path_factory, "morris", MORRIS_SWEEP),
            "ishigami": _folder(tmp_path_factory, "ishigami", path=SWEEPS / "ishigami.toml")}


def synthetic(path: Path, quick: bool) -> SweepAnalysis:
    """The analysis of a sweep file's real design (points, runs, parameter names) with synthetic outputs: each a
    smooth function of the levels on the design scale, the treatment lower, plus a small replicate effect."""
    sweep = load_sweep(path, quick=quick)
    manifest = {"name": sweep.name, "runs": [r.as_dict() for r in sweep.runs()], **sweep.manifest_extra()}
    treated = sweep.contrast.get("treatment")
    rows = []
    for spec in sweep.runs():
        u = [(p.to_design(spec.levels[p.key]) - p.design_bounds[0]) / np.ptp(p.design_bounds)
             for p in sweep.parameters]
        value = 100 * (1 + np.dot(u, np.arange(1, len(u) + 1))) * (0.7 if spec.condition == treated else 1.0)
        rows.append({"run_id": spec.run_id, "sample": spec.sample, "scenario": spec.scenario,
                     "condition": spec.condition, "replicate": spec.replicate, "status": "ok", **spec.levels,
                     **{o: value * (1 + 0.01 * spec.replicate + 0.1 * i) for i, o in enumerate(sweep.outputs)}})
    return analyse(Path(sweep.name), manifest, pd.DataFrame(rows))


# --------------------------------------------------------------------------- no clipped text


def assert_nothing_clipped(a: SweepAnalysis) -> int:
    drawers = sweep_figures(a)
    assert drawers
    for draw in drawers:
        figure = draw()
        try:
            assert texts_outside(figure.fig) == [], figure.key
        finally:
            plt.close(figure.fig)
    return len(drawers)


@pytest.mark.parametrize("name", ["smoke", "one_d", "two_d", "morris", "ishigami"])
def test_no_title_or_label_of_a_run_sweep_is_clipped(folders, name):
    assert_nothing_clipped(analyse_sweep(folders[name]))


@pytest.mark.parametrize("file", ["ketamine_impairment_grid", "ketamine_sobol_depression"])
@pytest.mark.parametrize("quick", [True, False], ids=["quick", "full"])
def test_no_title_or_label_of_the_large_built_in_designs_is_clipped(file, quick):
    assert_nothing_clipped(synthetic(SWEEPS / f"{file}.toml", quick))


def test_the_check_finds_a_clipped_title():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_title("a title far too long to fit in a figure three inches wide, even at ten points")
    fig.tight_layout()
    try:
        assert len(texts_outside(fig)) == 1
    finally:
        plt.close(fig)


# --------------------------------------------------------------------------- the report adapts to the design


def keys_of(a: SweepAnalysis) -> list[str]:
    keys = []
    for draw in sweep_figures(a):
        figure = draw()
        keys.append(figure.key)
        plt.close(figure.fig)
    return keys


def test_one_parameter_sweep_shows_the_response_curve_and_no_indices(one_d):
    a = analyse_sweep(one_d)
    assert [k.split("-")[0] for k in keys_of(a)] == ["curve", "curve"]
    assert a.indices[["S1", "ST"]].isna().all().all()
    assert a.indices["note"].str.startswith("one varied parameter").all()
    figure = sweep_figures(a)[0]()
    arms, change = figure.fig.axes[:2]
    assert arms.get_xscale() == "log" and change.get_xscale() == "log"
    levels = sorted(a.runs[ONE_KEY].unique())
    per_arm = [c for c in arms.collections if c.get_offsets().shape[0] == len(levels) * 2]
    assert len(per_arm) == 2          # every replicate of each arm drawn as a point (3 levels x 2 replicates)
    assert change.collections[0].get_offsets().shape[0] == len(levels) * 2   # each replicate's paired % change
    assert "95 % CI" in figure.caption and "bootstrap" in figure.caption
    plt.close(figure.fig)


def test_the_curve_shows_each_levels_mean_and_paired_ci(one_d):
    a = analyse_sweep(one_d)
    figure = sweep_figures(a)[0]()
    change = figure.fig.axes[1]
    line = change.containers[0].lines[0]         # the errorbar's data line: the % change of the means per level
    runs = a.runs[a.runs["status"] == "ok"]
    wide = runs.pivot_table(index=[ONE_KEY, "replicate"], columns="condition", values="released_glu_per_s")
    means = wide.groupby(level=0).mean()
    expected = 100 * (means["ketamine"] - means["vehicle"]) / means["vehicle"]
    assert np.allclose(line.get_ydata(), expected.to_numpy())
    assert np.allclose(line.get_xdata(), expected.index.to_numpy())
    plt.close(figure.fig)


def test_paired_percent_change_ci():
    reference = np.array([10.0, 20.0, 30.0, 40.0])
    assert paired_pct_change_ci(1.1 * reference, reference) == pytest.approx((10.0, 10.0))
    lo, hi = paired_pct_change_ci(reference + np.array([1.0, 3.0, 2.0, 5.0]), reference)
    assert lo < 100 * 11 / 100 < hi
    assert np.isnan(paired_pct_change_ci(np.array([2.0]), np.array([1.0]))).all()


def test_n_runs_counts_each_arm_of_a_contrast(smoke_sweep, one_d):
    smoke, one = analyse_sweep(smoke_sweep).responses, analyse_sweep(one_d).responses
    assert "n_runs" not in smoke and (smoke["n_runs:vehicle"] == 1).all() and (smoke["n_runs:ketamine"] == 1).all()
    assert (one["n_runs:vehicle"] == 2).all() and (one["n_runs:ketamine"] == 2).all()


def test_two_parameter_grid_shows_heatmaps_with_the_levels_as_axes(two_d):
    a = analyse_sweep(two_d)
    keys = keys_of(a)
    assert "heatmap-ishigami-ishigami-y" in keys and "indices-ishigami-ishigami-y" in keys
    figure = next(d() for d in sweep_figures(a) if d.func.__name__ == "heatmap")
    ax = figure.fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1"]
    image = ax.get_images()[0].get_array()
    expected = a.responses.pivot_table(index="x2", columns="x1", values="ishigami:y").to_numpy()
    assert np.allclose(image, expected)
    plt.close(figure.fig)


def test_sobol_figures_and_tables_follow_the_design():
    a = synthetic(SWEEPS / "ketamine_sobol_depression.toml", quick=True)
    kinds = {k.split("-")[0] for k in keys_of(a)}
    assert kinds == {"indices", "scatter"}
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(a.indices) and a.indices["ST"].notna().all()


def test_report_of_a_one_parameter_sweep_says_why_there_are_no_indices(one_d, tmp_path):
    folder = Path(shutil.copytree(one_d, tmp_path / "one_d"))
    html, _ = build_sweep_report(folder)
    text = html.read_text(encoding="utf-8")
    assert text.count("Sensitivity indices are omitted") == 3      # key results, sensitivity section, methods
    assert "<summary>normal: pct_change" not in text                # no index tables
    assert "n_runs:vehicle" in text and "2 run(s) per condition" in text
    assert "bootstrap" in text and text.count('<img src="data:image/png;base64,') == 2
