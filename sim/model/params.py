"""Scenario schema: typed parameter sections with units, bounds and validation.

Every numeric field carries its unit in its name (``_ms``, ``_s``, ``_hz``,
``_uM``, ``_mV``) and in its metadata. Default values of biological parameters
live in ``scenarios/normal.toml`` (each with its source); this module holds
only the schema, so a scenario that does not extend ``normal.toml`` must give
every biological key. Protocol options (stimulus kinds, targets) have defaults
here because they describe the experiment, not the biology.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field
from typing import Any, get_origin, get_type_hints

CELL_TYPES = ("glutamatergic", "gabaergic")
SUFFIX = {"glutamatergic": "glu", "gabaergic": "gaba"}


class ScenarioError(ValueError):
    """A scenario file or override is invalid; the message names file, key and what is allowed."""


def spec(unit: str, doc: str, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, default: Any = dataclasses.MISSING,
         choices: tuple[str, ...] | None = None) -> Any:
    """A dataclass field with unit, description and allowed range as metadata."""
    meta = {"unit": unit, "doc": doc, "lo": lo, "hi": hi, "lo_open": lo_open, "choices": choices}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


def positive(unit: str, doc: str, **kw: Any) -> Any:
    """A field that must be strictly greater than zero."""
    return spec(unit, doc, lo=0.0, lo_open=True, **kw)


def nonneg(unit: str, doc: str, **kw: Any) -> Any:
    """A field that must be zero or greater."""
    return spec(unit, doc, lo=0.0, **kw)


def fraction(doc: str, **kw: Any) -> Any:
    """A dimensionless field in [0, 1]."""
    return spec("1", doc, lo=0.0, hi=1.0, **kw)


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class NetworkParams:
    n_neurons: int = positive("neurons", "number of neurons in the network")
    excitatory_fraction: float = fraction("fraction of neurons that are glutamatergic")
    excitatory_in_degree: int = nonneg("synapses", "glutamatergic presynaptic partners per neuron (fixed in-degree, random sources)")
    inhibitory_in_degree: int = nonneg("synapses", "GABAergic presynaptic partners per neuron (fixed in-degree, random sources)")


@dataclass(frozen=True)
class NeuronParams:
    """Leaky integrate-and-fire membrane of one cell type, and the weights of its inputs."""

    tau_m_ms: float = positive("ms", "membrane time constant")
    v_rest_mV: float = spec("mV", "resting (leak reversal) potential")
    v_threshold_mV: float = spec("mV", "mean spike threshold")
    threshold_sd_mV: float = nonneg("mV", "between-neuron SD of the spike threshold")
    v_reset_mV: float = spec("mV", "reset potential after a spike")
    refractory_ms: float = nonneg("ms", "absolute refractory period")
    background_rate_hz: float = nonneg("Hz", "total rate of Poisson background input events per neuron")
    background_weight_mV: float = nonneg("mV", "charge-equivalent depolarisation per background event")
    ampa_weight_mV: float = nonneg("mV", "charge-equivalent AMPA depolarisation per glutamate quantum received")
    nmda_weight_mV: float = nonneg("mV", "charge-equivalent NMDA depolarisation per glutamate quantum received")
    gaba_weight_mV: float = nonneg("mV", "charge-equivalent GABA_A hyperpolarisation per GABA quantum received")


@dataclass(frozen=True)
class NeuronsParams:
    glutamatergic: NeuronParams
    gabaergic: NeuronParams


@dataclass(frozen=True)
class SynapseParams:
    ampa_tau_ms: float = positive("ms", "decay time constant of AMPA currents")
    nmda_tau_ms: float = positive("ms", "decay time constant of NMDA currents")
    gaba_tau_ms: float = positive("ms", "decay time constant of GABA_A currents")
    background_tau_ms: float = positive("ms", "decay time constant of background input currents")


@dataclass(frozen=True)
class VesicleParams:
    """Vesicle pools and their kinetics in the bouton of one cell type."""

    total: int = positive("vesicles", "vesicles per bouton (all pools)")
    release_sites: int = positive("sites", "docking/release sites: the RRP capacity")
    release_probability: float = fraction("release probability per primed vesicle per spike, without A1 inhibition")
    priming_tau_s: float = positive("s", "time constant for an empty release site to be refilled from the recycling pool")
    endocytosis_tau_s: float = positive("s", "time constant of retrieval of fused (surface) vesicles")
    mobilisation_rate_per_s: float = nonneg("1/s", "reserve -> recycling rate per vesicle at full synapsin phosphorylation")
    tethering_rate_per_s: float = nonneg("1/s", "recycling -> reserve re-tethering rate per vesicle")
    spontaneous_rate_per_s: float = nonneg("1/s", "spontaneous fusion rate per primed vesicle")
    a1_max_inhibition: float = fraction("maximal fractional reduction of release probability by A1 receptors")
    heterogeneity_cv: float = spec("1", "coefficient of variation of each neuron's draws of release probability, pool size and time constants", lo=0.0, hi=1.0)


@dataclass(frozen=True)
class VesiclesParams:
    glutamatergic: VesicleParams
    gabaergic: VesicleParams


@dataclass(frozen=True)
class AdenosineParams:
    baseline_uM: float = nonneg("uM", "extracellular adenosine without activity")
    tau_s: float = positive("s", "clearance time constant of adenosine at a site")
    release_per_quantum_uM: float = nonneg("uM", "adenosine added at a site per AMPA-activating glutamate quantum received")
    a1_ec50_uM: float = positive("uM", "adenosine giving half-maximal A1 occupancy")
    a1_hill: float = positive("1", "Hill coefficient of A1 occupancy")


@dataclass(frozen=True)
class SynapsinParams:
    tau_s: float = positive("s", "relaxation time constant of phospho-synapsin to its target")
    baseline: float = fraction("phospho-synapsin target without activity and without A1 occupancy")
    activity_gain_per_hz: float = nonneg("1/Hz", "rise of the phospho-synapsin target per Hz of the neuron's firing (CaMKII)")
    activity_tau_s: float = positive("s", "time constant of the firing-rate trace that drives CaMKII")
    a1_gain: float = nonneg("1", "fall of the phospho-synapsin target at full A1 occupancy (less cAMP/PKA)")


@dataclass(frozen=True)
class GlutamateParams:
    molecules_per_vesicle: float = positive("molecules", "glutamate molecules per vesicle")
    spillover_fraction: float = fraction("fraction of released glutamate escaping the cleft to the extrasynaptic space")
    extracellular_volume_per_neuron_um3: float = positive("um^3", "extracellular volume per neuron")
    eaat_tau_s: float = positive("s", "EAAT clearance time constant of ambient glutamate")
    nonvesicular_uM_per_s: float = nonneg("uM/s", "ambient glutamate supplied by non-vesicular sources (cystine-glutamate exchange)")


@dataclass(frozen=True)
class KetamineParams:
    nmda_ic50_uM: float = positive("uM", "ketamine giving half block of NMDA currents")
    washin_tau_s: float = nonneg("s", "time constant of ketamine reaching its bath concentration")
    endocytosis_max_impairment_glu: float = fraction("maximal fractional slowing of endocytosis rate in glutamatergic boutons")
    endocytosis_max_impairment_gaba: float = fraction("maximal fractional slowing of endocytosis rate in GABAergic boutons")
    endocytosis_ec50_uM: float = positive("uM", "ketamine giving half-maximal endocytosis impairment")
    adenosine_gain_max: float = nonneg("1", "maximal fractional increase of adenosine released per AMPA quantum")
    adenosine_gain_ec50_uM: float = positive("uM", "ketamine giving half-maximal adenosine gain increase")
    adenosine_effect_tau_s: float = nonneg("s", "equilibration time of ketamine's effect on adenosine release "
                                           "(effect compartment, behind the tissue concentration)")


@dataclass(frozen=True)
class AntagonistParams:
    ic50_uM: float = positive("uM", "concentration giving half block of the receptor")


@dataclass(frozen=True)
class PharmacologyParams:
    ketamine: KetamineParams
    dpcpx: AntagonistParams
    ampa_antagonist: AntagonistParams


STIMULUS_KINDS = ("train", "paired_pulse", "high_k", "fm_dye")
#: the keys each stimulus kind uses (besides ``kind`` and ``start_s``)
STIMULUS_KEYS = {
    "train": ("target", "fraction", "rate_hz", "n_pulses", "pattern"),
    "paired_pulse": ("target", "fraction", "interval_ms"),
    "high_k": ("target", "fraction", "duration_s", "depolarisation_mV"),
    "fm_dye": ("duration_s",),
}
TARGETS = ("glutamatergic", "gabaergic", "all")


@dataclass(frozen=True)
class StimulusParams:
    """One stimulus of the protocol; which keys apply depends on ``kind``."""

    kind: str = spec("", "train | paired_pulse | high_k | fm_dye", choices=STIMULUS_KINDS)
    start_s: float = nonneg("s", "onset time", default=0.0)
    target: str = spec("", "cells stimulated: glutamatergic | gabaergic | all", default="glutamatergic", choices=TARGETS)
    fraction: float = fraction("fraction of the target cells stimulated", default=1.0)
    rate_hz: float = positive("Hz", "train: pulse rate", default=10.0)
    n_pulses: int = positive("pulses", "train: number of pulses", default=10)
    pattern: str = spec("", "train: regular | poisson", default="regular", choices=("regular", "poisson"))
    interval_ms: float = positive("ms", "paired_pulse: interval between the two pulses", default=50.0)
    duration_s: float = positive("s", "high_k / fm_dye: duration of the application", default=1.0)
    depolarisation_mV: float = nonneg("mV", "high_k: depolarising drive added to the target cells", default=30.0)


@dataclass(frozen=True)
class ProtocolParams:
    duration_s: float = positive("s", "simulated biological time, warm-up included")
    warmup_s: float = nonneg("s", "initial period excluded from summary readouts")
    dt_ms: float = spec("ms", "integration time step", lo=0.01, hi=5.0)
    record_interval_ms: float = positive("ms", "interval between rows of the time series")
    slow_dt_ms: float = positive("ms", "update interval of the slow clock: endocytosis, reserve exchange, adenosine, A1, synapsin, drug effects")
    stimuli: list = spec("", "list of stimuli ([[protocol.stimuli]])", default=[])


@dataclass(frozen=True)
class ConditionParams:
    """A named set of drugs (bath concentrations) applied at ``apply_at_s``."""

    ketamine_uM: float = nonneg("uM", "ketamine bath concentration", default=0.0)
    dpcpx_uM: float = nonneg("uM", "DPCPX (A1 antagonist) bath concentration", default=0.0)
    ampa_antagonist_uM: float = nonneg("uM", "AMPA-receptor antagonist bath concentration", default=0.0)
    adenosine_uM: float = nonneg("uM", "applied adenosine bath concentration", default=0.0)
    apply_at_s: float = nonneg("s", "time at which the drugs are applied", default=0.0)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: every section typed, every value in range."""

    name: str
    seed: int
    network: NetworkParams
    neurons: NeuronsParams
    synapses: SynapseParams
    vesicles: VesiclesParams
    adenosine: AdenosineParams
    synapsin: SynapsinParams
    glutamate: GlutamateParams
    pharmacology: PharmacologyParams
    protocol: ProtocolParams
    conditions: dict = field(default_factory=dict)
    description: str = ""

    def condition(self, name: str) -> ConditionParams:
        """The drugs of condition ``name``; ``vehicle`` is always defined (no drug)."""
        if name in self.conditions:
            return self.conditions[name]
        if name == "vehicle":
            return ConditionParams()
        allowed = ", ".join(sorted({"vehicle", *self.conditions}))
        raise ScenarioError(f"unknown condition '{name}'{did_you_mean(name, self.conditions)}; defined: {allowed}")

    @property
    def stimuli(self) -> list[StimulusParams]:
        return self.protocol.stimuli


