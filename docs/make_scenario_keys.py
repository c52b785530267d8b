#!/usr/bin/env python3
"""Generate ``docs/scenario_keys.md`` from the schema (``sim.model.params``) and ``scenarios/normal.toml``.

    python docs/make_scenario_keys.py            # (re)write docs/scenario_keys.md
    python docs/make_scenario_keys.py --check    # exit 1 if docs/scenario_keys.md is stale
    python docs/make_scenario_keys.py --stdout   # print the page instead of writing it

Every key, type, unit, allowed range and description comes from the dataclass
fields of ``sim.model.params`` (metadata ``unit``, ``doc``, ``lo``, ``hi``,
``lo_open``, ``choices``); every default and source comes from the line
``key = value  # source`` of ``scenarios/normal.toml`` (or from the code
default for stimulus and condition keys). ``tests/cli/test_docs.py`` checks that
the committed page equals this script's output, so it cannot go stale.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "scenario_keys.md"
NORMAL = ROOT / "scenarios" / "normal.toml"
#: scenario files that extend normal.toml and whose overrides are listed on the page
DERIVED = ("scenarios/depression_like.toml", "scenarios/checks/tsodyks_markram.toml")


# --------------------------------------------------------------------------- reading TOML lines with comments


@dataclass(frozen=True)
class TomlLine:
    """One ``key = value  # comment`` line of a TOML file."""

    path: Path
    lineno: int
    table: str            # dotted table name; array tables carry their index: "protocol.stimuli.0"
    array_table: bool     # inside a [[...]] table
    key: str
    value: str            # the value's text, as written
    comment: str | None   # the text after '#', stripped; None without a comment

    @property
    def dotted(self) -> str:
        return f"{self.table}.{self.key}" if self.table else self.key

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8").splitlines()[self.lineno - 1]


def split_comment(rest: str) -> tuple[str, str | None]:
    """Split ``value  # comment`` at the first '#' that is not inside the value (a quoted string)."""
    start = 0
    while (pos := rest.find("#", start)) >= 0:
        try:
            tomllib.loads(f"v = {rest[:pos]}")
        except tomllib.TOMLDecodeError:
            start = pos + 1
            continue
        return rest[:pos].strip(), rest[pos + 1:].strip()
    return rest.strip(), None


