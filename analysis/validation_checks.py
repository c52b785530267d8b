"""Validation checks: the statistical comparisons behind each row of the validation table.

A :class:`Group` selects runs of a validation folder (condition, scenario, swept
level); a :class:`Contrast` sets one group's ``metric`` against another's. Each
check evaluates to one table row: :class:`Change` (percent change with a
percentile-bootstrap 95 % CI, Welch's t-test, two-sided, with the direction
required by the finding, and Hedges' g; or a TOST equivalence test),
:class:`RatioOfChanges`, :class:`LargerImpairment`, :class:`TsodyksMarkramFit`
and the informational :class:`HillFit`, from :mod:`analysis.stats`. Bootstraps
are seeded, so a folder always gives the same table. The runs and their
measurements are :mod:`analysis.validation_measures`; the findings that use
these checks are :mod:`analysis.validation_findings`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.weightstats import ttost_ind

from analysis import stats
from analysis.validation_measures import ValidationData, per_bouton

if TYPE_CHECKING:
    from analysis.report_figures import Design

ALPHA = 0.05               # significance level of every Welch test
TM_ALPHA = 0.01            # family-wise level of the Tsodyks-Markram goodness-of-fit (Bonferroni over pulses)


# --------------------------------------------------------------------------- groups and checks


@dataclass(frozen=True)
class Group:
    """Runs of one condition (and scenario and swept level, when given)."""

    condition: str = "vehicle"
    scenario: str | None = None
    level: tuple[tuple[str, float], ...] = ()
    text: str = ""                      # label instead of the condition's drugs
    experiment: str | None = None       # runs of this experiment instead of the check's

    def select(self, runs: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``runs`` (one per run) that belong to the group."""
        mask = (runs["condition"] == self.condition).to_numpy().copy()
        if self.scenario is not None:
            mask &= (runs["scenario"] == self.scenario).to_numpy()
        for key, value in self.level:
            mask &= np.isclose(pd.to_numeric(runs[key]).to_numpy(dtype=float), value)
        return runs[mask]

    def values(self, data: ValidationData, experiment: str, metric: str) -> np.ndarray:
        """The finite values of ``metric`` of the group's runs (in the group's own experiment, if it names one)."""
        sub = self.select(data.runs(self.experiment or experiment))
        values = pd.to_numeric(sub[metric], errors="coerce").to_numpy(dtype=float)
        return values[np.isfinite(values)]

    def label(self, design: Design, wrap: bool = False) -> str:
        """The group's name in tables and figures: its text or drugs, then its network (a new line if ``wrap``)."""
        text = self.text or design.label(self.condition, wrap=wrap)
        if self.scenario is not None:
            text += ("\n" if wrap else ", ") + design.scenario_label(self.scenario)
        return text


def normal(condition: str) -> Group:
    """The runs of ``condition`` in the normal network."""
    return Group(condition, "normal")


def depressed(condition: str) -> Group:
    """The runs of ``condition`` in the depression-like network."""
    return Group(condition, "depression_like")


@dataclass(frozen=True)
class Panel:
    """A bar panel of a finding's figure: one metric, its groups (and the experiment they come from)."""

    metric: str
    groups: tuple[Group, ...]
    experiment: str | None = None


@dataclass(frozen=True)
class Check:
    """Base of the checks (one table row each); ``experiment`` overrides the finding's experiment."""

    experiment: str | None = field(default=None, kw_only=True)

    def criterion(self) -> str:
        """What the check requires, as the table's criterion text."""
        raise NotImplementedError

    def evaluate(self, data: ValidationData, experiment: str) -> dict:
        """The check's cells of its table row (``compared``, ``metric``, ``measured``, ``n`` and ``passed``:
        True, False or None for informational; ``effect``, ``ci_low``, ``ci_high`` in ``unit``, ``test``, ``p``
        where they apply) from the runs of ``experiment``."""
        raise NotImplementedError

    def panels(self) -> list[Panel]:
        """Bar panels of the finding's figure that show this check's groups."""
        return []


def _fmt(x: float) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.3g}"


def _ci_text(value: float, lo: float, hi: float, unit: str = " %", signed: bool = True) -> str:
    f = "+.1f" if signed else ".2f"
    return f"{value:{f}}{unit} [{lo:{f}}, {hi:{f}}]"


