"""What ``run.py validate`` writes and prints: ``validation.csv``, ``validation.md``, ``figures/*.png``, and the
table and summary line of the terminal. The rows are :func:`analysis.validation_findings.evaluate`'s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis import stats, validate_figures
from analysis.report_render import fmt_p, p_text
from analysis.validation_findings import FINDINGS
from analysis.validation_measures import ValidationData
from sim.runs.store import write_bytes, write_table, write_text


def markdown(rows: pd.DataFrame, header: dict[str, str]) -> str:
    """The validation table in Markdown, after a short header (mode, seeds, time)."""
    lines = ["# Validation: the findings of docs/science.md", ""]
    lines += [f"- {k}: {v}" for k, v in header.items()]
    lines += ["", "| id | finding | status | measure | compared | measured (95 % CI) | test | p | criterion "
                  "| expected (docs/science.md) | result |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows.itertuples():
        cells = [r.id, r.finding, r.status, measure_name(r.metric), r.compared, r.measured, r.test, fmt_p(r.p),
                 r.criterion, r.expected, f"**{r.result}**"]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    lines += ["", summary_line(rows), ""]
    return "\n".join(lines)


def summary_line(rows: pd.DataFrame) -> str:
    """'19 of 21 checks pass (calibrated 14 of 15, predicted 5 of 6); FAIL: 3, 7a'."""
    checked = rows[rows["result"] != "INFO"]
    failed = checked[checked["result"] == "FAIL"]
    text = f"{len(checked) - len(failed)} of {len(checked)} checks pass"
    parts = [f"{status} {int((group['result'] == 'PASS').sum())} of {len(group)}"
             for status, group in checked.groupby("status", sort=False)]
    text += f" ({', '.join(parts)})" if parts else ""
    return text + (f"; FAIL: {', '.join(failed['id'])}" if len(failed) else "")


def measure_name(metric: str) -> str:
    """Readable name of a row's metric (or of both metrics of 'a vs b' and 'a / b')."""
    return " vs ".join(" / ".join(stats.name_of(m) for m in part.split(" / ")) for part in metric.split(" vs "))


def console_table(rows: pd.DataFrame) -> str:
    """The table for the terminal, two lines per check: what is compared; measured (95 % CI), test and p."""
    out = []
    for r in rows.itertuples():
        out.append(f"{r.id:<4} {r.result:<5} {measure_name(r.metric)}: {r.compared}")
        p = f"; {p_text(r.p)}" if np.isfinite(r.p) else ""
        out.append(f"{'':<10} {r.measured}{p}; {r.test}; criterion: {r.criterion}")
    out.append(summary_line(rows))
    return "\n".join(out)


def write_outputs(out: Path, rows: pd.DataFrame, data: ValidationData, header: dict[str, str]) -> None:
    """``validation.csv``, ``validation.md`` and ``figures/*.png`` (one per finding, dose-response curves)."""
    import matplotlib.pyplot as plt

    write_table(out / "validation.csv", rows)
    write_text(out / "validation.md", markdown(rows, header))
    (out / "figures").mkdir(exist_ok=True)
    for finding in FINDINGS:
        for figure in validate_figures.figures(finding, data, rows[rows["id"].isin(finding.row_ids())]):
            write_bytes(out / "figures" / f"{figure.key}.png", figure.png())
            plt.close(figure.fig)
