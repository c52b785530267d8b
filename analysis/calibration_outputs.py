"""Outputs of ``python run.py calibrate``: ``calibration.json``, ``calibration.md`` and ``evaluations.csv``.

Every file is written atomically (a temporary file, then a rename), so a
killed calibration leaves either the previous version or the new one.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.calibration_fit import FitResult, Profile
from analysis.calibration_objective import EvaluationStore, standardised_error
from sim.runs.store import Calibration, git_commit, utc_now, versions, write_json, write_table, write_text

FILES = ("calibration.json", "calibration.md", "evaluations.csv")


def evaluations_table(cal: Calibration, store: EvaluationStore) -> pd.DataFrame:
    """One row per evaluated parameter vector, in the order first asked for."""
    rows = []
    for e in store.ordered():
        rows.append({"evaluation": e.number, "hash": e.hash, "phase": e.phase,
                     **cal.assignment(e.values), "objective": e.objective,
                     **{t.name: e.measured[t.name] for t in cal.targets}, "runs": e.runs, "failed_runs": e.failed,
                     "reused": e.reused})
    return pd.DataFrame(rows)


def target_rows(cal: Calibration, store: EvaluationStore, result: FitResult) -> list[dict]:
    best = store.evaluations[cal.vector_hash(result.values)]
    return [{**t.as_dict(), "measured": best.measured[t.name],
             "standardised_error": standardised_error(t, best.measured[t.name])} for t in cal.targets]


def calibration_record(cal: Calibration, store: EvaluationStore, result: FitResult, profiles: list[Profile],
                       header: dict) -> dict:
    """Everything ``calibration.json`` holds."""
    exp = cal.experiment
    by_key = {p.key: p for p in profiles}
    parameters = []
    for p, value in zip(cal.parameters, result.values, strict=True):
        prof = by_key.get(p.key)
        parameters.append({"key": p.key, "low": p.low, "high": p.high, "log": p.log, "start": p.start,
                           "fitted": value, "identifiable": None if prof is None else prof.identifiable,
                           "profile": None if prof is None else prof.as_dict()})
    ordered = store.ordered()
    return {
        "kind": "calibration",
        "name": cal.name,
        "description": cal.description,
        **header,
        "quick": cal.quick,
        "calibration_file": str(cal.path),
        "calibration_text": cal.text,
        "calibration_sha256": cal.sha256,
        "experiment_file": str(exp.path),
        "experiment_text": exp.path.read_text(encoding="utf-8"),
        "master_seed": exp.master_seed,
        "run_seeds": [{"run": s.run_id, "key": s.key, "seed": s.seed} for s in exp.runs()],
        "objective": result.objective,
        "evaluation": cal.vector_hash(result.values),
        "parameters": parameters,
        "targets": target_rows(cal, store, result),
        "optimiser": {"method": result.method, "seed": cal.optimiser.seed, "budget": cal.optimiser.budget,
                      "success": result.success, "message": result.message, "nit": result.nit,
                      "nfev": result.nfev, "x_unit": result.unit},
        "profile": {"points": cal.profile_points, "span": cal.profile_span},
        "evaluations": {"total": len(ordered), "optimiser": sum(e.phase == "optimiser" for e in ordered),
                        "profile": sum(e.phase != "optimiser" for e in ordered),
                        "reused": sum(e.reused for e in ordered), "batches_run": store.batches_run,
                        "failed_runs": sum(e.failed for e in ordered)},
        "versions": versions(),
        "git_commit": git_commit(),
        "finished_utc": utc_now(),
    }


def _range_text(prof: Profile | None, level: str) -> str:
    if prof is None:
        return "–"
    low, high, low_closed, high_closed = prof.ranges[level]
    return f"{'' if low_closed else '< '}{low:.4g} to {'' if high_closed else '> '}{high:.4g}"


def markdown(record: dict, profiles: list[Profile]) -> str:
    """The readable table of ``calibration.md``."""
    by_key = {p.key: p for p in profiles}
    ev = record["evaluations"]
    opt = record["optimiser"]
    lines = [f"# Calibration: {record['name']}", "", record["description"], "",
             f"- command: `{record.get('command', '')}`",
             f"- calibration file: {record['calibration_file']} (sha256 {record['calibration_sha256'][:12]})",
             f"- experiment: {record['experiment_file']}, master seed {record['master_seed']}, "
             f"{len(record['run_seeds'])} runs per evaluation{' (quick)' if record['quick'] else ''}",
             f"- optimiser: {opt['method']}, seed {opt['seed']}, budget "
             + ", ".join(f"{k} = {v}" for k, v in opt["budget"].items())
             + f"; {opt['nfev']} evaluations ({opt['message']})",
             f"- evaluations: {ev['total']} ({ev['optimiser']} optimiser, {ev['profile']} profile; {ev['reused']} "
             f"reused from the folder), {ev['failed_runs']} failed runs",
             f"- objective at the optimum: {record['objective']:.4g} (sum of squared standardised errors)",
             f"- wall time: {record.get('wall time', '')}", "",
             "## Parameters", "",
             "| parameter | bounds | fitted | objective ≤ min + 1 | objective ≤ min + 4 | identifiability |",
             "|---|---|---|---|---|---|"]
    for p in record["parameters"]:
        prof = by_key.get(p["key"])
        bounds = f"[{p['low']:g}, {p['high']:g}]{' (log)' if p['log'] else ''}"
        ident = "not assessed (no profile)" if prof is None else prof.note
        lines.append(f"| `{p['key']}` | {bounds} | {p['fitted']:.6g} | {_range_text(prof, '+1')} | "
                     f"{_range_text(prof, '+4')} | {ident} |")
    lines += ["", "## Targets", "", "| target | metric | groups | wanted ± sd | measured | standardised error |",
              "|---|---|---|---|---|---|"]
    for t in record["targets"]:
        groups = t["group"] if t["kind"] == "mean" else f"{t['treated']} vs {t['reference']}"
        unit = " %" if t["kind"] == "pct_change" else ""
        z = t["standardised_error"]
        lines.append(f"| {t['name']} | `{t['metric']}` | {groups} | {t['value']:g} ± {t['sd']:g}{unit} | "
                     f"{_fmt(t['measured'])}{unit} | {'–' if not np.isfinite(z) else f'{z:+.2f}'} |")
    lines += ["", "Ranges: the parameter values whose objective stays within the minimum + 1 (or + 4) along its "
                  "one-at-a-time profile; `< a` or `> b` where the profile does not rise that far before its last "
                  "point (the range extends further).", ""]
    return "\n".join(lines)


def _fmt(x: float) -> str:
    return "nan" if x is None or not math.isfinite(x) else f"{x:.4g}"


def write_outputs(out: Path, cal: Calibration, store: EvaluationStore, result: FitResult, profiles: list[Profile],
                  header: dict) -> dict:
    """Write the three files; returns the record of ``calibration.json``."""
    record = calibration_record(cal, store, result, profiles, header)
    write_table(out / "evaluations.csv", evaluations_table(cal, store))
    write_json(out / "calibration.json", record)
    write_text(out / "calibration.md", markdown(record, profiles))
    return record
