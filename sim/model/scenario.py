"""Loading scenario TOML files: ``extends`` chains, ``--set`` overrides, validation."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import tomllib
from pathlib import Path
from typing import Any

from sim.model.limits import MAX_STEPS, check_scenario, check_seed
from sim.model.params import (
    CELL_TYPES,
    STIMULUS_KEYS,
    ConditionParams,
    ProtocolParams,
    Scenario,
    ScenarioError,
    StimulusParams,
    build_section,
    check_known_keys,
    did_you_mean,
)

TOP_LEVEL = ("name", "description", "seed", "extends", "network", "neurons", "synapses", "vesicles",
             "adenosine", "synapsin", "glutamate", "pharmacology", "protocol", "conditions")
#: a time within this fraction of a whole number of steps counts as whole: the floating-point error of decimal
#: inputs (32.0 / 0.5, 0.3 / 0.1) is ~1e-16, and a mismatch of 1e-9 of the time changes no protocol
STEP_TOLERANCE = 1e-9


def toml_reference(value: object, path: Path, key: str) -> Path:
    """A ``.toml`` file named in the file ``path`` (``extends``, ``scenarios``), relative to that file's folder;
    it may lie anywhere (it is only read)."""
    if not isinstance(value, str) or not value.endswith(".toml") or "\0" in value:
        raise ScenarioError(f"{path}: {key}: expected the path of a .toml file (relative to {path.parent} or "
                            f"absolute), got {value!r}")
    return path.parent / value


def read_toml(path: Path) -> dict:
    """Parse one TOML file; a missing or malformed file is a ScenarioError naming it."""
    if path.is_dir():
        raise ScenarioError(f"{path}: is a folder; allowed: a .toml file")
    if not path.is_file():
        raise ScenarioError(f"{path}: scenario file not found")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: malformed TOML: {err}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file") from None
    except OSError as err:
        raise ScenarioError(f"{path}: cannot be read ({err.strerror})") from None


def deep_merge(base: dict, override: dict) -> dict:
    """A copy of ``base`` with ``override`` merged in; tables merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_raw(path: Path, _seen: tuple[Path, ...] = ()) -> tuple[dict, list[Path]]:
    """The merged dictionary of a scenario file and the files it extends, and those files in order."""
    path = path.resolve()
    if path in _seen:
        raise ScenarioError(f"{path}: 'extends' forms a cycle")
    data = read_toml(path)
    check_file_keys(data, path)
    files = [path]
    parent = data.pop("extends", None)
    if parent is not None:
        base, base_files = load_raw(toml_reference(parent, path, "extends"), (*_seen, path))
        data = deep_merge(base, data)
        files = base_files + files
    return data, files


def check_file_keys(data: dict, path: Path) -> None:
    """Unknown sections and keys of one file, reported against that file (before merging)."""
    for key in data:
        if key not in TOP_LEVEL:
            raise ScenarioError(f"{path}: {key}: unknown section{did_you_mean(key, TOP_LEVEL)}; "
                                f"allowed: {', '.join(TOP_LEVEL)}")
    protocol = data.get("protocol") if isinstance(data.get("protocol"), dict) else {}
    conditions = data.get("conditions") if isinstance(data.get("conditions"), dict) else {}
    stimuli = protocol.get("stimuli") if isinstance(protocol.get("stimuli"), list) else []
    sections = {k: v for k, v in data.items() if k not in ("protocol", "conditions") and isinstance(v, dict)}
    sections["protocol"] = {k: v for k, v in protocol.items() if k != "stimuli"}
    try:
        check_known_keys(Scenario, sections)
        for i, stim in enumerate(stimuli):
            if isinstance(stim, dict):
                check_known_keys(StimulusParams, stim, f"protocol.stimuli.{i}")
        for name, cond in conditions.items():
            if isinstance(cond, dict):
                check_known_keys(ConditionParams, cond, f"conditions.{name}")
    except ScenarioError as err:
        raise ScenarioError(f"{path}: {err}") from None