# --------------------------------------------------------------------------- validation


def did_you_mean(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_value(value: Any, typ: Any, meta: dict, where: str) -> Any:
    unit = f" {meta['unit']}" if meta.get("unit") not in (None, "", "1") else ""
    if typ is bool or typ == "bool":
        if not isinstance(value, bool):
            raise ScenarioError(f"{where}: expected true or false, got {value!r}")
        return value
    if typ in (int, "int"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ScenarioError(f"{where}: expected a whole number{_in(unit)}, got {value!r}")
    elif typ in (float, "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScenarioError(f"{where}: expected a number{_in(unit)}, got {value!r}")
        if not math.isfinite(value):
            raise ScenarioError(f"{where}: expected a finite number{_in(unit)}, got {value!r}")
        value = float(value)
    elif typ in (str, "str"):
        if not isinstance(value, str):
            raise ScenarioError(f"{where}: expected text, got {value!r}")
        if meta.get("choices") and value not in meta["choices"]:
            raise ScenarioError(f"{where}: '{value}' is not allowed{did_you_mean(value, meta['choices'])}; "
                                f"allowed: {', '.join(meta['choices'])}")
        return value
    _check_range(value, meta, where, unit)
    return value


def _in(unit: str) -> str:
    return f" (in{unit})" if unit else ""


def _check_range(value: float, meta: dict, where: str, unit: str) -> None:
    lo, hi, lo_open = meta.get("lo"), meta.get("hi"), meta.get("lo_open")
    below = lo is not None and (value < lo or (lo_open and value == lo))
    above = hi is not None and value > hi
    if below or above:
        bounds = [f"{'>' if lo_open else '>='} {lo:g}"] if lo is not None else []
        bounds += [f"<= {hi:g}"] if hi is not None else []
        raise ScenarioError(f"{where}: {value:g}{unit} is out of range; allowed: {' and '.join(bounds)}{unit}")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def build_section(cls: type, data: Any, where: str) -> Any:
    """Validate ``data`` (a dict from TOML) against dataclass ``cls`` and build it."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: expected a table of keys, got {data!r}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise ScenarioError(f"{_join(where, key)}: unknown key{did_you_mean(key, fields)}; "
                                f"allowed: {', '.join(fields)}")
    values = {}
    for name, f in fields.items():
        key = _join(where, name)
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ScenarioError(f"{key}: missing required key ({f.metadata.get('doc', 'section')})")
            continue
        typ = hints[name]
        if dataclasses.is_dataclass(typ):
            values[name] = build_section(typ, data[name], key)
        elif get_origin(typ) is list or typ is list:
            values[name] = data[name]
        else:
            values[name] = _check_value(data[name], typ, dict(f.metadata), key)
    return cls(**values)


def check_known_keys(cls: type, data: dict, where: str = "") -> None:
    """Raise on the first key of ``data`` (a possibly partial section) that ``cls`` does not define."""
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in data.items():
        if key not in fields:
            raise ScenarioError(f"{_join(where, key)}: unknown key{did_you_mean(key, fields)}; "
                                f"allowed: {', '.join(fields)}")
        if dataclasses.is_dataclass(hints[key]) and isinstance(value, dict):
            check_known_keys(hints[key], value, _join(where, key))


def schema_fields(cls: type, prefix: str = "") -> list[tuple[str, dataclasses.Field]]:
    """All leaf fields of a section as (dotted key, field), in declaration order."""
    out = []
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        typ = hints[f.name]
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(typ):
            out.extend(schema_fields(typ, key + "."))
        else:
            out.append((key, f))
    return out

