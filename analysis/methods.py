"""Methods text of a batch or sweep report, from the manifest: model, parameters with units, drugs, protocol.

:func:`methods_sections` returns a list of :class:`Section` (a title, plain-text
paragraphs and an optional table); the report renders them. Values are those
the runs used: each scenario of the manifest is validated again with
:func:`sim.model.scenario.build_scenario`, which fills in the code defaults.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import pandas as pd

from analysis import stats
from sim.model.params import ConditionParams, Scenario, ScenarioError, StimulusParams, schema_fields
from sim.model.readout_table import unit_words
from sim.runs.store import stored_scenarios

SKIP_KEYS = ("name", "description", "seed", "extends")


@dataclass
class Section:
    title: str
    paragraphs: list[str]
    table: pd.DataFrame | None = None


def units() -> dict[str, tuple[str, str]]:
    """Dotted scenario key -> (printed unit, description), from the schema; the keys of a condition and of a
    stimulus as ``conditions.KEY`` and ``protocol.stimuli.KEY``."""
    fields = [*schema_fields(Scenario), *schema_fields(ConditionParams, "conditions."),
              *schema_fields(StimulusParams, "protocol.stimuli.")]
    return {key: (unit_words(f.metadata.get("unit", "")), f.metadata.get("doc", "")) for key, f in fields}


def flatten(data: dict, prefix: str = "") -> dict[str, object]:
    """Nested dict -> dotted keys (lists stay values)."""
    out: dict[str, object] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def unit_of_key(key: str, table: dict[str, tuple[str, str]]) -> str:
    """The printed unit of a dotted scenario key in ``table`` (:func:`units`): a condition's key
    (``conditions.NAME.KEY``) and a stimulus's (``protocol.stimuli.I.KEY``) by their field; '1' if not in it."""
    generic = re.sub(r"^(conditions|protocol\.stimuli)\.[^.]+\.", r"\1.", key)
    return table.get(key, table.get(generic, ("1", "")))[0]


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _with_unit(value: object, unit: str) -> str:
    return f"{_fmt(value)} {unit}".strip()





def _as_dict(scenario: Scenario) -> dict:
    data = dataclasses.asdict(scenario)
    data["conditions"] = {k: dataclasses.asdict(v) for k, v in scenario.conditions.items()}
    return data


# --------------------------------------------------------------------------- sections


def model_section(s: Scenario, reference: str) -> Section:
    n = s.network.n_neurons
    n_glu = round(n * s.network.excitatory_fraction)
    text = [
        f"Each run simulated the '{reference}' network (other scenarios differ only as listed under 'Scenario "
        f"differences'): {n} neurons ({n_glu} glutamatergic, {n - n_glu} GABAergic) as Mesa agents, connected at "
        f"random with a fixed in-degree of {s.network.excitatory_in_degree} glutamatergic and "
        f"{s.network.inhibitory_in_degree} GABAergic inputs per neuron. Neurons are leaky integrate-and-fire units "
        "with AMPA, NMDA (ketamine-sensitive) and GABA_A synaptic currents and Poisson background input.",
        "Each neuron holds one representative presynaptic bouton with integer vesicle pools: readily releasable "
        "(RRP, at most one vesicle per release site), surface (fused), recycling and reserve; every transition is a "
        "binomial draw per time step and the total number of vesicles is conserved. Release probability of "
        "glutamatergic terminals is reduced by presynaptic A1-receptor occupancy; adenosine is released "
        "retrogradely in proportion to AMPA-driven activity with a gain that ketamine raises; phospho-synapsin "
        "(activity up, A1 occupancy down) scales reserve mobilisation. Ketamine blocks NMDA currents, slows "
        "endocytosis (more in glutamatergic than GABAergic boutons) and raises adenosine release; DPCPX blocks A1 "
        "receptors. Each neuron draws its release probability, pool size and time constants around the values "
        f"below (coefficient of variation {s.vesicles.glutamatergic.heterogeneity_cv:g} for glutamatergic boutons).",
    ]
    return Section("Model", text)


def cell_type_table(s: Scenario) -> Section:
    """Neuron and vesicle parameters of both cell types, with units."""
    table = units()
    rows = []
    for section in ("neurons", "vesicles"):
        glu, gaba = getattr(s, section).glutamatergic, getattr(s, section).gabaergic
        for f in dataclasses.fields(glu):
            unit, doc = table.get(f"{section}.glutamatergic.{f.name}", ("", ""))
            rows.append({"parameter": f"{section}.{f.name}", "glutamatergic": _fmt(getattr(glu, f.name)),
                         "GABAergic": _fmt(getattr(gaba, f.name)), "unit": unit, "meaning": doc})
    return Section("Cell-type parameters", ["Membrane and vesicle parameters of the reference scenario by cell "
                                            "type (means of the per-neuron draws)."], pd.DataFrame(rows))