@dataclass(frozen=True)
class Contrast:
    """``metric`` of the ``treated`` runs against the ``reference`` runs."""

    metric: str
    treated: Group
    reference: Group

    def values(self, data: ValidationData, experiment: str) -> tuple[np.ndarray, np.ndarray]:
        """The finite values of ``metric`` of the treated and of the reference runs, in the metric's unit."""
        return self.treated.values(data, experiment, self.metric), self.reference.values(data, experiment, self.metric)

    def label(self, design: Design) -> str:
        """'treated vs reference', with a shared network named once in front."""
        t, r = self.treated, self.reference
        if t.scenario is None or t.scenario != r.scenario:
            return f"{t.label(design)} vs {r.label(design)}"
        plain = [replace(g, scenario=None).label(design) for g in (t, r)]
        return f"{design.scenario_label(t.scenario)}: {plain[0]} vs {plain[1]}"

    def panel(self) -> Panel:
        """A bar panel of the metric: reference, then treated."""
        return Panel(self.metric, (self.reference, self.treated))


def equivalence_p(treated: np.ndarray, reference: np.ndarray, margin_pct: float) -> float:
    """p-value of the two one-sided Welch tests (TOST, statsmodels) that the mean difference lies within
    ± ``margin_pct`` % of the reference mean; small p = equivalent."""
    margin = abs(float(np.mean(reference))) * margin_pct / 100.0
    if margin == 0.0:
        return math.nan
    p, _, _ = ttost_ind(np.asarray(treated, dtype=float), np.asarray(reference, dtype=float), -margin, margin,
                        usevar="unequal")
    return float(p)


def _missing(compared: str, metric: str, pairs: list[tuple[np.ndarray, np.ndarray]]) -> dict | None:
    """A failing row if any group has fewer than two runs, else None."""
    if all(a.size >= 2 and b.size >= 2 for a, b in pairs):
        return None
    sizes = "; ".join(f"{a.size} vs {b.size}" for a, b in pairs)
    return {"compared": compared, "metric": metric, "measured": "not enough runs", "n": sizes, "passed": False}


@dataclass(frozen=True)
class Change(Check):
    """One contrast: percent change, Welch test, and the direction and size the finding requires."""

    contrast: Contrast
    direction: str                      # decrease | increase | unchanged
    min_pct: float = 0.0                # decrease / increase: the mean change must reach this size (%)
    max_pct: float | None = None        # decrease / increase: ... and stay within this size (%)
    tolerance_pct: float = 10.0         # unchanged: equivalence margin, ± this share of the reference mean (%)
    below: float | None = None          # also require the treated mean < below

    def criterion(self) -> str:
        if self.direction == "unchanged":
            return f"equivalent within ±{self.tolerance_pct:g} % (TOST, Welch), p < {ALPHA:g}"
        text = f"{self.direction}, p < {ALPHA:g}"
        if self.max_pct is not None:
            text += f", by {self.min_pct:g}–{self.max_pct:g} %"
        elif self.min_pct:
            text += f", by ≥ {self.min_pct:g} %"
        return text + (f", treated mean < {self.below:g}" if self.below is not None else "")

    def evaluate(self, data: ValidationData, experiment: str) -> dict:
        c = self.contrast
        compared = c.label(data.design)
        a, b = c.values(data, experiment)
        if missing := _missing(compared, c.metric, [(a, b)]):
            return missing
        pct, (lo, hi) = stats.percent_change(a, b), stats.percent_change_ci(a, b)
        if self.direction == "unchanged":
            p = equivalence_p(a, b, self.tolerance_pct)
            test = f"TOST (Welch), margin ±{self.tolerance_pct:g} % of the reference mean"
        else:
            t, p = stats.welch_test(a, b)
            test = f"Welch t = {t:.2f}, Hedges' g = {stats.hedges_g(a, b):.2f}"
        return {"compared": compared, "metric": c.metric,
                "measured": f"{_fmt(a.mean())} vs {_fmt(b.mean())}: {_ci_text(pct, lo, hi)}",
                "effect": pct, "ci_low": lo, "ci_high": hi, "unit": "%", "test": test, "p": p,
                "n": f"{a.size} vs {b.size}", "passed": self.passes(pct, p, float(a.mean()))}

    def passes(self, pct: float, p: float, treated_mean: float) -> bool:
        """Whether the change has the required direction, size and significance (equivalence for
        ``unchanged``: ``p`` is then the TOST p-value)."""
        if self.direction == "unchanged":
            return bool(p < ALPHA)
        size = -pct if self.direction == "decrease" else pct
        within = self.max_pct is None or size <= self.max_pct
        return bool(size > 0 and size >= self.min_pct and within and p < ALPHA
                    and (self.below is None or treated_mean < self.below))

    def panels(self) -> list[Panel]:
        return [self.contrast.panel()]


