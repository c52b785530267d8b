"""Figures of a batch report: time courses, group comparisons, dose-response curves, pool composition, effects.

Every function takes tables already loaded (``summary.parquet`` rows, a long
time-series frame, the statistics of :mod:`analysis.stats`) and returns a
:class:`ReportFigure` (a matplotlib Figure with its title and caption).
Nothing is random: replicate points are spread with fixed offsets.
Colours and labels of cell types and pools are those of :mod:`analysis.figures`.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats as sps  # noqa: E402

from analysis.figures import COLOURS, LABELS, PNG_METADATA, POOL_COLOURS  # noqa: E402
from analysis.mpl_text import plain, plain_all  # noqa: E402
from analysis.stats import (  # noqa: E402
    DOSE_COLUMN,
    DRUG_COLUMNS,
    condition_label,
    drug_name,
    hill,
    ketamine_only,
    label_of,
    name_of,
    unit_of,
)
from sim.model import readout_table  # noqa: E402

SCENARIO_COLOURS = {"normal": "#34495e", "depression_like": "#e67e22"}
OTHER_COLOURS = ("#16a085", "#8e44ad", "#c0392b", "#2e86c1", "#7f8c8d")
DPI = 110
MAX_POINTS = 800          # points per time-course line
STYLE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 8,
         "xtick.labelsize": 9, "ytick.labelsize": 9, "axes.spines.top": False, "axes.spines.right": False}
POOLS = tuple(POOL_COLOURS)


@dataclass
class ReportFigure:
    key: str
    title: str
    caption: str
    fig: plt.Figure

    def png(self) -> bytes:
        """The figure as PNG bytes (no time stamp in the metadata: identical bytes for identical data)."""
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=DPI, metadata=PNG_METADATA)
        return buf.getvalue()


# --------------------------------------------------------------------------- groups, colours, labels


#: conditions other than vehicle, in order: Okabe-Ito's seven colours (Okabe & Ito 2008, "Color Universal Design";
#: Wong 2011, Nat. Methods 8:441) without black, then Paul Tol's muted scheme (Tol 2021, SRON/EPS/TN/09-002)
CONDITION_PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#F0E442",
                     "#882255", "#44AA99", "#999933", "#AA4499", "#332288", "#DDCC77", "#117733", "#88CCEE")
VEHICLE_COLOUR = "#555555"


@dataclass
class Design:
    """Order, colours and labels of the scenarios and conditions of a batch."""

    scenarios: list[str]
    conditions: list[str]
    drugs: dict[str, dict[str, float]]      # condition -> bath concentrations

    @classmethod
    def from_summary(cls, summary: pd.DataFrame, scenarios: Sequence[str] = (), conditions: Sequence[str] = ()):
        scen = [s for s in scenarios if s in set(summary["scenario"])] or list(dict.fromkeys(summary["scenario"]))
        cond = [c for c in conditions if c in set(summary["condition"])] or list(dict.fromkeys(summary["condition"]))
        cols = [c for c in DRUG_COLUMNS if c in summary]
        drugs = {c: summary.loc[summary["condition"] == c, cols].iloc[0].fillna(0).to_dict() for c in cond}
        return cls(scen, cond, drugs)

    def scenario_colour(self, name: str) -> str:
        others = [s for s in self.scenarios if s not in SCENARIO_COLOURS]
        return SCENARIO_COLOURS.get(name) or OTHER_COLOURS[others.index(name) % len(OTHER_COLOURS)]

    @staticmethod
    def scenario_label(name: str) -> str:
        return name.replace("_", "-")

    def label(self, condition: str, wrap: bool = False) -> str:
        """'ketamine 10 µM + DPCPX 0.1 µM' (and ' | key=value' of swept levels folded into the name)."""
        levels = condition.partition(" | ")[2]
        text = condition_label(self.drugs.get(condition, {}), condition.partition(" | ")[0])
        text += f" | {levels}" if levels else ""
        return text.replace(" + ", "\n+ ").replace(" | ", "\n") if wrap else text

    def colour(self, condition: str) -> str:
        """Each condition its own colour, the same in every figure: vehicle grey, the others in the design's order
        from a colour-blind-safe palette (Okabe & Ito 2008, then Tol's muted scheme)."""
        others = [c for c in self.conditions if c.partition(" | ")[0] != "vehicle" or " | " in c]
        if condition not in others:
            return VEHICLE_COLOUR
        return CONDITION_PALETTE[others.index(condition) % len(CONDITION_PALETTE)]


def finish(fig: plt.Figure, title: str, rect: tuple = (0, 0, 1, 1)) -> None:
    """Title on the figure (slides show it), then a tight layout inside ``rect``."""
    fig.suptitle(plain(title), fontsize=12, fontweight="bold")
    if fig.get_layout_engine() is None:
        fig.tight_layout(rect=rect)


def fitted_title(fig: plt.Figure, title: str, fontsize: float = 12, share: float = 0.96) -> str:
    """``title`` wrapped at spaces so that, drawn bold at ``fontsize`` (pt) as :func:`finish` draws it, its widest
    line spans at most ``share`` of the figure's width (measured with the figure's renderer)."""
    probe = fig.text(0, 0, plain(title), fontsize=fontsize, fontweight="bold")
    renderer = fig.canvas.get_renderer()
    text = title
    for _ in range(6):
        drawn = probe.get_window_extent(renderer).width
        if drawn <= share * fig.bbox.width:
            break
        longest = max(len(line) for line in text.splitlines())
        text = textwrap.fill(title, max(12, int(longest * share * fig.bbox.width / drawn)))
        probe.set_text(plain(text))
    probe.remove()
    return text


def finish_fitted(fig: plt.Figure, title: str, rect: tuple = (0, 0, 1, 1)) -> None:
    """:func:`finish` with the title wrapped to the figure's width (:func:`fitted_title`): it never runs off."""
    finish(fig, fitted_title(fig, title), rect)


def style():
    """The report's matplotlib style (``STYLE``) as a context manager: figures made inside it use it."""
    return plt.rc_context(STYLE)


def _legend_below(fig: plt.Figure, handles, labels, ncol: int) -> int:
    """A legend centred below the panels in at most ``ncol`` columns, fewer where it would be wider than the
    figure; returns its number of rows."""
    renderer = fig.canvas.get_renderer()
    for n in range(max(1, ncol), 0, -1):
        legend = fig.legend(handles, plain_all(labels), loc="lower center", ncol=n, frameon=False,
                            bbox_to_anchor=(0.5, 0.0))
        if n == 1 or legend.get_window_extent(renderer).width <= 0.98 * fig.bbox.width:
            return math.ceil(len(labels) / n)
        legend.remove()
    return len(labels)


SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def scale(values) -> tuple[float, str]:
    """A power of 1000 that brings large values (≥ 10⁴) to a readable range, and its text ('10⁹')."""
    v = np.abs(pd.to_numeric(pd.Series(np.ravel(values)), errors="coerce").to_numpy(dtype=float))
    top = np.nanmax(v) if np.isfinite(v).any() else 0.0
    if top < 1e4:
        return 1.0, ""
    k = 3 * int(np.floor(np.log10(top) / 3))
    return 10.0 ** k, "10" + str(k).translate(SUPERSCRIPT)


def scaled_label(readout: str, prefix: str = "", width: int = 34) -> str:
    """The y-axis label of a readout, unit multiplied by ``prefix`` ('10⁹ molecules/s'), wrapped to fit the axis."""
    unit = f"{prefix} {unit_of(readout)}".strip()
    name = textwrap.fill(name_of(readout), width)
    if not unit:
        return name
    return f"{name} ({unit})" if len(name) + len(unit) + 3 <= width else f"{name}\n({unit})"


def _scaled(frame: pd.DataFrame, columns, factor: float, rows=None) -> pd.DataFrame:
    if factor == 1.0 or frame.empty:
        return frame
    frame = frame.copy()
    mask = slice(None) if rows is None else rows
    for col in columns:
        if col in frame:
            frame.loc[mask, col] = frame.loc[mask, col].astype(float) / factor
    return frame


def t_band(sd: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Half-width of the t-based 95 % CI of a mean (0 where n < 2)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        half = sps.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    return np.where(n > 1, half, 0.0)


# --------------------------------------------------------------------------- time courses


def timecourse(ts: pd.DataFrame, readout: str, design: Design, warmup_s: float, smooth_s: float = 0.5,
               stimuli_s: Sequence[float] = ()) -> ReportFigure:
    """One readout over time: a panel per scenario, a line per condition (mean ± 95 % CI band over replicates)."""
    factor, prefix = scale(ts[readout])
    ts = _scaled(ts, [readout], factor)
    with style():
        fig, axes = plt.subplots(1, len(design.scenarios), figsize=(5 * len(design.scenarios) + 1, 4.2),
                                 sharey=True, squeeze=False)
        dt = float(np.median(np.diff(np.unique(ts["time_s"])))) if ts["time_s"].nunique() > 1 else 1.0
        window = max(1, round(smooth_s / dt))
        handles = {}
        for ax, scenario in zip(axes[0], design.scenarios, strict=True):
            sub = ts[ts["scenario"] == scenario]
            for condition in design.conditions:
                agg = smoothed_mean(sub[sub["condition"] == condition], readout, window)
                if agg.empty:
                    continue
                half = t_band(agg["sd"].to_numpy(), agg["n"].to_numpy())
                low = agg["mean"] - half
                if (ts[readout] >= 0).all():
                    low = low.clip(lower=0)         # a non-negative quantity: no band below 0
                colour = design.colour(condition)
                ax.fill_between(agg.index, low, agg["mean"] + half, color=colour, alpha=0.2, lw=0)
                (handles[condition],) = ax.plot(agg.index, agg["mean"], color=colour, lw=1.3)
            shade_time(ax, warmup_s, stimuli_s)
            ax.set_title(plain(design.scenario_label(scenario)))
            ax.set_xlabel("time (s)")
        axes[0, 0].set_ylabel(plain(scaled_label(readout, prefix)))
        order = [c for c in design.conditions if c in handles]
        rows = _legend_below(fig, [handles[c] for c in order], [design.label(c) for c in order], min(len(order), 3))
        title = f"Time course: {label_of(readout)}"
        finish_fitted(fig, title, (0, 0.06 * rows, 1, 1))
    caption = (f"{label_of(readout)} over time, mean of the replicates with its 95 % CI (t-based band); each run "
               f"smoothed with a centred {window * dt:g} s running mean. Grey: warm-up (excluded from the statistics)"
               + ("; dotted lines: test stimuli." if len(stimuli_s) else "."))
    return ReportFigure(f"timecourse_{readout}", title, caption, fig)


def smoothed_mean(runs: pd.DataFrame, readout: str, window: int) -> pd.DataFrame:
    """Each run's ``readout`` smoothed by a centred running mean of ``window`` rows, then its mean, SD and count
    over runs at each ``time_s`` (columns ``mean``, ``sd``, ``n``; in the readout's units), thinned to about
    ``MAX_POINTS`` times."""
    if runs.empty:
        return pd.DataFrame()
    smooth = runs.groupby("run_id", sort=False)[readout].transform(
        lambda s: s.rolling(window, min_periods=1, center=True).mean())
    agg = smooth.groupby(runs["time_s"]).agg(["mean", "std", "count"]).rename(columns={"std": "sd", "count": "n"})
    step = max(1, len(agg) // MAX_POINTS, window // 4)     # smoothed curves: a few points per window suffice
    return agg.iloc[::step]


def shade_time(ax: plt.Axes, warmup_s: float, stimuli_s: Sequence[float]) -> None:
    """Grey the warm-up (0 to ``warmup_s``, s) of a time axis and mark the stimuli at ``stimuli_s`` (s)."""
    if warmup_s > 0:
        ax.axvspan(0, warmup_s, color="0.92", zorder=0)
    for t in stimuli_s:
        ax.axvline(t, color="0.5", lw=0.8, ls=":", zorder=0)


# --------------------------------------------------------------------------- comparisons


def comparison(summary: pd.DataFrame, groups: pd.DataFrame, readout: str, design: Design) -> ReportFigure:
    """One readout by condition: replicate points, mean and bootstrap 95 % CI, scenarios side by side."""
    n_s = len(design.scenarios)
    width = 0.7 / n_s
    factor, prefix = scale(summary[readout])
    summary = _scaled(summary, [readout], factor)
    groups = _scaled(groups, ["mean", "ci_low", "ci_high"], factor, groups["readout"] == readout)
    with style():
        fig, ax = plt.subplots(figsize=(max(6.5, 1.3 * len(design.conditions) + 2), 4.5))
        for i, scenario in enumerate(design.scenarios):
            colour = design.scenario_colour(scenario)
            for j, condition in enumerate(design.conditions):
                x = j + (i - (n_s - 1) / 2) * width
                _group_points(ax, summary, groups, readout, scenario, condition, x, width, colour)
            ax.plot([], [], "o", color=colour, label=plain(design.scenario_label(scenario)))
        ax.set_xticks(range(len(design.conditions)), plain_all(design.label(c, wrap=True) for c in design.conditions))
        ax.set_ylabel(plain(scaled_label(readout, prefix)))
        ax.set_xlim(-0.6, len(design.conditions) - 0.4)
        ax.legend(frameon=False, loc="best")
        title = f"Comparison: {label_of(readout)}"
        finish(fig, title)
    caption = (f"{label_of(readout)} (post-warm-up mean of each run). Small dots: replicate runs; large marker and "
               "bar: group mean and its bootstrap 95 % CI.")
    return ReportFigure(f"compare_{readout}", title, caption, fig)


def _group_points(ax, summary, groups, readout, scenario, condition, x, width, colour) -> None:
    runs = summary[(summary["scenario"] == scenario) & (summary["condition"] == condition)]
    values = pd.to_numeric(runs.sort_values("replicate")[readout], errors="coerce").dropna().to_numpy()
    if values.size == 0:
        return
    offsets = np.linspace(-0.3, 0.3, values.size) * width if values.size > 1 else np.zeros(1)
    ax.scatter(x + offsets, values, s=14, color=colour, alpha=0.55, lw=0, zorder=2)
    g = groups[(groups["scenario"] == scenario) & (groups["condition"] == condition) & (groups["readout"] == readout)]
    if g.empty:
        return
    g = g.iloc[0]
    err = None
    if np.isfinite(g["ci_low"]):
        err = [[g["mean"] - g["ci_low"]], [g["ci_high"] - g["mean"]]]
    ax.errorbar([x], [g["mean"]], yerr=err, fmt="D", color=colour, ms=6, capsize=4, lw=1.5, zorder=3,
                markeredgecolor="white")


# --------------------------------------------------------------------------- dose-response


def dose_response(summary: pd.DataFrame, fits: pd.DataFrame, readout: str, design: Design) -> ReportFigure:
    """Readout against ketamine (log axis; vehicle drawn at the left as 0), the Hill fit and EC50, per scenario."""
    data = ketamine_only(summary)
    doses = np.unique(data[DOSE_COLUMN].to_numpy(dtype=float))
    positive = doses[doses > 0]
    zero_x = positive.min() / 4
    factor, prefix = scale(summary[readout])
    summary, data = _scaled(summary, [readout], factor), _scaled(data, [readout], factor)
    fits = _scaled(fits, ["y0", "emax"], factor, fits["readout"] == readout)
    with style():
        fig, axes = plt.subplots(1, len(design.scenarios), figsize=(5 * len(design.scenarios) + 1, 4.3),
                                 sharey=True, squeeze=False)
        for ax, scenario in zip(axes[0], design.scenarios, strict=True):
            note = _dose_panel(ax, summary, data, fits, readout, scenario, design, zero_x)
            ax.set_xscale("log")
            ticks = [zero_x, *positive]
            ax.set_xticks(ticks, ["0", *[f"{d:g}" for d in positive]])
            ax.minorticks_off()
            ax.set_xlabel(f"{drug_name(DOSE_COLUMN)} ({unit_of(DOSE_COLUMN)})")
            ax.set_title(plain(f"{design.scenario_label(scenario)}\n{note}"), fontsize=10)
        axes[0, 0].set_ylabel(plain(scaled_label(readout, prefix)))
        _dose_legend(fig, axes[0])
        title = f"Dose-response: {label_of(readout)}"
        finish(fig, title)
    caption = (f"{label_of(readout)} against bath ketamine (runs with no other drug; vehicle at '0'). Dots: runs; "
               "markers with bars: mean and bootstrap 95 % CI; line: Hill fit y0 + Emax·c/(c + EC50) (n = 1); "
               "dashed line and shaded band: EC50 and its bootstrap 95 % CI. Open diamond: ketamine with an "
               "antagonist (not fitted).")
    return ReportFigure(f"dose_{readout}", title, caption, fig)


def _dose_legend(fig: plt.Figure, axes) -> None:
    """One legend for the fit and the antagonist markers of all panels (if there are any)."""
    found = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            found.setdefault(label, handle)
    if found:
        axes[-1].legend(list(found.values()), list(found), frameon=False, loc="best")


def _dose_panel(ax, summary, data, fits, readout, scenario, design, zero_x) -> str:
    """Draws one scenario's points and fit; returns a one-line note on the fit for the panel title."""
    colour = design.scenario_colour(scenario)
    sub = data[data["scenario"] == scenario]
    x = sub[DOSE_COLUMN].to_numpy(dtype=float)
    x = np.where(x > 0, x, zero_x)
    y = pd.to_numeric(sub[readout], errors="coerce").to_numpy(dtype=float)
    ax.scatter(x * np.exp(np.linspace(-0.06, 0.06, x.size)), y, s=12, color=colour, alpha=0.45, lw=0)
    for dose in np.unique(x):
        v = y[(x == dose) & np.isfinite(y)]
        if v.size:
            _mean_ci_marker(ax, dose, v, colour, "o")
    _antagonist_points(ax, summary, readout, scenario, design)
    fit = fits[(fits["scenario"] == scenario) & (fits["readout"] == readout)]
    if fit.empty or not np.isfinite(fit.iloc[0]["ec50"]):
        status = str(fit.iloc[0]["status"]) if not fit.empty else "no fit"
        return "no Hill fit: " + ("too few doses" if status.startswith("not fitted") else "EC50 not determined"
                                  if status.startswith("not determined") else status)
    f = fit.iloc[0]
    grid = np.geomspace(zero_x, x.max() * 1.2, 200)
    ax.plot(grid, hill(np.where(grid > zero_x, grid, 0), f["y0"], f["emax"], f["ec50"], f["n_hill"]),
            color=colour, lw=1.5, label="Hill fit")
    ax.axvline(f["ec50"], color=colour, ls="--", lw=1)
    lo, hi = f["ec50_ci_low"], f["ec50_ci_high"]
    if np.isfinite(lo) and lo > 0:
        ax.axvspan(lo, min(hi, x.max() * 1.2), color=colour, alpha=0.08, lw=0)
    return f"EC50 = {f['ec50']:.2g} {unit_of(DOSE_COLUMN)} [{lo:.2g}, {hi:.2g}], Emax = {f['emax_pct']:+.1f} %"


def _mean_ci_marker(ax, x: float, values: np.ndarray, colour, marker: str, **kw) -> None:
    from analysis.stats import bootstrap_ci

    lo, hi = bootstrap_ci(values)
    mean = values.mean()
    err = [[mean - lo], [hi - mean]] if np.isfinite(lo) else None
    ax.errorbar([x], [mean], yerr=err, fmt=marker, color=colour, ms=6, capsize=3, zorder=3, **kw)


def _antagonist_points(ax, summary, readout, scenario, design) -> None:
    """Ketamine together with another drug (e.g. DPCPX), drawn at its ketamine concentration."""
    others = [c for c in DRUG_COLUMNS if c != DOSE_COLUMN and c in summary]
    sub = summary[(summary["scenario"] == scenario) & (summary["status"] == "ok") & (summary[DOSE_COLUMN] > 0)
                  & (summary[others].fillna(0).sum(axis=1) > 0)]
    for condition, runs in sub.groupby("condition", sort=False):
        values = pd.to_numeric(runs[readout], errors="coerce").dropna().to_numpy()
        if values.size:
            _mean_ci_marker(ax, float(runs[DOSE_COLUMN].iloc[0]) * 1.12, values, design.colour(condition), "D",
                            mfc="white", label=plain(design.label(condition)))


# --------------------------------------------------------------------------- pool composition


def pool_composition(groups: pd.DataFrame, design: Design) -> ReportFigure:
    """Stacked mean pools per bouton by condition: a row per cell type, a column per scenario."""
    with style():
        fig, axes = plt.subplots(2, len(design.scenarios), figsize=(4.5 * len(design.scenarios) + 1.5, 7),
                                 sharey="row", squeeze=False)
        for row, t in enumerate(("glu", "gaba")):
            for col, scenario in enumerate(design.scenarios):
                _pool_panel(axes[row, col], groups, t, scenario, design, labels=row == 1)
                axes[row, col].set_title(plain(f"{design.scenario_label(scenario)}: {LABELS[t]} boutons"),
                                         color=COLOURS[t])
            axes[row, 0].set_ylabel(unit_of(f"rrp_{t}"))
        handles = [plt.Rectangle((0, 0), 1, 1, color=POOL_COLOURS[p]) for p in reversed(POOLS)]
        _legend_below(fig, handles, [readout_table.readout(f"{p}_glu").quantity_label for p in reversed(POOLS)], 4)
        finish(fig, "Pool composition", (0, 0.05, 1, 1))
    caption = ("Vesicle pool composition of the average bouton (post-warm-up means over replicates): readily "
               "releasable (RRP), surface (fused, awaiting endocytosis), recycling and reserve pools.")
    return ReportFigure("pools", "Pool composition", caption, fig)


def _pool_panel(ax, groups: pd.DataFrame, t: str, scenario: str, design: Design, labels: bool) -> None:
    bottom = np.zeros(len(design.conditions))
    for pool in POOLS:
        values = np.array([_group_mean(groups, scenario, c, f"{pool}_{t}") for c in design.conditions])
        ax.bar(range(len(design.conditions)), values, bottom=bottom, color=POOL_COLOURS[pool], width=0.7)
        bottom += np.nan_to_num(values)
    many = len(design.conditions) > 3
    if not labels:                      # same conditions in both rows: label the bottom row only
        ax.set_xticks(range(len(design.conditions)), [""] * len(design.conditions))
        return
    ax.set_xticks(range(len(design.conditions)), plain_all(design.label(c, wrap=not many) for c in design.conditions),
                  fontsize=8, rotation=35 if many else 0, ha="right" if many else "center",
                  rotation_mode="anchor" if many else "default")


def _group_mean(groups: pd.DataFrame, scenario: str, condition: str, readout: str) -> float:
    g = groups[(groups["scenario"] == scenario) & (groups["condition"] == condition) & (groups["readout"] == readout)]
    return float(g["mean"].iloc[0]) if len(g) else float("nan")


# --------------------------------------------------------------------------- effect overview


def effect_heatmap(effects: pd.DataFrame, readouts: Sequence[str], design: Design, reference: str) -> ReportFigure:
    """Percent change of every readout against the reference condition of the same scenario."""
    within = effects[effects["comparison"] == "within_scenario"]
    columns = [(s, c) for s in design.scenarios for c in design.conditions if c != reference]
    table = np.full((len(readouts), len(columns)), np.nan)
    solid = np.zeros_like(table, dtype=bool)
    for i, readout in enumerate(readouts):
        for j, (s, c) in enumerate(columns):
            e = within[(within["scenario"] == s) & (within["condition"] == c) & (within["readout"] == readout)]
            if len(e):
                table[i, j] = e["pct_change"].iloc[0]
                solid[i, j] = e["pct_ci_low"].iloc[0] > 0 or e["pct_ci_high"].iloc[0] < 0
    keep = np.isfinite(table).any(axis=0)          # the reference groups themselves have no effect
    table, solid, columns = table[:, keep], solid[:, keep], [c for c, k in zip(columns, keep, strict=True) if k]
    finite = np.abs(table[np.isfinite(table)])
    limit = min(max(float(np.percentile(finite, 90)) if finite.size else 1.0, 5.0), 100.0)   # robust colour range
    with style():
        fig, ax = plt.subplots(figsize=(max(7, 0.9 * len(columns) + 4), 0.42 * len(readouts) + 2.6),
                               layout="constrained")
        image = ax.imshow(table, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        for (i, j), v in np.ndenumerate(table):
            if np.isfinite(v):
                ax.text(j, i, f"{v:+.0f}" if abs(v) >= 10 else f"{v:+.1f}", ha="center", va="center", fontsize=8,
                        fontweight="bold" if solid[i, j] else "normal",
                        color="white" if abs(v) > 0.6 * limit else "black")
        ax.set_yticks(range(len(readouts)), plain_all(label_of(r) for r in readouts), fontsize=8)
        ax.set_xticks(range(len(columns)), plain_all(f"{design.scenario_label(s)}\n{design.label(c, wrap=True)}"
                                                     for s, c in columns), fontsize=7, rotation=90)
        ax.spines[:].set_visible(False)
        fig.colorbar(image, ax=ax, label=plain(f"% change vs {reference} (same scenario)"), shrink=0.8)
        finish(fig, f"Effect overview: % change vs {reference}")
    caption = (f"Percent change of each readout's group mean against {reference} in the same scenario "
               f"(colour scale clipped at ±{limit:.0f} %). Bold: the bootstrap 95 % CI of the change excludes 0.")
    return ReportFigure("effects", f"Effect overview: % change vs {reference}", caption, fig)
