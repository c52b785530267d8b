"""The batch report's first page and its contrast tables: the design (n = independent simulated networks), the
absolute baselines ± SD, the declared contrasts with their CIs, the drug interaction, four core figures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import contrasts, stats
from analysis.batch_analysis import Analysis
from analysis.report_render import Rendered, fmt, fmt_p, fmt_pct, fmt_pct_ci, p_text, table

CORE_FIGURES = 4


def n_text(a: Analysis) -> str:
    """What n counts, and the design's size."""
    groups = a.ok.groupby(stats.group_columns(a.ok), dropna=False).size()
    n = f"{groups.min()}" if groups.min() == groups.max() else f"{groups.min()} to {groups.max()}"
    return (f"{len(a.design.scenarios)} scenario(s) × {len(a.design.conditions)} condition(s); n = {n} per group = "
            f"independent simulated networks (each replicate draws its own connectivity, neuron parameters and "
            f"noise from its own seed), {len(a.ok)} finished runs. Every statistic compares networks, not "
            f"neurons or synapses.")


def mean_sd(a: Analysis, scenario: str, condition: str, readout: str) -> str:
    """'12.3 ± 0.4' (mean ± SD over the group's runs)."""
    g = a.groups[(a.groups["scenario"] == scenario) & (a.groups["condition"] == condition)
                 & (a.groups["readout"] == readout)]
    return f"{fmt(g['mean'].iloc[0])} ± {fmt(g['sd'].iloc[0])}" if len(g) else "–"


def reference_groups(a: Analysis) -> list[str]:
    """The reference condition's groups as the tables name them: the condition, or one group per swept level
    ('vehicle | endocytosis_tau_s=10')."""
    condition = a.reference["condition"]
    return [c for c in a.design.conditions if c == condition or c.startswith(f"{condition} | ")] or [condition]


def baseline_table(a: Analysis) -> pd.DataFrame:
    """Each readout's absolute value (mean ± SD, unit) in each scenario's reference condition (at each level)."""
    columns = [(s, c) for s in a.design.scenarios for c in reference_groups(a)]
    return pd.DataFrame([{"readout": stats.label_of(r), **{f"{a.design.scenario_label(s)}: {a.design.label(c)}":
                                                         mean_sd(a, s, c, r) for s, c in columns}}
                         for r in a.readouts])


def contrast_table(a: Analysis, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``a.contrasts``: both groups' mean ± SD, % change [CI], g, p (Holm)."""
    return pd.DataFrame([{
        "readout": stats.label_of(x.readout), "contrast": x.contrast,
        "treatment": f"{a.design.scenario_label(x.scenario)}: {a.design.label(x.condition)}",
        "reference": f"{a.design.scenario_label(x.ref_scenario)}: {a.design.label(x.ref_condition)}",
        "treatment mean ± SD": mean_sd(a, x.scenario, x.condition, x.readout),
        "reference mean ± SD": mean_sd(a, x.ref_scenario, x.ref_condition, x.readout),
        "% change [95 % CI]": f"{fmt_pct(x.pct_change)} {fmt_pct_ci(x.pct_ci_low, x.pct_ci_high)}",
        "Hedges' g": fmt(x.hedges_g, 3), "n": f"{x.n} vs {x.n_ref}", "Welch p": fmt_p(x.welch_p),
        "Welch p (Holm)": fmt_p(x.welch_p_holm)} for x in rows.itertuples()])


def factorial_table(a: Analysis) -> pd.DataFrame:
    """The factorial ANOVA's terms per readout (F, p, partial η²)."""
    return pd.DataFrame([{"readout": stats.label_of(x["readout"]), "term": x["term"],
                          "df": fmt(x.get("df", np.nan)), "F": fmt(x.get("F", np.nan)), "p": fmt_p(x.get("p", np.nan)),
                          "partial η²": fmt(x.get("partial_eta_sq", np.nan), 3), "note": x.get("reason", "")}
                         for x in a.factorial.to_dict("records")])


def factorial_title(a: Analysis) -> str:
    drugs = a.manifest.get("factorial", {}).get("drugs", {})
    factors = [contrasts.factor_name(d) for d in drugs]
    return " × ".join((["scenario"] if len(a.design.scenarios) > 1 else []) + factors)


def contrast_label(a: Analysis, name: str, row: pd.Series) -> str:
    """A declared contrast's name; a derived one's groups in words ('ketamine 10 µM + DPCPX 0.1 µM vs DPCPX 0.1 µM')."""
    if row["source"] == "declared":
        return name
    if row["source"] == "scenarios":
        return f"{a.design.scenario_label(row['scenario'])} vs {a.design.scenario_label(row['ref_scenario'])}"
    return f"{a.design.label(row['condition'])} vs {a.design.label(row['ref_condition'])}"


def _pair_label(a: Analysis, row) -> str:
    """Which pair of a contrast: its scenario, or for a contrast of scenarios its condition."""
    return a.design.label(row.condition) if row.source == "scenarios" else a.design.scenario_label(row.scenario)


def summary_contrasts(a: Analysis) -> pd.DataFrame:
    """The first page's contrasts: the first readout's, scenarios compared in the reference condition only."""
    c = a.contrasts
    if c.empty:
        return c
    keep = (c["readout"] == a.readouts[0]) & ((c["source"] != "scenarios")
                                             | (c["condition"] == a.reference["condition"]))
    return c[keep]


def contrast_sentences(a: Analysis, readout: str) -> list[str]:
    """One sentence per contrast of ``readout`` (its pairs joined), and the drugs' interaction."""
    rows = a.contrasts[a.contrasts["readout"] == readout] if not a.contrasts.empty else a.contrasts
    out = []
    for name, part in rows.groupby("contrast", sort=False):
        pairs = [f"{_pair_label(a, x)} {fmt_pct(x.pct_change)} "
                 f"{fmt_pct_ci(x.pct_ci_low, x.pct_ci_high)} (g = {fmt(x.hedges_g, 3)}, Holm {p_text(x.welch_p_holm)}, "
                 f"n = {x.n} vs {x.n_ref})"
                 for x in part.itertuples()]
        out.append(f"{stats.label_of(readout)}, {contrast_label(a, name, part.iloc[0])}: " + "; ".join(pairs) + ".")
    top = contrasts.interaction(a.factorial, readout)
    if top is not None:
        out.append(f"{top['term']} interaction on {stats.name_of(readout)} (type II ANOVA {factorial_title(a)}): "
                   f"F = {fmt(top['F'])}, {p_text(top['p'])}, partial η² = {fmt(top['partial_eta_sq'], 3)}.")
    return out


def summary_context(a: Analysis, figures: list[Rendered]) -> dict[str, object]:
    """The first page's values for summary.html: design, baselines, the first readout's contrasts (None without
    contrasts) with the interaction's sentences, the core figures."""
    sentences = [s for s in contrast_sentences(a, a.readouts[0]) if "interaction" in s] if a.readouts else []
    return {"design": n_text(a), "reference_label": a.design.label(a.reference["condition"]),
            "baselines": table(baseline_table(a)), "readout_name": stats.name_of(a.readouts[0]) if a.readouts else "",
            "contrasts": None if a.contrasts.empty else table(
                contrast_table(a, summary_contrasts(a)).drop(columns=["readout", "contrast"])),
            "sentences": sentences, "thumbnails": figures[:CORE_FIGURES]}
