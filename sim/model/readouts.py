"""The experiments' readouts: a time series by cell type, one row per stimulation pulse, and summaries.

Every column written here is declared, with its unit and label, in
:mod:`sim.model.readout_table` (``TIMESERIES_COLUMNS``, ``PULSE_COLUMNS``,
``SUMMARY_METRICS``); the recorder names its columns from that table. Time-series
rows come once per ``protocol.record_interval_ms``: rates are averages over the
interval that ends at ``time_s``, pools are means per bouton of the cell type,
concentrations are in µM (docs/outputs.md).

The model's Mesa ``DataCollector`` (``datacollector()``) reports a few of these
columns, read from the row just recorded: see ``DATACOLLECTOR_COLUMNS``.
"""

from __future__ import annotations

from functools import partial

import mesa
import numpy as np
import pandas as pd

from sim.model.kernels import block_sums
from sim.model.params import CELL_TYPES
from sim.model.readout_table import PULSE_COLUMNS, READOUTS, SUMMARY_MEANS, column

#: per cell type: quantity (name template of the readout table) -> the type's column name
COLUMNS_BY_TYPE = {kind: {r.quantity: r.name for r in READOUTS.values() if r.cell_type == kind} for kind in CELL_TYPES}

#: the model reporters of the Mesa DataCollector: reporter name (with its unit) -> time-series column it reports
DATACOLLECTOR_COLUMNS = {
    "time_s": "time_s",
    "rate_glu_hz": "rate_glu_hz",
    "rate_gaba_hz": "rate_gaba_hz",
    "rrp_glu_vesicles_per_bouton": "rrp_glu",
    "rrp_gaba_vesicles_per_bouton": "rrp_gaba",
    "ambient_glutamate_uM": "ambient_glutamate_uM",
    "adenosine_uM": "adenosine_uM",
    "ketamine_uM": "ketamine_uM",
}


def last_recorded(model, column: str) -> float:
    """The value of time-series ``column`` in the model's latest row (its unit is the column's)."""
    return model.recorder.rows[-1][column]


def datacollector() -> mesa.DataCollector:
    """A Mesa DataCollector whose model reporters copy ``DATACOLLECTOR_COLUMNS`` from the latest time-series row.

    The model collects right after each row is recorded (once per
    ``protocol.record_interval_ms``), so the collector holds one entry per row.
    The reporters are partials of a module-level function, so the model stays picklable.
    """
    reporters = {name: partial(last_recorded, column=column) for name, column in DATACOLLECTOR_COLUMNS.items()}
    return mesa.DataCollector(model_reporters=reporters)


