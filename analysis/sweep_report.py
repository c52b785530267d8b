"""The report of a sweep folder: ``report.html`` (self-contained) and ``report.pdf``, next to ``sensitivity.csv``.

    build_sweep_report(Path("results/my_sweep"))     # or: python run.py report results/my_sweep

The sweep's own section (design, indices, and the figures of
:func:`analysis.sensitivity.sweep_figures`: response curves for one varied
parameter, else heatmaps, index bars and scatter plots) replaces the group
statistics of a batch report; the methods (model, protocol, parameters) and
the manifest are those of a batch report. It also
rewrites ``responses.parquet``, ``sensitivity.csv`` and ``figures/`` (same
bytes for the same folder).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import methods
from analysis.report_render import (
    Header,
    Rendered,
    TitleLine,
    description,
    fmt,
    header,
    manifest_text,
    render,
    run_rows,
    table,
    text_sections,
    write_pdf,
)
from analysis.sensitivity import (
    CONF_LEVEL,
    CONTRAST,
    FIGURES_DIR,
    INDEX_COLUMNS,
    METHODS,
    N_RESAMPLES,
    RANK_BY,
    SweepAnalysis,
    response_label,
    sweep_figures,
    write_sweep_tables,
)
from analysis.stats import CI_LEVEL, N_BOOT
from sim.runs.store import write_bytes, write_text

MAX_RESPONSE_ROWS = 200     # rows of the responses table shown in the HTML (all are in responses.csv)
MAX_MANIFEST_RUNS = 10      # runs listed in the HTML's manifest (all are in manifest.json)
DESIGN_TEXT = {
    "grid": "every combination of the parameters' levels (full factorial)",
    "lhs": "a Latin hypercube (scipy.stats.qmc.LatinHypercube) of {samples} points",
    "sobol": "Saltelli's scheme for first-order and total Sobol indices (SALib sobol.sample, scrambled Sobol' "
             "sequence), base sample N = {samples}, N (D + 2) = {n_points} points",
    "morris": "{samples} Morris trajectories (SALib morris.sample) on {morris_levels} levels, "
              "r (D + 1) = {n_points} points",
}


def build_sweep_report(folder: Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.pdf`` (and the sweep's tables and figures) into a sweep folder."""
    a = write_sweep_tables(Path(folder))
    title = f"{a.manifest.get('name', a.folder.name)}: sweep report"
    html_path, pdf_path = a.folder / "report.html", a.folder / "report.pdf"
    rendered = write_pdf(pdf_path, title, title_lines(a), sweep_figures(a))
    (a.folder / FIGURES_DIR).mkdir(exist_ok=True)
    for f in rendered:
        write_bytes(a.folder / FIGURES_DIR / f"{f.key}.png", f.png)
    write_text(html_path, render_html(a, title, rendered))
    return html_path, pdf_path


def design_summary(a: SweepAnalysis) -> str:
    """'sobol design: ... points; 2 condition(s) x 1 replicate(s) = N runs' in words."""
    s = a.sweep
    text = DESIGN_TEXT[a.design].format(samples=s.get("samples"), n_points=s.get("n_points"),
                                        morris_levels=s.get("morris_levels"))
    scenarios = list(a.manifest.get("scenarios", {}))
    conditions = a.conditions
    replicates = max((r["replicate"] for r in a.manifest["runs"]), default=-1) + 1
    return (f"{a.design} design over {len(a.parameters)} parameter(s): {text}; each point run in "
            f"{len(scenarios)} scenario(s) ({', '.join(scenarios)}) x {len(conditions)} condition(s) "
            f"({', '.join(conditions)}) x {replicates} replicate(s) = {len(a.manifest['runs'])} runs"
            + (" (quick variant)" if s.get("quick") else "") + f"; {replicates} run(s) per condition at each design "
            f"point (n_runs:CONDITION in the responses counts each condition's finished runs).")


def title_lines(a: SweepAnalysis) -> list[TitleLine]:
    m = a.manifest
    ok = int((a.runs["status"] == "ok").sum())
    return [(m.get("name", a.folder.name), 24, "bold"), (description(m), 12, "normal"), ("", 10, "normal"),
            (f"{a.design} sweep: {', '.join(p.key for p in a.parameters)}", 11, "normal"),
            (f"runs: {ok} finished of {len(m['runs'])}; {a.sweep['n_points']} design points; master seed "
             f"{m.get('master_seed')}", 11, "normal"),
            (f"finished: {m.get('finished_utc') or 'not finished'} (UTC)", 11, "normal"),
            (f"code commit: {m.get('git_commit') or 'unknown'}", 11, "normal"), (f"folder: {a.folder}", 9, "normal")]


