"""The report's contrasts and factorial ANOVA on synthetic runs with known effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import contrasts, stats

CELLS = {"vehicle": [], "ketamine": ["ketamine_uM"], "dpcpx": ["dpcpx_uM"], "both": ["ketamine_uM", "dpcpx_uM"]}
FACTORIAL = {"drugs": {"ketamine_uM": 10.0, "dpcpx_uM": 0.1}, "conditions": CELLS}


def runs(means: dict[str, float], n: int = 8, sd: float = 0.05, seed: int = 1, scenarios=("normal",)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [{"scenario": s, "condition": c, "replicate": i, "status": "ok", "y": m + sd * rng.standard_normal()}
            for s in scenarios for c, m in means.items() for i in range(n)]
    return pd.DataFrame(rows)


def contrast(treated: str, reference: str, scenarios=("normal",)) -> dict:
    return {"name": f"{treated} vs {reference}", "source": "drugs",
            "pairs": [{"treatment": {"scenario": s, "condition": treated},
                       "reference": {"scenario": s, "condition": reference}} for s in scenarios]}


def test_a_contrast_measures_the_percent_change_of_its_pair():
    frame = runs({"vehicle": 1.0, "ketamine": 0.7, "dpcpx": 1.3, "both": 1.25}, n=30, sd=0.01)
    out = contrasts.contrast_effects(frame, ["y"], [contrast("both", "dpcpx"), contrast("ketamine", "vehicle")],
                                     n_boot=500)
    both, ket = out.iloc[0], out.iloc[1]
    assert (both["condition"], both["ref_condition"]) == ("both", "dpcpx")
    assert both["pct_change"] == pytest.approx(100 * (1.25 - 1.3) / 1.3, abs=0.3)
    assert both["pct_ci_low"] < both["pct_change"] < both["pct_ci_high"] < 0
    assert ket["pct_change"] == pytest.approx(-30.0, abs=0.3) and ket["n"] == ket["n_ref"] == 30
    assert list(out["welch_p_holm"]) == list(stats.holm(out["welch_p"])), "Holm over all pairs of the readout"


def test_a_pair_without_runs_is_left_out():
    frame = runs({"vehicle": 1.0, "ketamine": 0.7})
    out = contrasts.contrast_effects(frame, ["y"], [contrast("both", "dpcpx"), contrast("ketamine", "vehicle")])
    assert list(out["contrast"]) == ["ketamine vs vehicle"]


def test_the_factorial_anova_finds_an_interaction_only_where_there_is_one():
    additive = runs({"vehicle": 1.0, "ketamine": 0.7, "dpcpx": 1.3, "both": 1.0}, seed=2)
    blocked = runs({"vehicle": 1.0, "ketamine": 0.7, "dpcpx": 1.3, "both": 1.3}, seed=3)   # DPCPX removes ketamine's
    terms = {}
    for name, frame in (("additive", additive), ("blocked", blocked)):
        table = contrasts.factorial_anova(frame, ["y"], FACTORIAL)
        terms[name] = table.set_index("term")
        assert list(table["term"]) == ["ketamine", "DPCPX", "ketamine × DPCPX"]
    assert terms["additive"].loc["ketamine × DPCPX", "p"] > 0.01
    assert terms["blocked"].loc["ketamine × DPCPX", "p"] < 1e-6
    assert contrasts.interaction(contrasts.factorial_anova(blocked, ["y"], FACTORIAL), "y")["term"] == \
        "ketamine × DPCPX"


def test_the_factorial_anova_matches_the_classical_two_way_interaction_f():
    """Balanced 2 x 2: F of the interaction = n (sum of the cell-mean contrast)^2 / 4 / MS_within."""
    frame = runs({"vehicle": 1.0, "ketamine": 0.8, "dpcpx": 1.2, "both": 1.1}, n=6, sd=0.1, seed=4)
    f = contrasts.factorial_anova(frame, ["y"], FACTORIAL).set_index("term").loc["ketamine × DPCPX", "F"]
    cell = frame.groupby("condition")["y"]
    m, n = cell.mean(), 6
    ms_within = (cell.var(ddof=1) * (n - 1)).sum() / (4 * (n - 1))
    contrast_value = m["both"] - m["ketamine"] - m["dpcpx"] + m["vehicle"]
    assert f == pytest.approx(n * contrast_value ** 2 / 4 / ms_within, rel=1e-9)


def test_scenario_joins_the_factorial_with_two_scenarios_and_a_missing_cell_is_said():
    frame = runs({"vehicle": 1.0, "ketamine": 0.7, "dpcpx": 1.3, "both": 1.3}, scenarios=("normal", "depressed"))
    terms = list(contrasts.factorial_anova(frame, ["y"], FACTORIAL)["term"])
    assert "scenario × ketamine × DPCPX" in terms and "ketamine × DPCPX" in terms
    missing = frame[frame["condition"] != "both"]
    row = contrasts.factorial_anova(missing, ["y"], FACTORIAL).iloc[0]
    assert row["term"] == "not computed" and "no finished run" in row["reason"]
    assert contrasts.factorial_anova(frame, ["y"], None).empty


def test_the_report_of_a_drug_factorial_shows_the_contrast_and_the_interaction(tmp_path):
    from helpers import tiny_experiment

    from analysis.report import build_batch_report
    from sim.runs.batch import run_batch
    from sim.runs.experiment import load_experiment

    path = tmp_path / "factorial.toml"
    path.write_text(tiny_experiment(replicates=3, conditions=("vehicle", "ketamine_10uM", "dpcpx",
                                                              "ketamine_10uM_dpcpx")))
    run_batch(load_experiment(path), tmp_path / "out", ["batch", str(path)], workers=2, progress=False)
    html_path, _ = build_batch_report(tmp_path / "out")
    page = html_path.read_text(encoding="utf-8")
    summary = page[page.index('<section class="summary">'):page.index("</section>")]
    assert "n = 3 per group = independent simulated networks" in summary
    assert "ketamine 10 µM + DPCPX 0.1 µM" in summary and "normal: DPCPX 0.1 µM" in summary
    assert "ketamine × DPCPX interaction on" in summary and "(type II ANOVA ketamine × DPCPX)" in summary
    table = pd.read_csv(tmp_path / "out" / "statistics.csv", low_memory=False)
    rows = table[(table["table"] == "contrast") & (table["contrast"] == "ketamine_10uM_dpcpx vs dpcpx")]
    assert len(rows) == 1 and np.isfinite(rows["pct_ci_low"]).all() and np.isfinite(rows["welch_p_holm"]).all()
    assert (table["table"] == "factorial_anova").any()


def test_holm_is_the_step_down_bonferroni_adjustment():
    """statsmodels' Holm against the definition: p_(i) * (m - i + 1), made monotone, capped at 1."""
    rng = np.random.default_rng(7)
    for m in (1, 2, 5, 40):
        p = rng.uniform(0, 0.2, m) ** 2
        order = np.argsort(p)
        expected = np.empty(m)
        expected[order] = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
        with_nan = pd.Series(np.append(p, np.nan))
        adjusted = stats.holm(with_nan).to_numpy()
        np.testing.assert_allclose(adjusted[:m], expected, rtol=1e-12)
        assert np.isnan(adjusted[m])
