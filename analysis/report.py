"""The report of a batch folder: ``report.html`` (self-contained), ``report.pdf`` (slides) and ``statistics.csv``.

    build_batch_report(Path("results/my_batch"))   # or: python -m analysis.report_folder results/my_batch

Everything is computed from the folder's files (``manifest.json``,
``summary.parquet``, ``runs/*/timeseries.parquet``); the only randomness is the
seeded bootstraps of :mod:`analysis.stats`, so the same folder gives the same
report. A missing, corrupt or foreign folder raises
:class:`sim.runs.outputs.OutputError` with one line naming the folder and the problem.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import contrasts, methods, report_summary, stats
from analysis import report_figures as rf
from analysis.batch_analysis import Analysis
from analysis.report_render import (
    Header,
    Rendered,
    TitleLine,
    description,
    fmt,
    fmt_ci,
    fmt_p,
    fmt_pct,
    fmt_pct_ci,
    header,
    manifest_text,
    p_text,
    render,
    run_rows,
    table,
    text_sections,
    write_pdf,
)
from sim.runs.store import RUNS_DIR, SUMMARY_FILES, load_batch, write_table, write_text

DEFAULT_READOUTS = ("evoked_release_glu_per_pulse", "released_glu_per_s", "glutamate_released_per_s",
                    "ambient_glutamate_uM", "recycling_flux_glu_per_s", "recycling_flux_gaba_per_s", "rate_glu_hz",
                    "rate_gaba_hz", "adenosine_uM")
NOT_IN_TIMESERIES = ("evoked_release_", "paired_pulse_ratio_", "population_fano_")
MAX_TIMECOURSES = 8
MAX_DOSE_FIGURES = 4


# --------------------------------------------------------------------------- loading and checking





def choose_readouts(manifest: dict, ok: pd.DataFrame, warnings: list[str]) -> list[str]:
    wanted = list(manifest.get("readouts") or DEFAULT_READOUTS)
    out = []
    for r in wanted:
        if r not in ok:
            warnings.append(f"readout '{r}' is not a column of {SUMMARY_FILES[0]}; skipped")
        elif not np.isfinite(pd.to_numeric(ok[r], errors="coerce")).any():
            warnings.append(f"readout '{r}' has no finite value in any run; skipped")
        else:
            out.append(r)
    return out


def fold_levels(frame: pd.DataFrame, into: str | tuple[str, ...] = "condition") -> pd.DataFrame:
    """For display: swept levels folded into the text of one column, or of each of several columns that name
    groups at the same levels (a contrast's condition and reference condition): 'ketamine_10uM |
    endocytosis_tau_s=10'."""
    levels = stats.level_columns(frame)
    columns = [c for c in ((into,) if isinstance(into, str) else into) if c in frame]
    if not levels or frame.empty or not columns:
        return frame
    text = frame[levels].astype(str).apply(lambda r: ", ".join(f"{k.split('.')[-1]}={v}" for k, v in r.items()),
                                           axis=1)
    return frame.assign(**{c: frame[c].astype(str) + " | " + text for c in columns}).drop(columns=levels)


def analyse(manifest: dict, summary: pd.DataFrame) -> Analysis:
    ok = summary[summary["status"] == "ok"].reset_index(drop=True)
    warnings = _completeness(manifest, summary)
    readouts = choose_readouts(manifest, ok, warnings)
    conditions = list(dict.fromkeys(r["condition"] for r in manifest["runs"]))
    view = fold_levels(ok)
    design = rf.Design.from_summary(view, list(manifest["scenarios"]), [] if len(view.columns) < len(ok.columns)
                                    else conditions)
    reference = {"scenario": manifest["reference"].get("scenario", design.scenarios[0]),
                 "condition": manifest["reference"].get("condition", design.conditions[0])}
    pools = [f"{p}_{t}" for t in ("glu", "gaba") for p in rf.POOLS if f"{p}_{t}" in ok]
    groups = stats.group_summary(ok, list(dict.fromkeys([*readouts, *pools])))
    return Analysis(manifest, summary, ok, readouts, design, reference, groups,
                    stats.effects(ok, readouts, reference), stats.two_way_anova(ok, readouts),
                    stats.dose_response(ok, readouts), warnings,
                    contrasts.contrast_effects(ok, readouts, manifest_contrasts(manifest, design, reference)),
                    contrasts.factorial_anova(ok, readouts, manifest.get("factorial")))


def manifest_contrasts(manifest: dict, design: rf.Design, reference: dict) -> list[dict]:
    """The manifest's contrasts; a folder made before contrasts were stored gets each condition vs the reference
    condition within each scenario."""
    if "contrasts" in manifest:
        return manifest["contrasts"]
    return [{"name": f"{c} vs {reference['condition']}", "source": "reference",
             "pairs": [{"treatment": {"scenario": s, "condition": c},
                        "reference": {"scenario": s, "condition": reference["condition"]}} for s in design.scenarios]}
            for c in design.conditions if c != reference["condition"]]


def display_view(a: Analysis) -> Analysis:
    """The analysis with swept levels folded into condition (or scenario) names, for figures and tables."""
    if not stats.level_columns(a.ok):
        return a
    return dataclasses.replace(a, ok=fold_levels(a.ok), groups=fold_levels(a.groups), effects=fold_levels(a.effects),
                               anova=fold_levels(a.anova, "readout"), hill=fold_levels(a.hill, "scenario"),
                               contrasts=fold_levels(a.contrasts, ("condition", "ref_condition")))


def _completeness(manifest: dict, summary: pd.DataFrame) -> list[str]:
    out = []
    n_runs, n_rows = len(manifest["runs"]), len(summary)
    failed = summary[summary["status"] != "ok"]
    if not manifest.get("finished_utc"):
        out.append("the batch has not finished (manifest has no finished_utc): this report covers the runs "
                   "done so far")
    if n_rows < n_runs:
        out.append(f"{n_runs - n_rows} of {n_runs} planned runs have no result")
    if len(failed):
        out.append(f"{len(failed)} run(s) failed and are excluded: {', '.join(failed['run_id'].astype(str))}")
    return out


# --------------------------------------------------------------------------- figures


def load_timeseries(folder: Path, ok: pd.DataFrame, readouts: list[str], warnings: list[str]) -> pd.DataFrame:
    """The time series of every finished run (only ``time_s`` and ``readouts``), long, with the run's group."""
    frames = []
    for run in ok.itertuples(index=False):
        path = folder / RUNS_DIR / str(run.run_id) / "timeseries.parquet"
        try:
            ts = pd.read_parquet(path, columns=["time_s", *readouts])
        except Exception:  # noqa: BLE001 - a missing or damaged file only drops this run from the time courses
            warnings.append(f"{path.relative_to(folder)}: missing or unreadable; run left out of the time courses")
            continue
        frames.append(ts.assign(run_id=run.run_id, scenario=run.scenario, condition=run.condition))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def timeseries_readouts(folder: Path, a: Analysis) -> list[str]:
    """The analysed readouts that are time-series columns (at most MAX_TIMECOURSES), from the first readable file."""
    import pyarrow.parquet as pq

    for run_id in a.ok["run_id"].astype(str):
        try:
            columns = set(pq.read_schema(folder / RUNS_DIR / run_id / "timeseries.parquet").names)
        except Exception:  # noqa: BLE001 - missing or damaged: try the next run
            continue
        return [r for r in a.readouts if r in columns and not r.startswith(NOT_IN_TIMESERIES)][:MAX_TIMECOURSES]
    a.warnings.append(f"no readable {RUNS_DIR}/*/timeseries.parquet: the report has no time courses")
    return []


def make_figures(folder: Path, a: Analysis) -> list[Callable[[], rf.ReportFigure]]:
    """The report's figures, in order, as functions that draw them (drawn one at a time, then closed)."""
    ref = methods.stored_scenarios(a.manifest).get(a.reference["scenario"])
    warmup = ref.protocol.warmup_s if ref else 0.0
    stimuli = [s.start_s for s in ref.protocol.stimuli if s.kind != "fm_dye"] if ref else []
    out: list[Callable[[], rf.ReportFigure]] = []
    if len(a.effects):
        out.append(partial(rf.effect_heatmap, a.effects, a.readouts, a.design, a.reference["condition"]))
    ts_readouts = timeseries_readouts(folder, a)
    ts = load_timeseries(folder, a.ok, ts_readouts, a.warnings) if ts_readouts else pd.DataFrame()
    if not ts.empty:
        out += [partial(rf.timecourse, ts, r, a.design, warmup, stimuli_s=stimuli) for r in ts_readouts]
    out += [partial(rf.comparison, a.ok, a.groups, r, a.design) for r in a.readouts]
    if (stats.dose_levels(a.ok) > 0).sum() >= 2:
        out += [partial(rf.dose_response, a.ok, a.hill, r, a.design) for r in a.readouts[:MAX_DOSE_FIGURES]]
    if all(f"{p}_{t}" in a.ok for p in rf.POOLS for t in ("glu", "gaba")):
        out.append(partial(rf.pool_composition, a.groups, a.design))
    return out


# --------------------------------------------------------------------------- the page's sentences and tables


def key_results(a: Analysis) -> list[str]:
    """Plain sentences with the main numbers: the first readout's effects, DPCPX reversal, EC50, scenarios."""
    if not a.readouts or a.effects.empty:
        return []
    r = a.readouts[0]
    within = a.effects[(a.effects["comparison"] == "within_scenario") & (a.effects["readout"] == r)]
    out = []
    for scenario in a.design.scenarios:
        parts = [f"{a.design.label(e.condition)} {fmt_pct(e.pct_change)} {fmt_pct_ci(e.pct_ci_low, e.pct_ci_high)} "
                 f"(g = {fmt(e.hedges_g, 3)}, Welch {p_text(e.welch_p)}, n = {e.n} vs {e.n_ref})"
                 for e in within[within["scenario"] == scenario].itertuples()]
        if parts:
            out.append(f"{stats.label_of(r)}, {a.design.scenario_label(scenario)}, vs {a.reference['condition']}: "
                       + "; ".join(parts) + ".")
    out += _reversal_sentences(a, r, within) + _hill_sentences(a, r) + _scenario_sentences(a, r)
    vs_reference = f" vs {a.design.label(a.reference['condition'])}:"
    return out + [s for s in report_summary.contrast_sentences(a, r) if vs_reference not in s]


def key_table(a: Analysis) -> pd.DataFrame:
    """Every readout at the highest ketamine-only dose and with ketamine + antagonist, % change vs the reference
    condition of the same scenario (CI, Welch p)."""
    drugs = a.design.drugs
    alone = [c for c, d in drugs.items() if d.get(stats.DOSE_COLUMN, 0) > 0
             and sum(v for k, v in d.items() if k != stats.DOSE_COLUMN) == 0]
    top = max(alone, key=lambda c: drugs[c][stats.DOSE_COLUMN]) if alone else None
    combined = [c for c, d in drugs.items() if d.get(stats.DOSE_COLUMN, 0) > 0 and c not in alone]
    conditions = ([top] if top else []) + combined
    within = a.effects[a.effects["comparison"] == "within_scenario"] if not a.effects.empty else a.effects
    rows = []
    for r in a.readouts if conditions and not within.empty else []:
        row = {"readout": stats.label_of(r)}
        for s in a.design.scenarios:
            for c in conditions:
                e = within[(within["readout"] == r) & (within["scenario"] == s) & (within["condition"] == c)]
                if len(e):
                    e = e.iloc[0]
                    row[f"{a.design.scenario_label(s)}: {a.design.label(c)}"] = (
                        f"{fmt_pct(e['pct_change'])} {fmt_pct_ci(e['pct_ci_low'], e['pct_ci_high'])}, "
                        f"{p_text(e['welch_p'])}")
        rows.append(row)
    return pd.DataFrame(rows)


def _reversal_sentences(a: Analysis, readout: str, within: pd.DataFrame) -> list[str]:
    """For ketamine + antagonist: the change with the antagonist as a fraction of the change without."""
    out = []
    drugs = a.design.drugs
    for cond, d in drugs.items():
        ket = d.get(stats.DOSE_COLUMN, 0)
        if ket <= 0 or sum(v for k, v in d.items() if k != stats.DOSE_COLUMN) <= 0:
            continue
        alone = next((c for c, e in drugs.items() if e.get(stats.DOSE_COLUMN) == ket
                      and sum(v for k, v in e.items() if k != stats.DOSE_COLUMN) == 0), None)
        if alone is None:
            continue
        for scenario in a.design.scenarios:
            e_with = within[(within["scenario"] == scenario) & (within["condition"] == cond)]
            e_alone = within[(within["scenario"] == scenario) & (within["condition"] == alone)]
            if e_with.empty or e_alone.empty:
                continue
            w, o = e_with.iloc[0], e_alone.iloc[0]
            clear = o["pct_ci_low"] > 0 or o["pct_ci_high"] < 0
            verdict = (f"the change with it is {100 * w['pct_change'] / o['pct_change']:.0f} % of the change without it"
                       if clear else f"{a.design.label(alone)} alone has no clear effect (its CI includes 0), so a "
                       "reversal cannot be judged")
            out.append(f"{a.design.scenario_label(scenario)}, {stats.name_of(readout)}: {a.design.label(cond)} "
                       f"{fmt_pct(w['pct_change'])} {fmt_pct_ci(w['pct_ci_low'], w['pct_ci_high'])} vs "
                       f"{fmt_pct(o['pct_change'])} {fmt_pct_ci(o['pct_ci_low'], o['pct_ci_high'])} with "
                       f"{a.design.label(alone)} alone; {verdict}.")
    return out


def _hill_sentences(a: Analysis, readout: str) -> list[str]:
    fits = a.hill[a.hill["readout"] == readout] if not a.hill.empty else a.hill
    out = []
    for f in fits.itertuples():
        if np.isfinite(f.ec50):
            out.append(f"Hill fit of {stats.name_of(readout)} against ketamine, {a.design.scenario_label(f.scenario)}: "
                       f"EC50 = {fmt(f.ec50, 3)} {stats.unit_of(stats.DOSE_COLUMN)} "
                       f"{fmt_ci(f.ec50_ci_low, f.ec50_ci_high)}, Emax = "
                       f"{fmt_pct(f.emax_pct)} of baseline ({fmt(f.emax, 3)} {f.unit}, 95 % CI "
                       f"{fmt_ci(f.emax_ci_low, f.emax_ci_high)}); {f.status}.")
        elif f.n_doses >= 3:
            out.append(f"Hill fit of {stats.name_of(readout)}, {a.design.scenario_label(f.scenario)}: {f.status}.")
    return out


def _scenario_sentences(a: Analysis, readout: str) -> list[str]:
    ref = a.effects[(a.effects["comparison"] == "vs_reference") & (a.effects["readout"] == readout)
                    & (a.effects["condition"] == a.reference["condition"])]
    return [f"{a.design.scenario_label(e.scenario)} vs {a.design.scenario_label(e.ref_scenario)} under "
            f"{a.reference['condition']}: {fmt_pct(e.pct_change)} {fmt_pct_ci(e.pct_ci_low, e.pct_ci_high)} "
            f"(Welch {p_text(e.welch_p)})." for e in ref.itertuples()]


def readout_table(a: Analysis, readout: str) -> pd.DataFrame:
    """Group summary and the effect against the same scenario's reference condition, one row per group."""
    g = a.groups[a.groups["readout"] == readout]
    e = a.effects[(a.effects["comparison"] == "within_scenario") & (a.effects["readout"] == readout)]
    keys = [c for c in stats.group_columns(a.ok)]
    merged = g.merge(e, on=[*keys, "readout"], how="left", suffixes=("", "_e"))
    rows = []
    for m in merged.itertuples(index=False):
        m = m._asdict()
        rows.append({"scenario": m["scenario"], "condition": a.design.label(m["condition"]),
                     **{k: m[k] for k in keys[2:]}, "n": m["n"], "mean": m["mean"], "SD": m["sd"],
                     "95 % CI": fmt_ci(m["ci_low"], m["ci_high"]), "% change": fmt_pct(m.get("pct_change", np.nan)),
                     "% change 95 % CI": fmt_pct_ci(m.get("pct_ci_low", np.nan), m.get("pct_ci_high", np.nan)),
                     "Hedges' g": m.get("hedges_g", np.nan), "Welch p": fmt_p(m.get("welch_p", np.nan)),
                     "Welch p (Holm)": fmt_p(m.get("welch_p_holm", np.nan)),
                     "Mann-Whitney p": fmt_p(m.get("mw_p", np.nan))})
    return pd.DataFrame(rows)


def reference_table(a: Analysis) -> pd.DataFrame:
    e = a.effects[a.effects["comparison"] == "vs_reference"] if not a.effects.empty else a.effects
    return pd.DataFrame([{"readout": stats.label_of(x.readout), "scenario": x.scenario,
                          "condition": a.design.label(x.condition), "n": x.n, "mean": x.mean,
                          "reference mean": x.mean_ref, "% change": fmt_pct(x.pct_change),
                          "95 % CI": fmt_pct_ci(x.pct_ci_low, x.pct_ci_high), "Hedges' g": x.hedges_g,
                          "Welch p": fmt_p(x.welch_p), "Mann-Whitney p": fmt_p(x.mw_p)} for x in e.itertuples()])


def _readout_label(readout: str) -> str:
    name, _, levels = readout.partition(" | ")
    return stats.label_of(name) + (f" | {levels}" if levels else "")


def anova_table(a: Analysis) -> pd.DataFrame:
    rows = []
    for x in a.anova.to_dict("records"):
        if x.get("term") == "not computed":
            rows.append({"readout": _readout_label(x["readout"]), "term": "not computed", "df": "", "F": "",
                         "p": "", "partial η²": "", "note": x.get("reason", "")})
        elif x.get("term") != "residual":
            rows.append({"readout": _readout_label(x["readout"]), "term": x["term"], "df": fmt(x["df"]),
                         "F": fmt(x["F"]), "p": fmt_p(x["p"]), "partial η²": fmt(x["partial_eta_sq"], 3), "note": ""})
    return pd.DataFrame(rows)


def hill_table(a: Analysis) -> pd.DataFrame | str:
    """The Hill fits, or one sentence when the design has too few ketamine concentrations for any fit."""
    if a.hill.empty:
        return "No runs with ketamine as the only drug."
    if a.hill["status"].str.startswith("not fitted").all():
        return f"No dose-response fit: {a.hill['status'].iloc[0]}."
    unit = stats.unit_of(stats.DOSE_COLUMN)
    return pd.DataFrame([{"readout": stats.label_of(f.readout), "scenario": f.scenario, "doses": f.n_doses,
                          "y0": f.y0, "Emax": f.emax, "Emax 95 % CI": fmt_ci(f.emax_ci_low, f.emax_ci_high),
                          "Emax (% of y0)": fmt_pct(f.emax_pct), f"EC50 ({unit})": f.ec50,
                          f"EC50 95 % CI ({unit})": fmt_ci(f.ec50_ci_low, f.ec50_ci_high), "R²": f.r_squared,
                          "status": f.status} for f in a.hill.itertuples()])


def _header(a: Analysis, folder: Path) -> Header:
    m = a.manifest
    rows = [("folder", str(folder)), ("experiment file", m.get("experiment_file", "")),
            ("command", m.get("command", "")), *run_rows(m, len(a.ok)),
            ("reference group", f"{a.reference['scenario']} / {a.reference['condition']}")]
    sections = [("summary", "Summary"), ("key", "Key results"), ("figures", "Figures"), ("statistics", "Statistics"),
                ("methods", "Methods"), ("manifest", "Manifest")]
    return header(m, f"{m.get('name', folder.name)}: batch report", rows, sections)


def statistics_tables(a: Analysis) -> dict[str, object]:
    """The Statistics section's tables, formatted: per readout (label, table), against the reference group, the
    contrasts, the factorial ANOVA (None without one) and its title, the two-way ANOVA and the Hill fits (a table
    or the sentence saying why there is none)."""
    hill = hill_table(a)
    factorial = not a.factorial.empty
    return {"readout_tables": [(stats.label_of(r), table(readout_table(a, r))) for r in a.readouts],
            "reference_table": table(reference_table(a)),
            "contrast_table": table(report_summary.contrast_table(a, a.contrasts)),
            "factorial_table": table(report_summary.factorial_table(a)) if factorial else None,
            "factorial_title": report_summary.factorial_title(a) if factorial else "",
            "anova_table": table(anova_table(a)), "hill_table": hill if isinstance(hill, str) else table(hill)}


def render_html(a: Analysis, folder: Path, figures: list[Rendered]) -> str:
    """The batch report's page (batch_report.html) from the display view of the analysis and its figures."""
    return render("batch_report.html", title=f"{a.manifest.get('name', folder.name)}: batch report",
                  header=_header(a, folder), warnings=a.warnings, summary=report_summary.summary_context(a, figures),
                  key=key_results(a), key_table=table(key_table(a)), reference=a.reference, figures=figures,
                  **statistics_tables(a), methods=text_sections(methods.methods_sections(a.manifest, a.summary)),
                  manifest=manifest_text(a.manifest))


# --------------------------------------------------------------------------- PDF and writing


def title_lines(a: Analysis, folder: Path) -> list[TitleLine]:
    m = a.manifest
    return [(m.get("name", folder.name), 24, "bold"), (description(m), 12, "normal"), ("", 10, "normal"),
            (f"scenarios: {', '.join(a.design.scenarios)}; conditions: "
             f"{', '.join(a.design.label(c) for c in a.design.conditions)}", 11, "normal"),
            (f"runs: {len(a.ok)} finished of {len(m['runs'])}; master seed {m.get('master_seed')}", 11, "normal"),
            (f"finished: {m.get('finished_utc') or 'not finished'} (UTC)", 11, "normal"),
            (f"code commit: {m.get('git_commit') or 'unknown'}", 11, "normal"), (f"folder: {folder}", 9, "normal")]


def build_batch_report(folder: Path) -> tuple[Path, Path]:
    """Write ``report.html``, ``report.pdf`` and ``statistics.csv`` into the batch folder; returns the two reports."""
    folder = Path(folder)
    manifest, summary = load_batch(folder)
    full = analyse(manifest, summary)
    a = display_view(full)
    html_path, pdf_path = folder / "report.html", folder / "report.pdf"
    title = f"{a.manifest.get('name', folder.name)}: batch report"
    rendered = write_pdf(pdf_path, title, title_lines(a, folder), make_figures(folder, a))
    write_text(html_path, render_html(a, folder, rendered))
    write_table(folder / "statistics.csv", stats.tidy_statistics(full.groups, full.effects, full.anova, full.hill,
                                                                 full.contrasts, full.factorial))
    return html_path, pdf_path

