"""The model's Mesa DataCollector and ``mesa.batch_run`` on ``sim.model.mesa_batch.BatchRunModel``.

The DataCollector collects once per time-series row and reports the
Recorder's own numbers; ``mesa.batch_run`` runs on Mesa 3.3 (Python 3.11) and
Mesa 3.5 (Python 3.12), and the same seed gives the same rows.
"""

from __future__ import annotations

import mesa
import pandas as pd
import pytest
from helpers import NORMAL, build

from sim.model.interactive import InteractiveModel
from sim.model.mesa_batch import BatchRunModel, batch_overrides, mesa_batch_run, scenario_file
from sim.model.readouts import DATACOLLECTOR_COLUMNS

SMALL = {"n_neurons": 200, "duration_s": 0.2, "warmup_s": 0.1, "record_interval_ms": 20.0}
SETS = ["network.n_neurons=200", "protocol.warmup_s=0.1"]
#: a train and a paired pulse, so that the forced single steps are among the steps collected over
STIMULI = ["protocol.stimuli=[{kind = \"train\", start_s = 0.12, rate_hz = 50.0, n_pulses = 3, target = \"all\"}, "
           "{kind = \"paired_pulse\", start_s = 0.2, interval_ms = 20.0}]"]
#: Mesa 3.5 deprecates batch_run's ``iterations`` (Mesa 3.3 has no other way to repeat a run)
ITERATIONS_DEPRECATED = "ignore:The `iterations` keyword argument is deprecated:DeprecationWarning"


def collected(model) -> pd.DataFrame:
    """The DataCollector's model frame with the Recorder's column names."""
    frame = model.datacollector.get_model_vars_dataframe()
    return frame.rename(columns=DATACOLLECTOR_COLUMNS)


def recorded(model) -> pd.DataFrame:
    """The Recorder's time series, only the columns the DataCollector reports."""
    return model.recorder.timeseries()[list(DATACOLLECTOR_COLUMNS.values())]


@pytest.mark.parametrize("sets", [
    ["protocol.duration_s=0.3", *STIMULI],
    ["protocol.duration_s=0.205", "protocol.record_interval_ms=20.0"],  # a final partial interval: no row, no entry
])
def test_one_entry_per_row_equal_to_the_recorder(sets):
    model = build(NORMAL, [*SETS, *sets], condition="ketamine_10uM")
    model.run()
    rows = model.n_steps // model.record_every
    assert len(model.recorder.rows) == rows
    pd.testing.assert_frame_equal(collected(model), recorded(model), check_exact=True)


def test_stepping_collects_only_at_rows():
    model = build(NORMAL, [*SETS, "protocol.duration_s=0.15", "protocol.record_interval_ms=20.0"])
    for _ in range(model.n_steps):
        model.step()
    frame = collected(model)
    assert len(frame) == model.n_steps // model.record_every == 7
    assert frame["time_s"].tolist() == pytest.approx([0.02 * i for i in range(1, 8)])
    pd.testing.assert_frame_equal(frame, recorded(model), check_exact=True)


def test_the_interactive_page_collects_once_per_step():
    model = InteractiveModel(n_neurons=200)
    for _ in range(2):
        model.step()
    pd.testing.assert_frame_equal(collected(model), recorded(model), check_exact=True)
    assert collected(model)["time_s"].tolist() == pytest.approx([0.1, 0.2])


def test_one_step_of_the_batch_model_is_one_record_interval():
    model = BatchRunModel(condition="ketamine_10uM", seed=4, **SMALL)
    steps = 0
    while model.running:
        model.step()
        steps += 1
        assert len(model.datacollector.model_vars["time_s"]) == steps
    assert steps == 10 and model.steps == 10
    assert model.time_s == pytest.approx(0.2)
    model.step()  # after the end: nothing happens
    assert model.time_s == pytest.approx(0.2) and len(model.recorder.rows) == 10
    reference = build(NORMAL, [*batch_overrides(**SMALL)], condition="ketamine_10uM", seed=4)
    reference.run()
    pd.testing.assert_frame_equal(model.recorder.timeseries(), reference.recorder.timeseries(), check_exact=True)


