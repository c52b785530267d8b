"""Figures of the validation: one per finding (bars with replicate points and bootstrap 95 % CIs, plus time
courses with 95 % bands where the finding is about time), and the ketamine dose-response curves with their
Hill fits. Style, colours and helpers are those of :mod:`analysis.report_figures`.
"""

from __future__ import annotations

import textwrap
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis import report_figures as rf
from analysis import stats
from analysis.figures import COLOURS
from analysis.mpl_text import plain, plain_all
from analysis.validation_checks import Group, Panel, hill_fits, tm_observed, tm_test
from analysis.validation_findings import Finding
from analysis.validation_measures import BASELINE_WINDOW_S, EARLY_WINDOW_S, ValidationData, per_bouton

PANEL_HEIGHT = 3.6             # inches
MIN_PANEL_WIDTH = 3.9          # inches; bar panels widen with their number of groups
MIN_FIGURE_WIDTH = 8.0
MAX_COLUMNS = 3
#: the readout whose label and unit the per-pulse panels carry (release per stimulated bouton at a pulse)
EVOKED_PER_PULSE = "evoked_release_glu_per_pulse"


def merged_panels(finding: Finding) -> list[Panel]:
    """The bar panels of a finding's checks, one per experiment and metric, with the union of their groups."""
    groups: dict[tuple[str, str], list[Group]] = {}
    for check in finding.checks:
        for panel in check.panels():
            known = groups.setdefault((check.experiment or finding.experiment, panel.metric), [])
            known.extend(g for g in panel.groups if g not in known)
    return [Panel(m, tuple(g), e) for (e, m), g in groups.items()]


def _group_colour(group: Group, groups: tuple[Group, ...], design: rf.Design):
    if group.level:
        levelled = [g for g in groups if g.level]
        return rf.OTHER_COLOURS[levelled.index(group) % len(rf.OTHER_COLOURS)]
    return design.colour(group.condition)


def bar_panel(ax: plt.Axes, data: ValidationData, panel: Panel) -> None:
    """Bars (group means), replicate points and bootstrap 95 % CIs of one metric."""
    experiment = panel.experiment
    design = data.design
    values = [g.values(data, experiment, panel.metric) for g in panel.groups]
    factor, prefix = rf.scale(np.concatenate(values) if values else [])
    for i, (group, v) in enumerate(zip(panel.groups, values, strict=True)):
        if v.size == 0:
            continue
        v = v / factor
        colour = _group_colour(group, panel.groups, design)
        edge = rf.SCENARIO_COLOURS.get(group.scenario or "", "0.2")
        ax.bar(i, v.mean(), width=0.7, color=colour, alpha=0.35, edgecolor=edge, lw=1.2,
               hatch="//" if group.scenario == "depression_like" else None)
        ax.scatter(i + np.linspace(-0.18, 0.18, v.size), v, s=13, color=colour, lw=0.4, edgecolor="k", zorder=3)
        lo, hi = stats.bootstrap_ci(v)
        if np.isfinite(lo):
            ax.errorbar([i], [v.mean()], yerr=[[v.mean() - lo], [hi - v.mean()]], color="k", capsize=4, lw=1.2,
                        zorder=4)
    ax.set_xticks(range(len(panel.groups)), plain_all(g.label(design, wrap=True) for g in panel.groups), fontsize=7)
    ax.set_ylabel(plain(rf.scaled_label(panel.metric, prefix, width=30)))
    ax.set_xlim(-0.6, len(panel.groups) - 0.4)


def _band(ax: plt.Axes, x, mean, sd, n, colour, label: str) -> None:
    half = rf.t_band(np.asarray(sd, dtype=float), np.asarray(n, dtype=float))
    ax.fill_between(x, mean - half, mean + half, color=colour, alpha=0.2, lw=0)
    ax.plot(x, mean, color=colour, lw=1.3, label=plain(label))


