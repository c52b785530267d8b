"""The RRP of isolated neurons with unlimited supply follows Tsodyks-Markram depression (docs/science.md, section 5).

``scenarios/checks/tsodyks_markram.toml`` switches off everything that would make
release differ from TM. Each release site is then an independent two-state
chain, so the mean release per pulse per stimulated neuron is ``n U x_k`` with

- regular train (interval D, E = exp(-D / tau_rec)): x_1 = 1, x_{k+1} = 1 - (1 - (1 - U) x_k) E;
- Poisson train at rate r, at steady state: x = 1 / (1 + U r tau_rec).

Replicates are seeds. Per pulse, the mean over seeds is compared with the
prediction by a t statistic from the between-seed standard error; in addition,
the mean over the steady-state pulses (one number per seed) is t-tested. All
tests of one comparison form one family with a Bonferroni bound at family-wise
alpha = 0.001, and every comparison is also run against a wrong model
(tau_rec x 1.5, U x 0.8, and +-10 % where the design has the power) to show
that the test can fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TSODYKS_MARKRAM, build, overrides
from scipy import stats

ALPHA = 0.001
SEEDS = range(101, 109)      # eight replicates
N_NEURONS = 500              # 400 stimulated glutamatergic neurons per replicate
STEADY_FROM = 10             # pulses before this index are the transient


def tm_regular(u: float, tau_s: float, n_sites: int, n_pulses: int, interval_s: float) -> np.ndarray:
    """Mean release per pulse of n sites: n U x_k, x_1 = 1 (Tsodyks-Markram, regular train)."""
    e = np.exp(-interval_s / tau_s)
    x = [1.0]
    for _ in range(n_pulses - 1):
        x.append(1.0 - (1.0 - (1.0 - u) * x[-1]) * e)
    return n_sites * u * np.array(x)


def tm_given_times(u: float, tau_s: float, n_sites: int, times_s: np.ndarray, x0: float) -> np.ndarray:
    """n U x_k for pulses at ``times_s`` (any train), starting at t = 0 from RRP fraction ``x0``."""
    x, last, out = x0, 0.0, []
    for t in times_s:
        x = 1.0 - (1.0 - x) * np.exp(-(t - last) / tau_s)
        out.append(n_sites * u * x)
        x *= 1.0 - u
        last = t
    return np.array(out)


def tm_poisson(u: float, tau_s: float, n_sites: int, rate_hz: float) -> float:
    """Steady-state mean release per pulse of a Poisson train: n U / (1 + U r tau_rec)."""
    return n_sites * u / (1.0 + u * rate_hz * tau_s)


def t_stat(values: np.ndarray, expected: float) -> float:
    values = np.asarray(values, dtype=float)
    return float((values.mean() - expected) / (values.std(ddof=1) / np.sqrt(values.size)))


def train_test(observed: np.ndarray, predicted: np.ndarray) -> tuple[bool, dict]:
    """Reject the prediction? ``observed[seed, pulse]``; K per-pulse t tests plus one steady-state block test."""
    n_seeds, n_pulses = observed.shape
    per_pulse = np.array([t_stat(observed[:, k], predicted[k]) for k in range(n_pulses)])
    block = t_stat(observed[:, STEADY_FROM:].mean(axis=1), predicted[STEADY_FROM:].mean())
    critical = stats.t.ppf(1.0 - ALPHA / (2 * (n_pulses + 1)), n_seeds - 1)
    worst = float(np.abs(per_pulse).max())
    rejected = worst > critical or abs(block) > critical
    return rejected, {"max_abs_t_per_pulse": round(worst, 2), "worst_pulse": int(np.abs(per_pulse).argmax()),
                      "steady_state_t": round(block, 2), "critical": round(float(critical), 2)}


def single_test(per_seed: np.ndarray, expected: float) -> tuple[bool, float, float]:
    """Two-sided one-sample t test across seeds at ALPHA: (rejected, t, critical)."""
    t = t_stat(per_seed, expected)
    critical = float(stats.t.ppf(1.0 - ALPHA / 2, len(per_seed) - 1))
    return abs(t) > critical, t, critical


def tm_parameters(model) -> tuple[float, float, int]:
    """U, tau_rec and the number of sites, read from the loaded scenario."""
    v = model.params.vesicles.glutamatergic
    return v.release_probability, v.priming_tau_s, v.release_sites


# --------------------------------------------------------------------------- regular train


@pytest.fixture(scope="module")
def regular_runs():
    """Per-seed release per pulse per glutamatergic neuron, and the scenario's parameters."""
    observed, model = [], None
    for seed in SEEDS:
        model = build(TSODYKS_MARKRAM, overrides(network__n_neurons=N_NEURONS, protocol__duration_s=7.0), seed=seed)
        model.run()
        pulses = model.recorder.pulses()
        stim = model.params.protocol.stimuli[0]
        assert len(pulses) == stim.n_pulses, "every pulse of the train must be recorded"
        assert (pulses["n_stimulated_glu"] == model.type_index["glutamatergic"].size).all()
        observed.append(pulses["released_glu"].to_numpy() / model.type_index["glutamatergic"].size)
    return np.array(observed), model


def test_scenario_is_the_tm_setting(regular_runs):
    _, model = regular_runs
    s = model.params
    v = s.vesicles.glutamatergic
    assert s.network.excitatory_in_degree == 0 and s.network.inhibitory_in_degree == 0
    assert v.a1_max_inhibition == 0 and v.spontaneous_rate_per_s == 0 and v.heterogeneity_cv == 0
    assert np.allclose(model.p_release[model.type_index["glutamatergic"]], v.release_probability)
    # the supply is effectively unlimited: the recycling pool never limits priming
    assert model.pools.recycling[model.type_index["glutamatergic"]].min() > 100 * v.release_sites
    # a stimulated neuron starts the train with a full RRP (x_1 = 1 to better than 0.1 % from any start)
    assert np.exp(-s.protocol.stimuli[0].start_s / v.priming_tau_s) < 1e-3


