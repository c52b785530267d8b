"""The engine is reproducible within a run: stepping and running give the same result (the same seed giving
byte-identical output files of ``python run.py simulate`` in separate processes: tests/cli/test_reproducibility_cli.py).
"""

from __future__ import annotations

import pandas as pd
from helpers import NORMAL, build, overrides


def test_stepping_and_running_give_identical_results():
    """``model.step()`` one at a time and ``model.run()`` (chunks of steps) follow the same random stream."""
    sets = overrides(network__n_neurons=120, network__excitatory_in_degree=30, network__inhibitory_in_degree=8,
                     protocol__duration_s=0.6, protocol__warmup_s=0.1,
                     protocol__stimuli=[{"kind": "train", "start_s": 0.1, "rate_hz": 40.0, "n_pulses": 6},
                                        {"kind": "high_k", "start_s": 0.3, "duration_s": 0.05},
                                        {"kind": "fm_dye", "start_s": 0.25, "duration_s": 0.2}])
    stepped, ran = build(NORMAL, sets, "ketamine_10uM", seed=21), build(NORMAL, sets, "ketamine_10uM", seed=21)
    for _ in range(stepped.n_steps):
        stepped.step()
    ran.run()
    assert stepped.step_index == ran.step_index == ran.n_steps
    for name in ("rrp", "surface", "recycling", "reserve", "rrp_dye", "recycling_dye", "reserve_dye"):
        assert (getattr(stepped.pools, name) == getattr(ran.pools, name)).all(), name
    pd.testing.assert_frame_equal(stepped.recorder.timeseries(), ran.recorder.timeseries())
    pd.testing.assert_frame_equal(stepped.recorder.pulses(), ran.recorder.pulses())

