"""What a batch report shows, computed once from a batch folder's manifest and summary (:mod:`analysis.report`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.report_figures import Design


@dataclass
class Analysis:
    """Everything the report shows, computed once."""

    manifest: dict
    summary: pd.DataFrame                  # all runs
    ok: pd.DataFrame                       # finished runs
    readouts: list[str]
    design: Design
    reference: dict
    groups: pd.DataFrame
    effects: pd.DataFrame
    anova: pd.DataFrame
    hill: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    contrasts: pd.DataFrame = field(default_factory=pd.DataFrame)   # analysis.contrasts.contrast_effects
    factorial: pd.DataFrame = field(default_factory=pd.DataFrame)   # analysis.contrasts.factorial_anova
