"""The experiment's contrasts and its drug factorial, computed on the finished runs of a batch.

The contrasts and the factorial are the manifest's (``sim.runs.contrasts``
declares or derives them from the drugs). Each pair of groups of a contrast is
compared on every readout (:func:`analysis.stats.compare`: % change with its
bootstrap CI, Hedges' g, Welch and Mann-Whitney p); the Welch p-values are
Holm-adjusted over all pairs of all contrasts, per readout (and per swept
level). The factorial is fitted per readout as a type II ANOVA with every
interaction: ``readout ~ scenario * drug1 * drug2 ...`` (scenario only with
two or more scenarios), each drug a two-level factor (absent, applied).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis import stats

CONTRAST_COLUMNS = ("contrast", "source", "scenario", "condition", "ref_scenario", "ref_condition")


def contrast_effects(frame: pd.DataFrame, readouts: Sequence[str], contrasts: list[dict],
                     n_boot: int = stats.N_BOOT) -> pd.DataFrame:
    """One row per contrast, pair of groups, swept level combination and readout."""
    frame = stats.ok_runs(frame)
    levels = stats.level_columns(frame)
    parts = frame.groupby(levels, dropna=False, sort=False) if levels else [((), frame)]
    rows = []
    for key, sub in parts:
        level_values = dict(zip(levels, key if isinstance(key, tuple) else (key,), strict=True))
        for contrast in contrasts:
            for pair in contrast["pairs"]:
                rows += _pair_rows(sub, contrast, pair, level_values, readouts, n_boot)
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=[*CONTRAST_COLUMNS, *levels, "readout", "unit", *stats.EFFECT_KEYS,
                                     "welch_p_holm"])
    out["welch_p_holm"] = out.groupby(["readout", *levels], dropna=False)["welch_p"].transform(stats.holm)
    return out


def _pair_rows(frame: pd.DataFrame, contrast: dict, pair: dict, levels: dict, readouts: Sequence[str],
               n_boot: int) -> list[dict]:
    treated, reference = stats.select(frame, pair["treatment"]), stats.select(frame, pair["reference"])
    if treated.empty or reference.empty:
        return []
    head = {"contrast": contrast["name"], "source": contrast["source"], **pair["treatment"],
            "ref_scenario": pair["reference"]["scenario"], "ref_condition": pair["reference"]["condition"], **levels}
    return [{**head, "readout": r, "unit": stats.unit_of(r),
             **stats.compare(stats.readout_values(treated, r), stats.readout_values(reference, r), n_boot)}
            for r in readouts]


# --------------------------------------------------------------------------- the factorial ANOVA


def factor_name(drug_field: str) -> str:
    """The factor of a drug field of a condition (``ketamine_uM`` -> ``ketamine``)."""
    return stats.drug_name(f"bath_{drug_field}")


def factorial_anova(frame: pd.DataFrame, readouts: Sequence[str], factorial: dict | None) -> pd.DataFrame:
    """Type II ANOVA of each readout over the factorial's conditions, with every interaction; empty without a
    factorial."""
    if not factorial:
        return pd.DataFrame(columns=["readout", "term", "df", "F", "p", "partial_eta_sq", "reason"])
    frame = stats.ok_runs(frame)
    cells = factorial["conditions"]
    data = frame[frame["condition"].isin(list(cells))]
    drugs = list(factorial["drugs"])
    design = pd.DataFrame({f"d{i}": data["condition"].map(lambda c, d=d: d in cells[c]).astype(int)
                           for i, d in enumerate(drugs)}, index=data.index)
    names = {"C(s)": "scenario"} if data["scenario"].nunique() > 1 else {}
    names |= {f"C(d{i})": factor_name(d) for i, d in enumerate(drugs)}
    if "C(s)" in names:
        design["s"] = data["scenario"].astype(str)
    rows = []
    for readout in readouts:
        y = pd.to_numeric(data[readout], errors="coerce") if readout in data else pd.Series(np.nan, data.index)
        rows += [{"readout": readout, **r} for r in _anova(design.assign(y=y).dropna(), names)]
    return pd.DataFrame(rows)


def _anova(data: pd.DataFrame, names: dict[str, str]) -> list[dict]:
    factors = list(names)
    columns = [f[2:-1] for f in factors]
    n_cells = data.groupby(columns).ngroups if len(data) else 0
    expected = 2 ** sum(f != "C(s)" for f in factors) * (data["s"].nunique() if "C(s)" in names else 1)
    reason = ""
    if n_cells < expected or n_cells == 0:
        reason = "some cells of the factorial have no finished run"
    elif len(data) <= n_cells:
        reason = "no replicates (no residual degrees of freedom)"
    elif data["y"].std() == 0:
        reason = "the readout is constant"
    if reason:
        return [{"term": "not computed", "reason": reason}]
    rows = stats.type2_anova(data, "y ~ " + " * ".join(factors), {})
    return [{**r, "term": _term(r["term"], names)} for r in rows if r["term"] != "Residual"]


def _term(term: str, names: dict[str, str]) -> str:
    """'ketamine × DPCPX' for 'C(d0):C(d1)'."""
    return " × ".join(names[part] for part in term.split(":"))


def interaction(anova: pd.DataFrame, readout: str) -> dict | None:
    """The highest-order interaction of the drugs alone (no scenario) for a readout, or None."""
    rows = anova[(anova["readout"] == readout) & anova["term"].str.contains("×") & ~anova["term"].str.contains(
        "scenario")] if not anova.empty else anova
    if rows.empty:
        return None
    top = rows.loc[rows["term"].str.count("×").idxmax()]
    return top.to_dict()
