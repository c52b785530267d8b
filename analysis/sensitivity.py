"""Sensitivity analysis of a sweep folder: responses per design point, indices (SALib), figures.

    a = write_sweep_outputs(Path("results/my_sweep"))   # responses, sensitivity.csv, figures/

Reads ``manifest.json`` and ``sweep.parquet`` (written by ``run.py sweep``).

- **Responses** (``responses.parquet``, one row per scenario x design point):
  each output's mean over the point's finished replicates per condition
  (``CONDITION:OUTPUT``) and, when the sweep has a contrast, the percent
  change of the treatment's mean against the reference's
  (``pct_change:OUTPUT`` = 100 (treatment - reference) / reference). The
  analysed responses are the contrasts if there is one, else every
  ``CONDITION:OUTPUT``.
- **Indices** (``sensitivity.csv``, one row per scenario x response x
  parameter), by design: ``sobol``: first-order and total Sobol indices
  (SALib ``sobol.analyze``, Saltelli/Jansen estimators); ``morris``: μ, μ*, σ
  of the elementary effects (SALib ``morris.analyze``); ``lhs``: first-order
  indices by random balance designs FAST (SALib ``rbd_fast.analyze``,
  Tarantola et al. 2006; Plischke 2010); ``grid``: first-order
  and total indices of the full-factorial variance decomposition (exact for
  the grid's levels taken as equally likely). Confidence intervals are
  SALib's bootstrap half-widths (``*_conf``, 95 %, fixed seed). With a single
  varied parameter no indices are computed (S1 = ST = 1 by definition).
- **Figures** (``figures/*.png``), by design: one varied parameter: the
  response curve of each output (every replicate, each level's mean with a
  bootstrap 95 % CI per condition, the paired % change); two or more: a
  heatmap of each response over the first two varied parameters of a grid, a
  bar chart of each response's indices, and each response against every
  varied parameter.

Everything is deterministic: the same folder gives the same files.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.mpl_text import plain, plain_all  # noqa: E402
from analysis.report_figures import (  # noqa: E402
    Design,
    ReportFigure,
    finish_fitted,
    scale,
    scaled_label,
    style,
)
from analysis.stats import (  # noqa: E402
    N_BOOT,
    bootstrap_ci,
    label_of,
    name_of,
    percent_change,
    percent_change_ci,
    unit_of,
)
from sim.runs.store import (  # noqa: E402
    SWEEP_TABLE,
    Parameter,
    load_sweep_results,
    parameters_from_sweep,
    salib_problem,
    write_bytes,
    write_table,
)

RESPONSES = "responses.parquet"
SENSITIVITY = "sensitivity.csv"
FIGURES_DIR = "figures"
CONTRAST = "pct_change"
N_RUNS = "n_runs"         # responses: n_runs:CONDITION, finished runs of a design point under each condition
N_RESAMPLES = 1000        # bootstrap resamples of SALib's confidence intervals
CONF_LEVEL = 0.95
SEED = 12345              # seed of SALib's bootstrap (fixed: the same folder gives the same table)
MAX_FIGURE_RESPONSES = 6  # responses drawn per scenario
#: columns of sensitivity.csv per design, after scenario, response, parameter, method, n_points
INDEX_COLUMNS = {
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
    "morris": ("mu", "mu_star", "mu_star_conf", "sigma"),
    "lhs": ("S1", "S1_conf"),
    "grid": ("S1", "ST"),
}
METHODS = {"sobol": "Sobol (SALib sobol.analyze)", "morris": "Morris elementary effects (SALib morris.analyze)",
           "lhs": "RBD-FAST first-order indices (SALib rbd_fast.analyze)",
           "grid": "full-factorial variance decomposition"}
#: the note of every index row of a sweep with a single varied parameter
ONE_PARAMETER = ("one varied parameter: sensitivity indices are omitted (with a single parameter S1 = ST = 1 by "
                 "definition, which says nothing); the response curve shows its effect")
#: the index the figures and console rank parameters by
RANK_BY = {"sobol": "ST", "morris": "mu_star", "lhs": "S1", "grid": "ST"}


@dataclass
class SweepAnalysis:
    """Everything the sweep outputs show, computed once from the folder."""

    folder: Path
    manifest: dict
    runs: pd.DataFrame                    # sweep.parquet
    parameters: list[Parameter]
    responses: pd.DataFrame               # one row per scenario x design point
    analysed: list[str]                   # response columns the indices are computed for
    indices: pd.DataFrame                 # sensitivity.csv
    warnings: list[str] = field(default_factory=list)

    @property
    def sweep(self) -> dict:
        return self.manifest["sweep"]

    @property
    def design(self) -> str:
        return self.sweep["design"]

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.parameters]

    @property
    def conditions(self) -> list[str]:
        return conditions_of(self.manifest)

    @property
    def varied(self) -> list[Parameter]:
        """The parameters that take more than one value (1: a response curve; 2 on a grid: heatmaps)."""
        return varied_parameters(self.parameters, self.responses)


# --------------------------------------------------------------------------- loading and responses


def response_table(manifest: dict, runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Responses per scenario x design point, the analysed response columns, and warnings.

    Every design point of the manifest has a row, in sample order (the samplers'
    order, which SALib's analyses need); points without finished runs hold NaN.
    ``n_runs:CONDITION`` counts the point's finished runs under each condition
    (each arm of a contrast on its own).
    """
    info = manifest["sweep"]
    keys = [p["key"] for p in info["parameters"]]
    outputs, contrast = info["outputs"], info.get("contrast") or {}
    points = pd.DataFrame([{"scenario": r["scenario"], "sample": r["sample"], **r["levels"]}
                           for r in manifest["runs"]]).drop_duplicates(["scenario", "sample"])
    conditions = conditions_of(manifest)
    ok = runs[runs["status"] == "ok"]
    means = ok.groupby(["scenario", "sample", "condition"])[outputs].mean()
    table = points.set_index(["scenario", "sample"])
    arms = [f"{N_RUNS}:{c}" for c in conditions]
    counts = ok.groupby(["scenario", "sample", "condition"]).size().unstack("condition")
    table[arms] = counts.reindex(index=table.index, columns=conditions).fillna(0).astype(int).to_numpy()
    for condition in conditions:
        part = means.xs(condition, level="condition") if condition in means.index.get_level_values(2) else None
        for o in outputs:
            table[f"{condition}:{o}"] = part[o] if part is not None else np.nan
    if contrast:
        for o in outputs:
            ref, treated = table[f"{contrast['reference']}:{o}"], table[f"{contrast['treatment']}:{o}"]
            table[f"{CONTRAST}:{o}"] = 100.0 * (treated - ref) / ref.where(ref != 0)
        analysed = [f"{CONTRAST}:{o}" for o in outputs]
    else:
        analysed = [f"{c}:{o}" for c in conditions for o in outputs]
    values = [c for c in table if ":" in c and c not in arms]
    table = table.reset_index()[["scenario", "sample", *keys, *arms, *values]]
    notes = []
    missing = int((table[arms] < _replicates(manifest)).any(axis=1).sum())
    if missing:
        notes.append(f"{missing} design point(s) lack some runs (failed or not run): their responses average the "
                     f"runs that finished, or are missing")
    return table, analysed, notes