def other_parameters(s: Scenario) -> Section:
    table = units()
    rows = []
    data = _as_dict(s)
    for section in ("synapses", "adenosine", "synapsin", "glutamate", "pharmacology"):
        for key, value in flatten(data[section], f"{section}.").items():
            unit, doc = table.get(key, ("", ""))
            rows.append({"parameter": key, "value": _fmt(value), "unit": unit, "meaning": doc})
    return Section("Synapse, adenosine, synapsin, glutamate and drug parameters",
                   ["Values of the reference scenario."], pd.DataFrame(rows))


def conditions_section(s: Scenario, conditions: list[str]) -> Section:
    rows = []
    for name in conditions:
        try:
            c = s.condition(name)
        except ScenarioError:
            continue
        rows.append({"condition": name, "ketamine (µM)": _fmt(c.ketamine_uM), "DPCPX (µM)": _fmt(c.dpcpx_uM),
                     "AMPA antagonist (µM)": _fmt(c.ampa_antagonist_uM),
                     "applied adenosine (µM)": _fmt(c.adenosine_uM), "applied at (s)": _fmt(c.apply_at_s)})
    text = [f"Drugs were applied to the bath at the time given; ketamine reaches its bath concentration with a "
            f"wash-in time constant of {s.pharmacology.ketamine.washin_tau_s:g} s "
            f"(NMDA IC50 {s.pharmacology.ketamine.nmda_ic50_uM:g} µM; DPCPX IC50 {s.pharmacology.dpcpx.ic50_uM:g} µM)."]
    return Section("Drug conditions", text, pd.DataFrame(rows))


def protocol_section(s: Scenario) -> Section:
    p = s.protocol
    text = [f"Each run lasted {p.duration_s:g} s of biological time with a time step dt = {p.dt_ms:g} ms "
            f"(slow variables updated every {p.slow_dt_ms:g} ms) and was recorded every {p.record_interval_ms:g} ms. "
            f"The first {p.warmup_s:g} s were a warm-up, excluded from every summary metric: readouts are means "
            f"over {p.warmup_s:g}-{p.duration_s:g} s, and evoked release is the mean release per bouton at the "
            "stimulation pulses after the warm-up."]
    text += [_stimulus_text(st, i) for i, st in enumerate(p.stimuli)] or ["No stimulation (spontaneous activity)."]
    return Section("Protocol", text)


def _stimulus_text(st, i: int) -> str:
    target = f"{st.fraction:g} of the {st.target} cells" if st.fraction < 1 else f"all {st.target} cells"
    if st.target == "all":
        target = "all cells" if st.fraction >= 1 else f"{st.fraction:g} of all cells"
    what = {
        "train": f"a {st.pattern} train of {st.n_pulses} pulses at {st.rate_hz:g} Hz",
        "paired_pulse": f"a pair of pulses {st.interval_ms:g} ms apart",
        "high_k": f"a high-K+ depolarisation of {st.depolarisation_mV:g} mV for {st.duration_s:g} s",
        "fm_dye": f"FM-dye loading for {st.duration_s:g} s",
    }[st.kind]
    return f"Stimulus {i + 1}: {what} at {st.start_s:g} s" + ("" if st.kind == "fm_dye" else f" to {target}") + "."


def design_section(manifest: dict, summary: pd.DataFrame) -> Section:
    runs = manifest.get("runs", [])
    scen = list(manifest.get("scenarios", {}))
    conds = list(dict.fromkeys(r["condition"] for r in runs))
    reps = max((r["replicate"] for r in runs), default=-1) + 1
    levels = manifest.get("levels") or {}
    ok = int((summary["status"] == "ok").sum()) if "status" in summary else len(summary)
    ref = manifest.get("reference", {})
    text = [f"Design: {len(scen)} scenario(s) ({', '.join(scen)}) x {len(conds)} condition(s) "
            + "".join(f"x {len(v)} values of {k} ({', '.join(map(_fmt, v))}) " for k, v in levels.items())
            + f"x {reps} replicate(s) = {len(runs)} runs, of which {ok} finished. Reference group: "
            f"{ref.get('scenario')} / {ref.get('condition')}.",
            f"Seeds: master seed {manifest.get('master_seed')}. Each run's seed is derived from the master seed and "
            "the run's key (scenario | condition | levels | replicate) with numpy SeedSequence (spawn key from the "
            "SHA-256 of the key), independent of worker count and order; replicates differ in network wiring, "
            "per-neuron parameter draws and all stochastic events."]
    return Section("Design, replicates and seeds", text)


