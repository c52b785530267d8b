"""Statistics of a batch: group summaries, effect sizes, tests, two-way ANOVA and Hill dose-response fits.

Pure functions on DataFrames (one row per run, as ``summary.parquet``). Nothing
here is random except the bootstraps (BCa, ``scipy.stats.bootstrap``), which
draw from numpy Generators seeded with :data:`SEED`, so a report is
reproducible bit for bit.

Conventions:

- a *group* is one combination of ``scenario``, ``condition`` and the swept
  level columns (dotted scenario keys); its replicates are the runs;
- an *effect* compares a group with a reference group: ``pct_change`` is
  ``100 · (mean − mean_ref) / mean_ref`` and Hedges' g is
  ``(mean − mean_ref) / s_pooled · J`` with ``J = 1 − 3 / (4 (n + n_ref) − 9)``;
- p-values are two-sided and uncorrected; ``welch_p_holm`` is Holm-adjusted
  within one comparison family (one readout, one kind of reference).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from sim.model.readout_table import BATH_COLUMNS, READOUTS, Readout, by_name, per_cell_type, single, unit_words

SEED = 20210811            # fixed seed of every bootstrap (reports are reproducible)
N_BOOT = 2000              # bootstrap resamples of means and percent changes
N_BOOT_HILL = 500          # bootstrap refits of a Hill curve
CI_LEVEL = 0.95
GROUP_BASE = ("scenario", "condition")
DRUG_COLUMNS = BATH_COLUMNS
DOSE_COLUMN = "bath_ketamine_uM"

# --------------------------------------------------------------------------- units and labels

_GLU, _GABA = ("glutamatergic",), ("gabaergic",)
#: the per-run measurements of the validation (``analysis.validation_measures.run_measurements``), declared as
#: the readouts of ``sim.model.readout_table`` are; units as written there (printed with ``unit_words``)
MEASUREMENTS: dict[str, Readout] = by_name((
    *per_cell_type("evoked_release_{t}", "vesicles/bouton", "evoked release (test pulses)", cell_types=_GLU),
    *per_cell_type("rrp_fraction_released_{t}", "1", "fraction of the RRP released (first test pulse)",
                   cell_types=_GABA),
    single("highk_glutamate", "molecules", "glutamate released during high K+"),
    *per_cell_type("fm_uptake_{t}", "labelled vesicles/bouton", "FM-dye uptake"),
    *per_cell_type("tau_endo_{t}", "s", "endocytosis time constant (pHluorin fit)"),
    single("early_release_rise", "1", "network glutamate release, early / baseline"),
    single("late_evoked_ratio", "1", "evoked release, late / baseline"),
    single("evoked_release_glu_before", "vesicles/bouton", "evoked release before the drug (test pulses)",
           cell_type="glutamatergic"),
    single("evoked_release_glu_after", "vesicles/bouton", "evoked release after the drug (test pulses)",
           cell_type="glutamatergic"),
    single("evoked_release_after_before", "1", "evoked release, after / before the drug (same network)"),
    *per_cell_type("first_pulse_release_{t}", "vesicles/bouton", "evoked release (first pulse of the train)",
                   cell_types=_GLU),
    *per_cell_type("train_depression_{t}", "1", "train depression (last 10 / first pulse)", cell_types=_GLU),
))


def described(column: str) -> Readout | None:
    """The declared readout (``sim.model.readout_table``) or validation measurement ``column``; None if neither."""
    return READOUTS.get(column) or MEASUREMENTS.get(column)


def unit_of(column: str) -> str:
    """The printed unit of a declared readout or measurement: 'µM'; '' for dimensionless or undeclared ones."""
    r = described(column)
    return "" if r is None or r.unit == "1" else unit_words(r.unit)


def name_of(column: str) -> str:
    """A readable name of a readout: 'evoked release, glutamatergic' (an undeclared name with spaces)."""
    r = described(column)
    return r.label if r is not None else column.replace("_", " ")


def label_of(column: str) -> str:
    """An axis label: name and unit in parentheses."""
    unit = unit_of(column)
    return f"{name_of(column)} ({unit})" if unit else name_of(column)


def drug_name(column: str) -> str:
    """The drug of a bath-concentration column: 'ketamine' for ``bath_ketamine_uM``."""
    return name_of(column).removesuffix(" (bath)")


def condition_label(drugs: dict[str, float], name: str = "") -> str:
    """'ketamine 10 µM + DPCPX 0.1 µM' from the bath concentrations; 'vehicle' without drugs."""
    parts = [f"{drug_name(c)} {v:g} {unit_of(c)}" for c in DRUG_COLUMNS if (v := drugs.get(c, 0) or 0) > 0]
    return " + ".join(parts) if parts else (name if name and name != "vehicle" else "vehicle")


# --------------------------------------------------------------------------- groups


def level_columns(frame: pd.DataFrame) -> list[str]:
    """Swept-parameter columns: dotted scenario keys."""
    return [c for c in frame.columns if "." in c]


def group_columns(frame: pd.DataFrame) -> list[str]:
    return [*GROUP_BASE, *level_columns(frame)]


def ok_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the runs that finished."""
    return frame[frame["status"] == "ok"] if "status" in frame else frame