def test_batch_model_inputs():
    assert scenario_file("normal") == NORMAL
    assert scenario_file(str(NORMAL)) == NORMAL
    assert batch_overrides(n_neurons=300, warmup_s=0.5, overrides="seed=3") == [
        "network.n_neurons=300", "protocol.warmup_s=0.5", "seed=3"]
    with pytest.raises(ValueError, match="not a whole number of record intervals"):
        BatchRunModel(**{**SMALL, "duration_s": 0.21})
    with pytest.raises(ValueError, match="unknown condition"):
        BatchRunModel(condition="no_such_drug", **SMALL)


def batch(**options) -> pd.DataFrame:
    """``mesa.batch_run`` of 2 iterations x 2 conditions of a 200-neuron, 0.2 s scenario."""
    rows = mesa.batch_run(BatchRunModel, parameters={**SMALL, "condition": ["vehicle", "ketamine_10uM"]},
                          iterations=2, max_steps=1000, number_processes=1, display_progress=False, **options)
    return pd.DataFrame(rows)


@pytest.mark.filterwarnings(ITERATIONS_DEPRECATED)
def test_mesa_batch_run_gives_one_row_per_record_interval_and_repeats_itself():
    frame = batch(data_collection_period=1)
    assert set(DATACOLLECTOR_COLUMNS) <= set(frame.columns)
    assert len(frame) == 2 * 2 * 10 and frame["RunId"].nunique() == 4
    readouts = list(DATACOLLECTOR_COLUMNS)
    for condition, runs in frame.groupby("condition"):
        first, second = (runs[runs["iteration"] == i][readouts].reset_index(drop=True) for i in (0, 1))
        pd.testing.assert_frame_equal(first, second, check_exact=True)  # no seed: the scenario's, both times
        assert first["time_s"].tolist() == pytest.approx([0.02 * i for i in range(1, 11)])
        assert (first["ketamine_uM"].iloc[-1] > 0) == (condition == "ketamine_10uM")
        assert first["rate_glu_hz"].gt(0).all() and first["ambient_glutamate_uM"].gt(0).all()
    pd.testing.assert_frame_equal(frame, batch(data_collection_period=1), check_exact=True)


@pytest.mark.filterwarnings(ITERATIONS_DEPRECATED)
def test_mesa_batch_run_at_the_end_only():
    frame = batch(data_collection_period=-1)
    assert len(frame) == 4
    assert frame["time_s"].tolist() == pytest.approx([0.2] * 4)


def test_mesa_batch_run_values_equal_a_plain_run():
    frame = pd.DataFrame(mesa_batch_run({**SMALL, "condition": "ketamine_10uM"}, seeds=[6]))
    model = build(NORMAL, batch_overrides(**SMALL), condition="ketamine_10uM", seed=6)
    model.run()
    readouts = frame[list(DATACOLLECTOR_COLUMNS)].rename(columns=DATACOLLECTOR_COLUMNS)
    pd.testing.assert_frame_equal(readouts, recorded(model), check_exact=True)


def test_seeds_reach_the_model_on_either_mesa():
    frame = pd.DataFrame(mesa_batch_run({**SMALL, "condition": ["vehicle", "dpcpx"]}, seeds=[3, 3, 4]))
    assert frame["RunId"].tolist() == [i for i in range(6) for _ in range(10)]
    assert frame["iteration"].tolist() == [i for i in range(3) for _ in range(20)]
    assert frame["seed"].tolist() == [s for s in (3, 3, 4) for _ in range(20)]
    readouts = list(DATACOLLECTOR_COLUMNS)
    runs = [frame[frame["RunId"] == i][readouts].reset_index(drop=True) for i in range(6)]
    pd.testing.assert_frame_equal(runs[0], runs[2], check_exact=True)  # seed 3 twice, vehicle
    pd.testing.assert_frame_equal(runs[1], runs[3], check_exact=True)  # seed 3 twice, dpcpx
    assert not runs[0].equals(runs[4])  # seed 4
    with pytest.raises(ValueError, match="seeds="):
        mesa_batch_run({**SMALL, "seed": [1, 2]})