class Recorder:
    """Accumulates per-step counts and writes a row every ``record_every`` steps."""

    def __init__(self, model) -> None:
        self.model = model
        n = model.connectivity.n_neurons
        self.spike_count = np.zeros(n, dtype=np.int64)     # spikes per neuron in the current interval
        self.released_count = np.zeros(n, dtype=np.int64)  # vesicles released per neuron in the current interval
        self.endocytosed = np.zeros(n, dtype=np.int64)
        self.glutamate_molecules = 0.0
        self.steps = 0
        sizes = np.array([len(model.type_index[kind]) for kind in CELL_TYPES], dtype=float)
        self._per_neuron = np.divide(1.0, sizes, out=np.full(sizes.size, np.nan), where=sizes > 0)  # NaN: no cells
        self.rows: list[dict] = []
        self.pulse_rows: list[dict] = []

    def add_steps(self, n_steps: int, glutamate_molecules: float) -> None:
        """Count ``n_steps`` steps; spikes, releases and retrievals are added to the arrays by the model."""
        self.glutamate_molecules += glutamate_molecules
        self.steps += n_steps

    def record(self) -> None:
        """Close the current interval: one time-series row."""
        m = self.model
        span_s = self.steps * m.dt_s
        counts = {"spikes": self.spike_count, "released": self.released_count, "rrp": m.pools.rrp,
                  "surface": m.pools.surface, "recycling": m.pools.recycling, "reserve": m.pools.reserve,
                  "endocytosed": self.endocytosed,
                  "total": m.bouton.total, "rrp_dye": m.pools.rrp_dye, "recycling_dye": m.pools.recycling_dye,
                  "reserve_dye": m.pools.reserve_dye}
        fractions = {"release_probability": m.p_release, "a1_occupancy": m.a1_occupancy,
                     "phospho_synapsin": m.synapsin, "adenosine_uM": m.adenosine_uM}
        split = m.type_slice["glutamatergic"].stop  # glutamatergic neurons first, then GABAergic
        sums = np.vstack([block_sums(tuple(counts.values()), split), block_sums(tuple(fractions.values()), split)])
        means = (sums * self._per_neuron).T.tolist()
        row = {"time_s": m.time_s}
        for kind, type_means in zip(CELL_TYPES, means, strict=True):
            mean = dict(zip([*counts, *fractions], type_means, strict=True))
            row.update({COLUMNS_BY_TYPE[kind][q]: value for q, value in type_row(mean, span_s).items()})
        row["glutamate_released_per_s"] = self.glutamate_molecules / span_s
        row["adenosine_uM"] = float(sums[-1].sum()) / m.connectivity.n_neurons + m.drugs.adenosine_bath_uM
        row["ambient_glutamate_uM"] = m.ambient_glutamate_uM
        row["ketamine_uM"] = m.drugs.ketamine_uM
        row["nmda_block"] = m.drugs.nmda_block
        self.rows.append(row)
        for acc in (self.spike_count, self.released_count, self.endocytosed):
            acc[:] = 0
        self.glutamate_molecules = 0.0
        self.steps = 0

    def pulse(self, pulse, time_s: float, rrp_before: np.ndarray, released: np.ndarray,
              glutamate_molecules: float) -> None:
        """One row for a stimulation pulse: cells stimulated, vesicles released and the RRP just before, by type."""
        m = self.model
        row = {"pulse": pulse.number, "stimulus": pulse.stimulus, "kind": pulse.kind, "time_s": time_s}
        for kind in CELL_TYPES:
            idx, names = m.type_index[kind], COLUMNS_BY_TYPE[kind]
            row[names["n_stimulated_{t}"]] = int(pulse.cells[idx].sum())
            row[names["released_{t}"]] = int(released[idx].sum())
            row[names["rrp_before_{t}"]] = int(rrp_before[idx].sum())
        row["glutamate_molecules"] = glutamate_molecules
        self.pulse_rows.append(row)

    def timeseries(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def pulses(self) -> pd.DataFrame:
        return pd.DataFrame(self.pulse_rows, columns=list(PULSE_COLUMNS))


def type_row(mean: dict[str, float], span_s: float) -> dict[str, float]:
    """One cell type's time-series values by quantity (name template), from the type's means over its neurons.

    ``mean`` holds per-neuron means of the interval's counts (spikes, released, endocytosed), of the pools and
    dye-labelled pools (vesicles) and of the fractions; ``span_s`` is the interval (s). Rates are per second.
    """
    return {"rate_{t}_hz": mean["spikes"] / span_s,
            "released_{t}_per_s": mean["released"] / span_s,
            "rrp_{t}": mean["rrp"],
            "surface_{t}": mean["surface"],
            "recycling_{t}": mean["recycling"],
            "reserve_{t}": mean["reserve"],
            "recycling_flux_{t}_per_s": mean["endocytosed"] / span_s,
            "phluorin_{t}": mean["surface"] / max(mean["total"], 1e-12),
            "fm_dye_{t}": mean["rrp_dye"] + mean["recycling_dye"] + mean["reserve_dye"],
            "release_probability_{t}": mean["release_probability"],
            "a1_occupancy_{t}": mean["a1_occupancy"],
            "phospho_synapsin_{t}": mean["phospho_synapsin"]}


def summarise(timeseries: pd.DataFrame, pulses: pd.DataFrame, warmup_s: float,
              n_by_type: dict[str, int]) -> dict[str, float]:
    """Summary metrics of one run over the time after the warm-up (see docs/outputs.md)."""
    after = timeseries[timeseries["time_s"] > warmup_s + 1e-12]
    out: dict[str, float] = {}
    for col in SUMMARY_MEANS:
        out[col] = float(after[col].mean()) if len(after) else float("nan")
    span_s = float(np.diff(timeseries["time_s"].to_numpy()[:2])[0]) if len(timeseries) > 1 else float("nan")
    for kind in CELL_TYPES:
        counts = after[column("rate_{t}_hz", kind)].to_numpy() * n_by_type[kind] * span_s
        out[column("population_fano_{t}", kind)] = (float(counts.var() / counts.mean()) if counts.mean() > 0
                                                     else float("nan"))
    out.update(evoked_metrics(pulses[pulses["time_s"] > warmup_s + 1e-12]))
    return out


def evoked_metrics(pulses: pd.DataFrame) -> dict[str, float]:
    """Release per pulse per stimulated bouton, and the paired-pulse ratio (second / first pulse)."""
    out: dict[str, float] = {}
    for kind in CELL_TYPES:
        stimulated, released = column("n_stimulated_{t}", kind), column("released_{t}", kind)
        hit = pulses[pulses[stimulated] > 0]
        per_bouton = hit[released] / hit[stimulated]
        out[column("evoked_release_{t}_per_pulse", kind)] = float(per_bouton.mean()) if len(hit) else float("nan")
        out[column("paired_pulse_ratio_{t}", kind)] = _paired_pulse_ratio(hit, released)
    return out


def _paired_pulse_ratio(pulses: pd.DataFrame, column: str) -> float:
    """Summed second over summed first responses of paired-pulse stimuli (both pulses after the warm-up)."""
    pairs = pulses[pulses["kind"] == "paired_pulse"].groupby("stimulus", sort=True)[column].agg(list)
    pairs = [p for p in pairs if len(p) == 2]
    first = float(sum(p[0] for p in pairs))
    return float(sum(p[1] for p in pairs) / first) if first > 0 else float("nan")


def run_results(model) -> dict:
    """The outputs of a finished run: ``summary`` (dict), ``timeseries`` and ``pulses`` (DataFrames)."""
    ts, pulses = model.recorder.timeseries(), model.recorder.pulses()
    n_by_type = {k: int(v.size) for k, v in model.type_index.items()}
    drugs = {f"bath_{k}": v for k, v in model.pharmacology.condition.__dict__.items() if k.endswith("_uM")}
    summary = {**drugs, **summarise(ts, pulses, model.params.protocol.warmup_s, n_by_type)}
    return {"summary": summary, "timeseries": ts, "pulses": pulses}