def readout_values(frame: pd.DataFrame, readout: str) -> np.ndarray:
    """The finite values of ``readout`` over the rows of ``frame``."""
    values = pd.to_numeric(frame[readout], errors="coerce").to_numpy(dtype=float)
    return values[np.isfinite(values)]


def _groups(frame: pd.DataFrame, by: Sequence[str]) -> Iterable[tuple[dict, pd.DataFrame]]:
    for key, sub in frame.groupby(list(by), sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        yield dict(zip(by, key, strict=True)), sub


# --------------------------------------------------------------------------- bootstrap


def _rng(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(SEED if seed is None else seed)


def _mean(values: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(values, axis=axis)


def _percent_change(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    mb = np.mean(b, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100 * (np.mean(a, axis=axis) - mb) / mb


def bootstrap_interval(samples: Sequence[Sequence[float]], statistic: Callable[..., np.ndarray],
                       paired: bool = False, n_boot: int = N_BOOT, level: float = CI_LEVEL,
                       seed: int | None = None) -> tuple[float, float]:
    """Bootstrap ``level`` CI (low, high) of ``statistic(*samples, axis=-1)``, in its units: BCa
    (``scipy.stats.bootstrap``; Efron 1987, *J Am Stat Assoc* 82:171-185), each sample resampled on its own
    unless ``paired``. Where BCa is undefined (e.g. every resample gives the same value, or its
    acceleration is not finite) the percentile interval of the same resamples; NaN where a sample has
    fewer than two values or no resample is finite."""
    samples = tuple(np.asarray(x, dtype=float) for x in samples)
    if min(x.size for x in samples) < 2:
        return float("nan"), float("nan")
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")  # scipy warns where BCa is undefined: the percentile interval is used
        result = stats.bootstrap(samples, statistic, n_resamples=n_boot, confidence_level=level, method="BCa",
                                 paired=paired, vectorized=True, rng=_rng(seed))
    lo, hi = (float(x) for x in result.confidence_interval)
    if np.isfinite(lo) and np.isfinite(hi):
        return lo, hi
    return percentile_ci(np.asarray(result.bootstrap_distribution), level)


def percentile_ci(samples: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float]:
    """The central ``level`` percentile interval (low, high) of bootstrap samples, in their units; non-finite
    samples are dropped, NaN if none is left."""
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(samples, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def bootstrap_ci(values: Sequence[float], n_boot: int = N_BOOT, level: float = CI_LEVEL,
                 seed: int | None = None) -> tuple[float, float]:
    """BCa bootstrap CI of the mean (see ``bootstrap_interval``); NaN with fewer than two values."""
    return bootstrap_interval((values,), _mean, n_boot=n_boot, level=level, seed=seed)


def group_summary(frame: pd.DataFrame, readouts: Sequence[str], by: Sequence[str] | None = None,
                  n_boot: int = N_BOOT) -> pd.DataFrame:
    """Per group and readout: n, mean, SD, SEM and the bootstrap 95 % CI of the mean (tidy)."""
    frame = ok_runs(frame)
    by = list(by) if by is not None else group_columns(frame)
    rows = []
    for key, sub in _groups(frame, by):
        for readout in readouts:
            v = readout_values(sub, readout)
            lo, hi = bootstrap_ci(v, n_boot)
            rows.append({**key, "readout": readout, "unit": unit_of(readout), "n": int(v.size),
                         "mean": float(v.mean()) if v.size else float("nan"),
                         "sd": float(v.std(ddof=1)) if v.size > 1 else float("nan"),
                         "sem": float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan"),
                         "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- effects and tests


def hedges_g(a: Sequence[float], b: Sequence[float]) -> float:
    """Hedges' g of ``a`` against ``b``: standardised mean difference with the small-sample correction."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    na, nb = a.size, b.size
    if na < 2 or nb < 2:
        return float("nan")
    pooled = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
    if pooled == 0:
        return float("nan")
    return float((a.mean() - b.mean()) / pooled * (1 - 3 / (4 * (na + nb) - 9)))


def percent_change(a: Sequence[float], b: Sequence[float]) -> float:
    """100 · (mean(a) − mean(b)) / mean(b); NaN if mean(b) is 0."""
    mb = float(np.mean(b)) if len(b) else float("nan")
    return float(100 * (np.mean(a) - mb) / mb) if mb != 0 and len(a) else float("nan")


def percent_change_ci(a: Sequence[float], b: Sequence[float], n_boot: int = N_BOOT, seed: int | None = None,
                      paired: bool = False) -> tuple[float, float]:
    """BCa bootstrap CI of the percent change of mean(a) against mean(b) (see ``bootstrap_interval``); the
    groups are resampled independently, or as pairs (same seed in both) if ``paired``."""
    if paired and len(a) != len(b):
        return float("nan"), float("nan")
    return bootstrap_interval((a, b), _percent_change, paired=paired, n_boot=n_boot, seed=seed)


def percent_change_ratio_ci(numerator: tuple[Sequence[float], Sequence[float]],
                            denominator: tuple[Sequence[float], Sequence[float]]) -> tuple[float, float]:
    """BCa bootstrap CI of one percent change (treated, reference) over another (four groups resampled
    independently)."""
    def ratio(na, nb, da, db, axis=-1):
        return _percent_change(na, nb, axis) / _percent_change(da, db, axis)
    return bootstrap_interval((*numerator, *denominator), ratio)


def percent_change_difference_ci(first: tuple[Sequence[float], Sequence[float]],
                                 second: tuple[Sequence[float], Sequence[float]]) -> tuple[float, float]:
    """BCa bootstrap CI (percentage points) of one percent change minus another (four groups resampled
    independently)."""
    def difference(a, b, c, d, axis=-1):
        return _percent_change(a, b, axis) - _percent_change(c, d, axis)
    return bootstrap_interval((*first, *second), difference)


def welch_test(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Welch's t-test (unequal variances): t and the two-sided p; NaN if it cannot be computed."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 2 or b.size < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):
        return float("nan"), float("nan")
    res = stats.ttest_ind(a, b, equal_var=False)
    return float(res.statistic), float(res.pvalue)


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Mann–Whitney U (of ``a``) and the two-sided p (exact for small samples without ties)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 1 or b.size < 1 or np.ptp(np.concatenate([a, b])) == 0:
        return float("nan"), float("nan")
    res = stats.mannwhitneyu(a, b, alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


EFFECT_KEYS = ("n", "n_ref", "mean", "mean_ref", "difference", "pct_change", "pct_ci_low", "pct_ci_high", "hedges_g",
               "welch_t", "welch_p", "mw_u", "mw_p")


def compare(a: Sequence[float], b: Sequence[float], n_boot: int = N_BOOT) -> dict[str, float]:
    """Every effect size and test of ``a`` against the reference ``b``."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    t, p_t = welch_test(a, b)
    u, p_u = mann_whitney(a, b)
    lo, hi = percent_change_ci(a, b, n_boot)
    return {"n": int(a.size), "n_ref": int(b.size),
            "mean": float(a.mean()) if a.size else float("nan"),
            "mean_ref": float(b.mean()) if b.size else float("nan"),
            "difference": float(a.mean() - b.mean()) if a.size and b.size else float("nan"),
            "pct_change": percent_change(a, b), "pct_ci_low": lo, "pct_ci_high": hi,
            "hedges_g": hedges_g(a, b), "welch_t": t, "welch_p": p_t, "mw_u": u, "mw_p": p_u}


def effects(frame: pd.DataFrame, readouts: Sequence[str], reference: dict[str, str],
            by: Sequence[str] | None = None, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Every group against (1) the reference condition of its own scenario and (2) the experiment's reference.

    ``reference`` is ``{"scenario": ..., "condition": ...}`` (the manifest's); the
    reference group has the same swept levels as the group compared.
    """
    frame = ok_runs(frame)
    by = list(by) if by is not None else group_columns(frame)
    levels = [c for c in by if c not in GROUP_BASE]
    rows = []
    for key, sub in _groups(frame, by):
        refs = {"within_scenario": {**key, "condition": reference["condition"]},
                "vs_reference": {**key, **reference}}
        for comparison, ref_key in refs.items():
            if ref_key == key or (comparison == "vs_reference" and ref_key == refs["within_scenario"]):
                continue
            ref = select(frame, ref_key)
            if ref.empty:
                continue
            for readout in readouts:
                row = compare(readout_values(sub, readout), readout_values(ref, readout), n_boot)
                rows.append({"comparison": comparison, **key, "ref_scenario": ref_key["scenario"],
                             "ref_condition": ref_key["condition"], "readout": readout, "unit": unit_of(readout),
                             **row})
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=["comparison", *by, "ref_scenario", "ref_condition", "readout", "unit",
                                     *EFFECT_KEYS, "welch_p_holm"])
    family = ["comparison", "readout", *levels]
    out["welch_p_holm"] = out.groupby(family, dropna=False)["welch_p"].transform(holm)
    return out


def select(frame: pd.DataFrame, key: dict) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for col, value in key.items():
        mask &= (frame[col] == value).to_numpy() | (frame[col].isna().to_numpy() & pd.isna(value))
    return frame[mask]


def holm(p: pd.Series) -> pd.Series:
    """Holm–Bonferroni adjusted p-values (Holm 1979, Scand. J. Stat. 6:65) by statsmodels; NaN stay NaN."""
    from statsmodels.stats.multitest import multipletests

    values = p.to_numpy(dtype=float)
    ok = np.isfinite(values)
    out = np.full(values.size, np.nan)
    if ok.any():
        out[ok] = multipletests(values[ok], method="holm")[1]
    return pd.Series(out, index=p.index)


# --------------------------------------------------------------------------- two-way ANOVA


def two_way_anova(frame: pd.DataFrame, readouts: Sequence[str], factors: tuple[str, str] = GROUP_BASE
                  ) -> pd.DataFrame:
    """Type II two-way ANOVA ``readout ~ scenario * condition`` per readout (and per swept level combination).

    Needs at least two levels of each factor and replicates (residual degrees of
    freedom); otherwise a row with ``term = "not computed"`` and the reason.
    """
    frame = ok_runs(frame)
    levels = level_columns(frame)
    parts = _groups(frame, levels) if levels else [({}, frame)]
    rows = []
    for key, sub in parts:
        for readout in readouts:
            rows.extend({**key, "readout": readout, **r} for r in _anova_one(sub, readout, factors))
    return pd.DataFrame(rows)


def type2_anova(data: pd.DataFrame, formula: str, names: dict[str, str]) -> list[dict]:
    """Rows of the type II ANOVA of an OLS fit of ``formula`` to ``data`` (statsmodels): term (renamed by
    ``names``), sum of squares, df, F, p and partial η² (NaN for the residual)."""
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = anova_lm(smf.ols(formula, data=data).fit(), typ=2)
    resid = float(table.loc["Residual", "sum_sq"])
    return [{"term": names.get(term, term), "sum_sq": float(r["sum_sq"]), "df": float(r["df"]),
             "F": float(r["F"]), "p": float(r["PR(>F)"]),
             "partial_eta_sq": float(r["sum_sq"] / (r["sum_sq"] + resid)) if term != "Residual" else float("nan"),
             "reason": ""} for term, r in table.iterrows()]


def _anova_one(frame: pd.DataFrame, readout: str, factors: tuple[str, str]) -> list[dict]:
    data = pd.DataFrame({"y": pd.to_numeric(frame[readout], errors="coerce"),
                         "a": frame[factors[0]].astype(str), "b": frame[factors[1]].astype(str)}).dropna()
    cells = data.groupby(["a", "b"]).size()
    n_a, n_b = data["a"].nunique(), data["b"].nunique()
    reason = None
    if n_a < 2 or n_b < 2:
        reason = f"needs >= 2 {factors[0]}s and >= 2 {factors[1]}s (have {n_a} and {n_b})"
    elif len(cells) < n_a * n_b:
        reason = "some scenario x condition cells have no data"
    elif len(data) - n_a * n_b < 1:
        reason = "no replicates (no residual degrees of freedom)"
    elif data["y"].std() == 0:
        reason = "the readout is constant"
    if reason:
        return [{"term": "not computed", "reason": reason}]
    names = {"C(a)": factors[0], "C(b)": factors[1], "C(a):C(b)": f"{factors[0]} x {factors[1]}",
             "Residual": "residual"}
    return type2_anova(data, "y ~ C(a) * C(b)", names)


# --------------------------------------------------------------------------- Hill dose-response


def hill(c: np.ndarray, y0: float, emax: float, ec50: float, n_hill: float = 1.0) -> np.ndarray:
    """``y0 + Emax · c^n / (c^n + EC50^n)``."""
    c = np.asarray(c, dtype=float)
    cn = np.power(c, n_hill)
    return y0 + emax * cn / (cn + ec50 ** n_hill)


def _fit_once(c: np.ndarray, y: np.ndarray, n_hill: float, p0: Sequence[float]) -> np.ndarray:
    """Least-squares (y0, Emax, EC50); EC50 is fitted on a log scale so that it stays positive."""
    def model(x, y0, emax, log_ec50):
        return hill(x, y0, emax, np.exp(log_ec50), n_hill)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        popt, _ = optimize.curve_fit(model, c, y, p0=[p0[0], p0[1], np.log(p0[2])], maxfev=5000)
    if not np.all(np.isfinite(popt)):
        raise RuntimeError("non-finite parameters")
    return np.array([popt[0], popt[1], np.exp(min(popt[2], 700.0))])


def fit_hill(conc: Sequence[float], y: Sequence[float], n_hill: float = 1.0, n_boot: int = N_BOOT_HILL,
             seed: int | None = None, min_doses: int = 4) -> dict:
    """Fit ``y = y0 + Emax · c^n / (c^n + EC50^n)`` (n fixed) by least squares (``scipy.optimize.curve_fit``).

    95 % CIs of EC50 and Emax come from a bootstrap that resamples the
    replicates within each concentration and refits. Returns a dict with
    ``status`` ``"ok"`` or the reason the fit was not made (values then NaN).
    """
    c, y = np.asarray(conc, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(c) & np.isfinite(y)
    c, y = c[keep], y[keep]
    doses = np.unique(c)
    out = {"n_hill": n_hill, "n_doses": int(doses.size), "n_points": int(c.size), "y0": np.nan, "emax": np.nan,
           "ec50": np.nan, "emax_pct": np.nan, "ec50_ci_low": np.nan, "ec50_ci_high": np.nan,
           "emax_ci_low": np.nan, "emax_ci_high": np.nan, "r_squared": np.nan, "n_boot_ok": 0, "status": ""}
    positive = doses[doses > 0]
    if doses.size < min_doses or positive.size < 2:
        out["status"] = (f"not fitted: needs >= {min_doses} distinct concentrations including 0 "
                         f"(have {doses.size}: {', '.join(f'{d:g}' for d in doses)})")
        return out
    if np.ptp(y) == 0:
        out["status"] = "not fitted: the readout does not vary"
        return out
    lo_c, hi_c = positive.min() / 100, positive.max() * 100
    means = np.array([y[c == d].mean() for d in doses])
    p0 = [means[0], means[-1] - means[0], float(np.sqrt(positive.min() * positive.max()))]
    try:
        popt = _fit_once(c, y, n_hill, p0)
    except (RuntimeError, ValueError, np.linalg.LinAlgError) as err:
        out["status"] = f"not fitted: curve_fit failed ({err})"
        return out
    y0, emax, ec50 = (float(v) for v in popt)
    resid = y - hill(c, y0, emax, ec50, n_hill)
    total = float(((y - y.mean()) ** 2).sum())
    out.update(y0=y0, emax=emax, ec50=ec50, emax_pct=100 * emax / y0 if y0 else np.nan,
               r_squared=1 - float((resid ** 2).sum()) / total if total > 0 else np.nan)
    boot = _bootstrap_hill(c, y, doses, n_hill, popt, n_boot, seed)
    out["n_boot_ok"] = int(len(boot))
    if len(boot) >= 0.5 * n_boot:
        out["emax_ci_low"], out["emax_ci_high"] = percentile_ci(boot[:, 1])
        out["ec50_ci_low"], out["ec50_ci_high"] = percentile_ci(boot[:, 2])
    out["status"] = _hill_status(out, lo_c, hi_c, positive)
    return out


def _hill_status(fit: dict, lo_c: float, hi_c: float, positive: np.ndarray) -> str:
    """'ok', or 'ok' with what limits the interpretation; an undetermined EC50 blanks the fit."""
    if not lo_c < fit["ec50"] < hi_c:
        for key in ("emax", "ec50", "emax_pct", "ec50_ci_low", "ec50_ci_high", "emax_ci_low", "emax_ci_high"):
            fit[key] = np.nan
        return (f"not determined: the best EC50 lies outside {lo_c:g}-{hi_c:g} {unit_of(DOSE_COLUMN)} "
                "(no saturating effect in the tested range)")
    notes = []
    if not positive.min() <= fit["ec50"] <= positive.max():
        notes.append("EC50 outside the tested concentrations (extrapolated)")
    if fit["ec50_ci_low"] < lo_c or fit["ec50_ci_high"] > hi_c:
        fit["ec50_ci_low"] = fit["ec50_ci_low"] if fit["ec50_ci_low"] >= lo_c else 0.0
        fit["ec50_ci_high"] = fit["ec50_ci_high"] if fit["ec50_ci_high"] <= hi_c else np.inf
        notes.append("EC50 CI open-ended")
    if fit["emax_ci_low"] <= 0 <= fit["emax_ci_high"]:
        notes.append("Emax CI includes 0 (no clear dose dependence)")
    elif np.isnan(fit["emax_ci_low"]):
        notes.append("bootstrap refits failed; no CIs")
    return "ok" if not notes else "ok; " + "; ".join(notes)


def _bootstrap_hill(c, y, doses, n_hill, popt, n_boot, seed) -> np.ndarray:
    """Refits on resamples of the replicates within each concentration."""
    rng = _rng(seed)
    by_dose = [np.flatnonzero(c == d) for d in doses]
    fits = []
    for _ in range(n_boot):
        idx = np.concatenate([rng.choice(i, size=i.size, replace=True) for i in by_dose])
        try:
            fits.append(_fit_once(c[idx], y[idx], n_hill, popt))
        except (RuntimeError, ValueError, np.linalg.LinAlgError):
            continue
    return np.array(fits).reshape(-1, 3)


def ketamine_only(frame: pd.DataFrame) -> pd.DataFrame:
    """Runs in which ketamine is the only drug (vehicle included as concentration 0)."""
    frame = ok_runs(frame)
    others = [c for c in DRUG_COLUMNS if c != DOSE_COLUMN and c in frame]
    if DOSE_COLUMN not in frame:
        return frame.iloc[0:0]
    mask = np.ones(len(frame), dtype=bool)
    for col in others:
        mask &= frame[col].fillna(0).to_numpy() == 0
    return frame[mask]


def dose_response(frame: pd.DataFrame, readouts: Sequence[str], n_hill: float = 1.0,
                  n_boot: int = N_BOOT_HILL) -> pd.DataFrame:
    """Hill fits of every readout against the ketamine concentration, per scenario (and swept levels)."""
    data = ketamine_only(frame)
    by = ["scenario", *level_columns(frame)]
    rows = []
    for key, sub in _groups(data, by):
        for readout in readouts:
            y = pd.to_numeric(sub[readout], errors="coerce").to_numpy(dtype=float)
            fit = fit_hill(sub[DOSE_COLUMN].to_numpy(dtype=float), y, n_hill, n_boot)
            rows.append({**key, "readout": readout, "unit": unit_of(readout), **fit})
    return pd.DataFrame(rows)


def dose_levels(frame: pd.DataFrame) -> np.ndarray:
    """The distinct ketamine concentrations of the ketamine-only runs."""
    data = ketamine_only(frame)
    return np.unique(data[DOSE_COLUMN].to_numpy(dtype=float)) if len(data) else np.array([])


# --------------------------------------------------------------------------- the tidy table


def tidy_statistics(summary: pd.DataFrame, effect: pd.DataFrame, anova: pd.DataFrame, hill_fits: pd.DataFrame,
                    contrast: pd.DataFrame | None = None, factorial: pd.DataFrame | None = None) -> pd.DataFrame:
    """All tables stacked, with a ``table`` column saying which one each row belongs to."""
    tables = (("group_summary", summary), ("effect", effect), ("anova", anova), ("hill_fit", hill_fits),
              ("contrast", contrast), ("factorial_anova", factorial))
    parts = [t.assign(table=name) for name, t in tables if t is not None and not t.empty]
    if not parts:
        return pd.DataFrame(columns=["table"])
    out = pd.concat(parts, ignore_index=True, sort=False)
    return out[["table", *[c for c in out.columns if c != "table"]]]
