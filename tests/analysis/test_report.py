"""The batch report: statistics against known values, the HTML/PDF/CSV it writes, and clear errors on bad folders."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import texts_outside
from scipy import stats as sps

from analysis import stats
from analysis.report_folder import build_report
from sim.runs.outputs import OutputError

PNG_IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def smoke_batch(smoke_batch, tmp_path_factory) -> Path:
    """The smoke experiment (2 scenarios x 2 conditions x 2 replicates; tests/conftest.py), copied for the module:
    its report is written into the copy."""
    return Path(shutil.copytree(smoke_batch, tmp_path_factory.mktemp("report") / "smoke"))


@pytest.fixture(scope="module")
def report(smoke_batch) -> tuple[Path, Path]:
    return build_report(smoke_batch)


def copy_batch(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("report.*", "statistics.csv"))
    return dst


# --------------------------------------------------------------------------- statistics


def test_hedges_g_matches_hand_computation():
    a, b = np.array([5.1, 4.9, 5.6, 5.8, 6.0]), np.array([4.0, 4.4, 4.1, 3.9, 4.6, 4.2])
    sp = np.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2))
    j = 1 - 3 / (4 * (a.size + b.size) - 9)
    assert stats.hedges_g(a, b) == pytest.approx((a.mean() - b.mean()) / sp * j, rel=1e-12)
    assert stats.hedges_g(b, a) == pytest.approx(-stats.hedges_g(a, b))
    assert np.isnan(stats.hedges_g([1.0], b))


def test_welch_and_mann_whitney_match_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 1.0, 8), rng.normal(2.0, 3.0, 11)
    t, p = stats.welch_test(a, b)
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert (t, p) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)
    u, p_u = stats.mann_whitney(a, b)
    ref_u = sps.mannwhitneyu(a, b, alternative="two-sided")
    assert (u, p_u) == pytest.approx((ref_u.statistic, ref_u.pvalue), rel=1e-12)
    assert stats.percent_change([110.0, 90.0, 120.0], [100.0, 100.0]) == pytest.approx(100 * (320 / 3 - 100) / 100)


def test_hill_fit_recovers_parameters_from_noiseless_data():
    c = np.repeat([0.0, 0.5, 1.0, 3.0, 10.0, 30.0], 3)
    y = stats.hill(c, 0.8, -0.3, 2.5)
    fit = stats.fit_hill(c, y, n_boot=50)
    assert fit["status"] == "ok"
    assert fit["ec50"] == pytest.approx(2.5, rel=0.01)
    assert fit["emax"] == pytest.approx(-0.3, rel=0.01)
    assert fit["y0"] == pytest.approx(0.8, rel=0.01)
    assert fit["ec50_ci_low"] <= 2.5 * 1.01 and fit["ec50_ci_high"] >= 2.5 * 0.99


def test_hill_fit_fails_gracefully_with_too_few_doses():
    fit = stats.fit_hill([0, 0, 10, 10], [1.0, 1.1, 0.7, 0.8])
    assert np.isnan(fit["ec50"]) and np.isnan(fit["emax"])
    assert fit["status"].startswith("not fitted") and "0, 10" in fit["status"]


def test_bootstrap_ci_covers_the_true_mean_and_is_reproducible():
    rng = np.random.default_rng(11)
    samples = rng.normal(3.0, 2.0, size=(200, 20))
    covered = [lo <= 3.0 <= hi for lo, hi in (stats.bootstrap_ci(s, n_boot=1000) for s in samples)]
    assert 0.88 <= np.mean(covered) <= 0.99          # nominal 95 % (a bootstrap at n = 20 is a bit narrow)
    assert stats.bootstrap_ci(samples[0]) == stats.bootstrap_ci(samples[0])


def _percentile_ci_of_means(values: np.ndarray, seed: int = stats.SEED) -> np.ndarray:
    """The percentile bootstrap the reports used before BCa (2000 resamples), as the tolerance reference."""
    idx = np.random.default_rng(seed).integers(0, values.size, (stats.N_BOOT, values.size))
    return np.percentile(values[idx].mean(axis=1), [2.5, 97.5])


def _percentile_ci_of_percent_change(a: np.ndarray, b: np.ndarray, seed: int = stats.SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ma = a[rng.integers(0, a.size, (stats.N_BOOT, a.size))].mean(axis=1)
    mb = b[rng.integers(0, b.size, (stats.N_BOOT, b.size))].mean(axis=1)
    return np.percentile(100 * (ma - mb) / mb, [2.5, 97.5])


@pytest.mark.parametrize("n", [5, 20])
def test_bca_intervals_agree_with_the_percentile_bootstrap_within_tolerance(n):
    """Stated tolerance: on normal data the BCa endpoints move from the percentile ones by at most 10 % of the
    percentile interval's width in the median case and 40 % in the worst of 60 (the acceleration and bias
    corrections are O(1/sqrt(n)))."""
    rng = np.random.default_rng(7)
    shifts = []
    for _ in range(60):
        v, a, b = rng.normal(3, 1, n), rng.normal(10, 1, n), rng.normal(8, 1, n)
        for new, old in ((stats.bootstrap_ci(v), _percentile_ci_of_means(v)),
                         (stats.percent_change_ci(a, b), _percentile_ci_of_percent_change(a, b))):
            shifts.append(np.max(np.abs(np.subtract(new, old))) / (old[1] - old[0]))
    assert np.median(shifts) <= 0.10 and np.max(shifts) <= 0.40


def test_bca_corrects_for_skew_where_the_percentile_interval_does_not():
    """Lognormal data: the mean's sampling distribution is right-skewed, so BCa moves both endpoints up against
    the percentile interval, and covers the true mean at least as often."""
    rng = np.random.default_rng(3)
    true_mean = np.exp(0.5)
    samples = rng.lognormal(0.0, 1.0, size=(150, 15))
    bca = np.array([stats.bootstrap_ci(s, n_boot=1000) for s in samples])
    percentile = np.array([_percentile_ci_of_means(s) for s in samples])
    assert np.mean(bca[:, 1] > percentile[:, 1]) > 0.9 and np.mean(bca[:, 0] > percentile[:, 0]) > 0.9
    covered = lambda ci: np.mean((ci[:, 0] <= true_mean) & (true_mean <= ci[:, 1]))  # noqa: E731
    assert covered(bca) >= covered(percentile)


def test_bootstrap_intervals_of_degenerate_data():
    """Identical replicates: BCa is undefined, the percentile interval is the value itself; one value: NaN."""
    assert stats.bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    assert stats.percent_change_ci([3.0, 3.0], [2.0, 2.0]) == (50.0, 50.0)
    assert all(np.isnan(stats.bootstrap_ci([1.0])))
    assert all(np.isnan(stats.percent_change_ci([1.0, 2.0], [1.0, 2.0, 3.0], paired=True)))


def test_group_summary_effects_and_anova_on_a_synthetic_batch():
    rng = np.random.default_rng(5)
    rows = [{"scenario": s, "condition": c, "replicate": r, "status": "ok",
             "y": 10 + 2 * (s == "b") - 3 * (c == "drug") + rng.normal(0, 0.5)}
            for s in ("a", "b") for c in ("vehicle", "drug") for r in range(6)]
    frame = pd.DataFrame(rows)
    summary = stats.group_summary(frame, ["y"])
    assert len(summary) == 4 and (summary["n"] == 6).all()
    assert ((summary["ci_low"] < summary["mean"]) & (summary["mean"] < summary["ci_high"])).all()
    eff = stats.effects(frame, ["y"], {"scenario": "a", "condition": "vehicle"})
    drug_a = eff[(eff["comparison"] == "within_scenario") & (eff["scenario"] == "a")].iloc[0]
    assert drug_a["pct_change"] == pytest.approx(-30, abs=5) and drug_a["welch_p"] < 0.001
    anova = stats.two_way_anova(frame, ["y"]).set_index("term")
    assert anova.loc["scenario", "p"] < 0.001 and anova.loc["condition", "p"] < 0.001
    assert anova.loc["scenario x condition", "p"] > 0.001


def test_a_time_course_of_one_scenario_with_long_condition_names_clips_nothing():
    """One scenario (the narrowest figure) and four conditions named with swept levels: the title wraps and the
    legend takes fewer columns rather than running off the figure."""
    import matplotlib.pyplot as plt

    from analysis import report_figures as rf

    conditions = [f"{c} | endocytosis_tau_s={tau}" for c in ("vehicle", "ketamine_10uM") for tau in (10.0, 20.0)]
    ts = pd.DataFrame([{"scenario": "normal", "condition": c, "run_id": f"{c}-{r}", "time_s": t,
                        "released_glu_per_s": 2.0 + r + t} for c in conditions for r in range(2)
                       for t in np.arange(0, 4, 0.2)])
    design = rf.Design(["normal"], conditions, {c: {} for c in conditions})
    figure = rf.timecourse(ts, "released_glu_per_s", design, warmup_s=2.0)
    try:
        assert texts_outside(figure.fig) == []
    finally:
        plt.close(figure.fig)


def test_the_summary_shows_baselines_and_references_at_each_swept_level():
    """With swept levels, the baselines have one column per level of the reference condition and each contrast's
    reference is the group at the treatment's own level (no '–' where a value exists)."""
    from analysis import report_summary
    from analysis.report import analyse, display_view

    key = "vesicles.glutamatergic.endocytosis_tau_s"
    runs = [{"scenario": "normal", "condition": c, key: tau, "replicate": r, "status": "ok",
             "rate_glu_hz": 2.0 + (c == "ketamine_10uM") + tau / 10 + 0.1 * r,
             "bath_ketamine_uM": 10.0 * (c != "vehicle")}
            for c in ("vehicle", "ketamine_10uM") for tau in (10.0, 20.0) for r in range(3)]
    pair = {"treatment": {"scenario": "normal", "condition": "ketamine_10uM"},
            "reference": {"scenario": "normal", "condition": "vehicle"}}
    manifest = {"runs": runs, "scenarios": {"normal": {}}, "readouts": ["rate_glu_hz"], "levels": {key: [10.0, 20.0]},
                "reference": {"scenario": "normal", "condition": "vehicle"}, "factorial": None,
                "contrasts": [{"name": "ketamine_10uM vs vehicle", "source": "drugs", "pairs": [pair]}]}
    a = display_view(analyse(manifest, pd.DataFrame(runs)))
    baselines = report_summary.baseline_table(a)
    assert list(baselines.columns) == ["readout", "normal: vehicle | endocytosis_tau_s=10.0",
                                       "normal: vehicle | endocytosis_tau_s=20.0"]
    assert baselines.iloc[0, 1:].tolist() == ["3.1 ± 0.1", "4.1 ± 0.1"]
    contrasts = report_summary.contrast_table(a, a.contrasts)
    assert contrasts["reference mean ± SD"].tolist() == ["3.1 ± 0.1", "4.1 ± 0.1"]


