"""The model's Mesa DataCollector: it collects once per time-series row and reports the Recorder's own numbers."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import NORMAL, build

from sim.interactive import InteractiveModel
from sim.readouts import DATACOLLECTOR_COLUMNS

SETS = ["network.n_neurons=200", "protocol.warmup_s=0.1"]
#: a train and a paired pulse, so that the forced single steps are among the steps collected over
STIMULI = ["protocol.stimuli=[{kind = \"train\", start_s = 0.12, rate_hz = 50.0, n_pulses = 3, target = \"all\"}, "
           "{kind = \"paired_pulse\", start_s = 0.2, interval_ms = 20.0}]"]


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