@dataclass(frozen=True)
class RatioOfChanges(Check):
    """The percent change of one contrast relative to another's (e.g. ketamine's, with / without DPCPX)."""

    numerator: Contrast
    denominator: Contrast
    max_ratio: float
    absolute: bool = False              # |ratio| < max (a change of either sign); else ratio ≤ max for a decrease

    def criterion(self) -> str:
        if self.absolute:
            return f"|ratio| < {self.max_ratio:.2g}"
        return f"upper 95 % CI bound of the ratio ≤ {self.max_ratio:.2g} (denominator a decrease)"

    def evaluate(self, data: ValidationData, experiment: str) -> dict:
        design = data.design
        num, den = self.numerator, self.denominator
        compared = f"change ({num.label(design)}) / change ({den.label(design)})"
        (na, nb), (da, db) = num.values(data, experiment), den.values(data, experiment)
        if missing := _missing(compared, num.metric, [(na, nb), (da, db)]):
            return missing
        pct_num, pct_den = stats.percent_change(na, nb), stats.percent_change(da, db)
        ratio = pct_num / pct_den if pct_den else math.nan
        lo, hi = stats.percent_change_ratio_ci((na, nb), (da, db))
        passed = abs(ratio) < self.max_ratio if self.absolute else pct_den < 0 and hi <= self.max_ratio
        metric = num.metric if num.metric == den.metric else f"{num.metric} / {den.metric}"
        return {"compared": compared, "metric": metric,
                "measured": f"{_ci_text(ratio, lo, hi, '', signed=False)} ({pct_num:+.1f} % / {pct_den:+.1f} %)",
                "effect": ratio, "ci_low": lo, "ci_high": hi, "unit": "ratio",
                "test": "ratio of percent changes, bootstrap CI (effect-size criterion)", "p": math.nan,
                "n": f"{na.size} vs {nb.size}; {da.size} vs {db.size}", "passed": bool(passed)}

    def panels(self) -> list[Panel]:
        return [self.denominator.panel(), self.numerator.panel()]


@dataclass(frozen=True)
class LargerImpairment(Check):
    """A treatment impairs the glutamatergic measure more than the GABAergic one (same groups, two metrics)."""

    glu: Contrast
    gaba: Contrast
    sign: int                           # impairment = sign x percent change (-1: a decrease impairs)

    def criterion(self) -> str:
        return f"glutamatergic impairment > GABAergic (CI of the difference > 0), glutamatergic p < {ALPHA:g}"

    def evaluate(self, data: ValidationData, experiment: str) -> dict:
        compared = self.glu.label(data.design)
        metric = f"{self.glu.metric} vs {self.gaba.metric}"
        pairs = [self.glu.values(data, experiment), self.gaba.values(data, experiment)]
        if missing := _missing(compared, metric, pairs):
            return missing
        glu, gaba = (self.sign * stats.percent_change(a, b) for a, b in pairs)
        lo, hi = sorted(self.sign * x for x in stats.percent_change_difference_ci(*pairs))
        _, p = stats.welch_test(*pairs[0])
        what = "decrease" if self.sign < 0 else "increase"
        return {"compared": compared, "metric": metric,
                "measured": f"{what}: glu {self.sign * glu:+.1f} % vs GABA {self.sign * gaba:+.1f} %; "
                            f"difference {_ci_text(glu - gaba, lo, hi, ' pp')}",
                "effect": glu - gaba, "ci_low": lo, "ci_high": hi, "unit": "percentage points",
                "test": "bootstrap CI of the difference; Welch t (glutamatergic)", "p": p,
                "n": f"{pairs[0][0].size} vs {pairs[0][1].size}", "passed": bool(lo > 0 and glu > 0 and p < ALPHA)}

    def panels(self) -> list[Panel]:
        return [self.glu.panel(), self.gaba.panel()]


def tm_release(u: float, tau_s: float, n_sites: int, times_s: np.ndarray) -> np.ndarray:
    """Tsodyks-Markram mean release per pulse, ``n U x_k``, of a train at ``times_s`` starting from a full RRP."""
    x, out = 1.0, []
    for k, t in enumerate(times_s):
        if k:
            x = 1.0 - (1.0 - x) * np.exp(-(t - times_s[k - 1]) / tau_s)
        out.append(n_sites * u * x)
        x *= 1.0 - u
    return np.array(out)


@dataclass
class TrainRelease:
    """Release per stimulated bouton ``observed[run, pulse]`` of a train, and its Tsodyks-Markram prediction."""

    observed: np.ndarray
    times_s: np.ndarray
    predicted: np.ndarray               # n U x_k, vesicles per bouton
    n_sites: int
    n_boutons: int                      # stimulated boutons per run