def test_regular_train_matches_tsodyks_markram(regular_runs):
    observed, model = regular_runs
    u, tau, n = tm_parameters(model)
    stim = model.params.protocol.stimuli[0]
    assert stim.pattern == "regular"
    predicted = tm_regular(u, tau, n, observed.shape[1], 1.0 / stim.rate_hz)
    rejected, info = train_test(observed, predicted)
    assert not rejected, f"release per pulse departs from Tsodyks-Markram: {info}"
    # the depression is real: first pulse n U, steady state well below it
    assert observed[:, 0].mean() == pytest.approx(n * u, rel=0.03)
    assert observed[:, -1].mean() < 0.2 * observed[:, 0].mean()


@pytest.mark.parametrize("u_factor, tau_factor", [(1.0, 1.5), (0.8, 1.0), (1.0, 1.1), (1.0, 0.9), (0.9, 1.0),
                                                  (1.1, 1.0)])
def test_regular_train_test_rejects_wrong_parameters(regular_runs, u_factor, tau_factor):
    """The same test rejects TM with U or tau_rec off by 50 %, 20 % and 10 %: it has the power to fail."""
    observed, model = regular_runs
    u, tau, n = tm_parameters(model)
    stim = model.params.protocol.stimuli[0]
    wrong = tm_regular(u * u_factor, tau * tau_factor, n, observed.shape[1], 1.0 / stim.rate_hz)
    rejected, info = train_test(observed, wrong)
    assert rejected, f"TM with U x {u_factor}, tau_rec x {tau_factor} was not rejected: {info}"


# --------------------------------------------------------------------------- Poisson train

POISSON_RATE_HZ = 10.0
POISSON_PULSES = 120


@pytest.fixture(scope="module")
def poisson_runs():
    """Per seed: release per pulse per glutamatergic neuron, pulse times, initial RRP fraction; and a model."""
    runs, model = [], None
    # 120 pulses at 10 Hz take 12 +- 1.1 s: the train ends before 18 s except with probability ~1e-7
    sets = overrides(network__n_neurons=N_NEURONS, protocol__duration_s=18.0, protocol__warmup_s=0.2,
                     protocol__stimuli__0__pattern="poisson", protocol__stimuli__0__rate_hz=POISSON_RATE_HZ,
                     protocol__stimuli__0__n_pulses=POISSON_PULSES, protocol__stimuli__0__start_s=0.5)
    for seed in SEEDS:
        model = build(TSODYKS_MARKRAM, sets, seed=seed)
        glu = model.type_index["glutamatergic"]
        x0 = float(model.pools.rrp[glu].mean()) / model.params.vesicles.glutamatergic.release_sites
        model.run()
        pulses = model.recorder.pulses()
        # two pulses that round to the same step make one spike and one row; nearly all pulses are recorded
        assert POISSON_PULSES - 6 <= len(pulses) <= POISSON_PULSES
        assert (pulses["n_stimulated_glu"] == glu.size).all()
        runs.append((pulses["released_glu"].to_numpy() / glu.size, pulses["time_s"].to_numpy(), x0))
    return runs, model


def test_poisson_train_matches_tsodyks_markram_steady_state(poisson_runs):
    runs, model = poisson_runs
    u, tau, n = tm_parameters(model)
    stim = model.params.protocol.stimuli[0]
    assert stim.pattern == "poisson" and stim.rate_hz == POISSON_RATE_HZ
    per_seed = np.array([released[STEADY_FROM:].mean() for released, _, _ in runs])
    expected = tm_poisson(u, tau, n, stim.rate_hz)
    rejected, t, critical = single_test(per_seed, expected)
    assert not rejected, f"steady state {per_seed.mean():.4f} vs TM {expected:.4f}: t = {t:.2f} > {critical:.2f}"
    # the test can fail: tau_rec x 1.5 is rejected (U x 0.8 moves n U / (1 + U r tau) by only 5 % at U r tau = 4,
    # below this design's resolution; the regular train and the conditional test below cover U)
    rejected, t, critical = single_test(per_seed, tm_poisson(u, tau * 1.5, n, stim.rate_hz))
    assert rejected, f"TM with tau_rec x 1.5 not rejected: t = {t:.2f}, critical {critical:.2f}"


def test_poisson_train_matches_tsodyks_markram_pulse_by_pulse(poisson_runs):
    """Given each seed's realised pulse times, release follows the TM recursion pulse by pulse (all pulses)."""
    runs, model = poisson_runs
    u, tau, n = tm_parameters(model)

    def residuals(u_model: float, tau_model: float) -> np.ndarray:
        return np.array([np.mean(released - tm_given_times(u_model, tau_model, n, times, x0))
                         for released, times, x0 in runs])

    rejected, t, critical = single_test(residuals(u, tau), 0.0)
    assert not rejected, f"mean residual against conditional TM: t = {t:.2f} > {critical:.2f}"
    for u_factor, tau_factor in ((1.0, 1.5), (0.8, 1.0)):
        rejected, t, critical = single_test(residuals(u * u_factor, tau * tau_factor), 0.0)
        assert rejected, f"TM with U x {u_factor}, tau_rec x {tau_factor} not rejected: t = {t:.2f}"