def conditions_of(manifest: dict) -> list[str]:
    """The sweep's conditions (the arms of a contrast), in run order."""
    return list(dict.fromkeys(r["condition"] for r in manifest["runs"]))


def varied_parameters(parameters: list[Parameter], responses: pd.DataFrame) -> list[Parameter]:
    """The parameters that take more than one value over the design (a grid level list of one is not varied)."""
    return [p for p in parameters if responses[p.key].nunique() > 1]


def _replicates(manifest: dict) -> int:
    return max((r["replicate"] for r in manifest["runs"]), default=-1) + 1


# --------------------------------------------------------------------------- indices


def grid_indices(frame: pd.DataFrame, keys: list[str], response: str) -> list[dict]:
    """First-order and total indices of a full-factorial grid (levels equally likely), without CIs.

    S1_i = Var(E[Y | X_i]) / Var(Y); ST_i = E[Var(Y | X_~i)] / Var(Y) (population variances).
    """
    y = frame[response]
    total = float(y.var(ddof=0))
    rows = []
    for key in keys:
        others = [k for k in keys if k != key]
        s1 = float(frame.groupby(key)[response].mean().var(ddof=0)) / total
        st = float(frame.groupby(others)[response].var(ddof=0).mean()) / total if others else 1.0
        rows.append({"parameter": key, "S1": s1, "ST": st})
    return rows