def _timecourse(ax, data: ValidationData, experiment: str, column: str, smooth_s: float, split: str = "condition",
                scenario: str | None = None) -> None:
    """Mean over replicates of a smoothed time-series column, with its t-based 95 % band, per condition."""
    ts = data.long(experiment, "timeseries", ["time_s", column])
    if scenario is not None:
        ts = ts[ts["scenario"] == scenario]
    design = data.design
    factor, prefix = rf.scale(ts[column])
    ts = ts.assign(**{column: ts[column] / factor})
    dt = float(np.median(np.diff(np.unique(ts["time_s"]))))
    for name, sub in ts.groupby(split, sort=False):
        agg = rf.smoothed_mean(sub, column, max(1, round(smooth_s / dt)))
        _band(ax, agg.index, agg["mean"], agg["sd"], agg["n"], design.colour(name), design.label(name))
    ax.set_xlabel("time (s)")
    ax.set_ylabel(plain(rf.scaled_label(column, prefix, width=30)))
    ax.legend(frameon=False, fontsize=7)


def glutamate_timecourse(ax: plt.Axes, data: ValidationData, finding: Finding) -> None:
    """Network glutamate release over time, the drug's application and the baseline and early windows."""
    _timecourse(ax, data, finding.experiment, "glutamate_released_per_s", 0.5)
    scenario = data.scenario(finding.experiment, "normal")
    rf.shade_time(ax, scenario.protocol.warmup_s, [])
    for (lo, hi), colour in ((BASELINE_WINDOW_S, "#2e86c1"), (EARLY_WINDOW_S, "#c0392b")):
        ax.axvspan(lo, hi, color=colour, alpha=0.1, lw=0)
    applied = scenario.condition("ketamine_10uM").apply_at_s
    ax.axvline(applied, color="k", lw=0.8, ls="--")
    low, high = ax.get_ylim()
    baseline = np.mean([line.get_ydata()[(line.get_xdata() > BASELINE_WINDOW_S[0])
                                         & (line.get_xdata() <= BASELINE_WINDOW_S[1])].mean() for line in ax.lines
                        if len(line.get_xdata()) > 2])
    ax.set_ylim(low, min(high, 1.35 * baseline))
    ax.set_title(f"drug at {applied:g} s; shaded: baseline and early windows; test-train peaks clipped", fontsize=8)


def phluorin(ax: plt.Axes, data: ValidationData, finding: Finding) -> None:
    """pHluorin (surface fraction) of glutamatergic boutons, normal network, vehicle vs ketamine."""
    _timecourse(ax, data, finding.experiment, "phluorin_glu", 0.2, scenario="normal")
    ax.set_xlim(18, None)
    ax.set_title("normal network: loading train 22-24 s, decay fitted 24-54 s", fontsize=8)


def train_pulses(ax: plt.Axes, data: ValidationData, finding: Finding) -> None:
    """Release per stimulated bouton at each pulse of the sustained train, by endocytosis time constant."""
    pulses = data.long(finding.experiment, "pulses")
    pulses = pulses.assign(release=per_bouton(pulses))
    key = stats.level_columns(pulses)[0]
    for i, (level, sub) in enumerate(pulses.groupby(key, sort=True)):
        agg = sub.groupby("time_s")["release"].agg(["mean", "std", "count"])
        number = np.arange(1, len(agg) + 1)
        _band(ax, number, agg["mean"], agg["std"], agg["count"], rf.OTHER_COLOURS[i], f"τ_endo {level:g} s")
    ax.set_xlabel("pulse number (20 Hz)")
    ax.set_ylabel(rf.scaled_label(EVOKED_PER_PULSE, width=30))
    ax.legend(frameon=False, fontsize=7)


def tm_pulses(ax: plt.Axes, data: ValidationData, finding: Finding) -> None:
    """Observed mean release per pulse (95 % CI over runs) and the analytic Tsodyks-Markram sequence."""
    train = tm_observed(data, finding.experiment)
    observed, predicted = train.observed, train.predicted
    number = np.arange(1, predicted.size + 1)
    half = rf.t_band(observed.std(axis=0, ddof=1), np.full(predicted.size, observed.shape[0]))
    ax.errorbar(number, observed.mean(axis=0), yerr=half, fmt="o", ms=4, color=COLOURS["glu"], capsize=2,
                label=f"simulated (mean, 95 % CI, {observed.shape[0]} runs)", zorder=3)
    ax.plot(number, predicted, color="k", lw=1.2, label="Tsodyks-Markram n·U·x_k")
    ax.set_xlabel("pulse number")
    ax.set_ylabel(rf.scaled_label(EVOKED_PER_PULSE, width=30))
    ax.legend(frameon=False, fontsize=7)