def tm_observed(data: ValidationData, experiment: str) -> TrainRelease:
    """The first train after the warm-up of every run, with the prediction from the scenario's U and tau_rec."""
    runs = data.runs(experiment)
    pulses = data.long(experiment, "pulses")
    scenario = data.scenario(experiment, runs["scenario"].iloc[0])
    first = pulses[(pulses["stimulus"] == 0) & (pulses["time_s"] > scenario.protocol.warmup_s)]
    table = first.assign(release=per_bouton(first)).pivot(index="run_id", columns="pulse", values="release")
    times = np.sort(first["time_s"].unique())
    ves = scenario.vesicles.glutamatergic
    predicted = tm_release(ves.release_probability, ves.priming_tau_s, ves.release_sites, times)
    return TrainRelease(table.to_numpy(dtype=float), times, predicted, ves.release_sites,
                        int(first["n_stimulated_glu"].min()))


def tm_test(train: TrainRelease) -> dict[str, float]:
    """Per-pulse z of the mean release against Tsodyks-Markram, Bonferroni over pulses.

    Under TM every site is an independent two-state chain, so a bouton's release
    at pulse k is Binomial(n, U x_k) and the mean over ``runs x boutons``
    boutons has variance ``n q (1 - q) / (runs x boutons)`` with ``q = U x_k``.
    """
    n_runs, n_pulses = train.observed.shape
    q = train.predicted / train.n_sites
    se = np.sqrt(train.n_sites * q * (1 - q) / (n_runs * train.n_boutons))
    z = (train.observed.mean(axis=0) - train.predicted) / se
    worst = int(np.argmax(np.abs(z)))
    p_min = 2 * sps.norm.sf(abs(z[worst]))
    return {"max_abs_z": float(abs(z[worst])), "worst_pulse": worst + 1, "z": z,
            "p_bonferroni": float(min(1.0, p_min * n_pulses)),
            "critical_z": float(sps.norm.isf(TM_ALPHA / (2 * n_pulses)))}


@dataclass(frozen=True)
class TsodyksMarkramFit(Check):
    """Mean release per pulse across replicates against the analytic Tsodyks-Markram sequence."""

    def criterion(self) -> str:
        return f"not rejected: Bonferroni-adjusted p ≥ {TM_ALPHA:g}"

    def evaluate(self, data: ValidationData, experiment: str) -> dict:
        train = tm_observed(data, experiment)
        test = tm_test(train)
        deviation = 100 * (train.observed.sum(axis=1) / train.predicted.sum() - 1)
        lo, hi = stats.bootstrap_ci(deviation)
        n_runs, n_pulses = train.observed.shape
        return {"compared": f"release per pulse of a {n_pulses}-pulse train vs Tsodyks-Markram",
                "metric": "release per stimulated bouton, every pulse",
                "measured": f"summed over the train {_ci_text(float(deviation.mean()), lo, hi)}",
                "effect": float(deviation.mean()), "ci_low": lo, "ci_high": hi, "unit": "%",
                "test": f"binomial z per pulse: max |z| = {test['max_abs_z']:.2f} (pulse {test['worst_pulse']}), "
                        f"Bonferroni critical {test['critical_z']:.2f}",
                "p": test["p_bonferroni"], "n": f"{n_runs} runs x {train.n_boutons} boutons",
                "passed": bool(test["p_bonferroni"] >= TM_ALPHA)}


@dataclass(frozen=True)
class HillFit(Check):
    """Informational: Hill fit of ``metric`` against the ketamine concentration in one scenario."""

    metric: str
    scenario: str

    def criterion(self) -> str:
        return "informational (no pass/fail)"

    def evaluate(self, data: ValidationData, experiment: str) -> dict:
        fit = hill_fits(data, experiment, self.metric)
        fit = fit[fit["scenario"] == self.scenario].iloc[0]
        ok = np.isfinite(fit["ec50"])
        measured = (f"EC50 = {_fmt(fit['ec50'])} µM [{_fmt(fit['ec50_ci_low'])}, {_fmt(fit['ec50_ci_high'])}], "
                    f"Emax = {fit['emax_pct']:+.1f} %" if ok else str(fit["status"]))
        return {"compared": f"ketamine 0-10 µM, {self.scenario.replace('_', '-')}", "metric": self.metric,
                "measured": measured, "effect": fit["ec50"], "ci_low": fit["ec50_ci_low"],
                "ci_high": fit["ec50_ci_high"], "unit": "µM (EC50)",
                "test": f"Hill fit y0 + Emax·c/(c + EC50), bootstrap CI; R² = {_fmt(fit['r_squared'])}",
                "p": math.nan, "n": f"{int(fit['n_points'])} runs, {int(fit['n_doses'])} doses", "passed": None}


def hill_fits(data: ValidationData, experiment: str, metric: str) -> pd.DataFrame:
    """Hill fits of ``metric`` against ketamine per scenario (ketamine-only runs and vehicle), cached."""
    if (experiment, metric) not in data.hill:
        data.hill[(experiment, metric)] = stats.dose_response(data.runs(experiment), [metric])
    return data.hill[(experiment, metric)]
