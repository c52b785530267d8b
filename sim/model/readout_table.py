"""The declared readouts: every column the recorder writes, with its unit and readable label.

One :class:`Readout` per column of ``timeseries.parquet`` (:data:`TIMESERIES_COLUMNS`),
``pulses.parquet`` (:data:`PULSE_COLUMNS`) and per summary metric of a run
(:data:`SUMMARY_METRICS`, the columns of ``summary.csv`` after the run's identity).
A quantity measured for each cell type is declared once and named for each type
by its template (``rate_{t}_hz`` -> ``rate_glu_hz``, ``rate_gaba_hz``); a column
that is in several tables (``time_s``; a time-series column whose post-warm-up
mean is a summary metric) is one readout. :data:`READOUTS` holds them all by name;
``tests/model/test_readout_table.py`` checks that a run writes exactly these columns and
that docs/outputs.md lists exactly them.

Units are written as in the scenario schema's metadata (``uM``, ``1/s``, ``1``
for dimensionless, ``""`` for what is not a quantity: an index, a kind);
:func:`unit_words` gives the text to print (``µM``). :data:`UNIT_WORDS` is the
only such map of the code base.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sim.model.params import CELL_TYPES, SUFFIX

#: unit as written in the code (schema metadata, readout table) -> as printed; units not listed print as written
UNIT_WORDS = {"uM": "µM", "uM/s": "µM/s", "um^3": "µm³"}
#: readable name of each cell type (``sim.model.params.CELL_TYPES``)
CELL_LABELS = {"glutamatergic": "glutamatergic", "gabaergic": "GABAergic"}
VESICLES_PER_BOUTON = "vesicles/bouton"


def unit_words(unit: str) -> str:
    """The printed form of a unit written in the code: 'uM' -> 'µM'; any other unit unchanged."""
    return UNIT_WORDS.get(unit, unit)


@dataclass(frozen=True)
class Readout:
    """One output column.

    ``unit`` is written as in the code (see :func:`unit_words`); ``label`` is a
    readable name that includes the cell type ('firing rate, glutamatergic');
    ``cell_type`` is a key of ``CELL_TYPES`` or None for a network-wide column;
    ``quantity`` is the name template shared by the cell types of one quantity
    (``rate_{t}_hz``; the name itself for a network-wide column).
    """

    name: str
    unit: str
    label: str
    cell_type: str | None = None
    quantity: str = ""
    description: str = ""

    @property
    def quantity_label(self) -> str:
        """The label without the cell type: 'firing rate'."""
        return self.label.removesuffix(f", {CELL_LABELS[self.cell_type]}") if self.cell_type else self.label


def single(name: str, unit: str, label: str, description: str = "", cell_type: str | None = None) -> Readout:
    """A readout declared by its name (of the whole network unless ``cell_type`` is given)."""
    return Readout(name, unit, label, cell_type, name, description)


def per_cell_type(template: str, unit: str, label: str, description: str = "",
                  cell_types: Sequence[str] = CELL_TYPES) -> tuple[Readout, ...]:
    """One readout per cell type from one declaration: ``template`` holds ``{t}`` for the type's suffix."""
    return tuple(Readout(template.format(t=SUFFIX[kind]), unit, f"{label}, {CELL_LABELS[kind]}", kind, template,
                         description) for kind in cell_types)


def type_major(*quantities: tuple[Readout, ...]) -> tuple[Readout, ...]:
    """Readouts of several per-cell-type quantities ordered by cell type first, then as given."""
    return tuple(r for kind in CELL_TYPES for q in quantities for r in q if r.cell_type == kind)


def by_name(readouts: Iterable[Readout]) -> dict[str, Readout]:
    """Readouts by name; a name declared twice with different contents raises ValueError."""
    out: dict[str, Readout] = {}
    for r in readouts:
        if out.setdefault(r.name, r) != r:
            raise ValueError(f"readout {r.name!r} is declared twice, differently")
    return out


# --------------------------------------------------------------------------- the declarations

_TIME = single("time_s", "s", "time", "biological time: the end of the recording interval; in pulses.parquet the "
               "pulse step")