def test_units_come_from_column_names():
    assert stats.unit_of("rate_glu_hz") == "Hz"
    assert stats.unit_of("adenosine_uM") == "µM"
    assert stats.unit_of("glutamate_released_per_s") == "molecules/s"
    assert stats.unit_of("evoked_release_glu_per_pulse") == "vesicles/bouton/pulse"
    assert stats.unit_of("recycling_flux_gaba_per_s") == "vesicles/bouton/s"
    assert stats.label_of("ambient_glutamate_uM") == "ambient glutamate (µM)"


# --------------------------------------------------------------------------- the report


def test_report_html_is_self_contained_with_figures_methods_and_manifest(report, smoke_batch):
    html_path, _ = report
    text = html_path.read_text(encoding="utf-8")
    images = PNG_IMG.findall(text)
    assert len(images) >= 4
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    assert not re.search(r'(src|href)="(https?:)?//', text)            # nothing loaded from elsewhere
    assert 'id="methods"' in text and "dt = 0.5 ms" in text and "µM" in text and "vesicles/bouton" in text
    assert 'id="manifest"' in text and "master_seed" in text and "Hedges" in text
    assert json.loads((smoke_batch / "manifest.json").read_text())["name"] in text


def test_report_pdf_has_a_title_page_and_one_page_per_figure(report):
    html_path, pdf_path = report
    n_figures = html_path.read_text(encoding="utf-8").count("<figure ")    # the summary's thumbnails repeat four
    data = pdf_path.read_bytes()
    assert data.startswith(b"%PDF")
    try:
        from pypdf import PdfReader
        pages = len(PdfReader(pdf_path).pages)
    except ImportError:
        pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
    assert pages == n_figures + 1


