"""Validation findings: the findings of docs/science.md, each as checks on a validation experiment.

    rows = evaluate(ValidationData(OUT))          # one row per check of FINDINGS (columns ROW_COLUMNS)

``OUT`` is a validation folder (:mod:`analysis.validation_measures`); the checks
are :mod:`analysis.validation_checks`; the table, its files and the figures are
:mod:`analysis.validate_outputs` and :mod:`analysis.validate_figures`
(``python run.py validate``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from analysis.validation_checks import (
    Change,
    Check,
    Contrast,
    Group,
    HillFit,
    LargerImpairment,
    RatioOfChanges,
    TsodyksMarkramFit,
    depressed,
    normal,
)
from analysis.validation_measures import ValidationData

#: whether a finding was a target of the calibration (docs/calibration.md) or is a prediction of the model
STATUSES = ("calibrated", "predicted", "informational")
ROW_COLUMNS = ("id", "finding", "status", "experiment", "compared", "metric", "measured", "effect", "ci_low", "ci_high",
               "unit", "test", "p", "criterion", "expected", "n", "result")


@dataclass(frozen=True)
class Finding:
    """One finding of docs/science.md: its checks (table rows) on one experiment, and its figure."""

    key: str                            # "1".."10"; "D" for the dose-response fits
    title: str
    experiment: str                     # where the checks' runs come from (unless a check names another)
    expected: str                       # direction / size from docs/science.md
    checks: tuple[Check, ...]
    extra_panels: tuple[str, ...] = ()  # names of non-bar panels (analysis.validate_figures.EXTRA_PANELS)
    status: str = field(kw_only=True)   # calibrated | predicted | informational (STATUSES)

    def row_ids(self) -> list[str]:
        """The table ids of the finding's checks: its key, or the key with a, b, ... for several checks."""
        if len(self.checks) == 1:
            return [self.key]
        return [f"{self.key}{chr(ord('a') + i)}" for i in range(len(self.checks))]


K10, DPCPX, AMPA, ADO = "ketamine_10uM", "dpcpx", "ampa_antagonist", "adenosine_10uM"
EVOKED = "evoked_release_glu"
TAU_KEY = "vesicles.glutamatergic.endocytosis_tau_s"
TAU_FAST = Group(level=((TAU_KEY, 10.0),), text="τ_endo 10 s")
TAU_SLOW = Group(level=((TAU_KEY, 40.0),), text="τ_endo 40 s")


def vs_vehicle(metric: str, treated: str, scenario: Callable[[str], Group] = normal) -> Contrast:
    """``metric`` of the ``treated`` condition against vehicle, in the network of ``scenario`` (a Group factory)."""
    return Contrast(metric, scenario(treated), scenario("vehicle"))


def shared(condition: str) -> Group:
    """Normal-network runs of evoked_release.toml, which antagonists.toml shares (same protocol, other drugs)."""
    return Group(condition, "normal", experiment="evoked_release")


def impairment(kind: str, scenario: Callable[[str], Group]) -> LargerImpairment:
    """Ketamine 10 µM vs vehicle in ``scenario`` (a Group factory): FM uptake (``fm_uptake``) or τ (``tau_endo``)."""
    def contrast(t: str) -> Contrast:
        return Contrast(f"{kind}_{t}", scenario(K10), scenario("vehicle"))
    return LargerImpairment(contrast("glu"), contrast("gaba"), -1 if kind == "fm_uptake" else 1)


KETAMINE_EFFECT = Contrast(EVOKED, shared(K10), shared("vehicle"))
AFTER_BEFORE = "evoked_release_after_before"
#: within the same network (mid_run.toml): ketamine's after / before ratio against the vehicle's
KETAMINE_WITHIN = Contrast(AFTER_BEFORE, normal(K10), normal("vehicle"))


