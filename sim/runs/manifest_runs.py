"""The runs listed in a batch manifest, checked field by field (``run.py reproduce`` re-runs them).

Each entry of the manifest's ``runs`` is ``RunSpec.as_dict()``: the fields of
:class:`sim.runs.experiment.RunSpec` (``sample`` only for sweeps) plus ``key``.
A missing, unknown or mistyped field, or a run of a scenario the manifest does
not hold, is an OutputError naming the manifest, the run and the field.
"""

from __future__ import annotations

from pathlib import Path

from sim.runs.experiment import RunSpec
from sim.runs.outputs import OutputError

FIELDS = {"index": int, "run_id": str, "scenario": str, "condition": str, "levels": dict, "replicate": int,
          "seed": int}
OPTIONAL = {"sample": int}
DERIVED = ("key",)      # stored for reading, recomputed from the other fields


def _fail(path: Path, where: str, what: str) -> OutputError:
    allowed = ", ".join([*FIELDS, *OPTIONAL, *DERIVED])
    return OutputError(f"{path}: {where}: {what}; allowed fields of a run: {allowed}")


def _checked(value: object, typ: type) -> bool:
    return isinstance(value, typ) and not (typ is int and isinstance(value, bool))


def run_spec(entry: object, i: int, path: Path) -> RunSpec:
    """``runs[i]`` of the manifest at ``path`` as a RunSpec."""
    where = f"runs[{i}]"
    if not isinstance(entry, dict):
        raise _fail(path, where, f"expected a table of fields, got {type(entry).__name__}")
    for field in entry:
        if field not in FIELDS and field not in OPTIONAL and field not in DERIVED:
            raise _fail(path, f"{where}.{field}", "unknown field")
    for field in FIELDS:
        if field not in entry:
            raise _fail(path, f"{where}.{field}", "missing field")
    for field, typ in {**FIELDS, **OPTIONAL}.items():
        if field in entry and not _checked(entry[field], typ):
            raise _fail(path, f"{where}.{field}", f"expected {typ.__name__}, got {entry[field]!r}")
    return RunSpec(**{k: v for k, v in entry.items() if k not in DERIVED})


def manifest_specs(manifest: dict, path: Path) -> list[RunSpec]:
    """Every run of a batch or sweep manifest (read from ``path``), checked; their scenarios must be stored."""
    runs = manifest.get("runs")
    if not isinstance(runs, list):
        raise OutputError(f"{path}: runs: expected a list of runs, got {type(runs).__name__}")
    scenarios = manifest.get("scenarios")
    if not isinstance(scenarios, dict):
        raise OutputError(f"{path}: scenarios: missing or not a table of scenarios; a batch manifest stores the "
                          f"scenario of every run")
    specs = [run_spec(entry, i, path) for i, entry in enumerate(runs)]
    for i, spec in enumerate(specs):
        if spec.scenario not in scenarios or not isinstance(scenarios[spec.scenario], dict):
            raise OutputError(f"{path}: runs[{i}].scenario: '{spec.scenario}' is not stored under scenarios; "
                              f"allowed: {', '.join(scenarios) or 'none stored'}")
    return specs