def test_statistics_csv_is_tidy(report, smoke_batch):
    table = pd.read_csv(smoke_batch / "statistics.csv")
    assert {"group_summary", "effect", "anova", "hill_fit"} <= set(table["table"])
    assert {"scenario", "condition", "readout", "mean", "ci_low", "ci_high", "hedges_g", "welch_p"} <= set(table)


def test_report_is_reproducible(report, smoke_batch, tmp_path):
    copy = copy_batch(smoke_batch, tmp_path / "again")
    html_path, _ = build_report(copy)
    strip = lambda s: s.replace(str(copy), "FOLDER").replace(str(smoke_batch), "FOLDER")  # noqa: E731
    assert strip(html_path.read_text(encoding="utf-8")) == strip(report[0].read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- bad folders


def _break(folder: Path, how: str) -> None:
    if how == "no manifest":
        (folder / "manifest.json").unlink()
    elif how == "manifest not JSON":
        (folder / "manifest.json").write_text("{ not json", encoding="utf-8")
    elif how == "manifest of another kind":
        (folder / "manifest.json").write_text(json.dumps({"command": "run.py simulate", "seed": 1}))
    elif how == "summary missing":
        (folder / "summary.parquet").unlink()
    elif how == "summary corrupt":
        (folder / "summary.parquet").write_bytes(b"not parquet")
    elif how == "no ok runs":
        frame = pd.read_parquet(folder / "summary.parquet").assign(status="error", error="ValueError: boom")
        frame.to_parquet(folder / "summary.parquet")


@pytest.mark.parametrize("how, message", [
    ("no manifest", "no manifest.json"),
    ("manifest not JSON", "corrupt manifest"),
    ("manifest of another kind", "not a batch manifest"),
    ("summary missing", "no summary.parquet"),
    ("summary corrupt", "unreadable"),
    ("no ok runs", "no successful runs"),
])
def test_bad_folders_give_one_clear_line(smoke_batch, tmp_path, how, message):
    folder = copy_batch(smoke_batch, tmp_path / "bad")
    _break(folder, how)
    with pytest.raises(OutputError) as err:
        build_report(folder)
    text = str(err.value)
    assert message in text and str(folder) in text and "\n" not in text
    assert not (folder / "report.html").exists()


def test_missing_folder_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="not a folder"):
        build_report(tmp_path / "nowhere")


def _degrade(folder: Path, how: str) -> None:
    frame = pd.read_parquet(folder / "summary.parquet")
    if how == "one failed run":
        frame.loc[frame.index[-1], ["status", "error"]] = ["error", "RuntimeError: diverged"]
    elif how == "one scenario, one condition":
        frame = frame[(frame["scenario"] == "normal") & (frame["condition"] == "vehicle")]
    elif how == "a time series missing":
        (folder / "runs" / frame["run_id"].iloc[0] / "timeseries.parquet").unlink()
    frame.to_parquet(folder / "summary.parquet")


@pytest.mark.parametrize("how, warning", [
    ("one failed run", "1 run(s) failed"),
    ("one scenario, one condition", "planned runs have no result"),
    ("a time series missing", "left out of the time courses"),
])
def test_incomplete_batches_still_give_a_report_with_a_warning(smoke_batch, tmp_path, how, warning):
    folder = copy_batch(smoke_batch, tmp_path / "partial")
    _degrade(folder, how)
    html_path, pdf_path = build_report(folder)
    text = html_path.read_text(encoding="utf-8")
    assert warning in text and len(PNG_IMG.findall(text)) >= 2 and pdf_path.stat().st_size > 0