def statistics_section() -> Section:
    text = [f"Statistics (analysis.stats): per group (scenario x condition x swept levels) the mean, SD and a "
            f"bias-corrected and accelerated (BCa) bootstrap 95 % CI of the mean (scipy.stats.bootstrap, "
            f"{stats.N_BOOT} resamples, numpy Generator seeded with {stats.SEED}; the percentile interval where BCa "
            "is undefined, e.g. identical replicates; Efron 1987, J Am Stat Assoc 82:171-185). Effects of each "
            "group against the reference condition of its own scenario and against the experiment's reference "
            "group: percent change of means (BCa bootstrap 95 % CI resampling both groups independently), "
            "Hedges' g (pooled SD, small-sample correction J = 1 - 3/(4(n1+n2)-9)), Welch's t-test and the "
            "Mann-Whitney U test (two-sided; Holm-adjusted Welch p within each readout and comparison). Two-way "
            "ANOVA scenario x condition with interaction (statsmodels OLS, type II sums of squares). Dose-response: "
            "y = y0 + Emax·c^n/(c^n + EC50^n), n = 1, fitted by least squares (scipy curve_fit) to the runs with "
            f"ketamine as the only drug (vehicle as c = 0); 95 % CIs of EC50 and Emax from {stats.N_BOOT_HILL} "
            "bootstrap refits resampling replicates within each concentration (percentile intervals: a refit can "
            "fail, and BCa needs every resample). n is the number of independent "
            "runs (replicates), not of neurons."]
    return Section("Statistics", text)


def software_section(manifest: dict) -> Section:
    v = manifest.get("versions", {})
    packages = ", ".join(f"{k} {val}" for k, val in v.items() if k not in ("python", "platform"))
    text = [f"Python {v.get('python', '?')} on {v.get('platform', '?')}; {packages}. Code commit "
            f"{manifest.get('git_commit') or 'unknown (not a git checkout)'}. Command: {manifest.get('command', '?')}."
            f" Started {manifest.get('started_utc')}, finished {manifest.get('finished_utc') or 'not finished'}."]
    return Section("Software and provenance", text)


def scenario_differences(manifest: dict) -> pd.DataFrame:
    """Parameters whose value differs between the scenarios: key, unit, one column per scenario."""
    scenarios = stored_scenarios(manifest)
    flat = {}
    for name, s in scenarios.items():
        raw = _as_dict(s) if s is not None else manifest["scenarios"][name]
        flat[name] = {k: v for k, v in flatten(raw).items() if k.split(".")[0] not in SKIP_KEYS}
    if len(flat) < 2:
        return pd.DataFrame(columns=["parameter", "unit"])
    table = units()
    keys = list(dict.fromkeys(k for f in flat.values() for k in f))
    rows = []
    for key in keys:
        values = [flat[n].get(key, "—") for n in flat]
        if any(_fmt(v) != _fmt(values[0]) for v in values[1:]):
            rows.append({"parameter": key, "unit": unit_of_key(key, table),
                         **{n: _fmt(v) for n, v in zip(flat, values, strict=True)}})
    return pd.DataFrame(rows)


def differences_section(manifest: dict) -> Section:
    diff = scenario_differences(manifest)
    if len(manifest.get("scenarios", {})) < 2:
        return Section("Scenario differences", ["Only one scenario."])
    if diff.empty:
        return Section("Scenario differences", ["The scenarios have identical parameters."])
    return Section("Scenario differences", [f"{len(diff)} parameter(s) differ between the scenarios "
                                            "(all others are identical):"], diff)


def scenario_sections(manifest: dict) -> list[Section]:
    """Model, protocol, drugs and parameters of the manifest's reference scenario, and the scenarios' differences."""
    scenarios = stored_scenarios(manifest)
    ref_name = manifest.get("reference", {}).get("scenario") or next(iter(scenarios), None)
    ref = scenarios.get(ref_name) or next((s for s in scenarios.values() if s is not None), None)
    out: list[Section] = []
    if ref is not None:
        conditions = list(dict.fromkeys(r["condition"] for r in manifest.get("runs", [])))
        out += [model_section(ref, ref_name), protocol_section(ref), conditions_section(ref, conditions),
                cell_type_table(ref), other_parameters(ref)]
    else:
        out.append(Section("Model", ["The manifest's scenarios could not be validated with the current code; "
                                     "see the manifest below for the raw values."]))
    return [*out, differences_section(manifest)]


def methods_sections(manifest: dict, summary: pd.DataFrame) -> list[Section]:
    """Every methods section of a batch, for the reference scenario of the manifest."""
    return [*scenario_sections(manifest), design_section(manifest, summary), statistics_section(),
            software_section(manifest)]