def toml_lines(path: Path) -> list[TomlLine]:
    """The ``key = value`` lines of a TOML file with their table and comment (one-line values only)."""
    out: list[TomlLine] = []
    table, array, counts = "", False, {}
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[["):
            name = line[2:line.index("]]")].strip()
            counts[name] = counts.get(name, -1) + 1
            table, array = f"{name}.{counts[name]}", True
            continue
        if line.startswith("["):
            table, array = line[1:line.index("]")].strip(), False
            continue
        if "=" not in line:
            continue
        key, rest = line.split("=", 1)
        value, comment = split_comment(rest)
        out.append(TomlLine(path, lineno, table, array, key.strip(), value, comment))
    return out


# --------------------------------------------------------------------------- formatting helpers

TYPES = {int: "integer", float: "number", str: "text", list: "list of tables", dict: "tables"}

#: rules that involve more than one key (sim.model.scenario.check_consistency)
CROSS_RULES = {
    "network.n_neurons": ("(without `--allow-large` at most 2,000,000, and at most 200,000,000 synapses with the "
                          "in-degrees: [README § Reliability](../README.md#reliability))"),
    "network.excitatory_in_degree": "and, if > 0, fewer than the number of glutamatergic neurons",
    "network.inhibitory_in_degree": "and, if > 0, fewer than the number of GABAergic neurons",
    "neurons.glutamatergic.v_reset_mV": "below `v_threshold_mV`",
    "neurons.gabaergic.v_reset_mV": "below `v_threshold_mV`",
    "vesicles.glutamatergic.release_sites": "and ≤ `total`",
    "vesicles.gabaergic.release_sites": "and ≤ `total`",
    "protocol.duration_s": "and a whole number of `dt_ms` steps",
    "protocol.warmup_s": "and < `duration_s`, a whole number of `dt_ms` steps",
    "protocol.record_interval_ms": "and a multiple of `dt_ms`",
    "protocol.slow_dt_ms": "and a multiple of `dt_ms`",
    "start_s": "and < `protocol.duration_s`",
}

#: stimulus keys every kind accepts (sim.model.scenario._build_stimulus); the others: sim.model.params.STIMULUS_KEYS
ALWAYS_ALLOWED = ("kind", "start_s")
#: remarks added to the "applies to" cell of a stimulus key
APPLIES_NOTES = {
    "target": "(not fm_dye: every bouton takes up dye)",
    "fraction": "(not fm_dye)",
}


def applies_to(p, key: str) -> str:
    """The stimulus kinds that accept ``key``, from ``sim.model.params.STIMULUS_KEYS``."""
    if key in ALWAYS_ALLOWED:
        return "all"
    kinds = [kind for kind in p.STIMULUS_KINDS if key in p.STIMULUS_KEYS[kind]]
    if not kinds:
        raise SystemExit(f"make_scenario_keys.py: stimulus key {key} applies to no kind in "
                         "sim.model.params.STIMULUS_KEYS")
    note = APPLIES_NOTES.get(key)
    return ", ".join(kinds) + (f" {note}" if note else "")

SECTION_NOTES = {
    "network": "Fixed in-degree random connectivity; see [model.md § Network](model.md#network).",
    "neurons.glutamatergic": "Leaky integrate-and-fire membrane of glutamatergic cells and the weights of the "
                             "inputs they receive; see [model.md § Membrane](model.md#membrane-and-synaptic-drives).",
    "neurons.gabaergic": "The same keys for GABAergic cells (weights are those of the inputs onto GABAergic cells).",
    "synapses": "Decay time constants of the synaptic drives (shared by both cell types).",
    "vesicles.glutamatergic": "Vesicle pools and kinetics of a glutamatergic neuron's representative bouton; "
                              "see [model.md § Vesicle pools](model.md#vesicle-pools).",
    "vesicles.gabaergic": "The same keys for GABAergic boutons.",
    "adenosine": "Retrograde adenosine at each neuron's postsynaptic site and presynaptic A1 receptors; "
                 "see [model.md § Adenosine](model.md#adenosine-a1-receptors-and-release-probability).",
    "synapsin": "Phospho-synapsin, which scales reserve mobilisation; see "
                "[model.md § Phospho-synapsin](model.md#firing-rate-trace-and-phospho-synapsin).",
    "glutamate": "Released glutamate molecules and ambient (extrasynaptic) glutamate; see "
                 "[model.md § Transmission](model.md#transmission-glutamate-molecules-and-ambient-glutamate).",
    "pharmacology.ketamine": "Ketamine's three actions (NMDA block, slower endocytosis, more adenosine per AMPA "
                             "quantum); the concentration is set by a condition. "
                             "See [model.md § Drugs](model.md#drugs).",
    "pharmacology.dpcpx": "DPCPX, the A1-receptor antagonist.",
    "pharmacology.ampa_antagonist": "An AMPA-receptor antagonist (NBQX-like).",
    "protocol": "Duration, warm-up and clocks of a run; stimuli are `[[protocol.stimuli]]` tables (below). "
                "`dt_ms` is the step of the fast clock (membrane, release, priming, transmission, ambient "
                "glutamate); `slow_dt_ms` is the interval of the slow clock, which also runs endocytosis and "
                "the drug effects. See [model.md § Clocks](model.md#clocks-and-the-order-of-one-step).",
}


def cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def unit_of(meta: dict) -> str:
    """The printed unit of a field (``sim.model.readout_table.unit_words``); '–' if it has none."""
    return _sim("sim.model.readout_table").unit_words(meta.get("unit", "")) or "–"


def allowed(key: str, meta: dict, typ: Any) -> str:
    """The allowed values of a field, from its metadata and the cross-key rules."""
    if meta.get("choices"):
        text = "one of " + ", ".join(f"`{c}`" for c in meta["choices"])
    else:
        lo, hi, lo_open = meta.get("lo"), meta.get("hi"), meta.get("lo_open")
        if lo is not None and hi is not None:
            text = f"{lo:g} {'<' if lo_open else '≤'} x ≤ {hi:g}"
        elif lo is not None:
            text = f"{'>' if lo_open else '≥'} {lo:g}"
        elif hi is not None:
            text = f"≤ {hi:g}"
        else:
            text = "any"
        if typ is int:
            text = "whole number " + text if text != "any" else "any whole number"
    rule = CROSS_RULES.get(key)
    return f"{text} {rule}" if rule else text


def code_default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return f"`{_toml_repr(f.default)}`"
    if f.default_factory is not dataclasses.MISSING:
        return f"`{_toml_repr(f.default_factory())}`"
    return "required"


def _toml_repr(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[]" if not value else repr(value)
    return repr(value)


# --------------------------------------------------------------------------- the page


def _sim(module: str):
    """A module of the repository's ``sim`` package (the repository is put on ``sys.path``)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(module)


def _params():
    return _sim("sim.model.params")


def section_of(dotted: str) -> str:
    return dotted.rsplit(".", 1)[0] if "." in dotted else ""


def render() -> str:
    """The whole text of docs/scenario_keys.md."""
    p = _params()
    normal = {line.dotted: line for line in toml_lines(NORMAL)}
    leaves = p.schema_fields(p.Scenario)
    hints_cache: dict[type, dict] = {}

    def type_of(cls_path: list[str], name: str) -> Any:
        cls = p.Scenario
        for part in cls_path:
            cls = get_type_hints(cls)[part]
        hints = hints_cache.setdefault(cls, get_type_hints(cls))
        typ = hints[name]
        return getattr(typ, "__origin__", typ)

    out = [HEADER]
    out.append(TOP_LEVEL_TABLE)
    sections: dict[str, list[tuple[str, dataclasses.Field]]] = {}
    for dotted, f in leaves:
        sec = section_of(dotted)
        if sec:
            sections.setdefault(sec, []).append((dotted, f))
    for sec, fields in sections.items():
        out.append(f"### `[{sec}]`\n")
        if sec in SECTION_NOTES:
            out.append(SECTION_NOTES[sec] + "\n")
        out.append("| key | type | unit | default | allowed | meaning | source (normal.toml comment) |")
        out.append("|---|---|---|---|---|---|---|")
        for dotted, f in fields:
            typ = type_of(sec.split("."), f.name)
            meta = dict(f.metadata)
            line = normal.get(dotted)
            if line is not None:
                default, source = f"`{line.value}`", line.comment or "(no comment)"
            else:
                default = code_default(f)
                source = "protocol choice (code default)" if sec == "protocol" else "code default"
            out.append("| " + " | ".join(cell(c) for c in (
                f"`{dotted}`", TYPES.get(typ, getattr(typ, "__name__", str(typ))), unit_of(meta), default,
                allowed(dotted, meta, typ), meta.get("doc", ""), source)) + " |")
        out.append("")
    out.append(_stimuli_section(p))
    out.append(_conditions_section(p))
    out.append(OVERRIDES)
    for rel in DERIVED:
        out.append(_derived_section(ROOT / rel, normal))
        if rel in DERIVED_NOTES:
            out.append(DERIVED_NOTES[rel])
    return "\n".join(out).rstrip() + "\n"


def _stimuli_section(p) -> str:
    unknown = sorted({key for keys in p.STIMULUS_KEYS.values() for key in keys}
                     - {f.name for f in dataclasses.fields(p.StimulusParams)})
    if unknown:
        raise SystemExit(f"make_scenario_keys.py: STIMULUS_KEYS names unknown keys {', '.join(unknown)}")
    n_normal = len({ln.table for ln in toml_lines(NORMAL) if ln.table.startswith("protocol.stimuli.")})
    normal_stimuli = (f"`normal.toml` defines {n_normal}" if n_normal else
                      "`normal.toml` defines none, so a plain `simulate` run of it has no evoked pulses")
    rows = [STIMULI_INTRO.format(normal_stimuli=normal_stimuli),
            "| key | type | unit | default (code) | allowed | applies to | meaning |",
            "|---|---|---|---|---|---|---|"]
    hints = get_type_hints(p.StimulusParams)
    for f in dataclasses.fields(p.StimulusParams):
        meta = dict(f.metadata)
        rows.append("| " + " | ".join(cell(c) for c in (
            f"`{f.name}`", TYPES.get(hints[f.name], str(hints[f.name])), unit_of(meta), code_default(f),
            allowed(f.name, meta, hints[f.name]), applies_to(p, f.name), meta.get("doc", ""))) + " |")
    rows.append(STIMULI_OUTRO)
    return "\n".join(rows)


def _conditions_section(p) -> str:
    rows = [CONDITIONS_INTRO,
            "| key | type | unit | default (code) | allowed | meaning |",
            "|---|---|---|---|---|---|"]
    hints = get_type_hints(p.ConditionParams)
    for f in dataclasses.fields(p.ConditionParams):
        meta = dict(f.metadata)
        rows.append("| " + " | ".join(cell(c) for c in (
            f"`{f.name}`", TYPES.get(hints[f.name], str(hints[f.name])), unit_of(meta), code_default(f),
            allowed(f.name, meta, hints[f.name]), meta.get("doc", ""))) + " |")
    rows += ["", "Conditions defined in `scenarios/normal.toml` (and inherited by every scenario that extends it):",
             "", "| condition | drugs (keys not listed are 0) | source (comment) |", "|---|---|---|"]
    conditions: dict[str, list[TomlLine]] = {}
    for line in toml_lines(NORMAL):
        if line.table.startswith("conditions."):
            conditions.setdefault(line.table.split(".", 1)[1], []).append(line)
    headers = [ln.strip()[len("[conditions."):-1] for ln in NORMAL.read_text(encoding="utf-8").splitlines()
               if ln.strip().startswith("[conditions.")]
    for name in headers:
        lines = conditions.get(name, [])
        drugs = ", ".join(f"`{ln.key} = {ln.value}`" for ln in lines) or "none (no drug)"
        sources = "; ".join(ln.comment for ln in lines if ln.comment) or (
            "no drug" if not lines else "(no comment)")
        rows.append(f"| `{cell(name)}` | {cell(drugs)} | {cell(sources)} |")
    rows.append(CONDITIONS_OUTRO)
    return "\n".join(rows)


def _extends(lines: list[TomlLine]) -> str:
    for line in lines:
        if line.dotted == "extends":
            return f"`{line.value}`"
    return "nothing"


def _derived_section(path: Path, normal: dict[str, TomlLine]) -> str:
    rel = path.relative_to(ROOT).as_posix()
    lines = toml_lines(path)
    header = [ln[1:].strip() for ln in path.read_text(encoding="utf-8").splitlines()
              if ln.startswith("#")]
    head_comment = []
    for text in header:
        if not text:
            break
        head_comment.append(text)
    rows = [f"### `{rel}`\n",
            f"Extends {_extends(lines)}; the keys it sets (everything else comes from the file it extends):\n"]
    if head_comment:
        rows.append("> " + " ".join(head_comment) + "\n")
    rows += ["| key | value here | value in normal.toml | comment |", "|---|---|---|---|"]
    for line in lines:
        if line.dotted in ("extends", "name", "description"):
            continue
        base = normal.get(line.dotted)
        rows.append("| " + " | ".join(cell(c) for c in (
            f"`{line.dotted}`", f"`{line.value}`", f"`{base.value}`" if base else "–",
            line.comment or "")) + " |")
    rows.append("")
    return "\n".join(rows)


# --------------------------------------------------------------------------- fixed prose

HEADER = """\
<!-- Generated by docs/make_scenario_keys.py from sim/model/params.py and scenarios/normal.toml. Do not edit by hand:
     run `python docs/make_scenario_keys.py` after changing the schema or normal.toml. -->

# Scenario keys

A scenario is a TOML file. Its tables (`[network]`, `[vesicles.glutamatergic]`, …)
and keys are fixed by the schema in `sim/model/params.py`; this page lists every key
with its type, unit, default, allowed values, meaning and source.

- **Defaults** of biological keys are the values in `scenarios/normal.toml`
  (the code has none: a scenario that does not extend `normal.toml` must give
  every such key). Protocol-option keys of stimuli and conditions have code
  defaults, shown as "code default".
- **Sources** are the comments of `scenarios/normal.toml`; they name a source
  listed in [science.md](science.md#4-parameters-and-their-sources) or say *assumption*.
- **Units** are part of every key's name (`_ms`, `_s`, `_hz`, `_uM`, `_mV`,
  `_per_s`); "1" means dimensionless.
- The model's equations that use each key are in [model.md](model.md); the
  output columns are in [outputs.md](outputs.md).

## Loading, validation and errors

`python run.py simulate FILE.toml` loads `FILE.toml`, follows its `extends`
chain, applies the `--set` overrides in order, then `--seed`, and validates the
result. Invalid input (unknown section or key, wrong type, value out of range,
broken cross-key rule, a stimulus key that its kind does not use, missing file,
malformed TOML, unknown condition) stops
with one line naming the file, the dotted key and what is allowed, exit code 2,
and nothing written. A misspelt key gets a "did you mean" hint. So do sizes
above the limits of `sim/model/limits.py` (neurons, synapses, steps, slow steps,
time-series rows, pulses of a train), unless `--allow-large`: the table is in
[README § Reliability](../README.md#reliability).
Types: a *number* accepts integers and decimals; a *whole number* accepts
integers and decimals without a fractional part (`10.0` → `10`); `true`/`false`
are not numbers; *text* with choices must be one of them.

## Top level
"""

#: the top-level keys: (key, type, default, meaning)
TOP_LEVEL_ROWS = (
    ("extends", "text (file name)", "none",
     "a scenario file this one is based on, relative to this file (`\"normal.toml\"`, `\"../normal.toml\"`). "
     "The parent is loaded first (recursively; a cycle is an error); this file's tables are merged into it key "
     "by key, and every other value (numbers, text, arrays such as `protocol.stimuli`) replaces the parent's. "
     "`extends` itself is not part of the merged scenario."),
    ("name", "text", "the file name without `.toml`",
     "the scenario's name, used in the default output folder `results/simulate/NAME-CONDITION-seedN` and in "
     "the `scenario` column of the summary."),
    ("description", "text", "`\"\"`", "free text, kept in the manifest."),
    ("seed", "whole number", "`0`",
     "master seed of the run, 0 to 2⁶³ − 1 (stored as a 64-bit integer); `--seed N` overrides it. The model "
     "derives four independent random streams from it (numpy `SeedSequence(seed).spawn(4)`: network, "
     "per-neuron parameter draws, protocol, dynamics); see "
     "[model.md § Random numbers](model.md#random-numbers)."),
    ("conditions", "tables", "none (`vehicle` always exists)",
     "named drug conditions, one `[conditions.NAME]` table each; see below."),
)

TOP_LEVEL_TABLE = "\n".join(
    ["| key | type | default | meaning |", "|---|---|---|---|"]
    + [f"| `{k}` | {t} | {d} | {m} |" for k, t, d, m in TOP_LEVEL_ROWS]
    + ["", "In `scenarios/normal.toml`: `name = \"normal\"`, `seed = 1`.", "", "## Sections", ""])

STIMULI_INTRO = """\
### `[[protocol.stimuli]]`

`protocol.stimuli` is a list of stimuli, each written as a `[[protocol.stimuli]]`
table (TOML array of tables); the default is no stimulus ({normal_stimuli}). In `--set` they are
addressed by index: `protocol.stimuli.0.rate_hz`. Stimulus keys are protocol
choices with code defaults.

**Each kind accepts only its own keys**: `kind`, `start_s` and the keys whose
"applies to" cell below names the kind (`sim.model.params.STIMULUS_KEYS`). Any other
key in the stimulus's table is an error, even when it holds the default value:
`protocol.stimuli.0.rate_hz: does not apply to kind 'paired_pulse'; allowed:
kind, start_s, target, fraction, interval_ms`. This is checked on the merged
scenario, after `extends` and `--set`, so changing the `kind` of an existing
stimulus with `--set protocol.stimuli.0.kind=…` fails if its table holds a
key that the new kind does not accept; replace the whole list instead (see
[`--set` overrides](#--set-overrides)).

Kinds ([model.md § Stimulation](model.md#stimulation)):

- `train`: `n_pulses` pulses at `rate_hz`, `pattern = "regular"` (pulse i at
  `start_s + i/rate_hz`) or `"poisson"` (exponential intervals of mean
  `1/rate_hz`, the first one after `start_s`). At each pulse the target cells are
  forced to spike.
- `paired_pulse`: two pulses, at `start_s` and `start_s + interval_ms/1000` (s); the
  target cells are forced to spike at each.
- `high_k`: from `start_s` for `duration_s`, `depolarisation_mV` is added to the
  target cells' membrane drive (high K+ depolarisation).
- `fm_dye`: FM dye is in the bath from `start_s` for `duration_s`; every vesicle
  endocytosed meanwhile (endocytosis runs at the slow updates, every
  `protocol.slow_dt_ms`), in any neuron, becomes labelled. It has no `target`
  or `fraction`.

Each pulse time is rounded to a step; pulses of several stimuli that fall on
the same step force the union of their cells once and give one row of
`pulses.parquet` ([outputs.md](outputs.md#pulsesparquet)).

The cells stimulated by `train`, `paired_pulse` and `high_k` are `target`
(`glutamatergic`, `gabaergic` or `all`); with `fraction < 1`,
`round(fraction × number of target cells)` of them are drawn once (protocol
random stream) and receive every pulse of that stimulus.
"""

STIMULI_OUTRO = """
Example (from `scenarios/checks/tsodyks_markram.toml`):

```toml
[[protocol.stimuli]]
kind = "train"
start_s = 6.0
rate_hz = 20.0
n_pulses = 20
pattern = "regular"
target = "glutamatergic"
```
"""

CONDITIONS_INTRO = """\
### `[conditions.NAME]`

A condition is a named set of drugs (bath concentrations) applied at
`apply_at_s`; `python run.py simulate FILE --condition NAME` runs it (default
`vehicle`). Each `[conditions.NAME]` table may give any of these keys; missing
keys are 0. The condition `vehicle` (no drug) always exists, whether or not the
file defines it; an undefined name is an error that lists the defined ones.
Conditions are inherited through `extends` and can be added with `--set`
(`--set conditions.k3.ketamine_uM=3`).
"""

CONDITIONS_OUTRO = """
`apply_at_s` defaults to 0, and no condition of `normal.toml` sets it, so the
drugs are present from the start of the run and their wash-in falls inside
the warm-up: the comparison is between runs (condition vs `vehicle`). To see
the time course within one run (before/after the drug), set `apply_at_s`
after the warm-up, e.g. `--set conditions.ketamine_10uM.apply_at_s=30`.
"""

OVERRIDES = """\
## `--set` overrides

`--set KEY=VALUE` (repeatable) changes one key of the merged scenario before
validation; later `--set`s win; `--seed N` is applied after all of them.

- `KEY` is the dotted key exactly as in the tables above:
  `--set vesicles.glutamatergic.release_probability=0.4`,
  `--set protocol.duration_s=120`.
- List items are addressed by a zero-based index:
  `--set protocol.stimuli.0.rate_hz=10` changes the first `[[protocol.stimuli]]`
  table. The index must exist (a scenario without stimuli has none; the error
  names the allowed indices).
- `VALUE` is read as a TOML value: numbers (`10`, `2e-5`), `true`/`false`,
  quoted text (`'"poisson"'`), arrays and inline tables. A value that is not
  valid TOML is taken as text, so `--set protocol.stimuli.0.pattern=poisson`
  works without quotes.
- A whole list can be replaced with an array of inline tables:
  `--set 'protocol.stimuli=[{kind="train", start_s=30.0, rate_hz=20.0, n_pulses=20}]'`.
- A table that does not exist yet is created (`--set conditions.k3.ketamine_uM=3`
  defines a new condition `k3`); an unknown key is then reported by validation.

The merged, overridden scenario is stored in `manifest.json` (`scenario`) with
its SHA-256 (`scenario_sha256`).

## Scenarios that extend normal.toml

Each of these files gives only what differs from `scenarios/normal.toml`
(generated from the files themselves):
"""

#: a note printed under the table of each derived scenario
DERIVED_NOTES = {
    "scenarios/depression_like.toml": """\
`depression_like.toml` keeps everything of `normal.toml` (including its
conditions) except: fewer excitatory synapses per neuron (synapse loss, Duman
2018), a higher glutamatergic release probability (more release under chronic
stress, Popoli et al. 2012) and slower EAAT clearance of ambient glutamate
(lower EAAT2/GLT-1, Blacker 2019). Each size is an **assumption**; only the
direction comes from the literature ([science.md](science.md#42-depression-like-network-depression_liketoml)).
""",
    "scenarios/checks/tsodyks_markram.toml": """\
A check, not a biological scenario: it switches off everything that would make
release differ from the Tsodyks–Markram model
([model.md § Tsodyks–Markram correspondence](model.md#tsodyksmarkram-correspondence)).
""",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/scenario_keys.md is stale")
    parser.add_argument("--stdout", action="store_true", help="print the page instead of writing it")
    args = parser.parse_args(argv)
    text = render()
    if args.stdout:
        sys.stdout.write(text)
        return 0
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT.relative_to(ROOT)} is stale: run python docs/make_scenario_keys.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
