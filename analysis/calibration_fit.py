"""The optimiser driver and the identifiability profiles of ``python run.py calibrate``.

The optimisers (scipy.optimize) work in the unit cube: each parameter's
range mapped to [0, 1] (its log10 for ``log = true``), so that bounds are the
cube's faces and every parameter has the same scale.

- ``differential_evolution``: ``maxiter`` generations of ``popsize`` x D
  members (Latin-hypercube start, seeded by the optimiser's seed, no final
  polish); each generation is evaluated as one set of batches (``workers`` =
  a map over the store, deferred updating).
- ``nelder_mead``: bounded Nelder-Mead (``bounds=``) from the parameters'
  ``start`` (default: the middle of the range) with an initial simplex of
  steps of ``SIMPLEX_STEP`` of the range, at most ``maxfev`` evaluations.

The profile: for each parameter, ``points`` values across +- ``span`` of its
range around the optimum (clipped to the bounds), the others held at the
optimum; each is one more evaluation. From the objective along it, the range
of values whose objective stays within +1 (and +4) of the minimum, by linear
interpolation of sqrt(objective - minimum) between the points; the parameter is identifiable if its +1
range closes on both sides within the profile (the objective rises above the
minimum + 1 on both sides before the window's edge or a bound).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from analysis.calibration_objective import Evaluate, Evaluation, EvaluationStore
from sim.runs.store import Calibration

SIMPLEX_STEP = 0.1       # Nelder-Mead's first steps, a share of each range (assumption: coarse enough to see
                         # the parameters' effects above the noise left by common random numbers)
XATOL = 1e-3             # Nelder-Mead stops when the simplex spans less than this share of each range...
FATOL = 1e-3             # ...and the objective varies by less than this
LEVELS = (1.0, 4.0)      # the profile's ranges: objective within the minimum + 1 (and + 4)


@dataclass
class FitResult:
    method: str
    unit: list[float]            # the optimum in the unit cube
    values: tuple[float, ...]    # ... and its parameter values
    objective: float
    success: bool
    message: str
    nit: int
    nfev: int


def fit(cal: Calibration, store: EvaluationStore) -> FitResult:
    """Minimise the objective with the calibration's optimiser; the optimum is the best evaluation it made."""
    d = len(cal.parameters)
    bounds = [(0.0, 1.0)] * d
    settings = cal.optimiser
    if settings.method == "differential_evolution":
        def mapper(func, population):    # one generation as one set of batches
            return store.evaluate_units(list(population), "optimiser")

        result = optimize.differential_evolution(store, bounds, maxiter=settings.budget["maxiter"],
                                                 popsize=settings.budget["popsize"], rng=settings.seed,
                                                 polish=False, init="latinhypercube", updating="deferred",
                                                 workers=mapper)
    else:
        x0 = np.array([0.5 if p.start is None else p.to_unit(p.start) for p in cal.parameters])
        simplex = [x0]
        for i in range(d):
            step = np.zeros(d)
            step[i] = SIMPLEX_STEP if x0[i] + SIMPLEX_STEP <= 1.0 else -SIMPLEX_STEP
            simplex.append(x0 + step)
        result = optimize.minimize(store, x0, method="Nelder-Mead", bounds=bounds,
                                   options={"maxfev": settings.budget["maxfev"], "xatol": XATOL, "fatol": FATOL,
                                            "initial_simplex": np.array(simplex)})
    best = min((e for e in store.evaluations.values() if e.phase == "optimiser"), key=lambda e: e.objective)
    return FitResult(settings.method, [p.to_unit(v) for p, v in zip(cal.parameters, best.values, strict=True)],
                     best.values, best.objective, bool(result.success), str(result.message),
                     int(getattr(result, "nit", 0)), int(result.nfev))


# --------------------------------------------------------------------------- profiles


