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
  SALib's bootstrap half-widths (``*_conf``, 95 %, fixed seed).
- **Figures** (``figures/*.png``): a heatmap of each response over the first
  two parameters of a grid, a bar chart of each response's indices, and each
  response against every parameter.

Everything is deterministic: the same folder gives the same files.
"""

from __future__ import annotations

import textwrap
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
from analysis.report_figures import STYLE, ReportFigure  # noqa: E402
from analysis.stats import name_of, unit_of  # noqa: E402
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
            why = _not_computable(design, y)
            if why:
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
    manifest, runs = load_sweep_results(folder)
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


def _title(ax: plt.Axes, scenario: str, response: str) -> None:
    ax.set_title(plain(textwrap.fill(f"{scenario}: {response_label(response)}", 60)), fontsize=10)


def short_key(key: str) -> str:
    """The last two parts of a dotted key (enough to tell parameters apart on an axis)."""
    return ".".join(key.split(".")[-2:])


def _contrast_text(a: SweepAnalysis) -> str:
    c = a.sweep.get("contrast") or {}
    return f" (% change, {c['treatment']} vs {c['reference']}, same seeds)" if c else ""


def heatmap(a: SweepAnalysis, scenario: str, response: str) -> ReportFigure:
    """The response over the grid of the first two parameters (mean over any others)."""
    px, py = a.parameters[0], a.parameters[1]
    frame = a.responses[a.responses["scenario"] == scenario]
    table = frame.pivot_table(index=py.key, columns=px.key, values=response, aggfunc="mean", dropna=False)
    values = table.to_numpy(dtype=float)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 4.8))
        diverging = response.startswith(CONTRAST) and np.isfinite(values).any()
        bound = float(np.nanmax(np.abs(values))) if diverging else None
        image = ax.imshow(values, origin="lower", aspect="auto", cmap="RdBu_r" if diverging else "viridis",
                          vmin=-bound if diverging else None, vmax=bound if diverging else None)
        norm = image.norm
        for (i, j), v in np.ndenumerate(values):
            dark = np.isfinite(v) and (abs(norm(v) - 0.5) > 0.3 if diverging else norm(v) < 0.6)
            ax.text(j, i, "–" if not np.isfinite(v) else f"{v:.3g}", ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")
        ax.set_xticks(range(len(table.columns)), [f"{v:g}" for v in table.columns])
        ax.set_yticks(range(len(table.index)), [f"{v:g}" for v in table.index])
        ax.set_xlabel(plain(short_key(px.key)))
        ax.set_ylabel(plain(short_key(py.key)))
        fig.colorbar(image, ax=ax, label=plain(response_unit(response)))
        _title(ax, scenario, response)
        fig.tight_layout()
    others = f"; mean over {', '.join(p.key for p in a.parameters[2:])}" if len(a.parameters) > 2 else ""
    caption = (f"{response} at each grid point{_contrast_text(a)}: mean over replicates, x = {px.key}, "
               f"y = {py.key}{others}. Scenario {scenario}.")
    return ReportFigure(f"heatmap-{scenario}-{_slug(response)}", f"Heatmap: {response_label(response)}, {scenario}",
                        caption, fig)


def index_bars(a: SweepAnalysis, scenario: str, response: str) -> ReportFigure:
    """The response's indices per parameter, with SALib's confidence intervals where there are any."""
    rows = a.indices[(a.indices["scenario"] == scenario) & (a.indices["response"] == response)]
    columns = [c for c in INDEX_COLUMNS[a.design] if not c.endswith("_conf") and c != "mu"]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.5, 1.6 + 0.4 * len(rows) * len(columns)))
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
        ax.set_xlabel("index")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        _title(ax, scenario, response)
        fig.tight_layout()
    note = rows["note"].iloc[0] if len(rows) and rows["note"].iloc[0] else ""
    caption = (f"{METHODS[a.design]} of {response}{_contrast_text(a)} over {int(rows['n_points'].max() or 0)} design "
               f"points: {', '.join(columns)} per parameter" + (" with 95 % bootstrap CIs (SALib)" if any(
                   f"{c}_conf" in rows for c in columns) else "") + (f". Not computed: {note}" if note else "") + ".")
    return ReportFigure(f"indices-{scenario}-{_slug(response)}", f"Sensitivity: {response_label(response)}, {scenario}",
                        caption, fig)


def scatter(a: SweepAnalysis, scenario: str, response: str) -> ReportFigure:
    """The response against each parameter (one panel per parameter)."""
    frame = a.responses[a.responses["scenario"] == scenario]
    n = len(a.parameters)
    cols = min(n, 3)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(3.6 * cols, 3.0 * ((n + cols - 1) // cols)),
                                 squeeze=False, sharey=True)
        for ax, p in zip(axes.flat, a.parameters, strict=False):
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
        fig.suptitle(plain(textwrap.fill(f"{scenario}: {response_label(response)}", 90)), fontsize=10)
        fig.tight_layout()
    caption = (f"{response}{_contrast_text(a)} at each design point (mean over replicates) against each varied "
               f"parameter" + ("; line: mean over the other parameters' levels" if a.design == "grid" else "")
               + f". Scenario {scenario}.")
    return ReportFigure(f"scatter-{scenario}-{_slug(response)}", f"Response vs parameters: "
                        f"{response_label(response)}, {scenario}", caption, fig)


def _slug(response: str) -> str:
    return response.replace(":", "-")


def sweep_figures(a: SweepAnalysis) -> list[Callable[[], ReportFigure]]:
    """The sweep's figures, in order, as functions that draw them."""
    out: list[Callable[[], ReportFigure]] = []
    responses = a.analysed[:MAX_FIGURE_RESPONSES]
    for scenario in a.responses["scenario"].unique():
        if a.design == "grid" and len(a.parameters) >= 2:
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
    for (scenario, response), rows in a.indices.groupby(["scenario", "response"], sort=False):
        top = rows.dropna(subset=[rank]).sort_values(rank, ascending=False).head(3)
        text = ", ".join(f"{short_key(r.parameter)} {rank} = {getattr(r, rank):.3g}" for r in top.itertuples())
        lines.append(f"  {scenario}, {response}: {text or rows['note'].iloc[0]}")
    lines += [f"warning: {w}" for w in a.warnings]
    lines.append(f"wrote {a.folder / SWEEP_TABLE}, {RESPONSES}, {SENSITIVITY} and {FIGURES_DIR}/")
    return lines
