"""Test functions with known sensitivity indices, evaluated through the sweep machinery instead of the model.

A sweep file with ``model = "ishigami"`` runs this function for every run
(same design, seeds, workers, folders and analysis as a simulation sweep), so
that the plumbing from sweep file to ``sensitivity.csv`` can be checked
against analytic values. Its parameters are the function's inputs (``x1``,
``x2``, ``x3``), not scenario keys; it writes no time series.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


def ishigami(x1: float, x2: float, x3: float, a: float = 7.0, b: float = 0.1) -> float:
    """Ishigami & Homma (1990): sin x1 + a sin² x2 + b x3⁴ sin x1 (inputs uniform on [-π, π])."""
    return math.sin(x1) + a * math.sin(x2) ** 2 + b * x3 ** 4 * math.sin(x1)


@dataclass(frozen=True)
class ReferenceFunction:
    """A function of named inputs with one named output."""

    function: Callable[..., float]
    inputs: tuple[str, ...]
    output: str


TEST_MODELS = {"ishigami": ReferenceFunction(ishigami, ("x1", "x2", "x3"), "y")}


def evaluate(model: str, scenario_data: dict, spec: dict, source: str) -> dict:
    """One run of a test model (in a worker): its output as the run's summary metric; no tables."""
    test = TEST_MODELS[model]
    value = test.function(**{name: float(scenario_data[name]) for name in test.inputs})
    return {"summary": {test.output: value}, "timeseries": None, "pulses": None}