# --------------------------------------------------------------------------- tables and sentences


def parameter_table(a: SweepAnalysis) -> pd.DataFrame:
    """The varied parameters: key, unit, scale, range and the levels of a grid."""
    units = methods.units()
    rows = []
    for p in a.parameters:
        unit = methods.unit_of_key(p.key, units) if a.sweep.get("model") == "simulation" else ""
        rows.append({"parameter": p.key, "unit": unit, "scale": p.scale, "low": p.low, "high": p.high,
                     "levels": ", ".join(f"{v:g}" for v in p.grid()) if a.design == "grid" else "–",
                     "whole numbers": "yes" if p.integer else ""})
    return pd.DataFrame(rows)


def index_table(a: SweepAnalysis, scenario: str, response: str) -> pd.DataFrame:
    rows = a.indices[(a.indices["scenario"] == scenario) & (a.indices["response"] == response)]
    columns = ["parameter", *INDEX_COLUMNS[a.design], "note"]
    return rows[columns].rename(columns={c: c.replace("_conf", " ± (95 %)") for c in columns})


def key_results(a: SweepAnalysis) -> list[str]:
    """Per scenario and response: the parameters ranked by the design's main index, and the response's range."""
    if len(a.varied) == 1:
        return [omitted_indices(a), *(f"{s}, {response_label(r)}:{_range_sentence(a, s, r)}" for s, r in _responses(a))]
    rank = RANK_BY[a.design]
    out = []
    for (scenario, response), rows in a.indices.groupby(["scenario", "response"], sort=False):
        label = f"{scenario}, {response_label(response)}"
        ranked = rows.dropna(subset=[rank]).sort_values(rank, ascending=False)
        if ranked.empty:
            out.append(f"{label}: indices not computed ({rows['note'].iloc[0]})."
                       + _range_sentence(a, scenario, response))
            continue
        conf = f"{rank}_conf" if f"{rank}_conf" in rows else None
        parts = [f"{r['parameter']} {rank} = {fmt(r[rank], 3)}" + (f" ± {fmt(r[conf], 2)}" if conf else "")
                 for _, r in ranked.iterrows()]
        sentence = f"{label}: " + "; ".join(parts)
        if "S1" in rows and rank == "ST":
            sentence += (f". First-order indices sum to {fmt(ranked['S1'].sum(), 3)} (1 minus this is the share of "
                         "variance from interactions)")
        out.append(sentence + "." + _range_sentence(a, scenario, response))
    return out


def omitted_indices(a: SweepAnalysis) -> str:
    """The one line that says why a one-parameter sweep has no sensitivity indices."""
    return (f"Sensitivity indices are omitted: {a.varied[0].key} is the only varied parameter, and with a single "
            "parameter S1 = ST = 1 by definition (it carries all the variance); the response curves show its effect.")


def _responses(a: SweepAnalysis) -> list[tuple[str, str]]:
    return [(s, r) for s in a.responses["scenario"].unique() for r in a.analysed]


def _range_sentence(a: SweepAnalysis, scenario: str, response: str) -> str:
    frame = a.responses[a.responses["scenario"] == scenario].dropna(subset=[response])
    if frame.empty:
        return ""
    lo, hi = frame.loc[frame[response].idxmin()], frame.loc[frame[response].idxmax()]

    def where(row: pd.Series) -> str:
        return ", ".join(f"{p.key.rsplit('.', 1)[-1]} = {row[p.key]:g}" for p in a.varied or a.parameters)

    unit = " %" if response.startswith(CONTRAST) else ""
    return (f" Over the design it ranges from {fmt(lo[response], 3)}{unit} ({where(lo)}) to "
            f"{fmt(hi[response], 3)}{unit} ({where(hi)}).")


# --------------------------------------------------------------------------- the page


def _header(a: SweepAnalysis) -> Header:
    m = a.manifest
    ok = int((a.runs["status"] == "ok").sum())
    contrast = a.sweep.get("contrast") or {}
    rows = [("folder", str(a.folder)), ("sweep file", m.get("experiment_file", "")), ("command", m.get("command", "")),
            ("design", design_summary(a)),
            ("responses", (f"percent change of {contrast['treatment']} against {contrast['reference']} (same seed "
                           f"and parameters), mean over replicates" if contrast else
                           "mean over replicates per condition")),
            *run_rows(m, ok)]
    sections = [("key", "Key results"), ("figures", "Figures"), ("sensitivity", "Sensitivity"), ("methods", "Methods"),
                ("manifest", "Manifest")]
    return header(m, f"{m.get('name', a.folder.name)}: sweep report", rows, sections)


