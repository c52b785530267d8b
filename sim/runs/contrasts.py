"""The comparisons an experiment's analysis draws: its contrasts and, where the drugs cross, its factorial design.

A contrast compares a treatment group with a reference group; a group is a
scenario and a condition. An experiment file declares them as::

    [[contrasts]]
    name = "ketamine with DPCPX"              # optional
    treatment = { condition = "ketamine_10uM_dpcpx" }
    reference = { condition = "dpcpx" }       # a side without `scenario` pairs within each scenario

A key given on one side only is shared by the other; a key given on neither
side is paired within each of its values. Without declared contrasts the
defaults are derived from the drugs of the conditions (their ``*_uM``
concentrations, :class:`sim.model.params.ConditionParams`): each condition is
compared with the condition that has the same drugs but one (ketamine +
DPCPX vs DPCPX, and vs ketamine alone), within each scenario; and each
scenario is compared with the reference scenario within each condition.

Conditions whose drugs form a full two-level factorial (each of two or more
drugs absent or at one concentration, every combination present) are the
``factorial`` of the manifest, which the analysis fits with interaction terms.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields
from pathlib import Path

from sim.model.params import ConditionParams, Scenario, ScenarioError, did_you_mean

SIDE_KEYS = ("scenario", "condition")
CONTRAST_KEYS = ("name", "treatment", "reference")


@dataclass(frozen=True)
class Group:
    """One group of runs: a scenario and a condition (as named in the experiment)."""

    scenario: str
    condition: str

    def as_dict(self) -> dict[str, str]:
        return {"scenario": self.scenario, "condition": self.condition}


def drug_fields() -> tuple[str, ...]:
    """The drug concentrations of a condition (µM): the ``*_uM`` fields of ConditionParams."""
    return tuple(f.name for f in fields(ConditionParams) if f.name.endswith("_uM"))


def drugs_of(scenario: Scenario, condition: str) -> dict[str, float]:
    """The drugs a condition applies: field -> bath concentration (µM), absent drugs left out."""
    params = scenario.condition(condition)
    return {d: float(getattr(params, d)) for d in drug_fields() if getattr(params, d) > 0}


# --------------------------------------------------------------------------- declared contrasts


def declared_contrasts(entries: object, scenarios: list[str], conditions: list[str], path: Path) -> list[dict]:
    """The ``[[contrasts]]`` of an experiment file, checked, each with its pairs of groups."""
    if not isinstance(entries, list) or not entries:
        raise ScenarioError(f"{path}: contrasts: expected a non-empty list of [[contrasts]] tables")
    return [_declared(entry, i, scenarios, conditions, path) for i, entry in enumerate(entries)]


def _declared(entry: object, i: int, scenarios: list[str], conditions: list[str], path: Path) -> dict:
    where = f"{path}: contrasts[{i}]"
    if not isinstance(entry, dict):
        raise ScenarioError(f"{where}: expected a table with treatment and reference")
    _check_keys(entry, CONTRAST_KEYS, where)
    sides = {side: _side(entry.get(side), f"{where}.{side}", scenarios, conditions) for side in ("treatment",
                                                                                                 "reference")}
    pairs = _expand(sides["treatment"], sides["reference"], {"scenario": scenarios, "condition": conditions})
    if any(t == r for t, r in pairs):
        raise ScenarioError(f"{where}: treatment and reference are the same group; allowed: two different groups")
    name = entry.get("name", _describe(sides["treatment"], sides["reference"]))
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{where}.name: expected a non-empty text, got {name!r}")
    return _record(name, "declared", pairs)


def _side(side: object, where: str, scenarios: list[str], conditions: list[str]) -> dict[str, str]:
    if not isinstance(side, dict) or not side:
        raise ScenarioError(f"{where}: expected a table with scenario and/or condition, e.g. "
                            f"{{ condition = \"{conditions[0]}\" }}")
    _check_keys(side, SIDE_KEYS, where)
    for key, allowed in (("scenario", scenarios), ("condition", conditions)):
        if key in side and side[key] not in allowed:
            raise ScenarioError(f"{where}.{key}: {side[key]!r} is not one of the experiment's {key}s"
                                f"{did_you_mean(str(side[key]), allowed)}; allowed: {', '.join(allowed)}")
    return dict(side)


def _check_keys(table: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ScenarioError(f"{where}.{key}: unknown key{did_you_mean(key, allowed)}; "
                                f"allowed: {', '.join(allowed)}")


def _expand(treatment: dict, reference: dict, values: dict[str, list[str]]) -> list[tuple[Group, Group]]:
    """The pairs of groups a contrast compares: keys on neither side range over their values."""
    free = [k for k in SIDE_KEYS if k not in treatment and k not in reference]
    pairs = []
    for combo in itertools.product(*(values[k] for k in free)):
        shared = dict(zip(free, combo, strict=True))
        t = {**shared, **reference, **treatment}
        r = {**shared, **treatment, **reference}
        pairs.append((Group(**{k: t[k] for k in SIDE_KEYS}), Group(**{k: r[k] for k in SIDE_KEYS})))
    return pairs


def _describe(treatment: dict, reference: dict) -> str:
    def text(side: dict) -> str:
        return " / ".join(side[k] for k in SIDE_KEYS if k in side)
    return f"{text(treatment)} vs {text(reference)}"


def _record(name: str, source: str, pairs: list[tuple[Group, Group]], **extra) -> dict:
    return {"name": name, "source": source, **extra,
            "pairs": [{"treatment": t.as_dict(), "reference": r.as_dict()} for t, r in pairs]}


# --------------------------------------------------------------------------- defaults from the drugs


def default_contrasts(scenario: Scenario, scenarios: list[str], conditions: list[str],
                      reference: dict[str, str]) -> list[dict]:
    """Each condition vs the same drugs but one (within each scenario), then each scenario vs the reference
    scenario (within each condition). ``scenario`` defines the conditions' drugs."""
    drugs = {c: drugs_of(scenario, c) for c in conditions}
    out = []
    for condition, applied in drugs.items():
        for drug in applied:
            without = {d: v for d, v in applied.items() if d != drug}
            for other in (c for c, a in drugs.items() if a == without):
                pairs = [(Group(s, condition), Group(s, other)) for s in scenarios]
                out.append(_record(f"{condition} vs {other}", "drugs", pairs, drug=drug))
    for name in (s for s in scenarios if s != reference["scenario"]):
        pairs = [(Group(name, c), Group(reference["scenario"], c)) for c in conditions]
        out.append(_record(f"{name} vs {reference['scenario']}", "scenarios", pairs))
    return out


def factorial(scenario: Scenario, conditions: list[str]) -> dict | None:
    """The largest full two-level factorial of drugs among the conditions (highest concentrations first):
    ``{"drugs": {field: µM}, "conditions": {condition: [drug fields applied]}}``, or None."""
    drugs = {c: drugs_of(scenario, c) for c in conditions}
    seen = [d for d in drug_fields() if any(d in applied for applied in drugs.values())]
    for size in range(len(seen), 1, -1):
        for subset in itertools.combinations(seen, size):
            found = _factorial_of(subset, drugs)
            if found is not None:
                return found
    return None


def _factorial_of(subset: tuple[str, ...], drugs: dict[str, dict[str, float]]) -> dict | None:
    levels = [sorted({a[d] for a in drugs.values() if d in a}, reverse=True) for d in subset]
    for doses in itertools.product(*levels):
        cells = {}
        for on in itertools.product((False, True), repeat=len(subset)):
            want = {d: dose for d, dose, o in zip(subset, doses, on, strict=True) if o}
            cell = next((c for c, a in drugs.items() if a == want), None)
            if cell is None:
                break
            cells[cell] = list(want)
        else:
            return {"drugs": dict(zip(subset, doses, strict=True)), "conditions": cells}
    return None
