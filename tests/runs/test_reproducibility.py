"""The engine is reproducible within a run: stepping and running give the same result (the same seed giving
byte-identical output files of ``python run.py simulate`` in separate processes: tests/cli/test_reproducibility_cli.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import NORMAL, build, overrides

from sim.model import kernels
from sim.model.model import SynapseNetworkModel
from sim.model.scenario import load_scenario


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



@pytest.mark.skipif(kernels.max_threads() < 2, reason="numba may use one thread here (NUMBA_NUM_THREADS=1); "
                    "tests/cli/test_threads_cli.py sets it")
def test_one_and_two_threads_give_identical_results():
    """Each block of neurons draws from its own stream, so the thread count changes no draw: a network of three
    blocks (the last one short) with pulses, high K+, FM dye and a drug."""
    sets = overrides(network__n_neurons=2 * kernels.BLOCK_NEURONS + 500, network__excitatory_in_degree=30,
                     network__inhibitory_in_degree=8, protocol__duration_s=0.25, protocol__warmup_s=0.05,
                     protocol__stimuli=[{"kind": "train", "start_s": 0.05, "rate_hz": 50.0, "n_pulses": 4},
                                        {"kind": "high_k", "start_s": 0.12, "duration_s": 0.03},
                                        {"kind": "fm_dye", "start_s": 0.1, "duration_s": 0.1}])
    scenario, _ = load_scenario(NORMAL, sets)
    one, two = (SynapseNetworkModel(scenario, "ketamine_10uM", seed=5, threads=t) for t in (1, 2))
    assert one.streams.shape[0] == 3
    one.run()
    two.run()
    for name in ("rrp", "surface", "recycling", "reserve", "rrp_dye", "recycling_dye", "reserve_dye"):
        assert (getattr(one.pools, name) == getattr(two.pools, name)).all(), name
    assert np.array_equal(one.membrane.v_mV, two.membrane.v_mV)
    assert np.array_equal(one.p_release, two.p_release)
    assert one.pools.dye.sum() > 0 and one.recorder.pulses().shape[0] == 4
    pd.testing.assert_frame_equal(one.recorder.timeseries(), two.recorder.timeseries())
    pd.testing.assert_frame_equal(one.recorder.pulses(), two.recorder.pulses())


@pytest.mark.parametrize("threads", [0, -1, 2.0, True, kernels.max_threads() + 1])
def test_a_thread_count_out_of_range_is_refused(threads):
    scenario, _ = load_scenario(NORMAL, overrides(network__n_neurons=200))
    with pytest.raises(ValueError, match=r"threads = .*allowed: a whole number from 1 to \d+"):
        SynapseNetworkModel(scenario, threads=threads)