#: per cell type, in the order of the time-series columns of one type (every one is also a summary metric)
_PER_TYPE_SERIES = (
    per_cell_type("rate_{t}_hz", "Hz", "firing rate", "spikes per neuron per second over the interval"),
    per_cell_type("released_{t}_per_s", "vesicles/bouton/s", "vesicle release rate",
                  "vesicles released per bouton per second over the interval"),
    per_cell_type("rrp_{t}", VESICLES_PER_BOUTON, "readily releasable pool", "primed vesicles at release sites"),
    per_cell_type("surface_{t}", VESICLES_PER_BOUTON, "surface pool", "fused vesicles awaiting endocytosis"),
    per_cell_type("recycling_{t}", VESICLES_PER_BOUTON, "recycling pool", "mobile vesicles, primed into the RRP"),
    per_cell_type("reserve_{t}", VESICLES_PER_BOUTON, "reserve pool", "synapsin-tethered vesicles"),
    per_cell_type("recycling_flux_{t}_per_s", "vesicles/bouton/s", "recycling flux (endocytosis)",
                  "vesicles endocytosed per bouton per second over the interval"),
    per_cell_type("phluorin_{t}", "F/F_max", "pHluorin (surface fraction)",
                  "surface pool / total vesicles of the type's boutons"),
    per_cell_type("fm_dye_{t}", "labelled vesicles/bouton", "FM-dye label", "FM-dye-labelled vesicles per bouton"),
    per_cell_type("release_probability_{t}", "1", "release probability",
                  "mean release probability per primed vesicle, A1 inhibition included"),
    per_cell_type("a1_occupancy_{t}", "1", "A1 occupancy", "mean presynaptic A1 occupancy (0-1)"),
    per_cell_type("phospho_synapsin_{t}", "1", "phospho-synapsin", "mean phosphorylated synapsin fraction (0-1)"),
)
#: network-wide time-series columns that are also summary metrics
_NETWORK_SERIES = (
    single("glutamate_released_per_s", "molecules/s", "glutamate released by the network",
           "glutamate molecules released per second by the whole network"),
    single("adenosine_uM", "uM", "adenosine", "mean adenosine over postsynaptic sites, bath included"),
    single("ambient_glutamate_uM", "uM", "ambient glutamate", "extrasynaptic glutamate"),
)
#: time-series columns that are not summary metrics
_SERIES_ONLY = (
    single("ketamine_uM", "uM", "ketamine at the tissue", "ketamine at the tissue (after wash-in)"),
    single("nmda_block", "1", "NMDA block", "fraction of NMDA current blocked by ketamine (0-1)"),
)
#: the bath concentrations of the run's condition (summary metrics), in the order of the condition's fields
_BATH = (
    single("bath_ketamine_uM", "uM", "ketamine (bath)", "the condition's ketamine bath concentration"),
    single("bath_dpcpx_uM", "uM", "DPCPX (bath)", "the condition's DPCPX bath concentration"),
    single("bath_ampa_antagonist_uM", "uM", "AMPA antagonist (bath)", "the condition's AMPA antagonist bath "
           "concentration"),
    single("bath_adenosine_uM", "uM", "adenosine (bath)", "the condition's applied adenosine"),
)
_FANO = per_cell_type("population_fano_{t}", "1", "population Fano factor",
                      "variance / mean of the population spike count per recording interval")
_EVOKED = (
    per_cell_type("evoked_release_{t}_per_pulse", "vesicles/bouton/pulse", "evoked release",
                  "vesicles released per stimulated bouton per pulse"),
    per_cell_type("paired_pulse_ratio_{t}", "1", "paired-pulse ratio", "second / first response of paired pulses"),
)
_PULSE_COLUMNS = (
    single("pulse", "", "pulse number", "running number of the pulse row (0-based)"),
    single("stimulus", "", "stimulus", "index in protocol.stimuli of the first stimulus pulsing at the step"),
    single("kind", "", "stimulus kind", "train or paired_pulse"),
    _TIME,
    *per_cell_type("n_stimulated_{t}", "neurons", "cells stimulated", "cells forced to spike at the step"),
    *per_cell_type("released_{t}", "vesicles", "vesicles released at the pulse", "summed over the type's boutons"),
    *per_cell_type("rrp_before_{t}", "vesicles", "readily releasable pool before the pulse",
                   "summed over the type's boutons"),
    single("glutamate_molecules", "molecules", "glutamate released at the pulse",
           "glutamate molecules released by the network at the step"),
)
_SERIES_MEANS = (*type_major(*_PER_TYPE_SERIES), *_NETWORK_SERIES)

#: the columns of ``timeseries.parquet``, in order
TIMESERIES_COLUMNS = tuple(r.name for r in (_TIME, *_SERIES_MEANS, *_SERIES_ONLY))
#: the columns of ``pulses.parquet``, in order
PULSE_COLUMNS = tuple(r.name for r in _PULSE_COLUMNS)
#: the time-series columns whose post-warm-up mean is a summary metric of the same name
SUMMARY_MEANS = tuple(r.name for r in _SERIES_MEANS)
#: the summary metrics of one run (``run_results(model)["summary"]``), in order
SUMMARY_METRICS = tuple(r.name for r in (*_BATH, *_SERIES_MEANS, *_FANO, *type_major(*_EVOKED)))
#: every readout by name
READOUTS: dict[str, Readout] = by_name((_TIME, *_SERIES_MEANS, *_SERIES_ONLY, *_PULSE_COLUMNS, *_BATH, *_FANO,
                                      *type_major(*_EVOKED)))
#: the summary columns of the bath concentrations
BATH_COLUMNS = tuple(r.name for r in _BATH)


def readout(name: str) -> Readout:
    """The declared readout ``name``; KeyError naming the declared ones if there is none."""
    try:
        return READOUTS[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a readout; declared: {', '.join(READOUTS)}") from None


def column(quantity: str, cell_type: str | None = None) -> str:
    """The declared name of ``quantity`` (a template such as ``rate_{t}_hz``) for ``cell_type``.

    KeyError if no readout of that quantity and cell type is declared.
    """
    name = quantity.format(t=SUFFIX[cell_type]) if cell_type else quantity
    if name not in READOUTS or READOUTS[name].quantity != quantity:
        raise KeyError(f"no readout {quantity!r} for cell type {cell_type!r}; declared: {', '.join(READOUTS)}")
    return name
