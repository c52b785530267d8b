"""What ``run.py validate`` writes: ``validation.csv``, ``validation.md`` and ``figures/*.png``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import validate_figures
from analysis.validate import FINDINGS, markdown
from analysis.validation_measures import ValidationData
from sim.runs.outputs import write_bytes, write_table, write_text


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