def sensitivity_tables(a: SweepAnalysis) -> dict[str, object]:
    """The sensitivity section's tables, formatted: the varied parameters, per (scenario, response) its indices
    (none for one varied parameter), the first MAX_RESPONSE_ROWS responses and the note saying so."""
    groups = [] if len(a.varied) == 1 else a.indices.groupby(["scenario", "response"], sort=False)
    more = (f" (first {MAX_RESPONSE_ROWS} of {len(a.responses)} rows; all in responses.csv)"
            if len(a.responses) > MAX_RESPONSE_ROWS else "")
    return {"parameter_table": table(parameter_table(a)),
            "index_tables": [(f"{scenario}: {response}", table(index_table(a, scenario, response)))
                             for (scenario, response), _ in groups],
            "response_table": table(a.responses.head(MAX_RESPONSE_ROWS)), "responses_note": more}


def _analysis_text(a: SweepAnalysis) -> str:
    """The analysis in a sentence or two: the design's indices, or for one varied parameter why there are none
    and how the response curves' intervals are computed."""
    if len(a.varied) == 1:
        return (omitted_indices(a) + f" Curves: each run, and per level each condition's mean with its "
                f"{100 * CI_LEVEL:g} % CI (BCa bootstrap of the replicates, {N_BOOT} resamples, fixed seed)"
                + ("; the % change of the means with a paired bootstrap CI (replicate pairs with the same seed "
                   "resampled together)." if a.sweep.get("contrast") else "."))
    return f"{METHODS[a.design]}. {_index_text(a.design)}"


def _index_text(design: str) -> str:
    conf = (f"± values are half-widths of {100 * CONF_LEVEL:g} % bootstrap confidence intervals ({N_RESAMPLES} "
            "resamples, fixed seed).")
    return {
        "sobol": "S1: first-order index (share of the response's variance due to the parameter alone); ST: total "
                 "index (including all its interactions). " + conf,
        "morris": "mu_star: mean absolute elementary effect (overall influence); sigma: SD of the elementary effects "
                  "(non-linearity or interactions); mu: mean elementary effect (sign), in response units per unit "
                  "of the design scale (log10 for log parameters). " + conf,
        "lhs": "S1: first-order index (share of the response's variance due to the parameter alone), estimated "
               "from the Latin hypercube by random balance designs FAST. " + conf,
        "grid": "S1 = Var(E[Y | X_i]) / Var(Y) and ST = E[Var(Y | X_~i)] / Var(Y) over the grid's levels, taken as "
                "equally likely (exact for the grid, no confidence interval).",
    }[design]


def methods_sections(a: SweepAnalysis) -> list[methods.Section]:
    """The methods: the scenario (or the test function), the sweep design and seeds, the sensitivity analysis and
    the software."""
    sections = methods.scenario_sections(a.manifest) if a.sweep.get("model") == "simulation" else [
        methods.Section("Model", [f"Test function '{a.sweep.get('model')}' (sim.model.testfunctions) instead of the "
                                  "simulation."])]
    seeds = ("every design point of a replicate shares one seed (common random numbers)"
             if a.sweep.get("seeds") == "common" else "each design point and replicate has its own seed")
    return sections + [
        methods.Section("Sweep design and seeds", [
            design_summary(a) + " The values of the varied parameters replace the scenario's (base values above).",
            f"Seeds: master seed {a.manifest.get('master_seed')}; the design's seed and each run's seed derive from "
            f"it (numpy SeedSequence). The conditions of one design point and replicate share a seed (paired "
            f"comparison); {seeds}."]),
        methods.Section("Sensitivity analysis", [_analysis_text(a)]),
        methods.software_section(a.manifest)]


def shown_manifest(a: SweepAnalysis) -> dict:
    """The manifest with its runs cut to the first MAX_MANIFEST_RUNS and a line saying how many more there are."""
    manifest = dict(a.manifest)
    runs = manifest.get("runs", [])
    if len(runs) > MAX_MANIFEST_RUNS:
        more = f"... {len(runs) - MAX_MANIFEST_RUNS} more runs in manifest.json"
        manifest["runs"] = [*runs[:MAX_MANIFEST_RUNS], more]
    return manifest


def render_html(a: SweepAnalysis, title: str, figures: list[Rendered]) -> str:
    """The sweep report's page (sweep_report.html) from the analysis and its figures."""
    return render("sweep_report.html", title=title, header=_header(a), warnings=a.warnings, key=key_results(a),
                  figures=figures, **sensitivity_tables(a), analysis_text=_analysis_text(a),
                  methods=text_sections(methods_sections(a)), manifest=manifest_text(shown_manifest(a)))