@dataclass
class Profile:
    key: str
    values: list[float]          # parameter values along the profile, ascending
    objectives: list[float]
    minimum: float               # the lowest objective of the profile (the optimum's, unless a point is lower)
    ranges: dict[str, list]      # "+1" / "+4": [low, high, low_closed, high_closed]
    identifiable: bool
    note: str

    def as_dict(self) -> dict:
        return {"key": self.key, "values": self.values, "objectives": self.objectives, "minimum": self.minimum,
                "ranges": self.ranges, "identifiable": self.identifiable, "note": self.note}


def profile_units(centre: float, points: int, span: float) -> list[float]:
    """``points`` unit coordinates across +- ``span`` around ``centre``, clipped to [0, 1], without repeats."""
    return sorted({float(np.clip(centre + o, 0.0, 1.0)) for o in np.linspace(-span, span, points)} | {centre})


def profiles(cal: Calibration, evaluate: Evaluate, optimum: FitResult) -> list[Profile]:
    """One-at-a-time profiles of every parameter around the optimum (all points evaluated as one set)."""
    if cal.profile_points == 0:
        return []
    wanted = []
    for i, p in enumerate(cal.parameters):
        for u in profile_units(optimum.unit[i], cal.profile_points, cal.profile_span):
            values = list(optimum.values)
            values[i] = optimum.values[i] if u == optimum.unit[i] else p.from_unit(u)
            wanted.append((i, tuple(values)))
    results: list[Evaluation] = []
    for i, p in enumerate(cal.parameters):   # one call per parameter: the phase names it
        results += evaluate([v for j, v in wanted if j == i], f"profile:{p.key}")
    out = []
    for i, p in enumerate(cal.parameters):
        mine = sorted({e.values[i]: e.objective for (j, _), e in zip(wanted, results, strict=True) if j == i}.items())
        out.append(profile_of(p.key, [v for v, _ in mine], [f for _, f in mine], (p.low, p.high)))
    return out


def profile_of(key: str, values: list[float], objectives: list[float], bounds: tuple[float, float]) -> Profile:
    """The +1 and +4 ranges of a profile and whether the parameter is identifiable (see the module's text)."""
    x, f = np.asarray(values, dtype=float), np.asarray(objectives, dtype=float)
    m = int(np.argmin(f))
    minimum = float(f[m])
    ranges = {}
    for level in LEVELS:
        threshold = minimum + level
        low, low_closed = _crossing(x, f, m, threshold, -1)
        high, high_closed = _crossing(x, f, m, threshold, +1)
        ranges[f"+{level:g}"] = [low, high, low_closed, high_closed]
    low_closed, high_closed = ranges["+1"][2], ranges["+1"][3]
    identifiable = low_closed and high_closed
    if identifiable:
        note = "identifiable: the objective rises by more than 1 on both sides"
    else:
        sides = [name for name, closed, edge, bound in (("below", low_closed, x[0], bounds[0]),
                                                         ("above", high_closed, x[-1], bounds[1])) if not closed]
        at_bound = [s for s, edge, bound in (("below", x[0], bounds[0]), ("above", x[-1], bounds[1]))
                    if s in sides and np.isclose(edge, bound)]
        note = (f"not identifiable: the objective stays within +1 of the minimum {' and '.join(sides)} the optimum "
                f"across the profile" + (f" (reaching the bound {' and '.join(at_bound)})" if at_bound else ""))
    return Profile(key, [float(v) for v in x], [float(v) for v in f], minimum, ranges, bool(identifiable), note)


def _crossing(x: np.ndarray, f: np.ndarray, m: int, threshold: float, direction: int) -> tuple[float, bool]:
    """Walking from the minimum ``m`` in ``direction``, where the profile first exceeds ``threshold`` and True;
    or the last point and False if it never does. Between two points, sqrt(objective - minimum) is interpolated
    linearly (exact for a quadratic profile, as a sum of squared errors is near its minimum)."""
    g = np.sqrt(np.maximum(f - f[m], 0.0))     # linear in x for a quadratic profile
    level = np.sqrt(threshold - f[m])
    j = m
    while 0 <= j + direction < len(x):
        k = j + direction
        if f[k] > threshold:
            t = (level - g[j]) / (g[k] - g[j])
            return float(x[j] + t * (x[k] - x[j])), True
        j = k
    return float(x[j]), False