FINDINGS: tuple[Finding, ...] = (
    Finding("1", "Ketamine lowers evoked glutamate release", "evoked_release",
            "decrease after wash-in, in normal and depression-like networks, and within the same network "
            "(after vs before wash-in)",
            (*(Change(vs_vehicle(m, K10, s), "decrease") for m in (EVOKED, "highk_glutamate")
               for s in (normal, depressed)),
             Change(KETAMINE_WITHIN, "decrease", experiment="mid_run")), status="calibrated"),
    Finding("2", "Ketamine impairs recycling more in glutamatergic than GABAergic cells", "recycling",
            "FM-dye uptake down and endocytosis τ up, much more in glutamatergic neurons",
            tuple(impairment(k, s) for s in (normal, depressed) for k in ("fm_uptake", "tau_endo")), ("phluorin",),
            status="calibrated"),
    Finding("3", "DPCPX prevents ketamine's decrease", "antagonists",
            "with DPCPX the decrease is at most half of that without, between networks and within the same network",
            (RatioOfChanges(Contrast(EVOKED, normal("ketamine_10uM_dpcpx"), normal(DPCPX)), KETAMINE_EFFECT, 0.5),
             RatioOfChanges(Contrast(AFTER_BEFORE, normal("ketamine_10uM_dpcpx"), normal(DPCPX)), KETAMINE_WITHIN,
                            0.5, experiment="mid_run")),
            status="calibrated"),
    Finding("4", "An AMPA antagonist prevents ketamine's decrease", "antagonists",
            "with the AMPA antagonist the decrease is at most half of that without",
            (RatioOfChanges(Contrast(EVOKED, normal("ketamine_10uM_ampa_antagonist"), normal(AMPA)), KETAMINE_EFFECT,
                            0.5),), status="calibrated"),
    Finding("5", "DPCPX alone raises evoked glutamate release", "antagonists",
            "increase (tonic adenosine; ~+40 % in slices, Hargus et al. 2009)",
            (Change(Contrast(EVOKED, normal(DPCPX), shared("vehicle")), "increase"),), status="calibrated"),
    Finding("6", "Adenosine 10 µM lowers glutamate release, raises the PPR, spares GABA release", "antagonists",
            "glutamate release −40 to −75 %; paired-pulse ratio up; GABA release barely changed",
            (Change(Contrast(EVOKED, normal(ADO), shared("vehicle")), "decrease", min_pct=40.0, max_pct=75.0),
             Change(vs_vehicle("paired_pulse_ratio_glu", ADO), "increase", experiment="paired_pulse"),
             RatioOfChanges(Contrast("rrp_fraction_released_gaba", normal(ADO), shared("vehicle")),
                            Contrast(EVOKED, normal(ADO), shared("vehicle")), 1 / 3, absolute=True)),
            status="calibrated"),
    Finding("7", "Ketamine time course: early rise, later fall below baseline", "time_course",
            "network glutamate release rises within seconds; evoked release later falls below baseline",
            (Change(Contrast("early_release_rise", Group(K10), Group()), "increase"),
             Change(Contrast("late_evoked_ratio", Group(K10), Group()), "decrease", below=1.0)),
            ("glutamate_timecourse",), status="calibrated"),
    Finding("8", "Ambient glutamate: depression-like > normal; ketamine lowers it", "evoked_release",
            "higher in depression-like networks; lowered by ketamine",
            (Change(Contrast("ambient_glutamate_uM", depressed("vehicle"), normal("vehicle")), "increase"),
             Change(vs_vehicle("ambient_glutamate_uM", K10, depressed), "decrease")), status="predicted"),
    Finding("9", "Slower endocytosis deepens train depression, not the single response", "train_depression",
            "first response barely changed; deeper depression during a sustained train (Hua et al. 2013)",
            (Change(Contrast("first_pulse_release_glu", TAU_SLOW, TAU_FAST), "unchanged"),
             Change(Contrast("train_depression_glu", TAU_SLOW, TAU_FAST), "decrease")),
            ("train_pulses",), status="predicted"),
    Finding("10", "RRP release follows Tsodyks-Markram with unlimited supply", "tsodyks_markram",
            "mean release per spike = n·U·x_k (docs/science.md, Tsodyks-Markram)", (TsodyksMarkramFit(),),
            ("tm_pulses", "tm_deviation"), status="predicted"),
    Finding("D", "Ketamine dose-response (informational)", "evoked_release",
            "EC50 of ketamine's effect on evoked release and on recycling (no value given by the paper)",
            tuple(HillFit(m, s) for m in (EVOKED, "recycling_flux_glu_per_s") for s in ("normal", "depression_like")),
            ("dose_response",), status="informational"),
)


def evaluate(data: ValidationData) -> pd.DataFrame:
    """One row per check of every finding (columns ``ROW_COLUMNS``)."""
    rows = []
    for finding in FINDINGS:
        for row_id, check in zip(finding.row_ids(), finding.checks, strict=True):
            experiment = check.experiment or finding.experiment
            row = {"id": row_id, "finding": finding.title, "status": finding.status, "experiment": experiment,
                   "criterion": check.criterion(), "expected": finding.expected, "effect": math.nan,
                   "ci_low": math.nan, "ci_high": math.nan, "unit": "", "test": "", "p": math.nan,
                   **check.evaluate(data, experiment)}
            passed = row.pop("passed")
            row["result"] = "INFO" if passed is None else "PASS" if passed else "FAIL"
            rows.append(row)
    return pd.DataFrame(rows, columns=list(ROW_COLUMNS))