def tm_deviation(ax: plt.Axes, data: ValidationData, finding: Finding) -> None:
    """Deviation of the mean release from Tsodyks-Markram per pulse, with the binomial 95 % band under TM."""
    train = tm_observed(data, finding.experiment)
    number = np.arange(1, train.predicted.size + 1)
    z = tm_test(train)["z"]
    se_pct = 100 * (train.observed.mean(axis=0) / train.predicted - 1) / np.where(z == 0, np.nan, z)
    ax.fill_between(number, -1.96 * np.abs(se_pct), 1.96 * np.abs(se_pct), color="0.85", lw=0,
                    label="95 % band under Tsodyks-Markram")
    ax.plot(number, 100 * (train.observed.mean(axis=0) / train.predicted - 1), "o-", ms=4, color=COLOURS["glu"],
            label="simulated mean")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("pulse number")
    ax.set_ylabel("deviation from Tsodyks-Markram (%)")
    ax.legend(frameon=False, fontsize=7, loc="lower left")


EXTRA_PANELS = {"glutamate_timecourse": glutamate_timecourse, "phluorin": phluorin, "train_pulses": train_pulses,
                "tm_pulses": tm_pulses, "tm_deviation": tm_deviation}


def finding_figure(finding: Finding, data: ValidationData, rows: pd.DataFrame) -> rf.ReportFigure:
    """The figure of one finding: its extra (time-course) panels, then a bar panel per metric compared."""
    extras = [e for e in finding.extra_panels if e in EXTRA_PANELS]
    bars = merged_panels(finding)
    n = len(extras) + len(bars)
    cols = min(n, MAX_COLUMNS)
    nrows = -(-n // cols)
    width = max([MIN_PANEL_WIDTH, *(0.95 * len(p.groups) + 1.4 for p in bars)])
    results = "; ".join(f"{r.id} {r.result} ({r.measured})" for r in rows.itertuples())
    title = f"Finding {finding.key}: {finding.title}"
    with rf.style():
        fig, axes = plt.subplots(nrows, cols, figsize=(max(width * cols, MIN_FIGURE_WIDTH),
                                                       PANEL_HEIGHT * nrows + 0.9), squeeze=False)
        flat = list(axes.ravel())
        for ax, name in zip(flat, extras, strict=False):
            EXTRA_PANELS[name](ax, data, finding)
        for ax, panel in zip(flat[len(extras):], bars, strict=False):
            bar_panel(ax, data, panel)
        for ax in flat[n:]:
            ax.set_visible(False)
        footer = textwrap.fill(f"Expected: {finding.expected}. Result: {results}", 170)
        fig.text(0.5, 0.005, plain(footer), ha="center", va="bottom", fontsize=7.5)
        rf.finish(fig, title, (0, 0.035 * (1 + footer.count("\n")) / nrows ** 0.5, 1, 1))
    caption = ("Bars: group means; dots: replicate runs; error bars: bootstrap 95 % CI of the mean; bands: t-based "
               "95 % CI over replicates.")
    return rf.ReportFigure(f"finding_{finding.key.zfill(2)}", title, caption, fig)


def dose_figures(finding: Finding, data: ValidationData) -> list[rf.ReportFigure]:
    """Ketamine dose-response of each metric of the finding's Hill checks (analysis.report_figures.dose_response)."""
    runs = data.runs(finding.experiment)
    metrics = list(dict.fromkeys(c.metric for c in finding.checks))
    design = replace(data.design, scenarios=[s for s in data.design.scenarios if s in set(runs["scenario"])])
    figures = []
    for metric in metrics:
        fig = rf.dose_response(runs, hill_fits(data, finding.experiment, metric), metric, design)
        figures.append(rf.ReportFigure(f"dose_response_{metric}", fig.title, fig.caption, fig.fig))
    return figures


def figures(finding: Finding, data: ValidationData, rows: pd.DataFrame) -> list[rf.ReportFigure]:
    """The figures of one finding: its dose-response curves, or one figure of its panels with its ``rows``."""
    if "dose_response" in finding.extra_panels:
        return dose_figures(finding, data)
    return [finding_figure(finding, data, rows)]
