"""The declared readout table (``sim.model.readout_table``) is what a run writes, what docs/outputs.md lists and
where the analysis takes its units and labels from; its map of unit words is the only one in the code base."""

from __future__ import annotations

import ast
import re

import pytest
from helpers import NORMAL, ROOT, build

from analysis import stats
from analysis.validation_measures import run_measurements
from sim.model import readout_table as table
from sim.model.params import CELL_TYPES
from sim.model.readouts import run_results

#: the columns of summary.csv before the run's summary metrics (written by ``run.py simulate``)
IDENTITY = ("scenario", "condition", "seed")
#: a paired pulse and a train, so that the run has pulse rows
STIMULI = ('protocol.stimuli=[{kind = "paired_pulse", start_s = 0.15}, '
           '{kind = "train", start_s = 0.2, rate_hz = 50.0, n_pulses = 3, target = "all"}]')


@pytest.fixture(scope="module")
def results() -> dict:
    model = build(NORMAL, ["network.n_neurons=200", "protocol.duration_s=0.3", "protocol.warmup_s=0.1", STIMULI],
                  condition="ketamine_10uM")
    model.run()
    return run_results(model)


# --------------------------------------------------------------------------- the recorder writes the table


def test_the_time_series_has_exactly_the_declared_columns(results):
    assert list(results["timeseries"].columns) == list(table.TIMESERIES_COLUMNS)


def test_the_pulse_rows_have_exactly_the_declared_columns(results):
    assert len(results["pulses"]) > 0
    assert list(results["pulses"].columns) == list(table.PULSE_COLUMNS)


def test_the_summary_has_exactly_the_declared_metrics(results):
    assert list(results["summary"]) == list(table.SUMMARY_METRICS)


def test_every_column_of_every_table_is_declared():
    columns = {*table.TIMESERIES_COLUMNS, *table.PULSE_COLUMNS, *table.SUMMARY_METRICS}
    assert columns == set(table.READOUTS)
    assert set(table.SUMMARY_MEANS) <= set(table.TIMESERIES_COLUMNS) & set(table.SUMMARY_METRICS)


def test_a_per_cell_type_quantity_has_one_readout_per_cell_type():
    by_quantity: dict[str, list[str | None]] = {}
    for r in table.READOUTS.values():
        by_quantity.setdefault(r.quantity, []).append(r.cell_type)
    assert {q: types for q, types in by_quantity.items() if "{t}" in q and types != list(CELL_TYPES)} == {}
    assert {q: types for q, types in by_quantity.items() if "{t}" not in q and types != [None]} == {}


def test_lookups_and_their_errors():
    assert table.readout("rate_gaba_hz").cell_type == "gabaergic"
    assert table.readout("rate_gaba_hz").quantity_label == "firing rate"
    assert table.column("rate_{t}_hz", "gabaergic") == "rate_gaba_hz"
    assert table.column("adenosine_uM") == "adenosine_uM"
    with pytest.raises(KeyError, match=r"'rate_hz' is not a readout; declared: time_s, rate_glu_hz, "):
        table.readout("rate_hz")
    with pytest.raises(KeyError, match="no readout 'firing_{t}' for cell type 'gabaergic'; declared: time_s"):
        table.column("firing_{t}", "gabaergic")
    with pytest.raises(ValueError, match="'x' is declared twice"):
        table.by_name([table.single("x", "s", "one"), table.single("x", "s", "two")])


def test_unit_words():
    assert [table.unit_words(u) for u in ("uM", "uM/s", "um^3", "Hz", "1", "")] == ["µM", "µM/s", "µm³", "Hz", "1",
                                                                                    ""]


# --------------------------------------------------------------------------- docs/outputs.md lists the table


def _section(heading: str) -> str:
    """The text of a ``##`` section of docs/outputs.md."""
    text = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:end if end >= 0 else None]


def _first_cells(section: str) -> list[str]:
    """The first cell of each row of the section's table(s) (not the header or the rule)."""
    rows = [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")]
    return [cell for cell in rows if cell not in ("column", "---")]


def _names(text: str) -> list[str]:
    return re.findall(r"`([A-Za-z0-9_]+)`", text)


def test_the_docs_list_the_time_series_columns():
    names = [n for cell in _first_cells(_section("## `timeseries.parquet`")) for n in _names(cell)]
    assert sorted(names) == sorted(table.TIMESERIES_COLUMNS)


def test_the_docs_list_the_pulse_columns():
    names = [n for cell in _first_cells(_section("## `pulses.parquet`")) for n in _names(cell)]
    assert names == list(table.PULSE_COLUMNS)


def test_the_docs_list_the_summary_metrics():
    section = _section("## `summary.csv` / `summary.parquet`")
    cells = _first_cells(section)
    means = [cell for cell in cells if cell.startswith("every time-series column except")]
    assert len(means) == 1
    excepted = _names(means[0].split("(")[0])
    assert sorted(excepted) == sorted(set(table.TIMESERIES_COLUMNS) - set(table.SUMMARY_MEANS))
    listed = [n for cell in cells if cell not in means for n in _names(cell)]
    assert sorted(listed) == sorted({*IDENTITY, *table.SUMMARY_METRICS} - set(table.SUMMARY_MEANS))
    in_order = section[section.index("So the summary columns are"):]
    assert _names(in_order[:in_order.index("\n\n")]) == [*IDENTITY, *table.SUMMARY_METRICS]


# --------------------------------------------------------------------------- the analysis reads the table


@pytest.mark.parametrize("name", [*table.READOUTS, *stats.MEASUREMENTS])
def test_the_analysis_units_and_labels_are_the_declared_ones(name):
    r = table.READOUTS.get(name) or stats.MEASUREMENTS[name]
    assert stats.unit_of(name) == ("" if r.unit == "1" else table.unit_words(r.unit))
    assert stats.name_of(name) == r.label


def test_every_validation_measurement_is_declared_once():
    assert set(stats.MEASUREMENTS) == set(run_measurements())
    assert not set(stats.MEASUREMENTS) & set(table.READOUTS)


def _maps_unit_words(node: ast.AST) -> bool:
    """Whether ``node`` is a dict literal that maps the code's 'uM' to a printed micro (µ or Greek mu)."""
    if not isinstance(node, ast.Dict):
        return False
    pairs = [(k.value, v.value) for k, v in zip(node.keys, node.values, strict=True)
             if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)]
    return any(k == "uM" and isinstance(v, str) and ("\u00b5" in v or "\u03bc" in v) for k, v in pairs)


def _unit_word_maps(path) -> list[int]:
    """Line numbers of the dict literals of ``path`` that map unit words."""
    return [node.lineno for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if _maps_unit_words(node)]


def test_there_is_one_map_of_unit_words():
    files = [p for p in sorted(ROOT.rglob("*.py")) if not any(part.startswith(".") or part == "build"
                                                              for part in p.relative_to(ROOT).parts)]
    found = {p.relative_to(ROOT).as_posix(): lines for p in files if (lines := _unit_word_maps(p))}
    assert list(found) == ["sim/model/readout_table.py"], found