def parse_value(text: str) -> Any:
    """A ``--set`` value as TOML (numbers, booleans, quoted strings, lists); bare words stay text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(data: dict, assignment: str) -> None:
    """Apply one ``dotted.key=value`` (list items by index: ``protocol.stimuli.0.rate_hz=10``)."""
    if "=" not in assignment:
        raise ScenarioError(f"--set {assignment}: expected key=value")
    key, text = assignment.split("=", 1)
    set_dotted(data, key.strip(), parse_value(text.strip()))


def set_dotted(data: dict, key: str, value: Any) -> None:
    """Set ``value`` at a dotted key of a raw scenario dictionary, creating tables as needed."""
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        node = _descend(node, part, ".".join(parts[: i + 1]))
    last = parts[-1]
    if isinstance(node, list):
        node[_list_index(node, last, key)] = value
    elif not isinstance(node, dict):
        raise ScenarioError(f"--set {key}: '{parts[-2]}' is a value, not a section")
    elif last.isdigit():
        _descend(node, last, key)
    else:
        node[last] = value


def _descend(node: Any, part: str, where: str) -> Any:
    if isinstance(node, list):
        return node[_list_index(node, part, where)]
    if not isinstance(node, dict):
        raise ScenarioError(f"--set {where}: '{part}' is inside a value, not a section")
    if part.isdigit():
        parent = where.rsplit(".", 1)[0]
        raise ScenarioError(f"--set {where}: '{parent}' is not a list in this scenario; allowed: indices of "
                            f"existing [[{parent}]] entries")
    if part not in node:
        node[part] = {}
    return node[part]


def _list_index(node: list, part: str, where: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ScenarioError(f"--set {where}: list index '{part}' out of range; allowed: 0 to {len(node) - 1}")
    return int(part)


def build_scenario(data: dict, source: str) -> Scenario:
    """Validate a merged scenario dictionary and build the typed Scenario."""
    for key in data:
        if key not in TOP_LEVEL:
            raise ScenarioError(f"{source}: {key}: unknown section{did_you_mean(key, TOP_LEVEL)}; "
                                f"allowed: {', '.join(TOP_LEVEL)}")
    data = {"name": Path(source).stem, **data}
    try:
        scenario = build_section(Scenario, _with_typed_lists(data), "")
    except ScenarioError as err:
        raise ScenarioError(f"{source}: {err}") from None
    check_consistency(scenario, source)
    return scenario


def _with_typed_lists(data: dict) -> dict:
    out = dict(data)
    out.setdefault("seed", 0)
    for section in ("protocol", "conditions"):
        if not isinstance(out.get(section, {}), dict):
            raise ScenarioError(f"{section}: expected a table of keys, got {out[section]!r}")
    protocol = dict(out.get("protocol", {}))
    stimuli = protocol.get("stimuli", [])
    if not isinstance(stimuli, list):
        raise ScenarioError("protocol.stimuli: expected a list of [[protocol.stimuli]] tables")
    protocol["stimuli"] = [_build_stimulus(s, i) for i, s in enumerate(stimuli)]
    out["protocol"] = protocol
    conditions = out.get("conditions", {})
    if not isinstance(conditions, dict):
        raise ScenarioError("conditions: expected [conditions.NAME] tables")
    out["conditions"] = {n: build_section(ConditionParams, c, f"conditions.{n}") for n, c in conditions.items()}
    return out


def _build_stimulus(data: Any, i: int) -> StimulusParams:
    """A stimulus, refusing keys that its kind does not use."""
    where = f"protocol.stimuli.{i}"
    stim = build_section(StimulusParams, data, where)
    allowed = ("kind", "start_s", *STIMULUS_KEYS[stim.kind])
    for key in data:
        if key not in allowed:
            raise ScenarioError(f"{where}.{key}: does not apply to kind '{stim.kind}'; allowed: {', '.join(allowed)}")
    return stim


def check_consistency(s: Scenario, source: str) -> None:
    """Rules that involve more than one key."""
    for kind in CELL_TYPES:
        v = getattr(s.vesicles, kind)
        if v.release_sites > v.total:
            raise ScenarioError(f"{source}: vesicles.{kind}.release_sites: {v.release_sites} sites but only "
                                f"{v.total} vesicles; allowed: release_sites <= total")
        n = getattr(s.neurons, kind)
        if n.v_reset_mV >= n.v_threshold_mV:
            raise ScenarioError(f"{source}: neurons.{kind}.v_reset_mV: must be below v_threshold_mV "
                                f"({n.v_threshold_mV} mV)")
    check_seed(s.seed, f"{source}: seed")
    p = s.protocol
    if p.warmup_s >= p.duration_s:
        raise ScenarioError(f"{source}: protocol.warmup_s: {p.warmup_s} s is not shorter than "
                            f"protocol.duration_s ({p.duration_s} s)")
    if p.record_interval_ms > (p.duration_s - p.warmup_s) * 1000.0:
        raise ScenarioError(f"{source}: protocol.record_interval_ms: {p.record_interval_ms} ms leaves no recorded "
                            f"row after the warm-up; allowed: <= (duration_s - warmup_s) in ms")
    for name, slower in (("record_interval_ms", p.record_interval_ms), ("slow_dt_ms", p.slow_dt_ms)):
        if slower < p.dt_ms:
            raise ScenarioError(f"{source}: protocol.{name}: {slower} ms is shorter than dt_ms ({p.dt_ms} ms)")
    check_whole_steps(p, source)
    n_exc = round(s.network.n_neurons * s.network.excitatory_fraction)
    for key, k, pool in (("excitatory_in_degree", s.network.excitatory_in_degree, n_exc),
                         ("inhibitory_in_degree", s.network.inhibitory_in_degree, s.network.n_neurons - n_exc)):
        if k > 0 and k >= pool:
            raise ScenarioError(f"{source}: network.{key}: {k} partners but only {pool} neurons of that type; "
                                f"allowed: fewer than {pool}")
    for i, stim in enumerate(p.stimuli):
        if stim.kind == "fm_dye" and stim.duration_s * 1000.0 < p.slow_dt_ms:
            raise ScenarioError(f"{source}: protocol.stimuli.{i}.duration_s: dye is taken up on the slow clock; "
                                f"allowed: >= protocol.slow_dt_ms ({p.slow_dt_ms} ms)")
        if stim.start_s >= p.duration_s:
            raise ScenarioError(f"{source}: protocol.stimuli.{i}.start_s: {stim.start_s} s is after the end "
                                f"of the protocol ({p.duration_s} s)")


def check_whole_steps(p: ProtocolParams, source: str) -> None:
    """duration_s, warmup_s, record_interval_ms and slow_dt_ms must each be a whole number of steps of dt_ms (the
    model counts them in steps and would round them)."""
    times = (("duration_s", p.duration_s, "s", False), ("warmup_s", p.warmup_s, "s", True),
             ("record_interval_ms", p.record_interval_ms, "ms", False), ("slow_dt_ms", p.slow_dt_ms, "ms", False))
    for key, value, unit, zero_ok in times:
        steps = value * (1000.0 if unit == "s" else 1.0) / p.dt_ms
        if not math.isfinite(steps):
            raise ScenarioError(f"{source}: protocol.{key}: {value:g} {unit} has too many steps of dt_ms = "
                                f"{p.dt_ms:g} ms to count; allowed: a finite number of steps (at most "
                                f"{MAX_STEPS:,} without --allow-large)")
        if abs(steps - round(steps)) <= STEP_TOLERANCE * max(round(steps), 1):
            continue
        scale = 1000.0 if unit == "s" else 1.0
        nearest = [n * p.dt_ms / scale for n in (math.floor(steps), math.ceil(steps)) if n > 0 or zero_ok]
        raise ScenarioError(f"{source}: protocol.{key}: {value:.12g} {unit} is not a whole number of time steps; "
                            f"allowed: a multiple of dt_ms = {p.dt_ms:g} ms (nearest: "
                            f"{' or '.join(f'{t:.12g}' for t in nearest)} {unit})")


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = (),
                  seed: int | None = None, allow_large: bool = False,
                  values: dict[str, Any] | None = None) -> tuple[Scenario, dict]:
    """Load, override and validate a scenario file; returns it and the merged raw dictionary.

    ``overrides`` are ``--set`` assignments (``dotted.key=value`` text); ``values``
    are dotted keys with Python values, set after them. A network or protocol
    above the size limits of :mod:`sim.model.limits` is refused unless ``allow_large``.
    """
    path = Path(path)
    data, files = load_raw(path)
    for assignment in overrides:
        apply_override(data, assignment)
    for key, value in (values or {}).items():
        set_dotted(data, key, value)
    if seed is not None:
        data["seed"] = seed
    data.setdefault("name", path.stem)
    scenario = build_scenario(data, str(path))
    check_scenario(scenario, str(path), allow_large)
    return scenario, data


def scenario_hash(data: dict) -> str:
    """SHA-256 of the merged scenario dictionary (canonical JSON)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