def salib_indices(design: str, problem: dict, x: np.ndarray, y: np.ndarray, morris_levels: int | None) -> list[dict]:
    """SALib's indices of one response (``x`` on the design scale, rows in the samplers' order)."""
    kw = {"num_resamples": N_RESAMPLES, "conf_level": CONF_LEVEL, "seed": SEED}
    if design == "sobol":
        from SALib.analyze import sobol

        result = sobol.analyze(problem, y, calc_second_order=False, **kw)
    elif design == "morris":
        from SALib.analyze import morris

        result = morris.analyze(problem, x, y, num_levels=morris_levels, **kw)
    else:
        from SALib.analyze import rbd_fast

        result = rbd_fast.analyze(problem, x, y, **kw)
    columns = INDEX_COLUMNS[design]
    return [{"parameter": name, **{c: float(np.asarray(result[c])[i]) for c in columns}}
            for i, name in enumerate(problem["names"])]


def sensitivity_indices(manifest: dict, parameters: list[Parameter], responses: pd.DataFrame,
                        analysed: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """One row per scenario x response x parameter (columns of INDEX_COLUMNS[design]); and warnings."""
    info = manifest["sweep"]
    design, keys = info["design"], [p.key for p in parameters]
    problem = salib_problem(parameters)
    rows, notes = [], []
    for scenario, frame in responses.groupby("scenario", sort=False):
        for response in analysed:
            y = frame[response].to_numpy(dtype=float)
            head = {"scenario": scenario, "response": response, "method": METHODS[design]}
            why = ONE_PARAMETER if len(varied_parameters(parameters, frame)) < 2 else _not_computable(design, y)
            if why:
                if why != ONE_PARAMETER:
                    notes.append(f"{scenario}, {response}: indices not computed ({why})")
                rows += [{**head, "n_points": int(np.isfinite(y).sum()), "parameter": k, "note": why} for k in keys]
                continue
            keep = np.isfinite(y)
            x = np.column_stack([p.to_design(frame[p.key].to_numpy(dtype=float)) for p in parameters])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")   # SALib warns about small samples; the CIs say it
                found = (grid_indices(frame[keep], keys, response) if design == "grid"
                         else salib_indices(design, problem, x[keep], y[keep], info.get("morris_levels")))
            rows += [{**head, "n_points": int(keep.sum()), **r, "note": ""} for r in found]
    columns = ["scenario", "response", "parameter", "method", "n_points", *INDEX_COLUMNS[design], "note"]
    return pd.DataFrame(rows, columns=columns), notes


def _not_computable(design: str, y: np.ndarray) -> str:
    finite = y[np.isfinite(y)]
    if design in ("sobol", "morris", "grid") and finite.size < y.size:
        return f"{y.size - finite.size} of {y.size} design points have no response; the design needs all of them"
    if finite.size < 3:
        return "fewer than 3 design points with a response"
    if np.ptp(finite) == 0:
        return "the response is the same at every design point"
    return ""


def analyse_sweep(folder: Path) -> SweepAnalysis:
    """Load a sweep folder and compute its responses and indices."""
    folder = Path(folder)
    return analyse(folder, *load_sweep_results(folder))


def analyse(folder: Path, manifest: dict, runs: pd.DataFrame) -> SweepAnalysis:
    """The responses and indices of a sweep's manifest and run table (``sweep.parquet``'s rows) from ``folder``."""
    parameters = parameters_from_sweep(manifest["sweep"])
    responses, analysed, notes = response_table(manifest, runs)
    indices, index_notes = sensitivity_indices(manifest, parameters, responses, analysed)
    notes = _completeness(manifest, runs) + notes + index_notes
    return SweepAnalysis(folder, manifest, runs, parameters, responses, analysed, indices, notes)


def _completeness(manifest: dict, runs: pd.DataFrame) -> list[str]:
    out = []
    if not manifest.get("finished_utc"):
        out.append("the sweep has not finished (manifest has no finished_utc): results cover the runs done so far")
    failed = runs[runs["status"] != "ok"]
    if len(failed):
        out.append(f"{len(failed)} run(s) failed and are excluded: {', '.join(failed['run_id'].astype(str)[:20])}"
                   + (" ..." if len(failed) > 20 else ""))
    if len(runs) < len(manifest["runs"]):
        out.append(f"{len(manifest['runs']) - len(runs)} of {len(manifest['runs'])} planned runs have no result")
    return out


# --------------------------------------------------------------------------- figures


def response_label(response: str) -> str:
    """A title: 'evoked release ..., % change' for a contrast, 'evoked release ... [vehicle]' for a condition."""
    what, _, output = response.partition(":")
    return f"{name_of(output)}, % change" if what == CONTRAST else f"{name_of(output)} [{what}]"


def response_unit(response: str) -> str:
    """An axis label: '% change' for a contrast, else the output's unit."""
    what, _, output = response.partition(":")
    return "% change" if what == CONTRAST else (unit_of(output) or output)


def short_key(key: str) -> str:
    """The last two parts of a dotted key (enough to tell parameters apart on an axis)."""
    return ".".join(key.split(".")[-2:])


def _contrast_text(a: SweepAnalysis) -> str:
    c = a.sweep.get("contrast") or {}
    return f" (% change, {c['treatment']} vs {c['reference']}, same seeds)" if c else ""


def heatmap(a: SweepAnalysis, scenario: str, response: str) -> ReportFigure:
    """The response over the grid of the first two varied parameters (mean over any others), levels as axes."""
    px, py = a.varied[0], a.varied[1]
    frame = a.responses[a.responses["scenario"] == scenario]
    table = frame.pivot_table(index=py.key, columns=px.key, values=response, aggfunc="mean", dropna=False)
    values = table.to_numpy(dtype=float)
    with style():
        fig, ax = plt.subplots(figsize=(max(6.4, 0.7 * len(table.columns) + 3.5), max(4.8, 0.45 * len(table) + 2.5)))
        diverging = response.startswith(CONTRAST) and np.isfinite(values).any()
        bound = float(np.nanmax(np.abs(values))) if diverging else None
        image = ax.imshow(values, origin="lower", aspect="auto", cmap="RdBu_r" if diverging else "viridis",
                          vmin=-bound if diverging else None, vmax=bound if diverging else None)
        _cell_values(ax, values, image.norm, diverging)
        ax.set_xticks(range(len(table.columns)), [f"{v:g}" for v in table.columns])
        ax.set_yticks(range(len(table.index)), [f"{v:g}" for v in table.index])
        ax.set_xlabel(plain(short_key(px.key)))
        ax.set_ylabel(plain(short_key(py.key)))
        fig.colorbar(image, ax=ax, label=plain(response_unit(response)))
        finish_fitted(fig, f"{scenario}: {response_label(response)}")
    others = [p.key for p in a.varied[2:]]
    caption = (f"{response} at each grid point{_contrast_text(a)}: mean over replicates, x = {px.key}, "
               f"y = {py.key}" + (f"; mean over {', '.join(others)}" if others else "") + f". Scenario {scenario}.")
    return ReportFigure(f"heatmap-{scenario}-{_slug(response)}", f"Heatmap: {response_label(response)}, {scenario}",
                        caption, fig)


def _cell_values(ax: plt.Axes, values: np.ndarray, norm, diverging: bool) -> None:
    """Each heatmap cell's value printed in it (white on dark cells; '–' where there is none)."""
    for (i, j), v in np.ndenumerate(values):
        dark = np.isfinite(v) and (abs(norm(v) - 0.5) > 0.3 if diverging else norm(v) < 0.6)
        ax.text(j, i, "–" if not np.isfinite(v) else f"{v:.3g}", ha="center", va="center", fontsize=8,
                color="white" if dark else "black")


def index_bars(a: SweepAnalysis, scenario: str, response: str) -> ReportFigure:
    """The response's indices per parameter (the design's method), with SALib's confidence intervals if any."""
    rows = a.indices[(a.indices["scenario"] == scenario) & (a.indices["response"] == response)]
    columns = [c for c in INDEX_COLUMNS[a.design] if not c.endswith("_conf") and c != "mu"]
    with style():
        fig, ax = plt.subplots(figsize=(7.5, 1.8 + 0.4 * len(rows) * len(columns)))
        y = np.arange(len(rows))
        height = 0.8 / len(columns)
        for k, column in enumerate(columns):
            conf = rows.get(f"{column}_conf")
            ax.barh(y + k * height, rows[column].to_numpy(dtype=float), height,
                    xerr=None if conf is None else conf.to_numpy(dtype=float), capsize=3, label=column,
                    color=("#2e86c1", "#e67e22", "#16a085")[k % 3])
        ax.set_yticks(y + height * (len(columns) - 1) / 2, plain_all(short_key(p) for p in rows["parameter"]))
        ax.invert_yaxis()
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_xlabel(plain(f"{', '.join(columns)} ({response_unit(response)} per design-scale unit)"
                            if a.design == "morris" else "index (share of the variance)"))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        finish_fitted(fig, f"{scenario}: {response_label(response)}")
    note = rows["note"].iloc[0] if len(rows) and rows["note"].iloc[0] else ""
    caption = (f"{METHODS[a.design]} of {response}{_contrast_text(a)} over {int(rows['n_points'].max() or 0)} design "
               f"points: {', '.join(columns)} per parameter" + (" with 95 % bootstrap CIs (SALib)" if any(
                   f"{c}_conf" in rows for c in columns) else "") + (f". Not computed: {note}" if note else "") + ".")
    return ReportFigure(f"indices-{scenario}-{_slug(response)}", f"Sensitivity: {response_label(response)}, {scenario}",
                        caption, fig)


def scatter(a: SweepAnalysis, scenario: str, response: str) -> ReportFigure:
    """The response against each varied parameter (one panel per parameter)."""
    frame = a.responses[a.responses["scenario"] == scenario]
    n = len(a.varied)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    with style():
        fig, axes = plt.subplots(rows, cols, figsize=(max(3.6 * cols, 6.4), 3.0 * rows + 0.6), squeeze=False,
                                 sharey=True)
        for ax, p in zip(axes.flat, a.varied, strict=False):
            ax.scatter(frame[p.key], frame[response], s=12, alpha=0.7, color="#34495e", linewidths=0)
            if p.scale == "log":
                ax.set_xscale("log")
            if a.design == "grid":
                means = frame.groupby(p.key)[response].mean()
                ax.plot(means.index, means.to_numpy(), color="#e67e22", lw=1.5, label="mean")
            ax.set_xlabel(plain(short_key(p.key)))
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        for ax in axes[:, 0]:
            ax.set_ylabel(plain(response_unit(response)))
        finish_fitted(fig, f"{scenario}: {response_label(response)}")
    caption = (f"{response}{_contrast_text(a)} at each design point (mean over replicates) against each varied "
               f"parameter" + ("; line: mean over the other parameters' levels" if a.design == "grid" else "")
               + f". Scenario {scenario}.")
    return ReportFigure(f"scatter-{scenario}-{_slug(response)}", f"Response vs parameters: "
                        f"{response_label(response)}, {scenario}", caption, fig)


# --------------------------------------------------------------------------- the response curve of a 1-D sweep


def paired_pct_change_ci(treated: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """BCa bootstrap 95 % CI (%) of 100 (mean(treated) - mean(reference)) / mean(reference) from paired
    replicates (same seed): the pairs are resampled together. NaN with fewer than two pairs."""
    return percent_change_ci(treated, reference, paired=True)


def paired_runs(runs: pd.DataFrame, key: str, output: str, contrast: dict[str, str]) -> pd.DataFrame:
    """Per design point and replicate: ``key``'s level, the reference and treatment values of ``output`` (same
    seed) and their % change (``pct``); only the pairs where both runs finished."""
    wide = runs.pivot_table(index=[key, "sample", "replicate"], columns="condition", values=output, aggfunc="mean")
    if not {contrast["reference"], contrast["treatment"]} <= set(wide.columns):
        return pd.DataFrame(columns=[key, "reference", "treatment", "pct"])
    pairs = pd.DataFrame({"reference": wide[contrast["reference"]], "treatment": wide[contrast["treatment"]]})
    pairs = pairs.dropna().reset_index()
    pairs["pct"] = 100 * (pairs["treatment"] - pairs["reference"]) / pairs["reference"].where(pairs["reference"] != 0)
    return pairs


def _mean_line(ax: plt.Axes, levels: list, stats: list[tuple[float, float, float]], colour: str,
               label: str) -> None:
    """Per level a marker at the centre (mean or % change of means) with its 95 % CI (none if NaN), joined."""
    centre, lo, hi = (np.array(v, dtype=float) for v in zip(*stats, strict=True)) if stats else ([], [], [])
    err = np.nan_to_num(np.vstack([centre - lo, hi - centre])) if len(levels) else None
    ax.errorbar(levels, centre, yerr=err, fmt="D-", color=colour, ms=6, capsize=4, lw=1.5, zorder=3,
                markeredgecolor="white", label=plain(label))


def _arm_panel(ax: plt.Axes, a: SweepAnalysis, runs: pd.DataFrame, p: Parameter, output: str,
               factor: float) -> None:
    """Each condition's runs (points) and mean with its bootstrap 95 % CI per level (diamonds, line), the
    conditions side by side around each level."""
    design = Design([], a.conditions, {})
    for k, condition in enumerate(a.conditions):
        arm = runs[runs["condition"] == condition].dropna(subset=[output])
        x, y = arm[p.key].to_numpy(dtype=float), arm[output].to_numpy(dtype=float) / factor
        shift = k - (len(a.conditions) - 1) / 2
        _replicate_points(ax, p, x, y, arm["replicate"].to_numpy(), shift, design.colour(condition))
        levels = sorted(set(x))
        _mean_line(ax, _dodged(p, levels, shift), [(y[x == v].mean(), *bootstrap_ci(y[x == v])) for v in levels],
                   design.colour(condition), condition)
    ax.legend(frameon=False, loc="best")


def _contrast_panel(ax: plt.Axes, pairs: pd.DataFrame, p: Parameter) -> None:
    """Each replicate's paired % change (points) and per level the % change of the means with its paired CI."""
    ax.axhline(0, color="0.6", lw=0.8, zorder=0)
    _replicate_points(ax, p, pairs[p.key].to_numpy(dtype=float), pairs["pct"].to_numpy(dtype=float),
                      pairs["replicate"].to_numpy(), 0.0, "#34495e")
    levels = sorted(set(pairs[p.key]))
    groups = [pairs[pairs[p.key] == v] for v in levels]
    _mean_line(ax, levels, [(percent_change(g["treatment"], g["reference"]),
                             *paired_pct_change_ci(g["treatment"], g["reference"])) for g in groups],
               "#34495e", "% change of the means")


DODGE = 0.05     # side-by-side offset of the conditions at a level, as a share of the parameter's (design-scale) span


def _dodged(p: Parameter, x, shift: float) -> np.ndarray:
    """``x`` moved by ``shift`` x DODGE of the parameter's span on its design scale (log10 for a log parameter)."""
    design = np.asarray(p.to_design(np.asarray(x, dtype=float)), dtype=float)
    moved = design + shift * DODGE * float(np.ptp(p.design_bounds))
    return np.power(10.0, moved) if p.scale == "log" else moved


def _replicate_points(ax: plt.Axes, p: Parameter, x: np.ndarray, y: np.ndarray, replicates: np.ndarray,
                      shift: float, colour: str) -> None:
    """Every replicate run as a point, spread a little around its condition's place at the level."""
    n = max(int(replicates.max()) + 1, 1) if replicates.size else 1
    spread = (replicates - (n - 1) / 2) / max(n - 1, 1) * 0.6 if n > 1 else np.zeros(replicates.size)
    ax.scatter(_dodged(p, x, shift + spread), y, s=18, color=colour, alpha=0.6, lw=0, zorder=4)


def _level_axis(ax: plt.Axes, p: Parameter, levels: list[float]) -> None:
    """The parameter's axis: log for a log parameter, the levels as ticks when there are few."""
    if p.scale == "log":
        ax.set_xscale("log")
    if 1 < len(levels) <= 8:
        ax.set_xticks(levels, [f"{v:g}" for v in levels])
        ax.minorticks_off()
    ax.set_xlabel(plain(short_key(p.key)))


def response_curve(a: SweepAnalysis, scenario: str, output: str) -> ReportFigure:
    """A one-parameter sweep: ``output`` against the parameter, every run a point and each condition's mean with
    its bootstrap 95 % CI per level; with a contrast, a second panel of each replicate's paired % change and the
    % change of the means with its paired bootstrap 95 % CI."""
    p, contrast = a.varied[0], a.sweep.get("contrast") or {}
    runs = a.runs[(a.runs["scenario"] == scenario) & (a.runs["status"] == "ok")]
    factor, prefix = scale(runs[output])
    levels = sorted(set(runs[p.key].dropna()))
    with style():
        fig, axes = plt.subplots(1, 2 if contrast else 1, figsize=(11.0 if contrast else 6.4, 4.6), squeeze=False)
        _arm_panel(axes[0, 0], a, runs, p, output, factor)
        axes[0, 0].set_ylabel(plain(scaled_label(output, prefix)))
        if contrast:
            _contrast_panel(axes[0, 1], paired_runs(runs, p.key, output, contrast), p)
            axes[0, 1].set_ylabel(plain(f"% change, {contrast['treatment']} vs {contrast['reference']}"))
        for ax in axes.flat:
            _level_axis(ax, p, levels)
        title = f"Response curve: {name_of(output)}, {scenario}"
        finish_fitted(fig, title)
    return ReportFigure(f"curve-{scenario}-{output}", title, _curve_caption(a, scenario, output, p), fig)


def _curve_caption(a: SweepAnalysis, scenario: str, output: str, p: Parameter) -> str:
    contrast = a.sweep.get("contrast") or {}
    ci = (f"95 % CI: BCa bootstrap of the replicates ({N_BOOT} resamples, fixed seed; no bar with one "
          "replicate)")
    text = (f"{label_of(output)} against {p.key} ({'log' if p.scale == 'log' else 'linear'} axis), scenario "
            f"{scenario}, {_replicates(a.manifest)} replicate(s) per condition and level. "
            f"{'Left: e' if contrast else 'E'}very run (points) and each condition's mean with its {ci}.")
    if contrast:
        text += (f" Right: each replicate's % change, {contrast['treatment']} vs {contrast['reference']} with the "
                 "same seed (points), and the % change of the means (the sweep's response) with its 95 % CI by a "
                 "paired BCa bootstrap (replicate pairs resampled together).")
    return text


def _slug(response: str) -> str:
    return response.replace(":", "-")


def sweep_figures(a: SweepAnalysis) -> list[Callable[[], ReportFigure]]:
    """The sweep's figures, in order, as functions that draw them: for one varied parameter the response curve of
    each output; else heatmaps (a grid of two or more), the index bars and each response against each parameter."""
    out: list[Callable[[], ReportFigure]] = []
    responses = a.analysed[:MAX_FIGURE_RESPONSES]
    for scenario in a.responses["scenario"].unique():
        if len(a.varied) == 1:
            out += [partial(response_curve, a, scenario, o) for o in a.sweep["outputs"][:MAX_FIGURE_RESPONSES]]
            continue
        if len(a.varied) < 2:
            continue
        if a.design == "grid":
            out += [partial(heatmap, a, scenario, r) for r in responses]
        out += [partial(index_bars, a, scenario, r) for r in responses]
        out += [partial(scatter, a, scenario, r) for r in responses]
    return out


# --------------------------------------------------------------------------- writing


def write_sweep_tables(folder: Path) -> SweepAnalysis:
    """Analyse a sweep folder and write ``responses.parquet``/``.csv`` and ``sensitivity.csv`` into it."""
    a = analyse_sweep(folder)
    write_table(a.folder / RESPONSES, a.responses)
    write_table(a.folder / "responses.csv", a.responses)
    write_table(a.folder / SENSITIVITY, a.indices)
    return a


def write_sweep_outputs(folder: Path) -> SweepAnalysis:
    """Write ``responses.parquet``/``.csv``, ``sensitivity.csv`` and ``figures/*.png`` into a sweep folder."""
    a = write_sweep_tables(folder)
    figures = a.folder / FIGURES_DIR
    figures.mkdir(exist_ok=True)
    for draw in sweep_figures(a):
        f = draw()
        try:
            write_bytes(figures / f"{f.key}.png", f.png())
        finally:
            plt.close(f.fig)
    return a


def console_lines(a: SweepAnalysis) -> list[str]:
    """A few lines for the terminal: the most influential parameters of each analysed response."""
    rank = RANK_BY[a.design]
    lines = [f"{a.design} sweep, {a.sweep['n_points']} design points: {METHODS[a.design]}"]
    groups = a.indices.groupby(["scenario", "response"], sort=False)
    if len(a.varied) == 1:
        lines[0] = f"{a.design} sweep of {a.varied[0].key}, {a.sweep['n_points']} design points"
        lines.append(f"  {ONE_PARAMETER}")
        groups = []
    for (scenario, response), rows in groups:
        top = rows.dropna(subset=[rank]).sort_values(rank, ascending=False).head(3)
        text = ", ".join(f"{short_key(r.parameter)} {rank} = {getattr(r, rank):.3g}" for r in top.itertuples())
        lines.append(f"  {scenario}, {response}: {text or rows['note'].iloc[0]}")
    lines += [f"warning: {w}" for w in a.warnings]
    lines.append(f"wrote {a.folder / SWEEP_TABLE}, {RESPONSES}, {SENSITIVITY} and {FIGURES_DIR}/")
    return lines
