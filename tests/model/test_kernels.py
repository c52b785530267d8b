"""The compiled kernels' random draws agree with their exact laws.

Each sampler is run many times from a fixed seed and compared with scipy's
distribution by a chi-square goodness-of-fit test (bins with expected count
>= 5; a p-value below 1e-4 fails). The uniform stream is also checked against
an independent pure-Python xoroshiro128+.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
import pytest
from scipy import stats

from sim.model import kernels

P_FAIL = 1e-4
N_DRAWS = 200_000
MASK = (1 << 64) - 1


def fresh_stream(seed: int = 2024) -> np.ndarray:
    return kernels.seed_stream(np.random.default_rng(seed))


def chi_square_p(draws: np.ndarray, pmf) -> float:
    """p-value of the draws against the probability mass function ``pmf(k)`` (tail bins merged)."""
    top = int(draws.max())
    observed = np.bincount(draws, minlength=top + 1).astype(float)
    expected = pmf(np.arange(top + 1)) * draws.size
    expected[-1] += (1.0 - pmf(np.arange(top + 1)).sum()) * draws.size  # mass above the largest draw
    keep = expected >= 5
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    if exp[-1] < 5:  # merge a small remainder into the last kept bin
        obs, exp = np.append(obs[:-2], obs[-2:].sum()), np.append(exp[:-2], exp[-2:].sum())
    exp *= obs.sum() / exp.sum()
    return float(stats.chisquare(obs, exp).pvalue)


#: each sampler as a function of the stream and an array of its parameters
SAMPLERS = {
    "binomial": numba.njit(lambda state, q: kernels.binomial(state, int(q[0]), q[1])),
    "binomial_hazard": numba.njit(lambda state, q: kernels.binomial_hazard(state, int(q[0]), q[1])),
    "binomial_given_some": numba.njit(lambda state, q: kernels.binomial_given_some(state, int(q[0]), q[1])),
    "poisson": numba.njit(lambda state, q: kernels.poisson(state, q[0])),
    "hypergeometric": numba.njit(lambda state, q: kernels.hypergeometric(state, int(q[0]), int(q[1]), int(q[2]))),
}


@functools.cache
def _drawer(name: str):
    sampler = SAMPLERS[name]

    @numba.njit
    def draw_many(state, size, params):
        out = np.empty(size, dtype=np.int64)
        for i in range(size):
            out[i] = sampler(state, params)
        return out

    return draw_many


def sample_of(name: str, size: int, *params: float) -> np.ndarray:
    """``size`` draws of the sampler ``name`` with ``params``, from a fresh stream."""
    return _drawer(name)(fresh_stream(), size, np.array(params, dtype=float))


@numba.njit
def many_poisson_from_table(state, table, row, lam, size):
    """As ``step_blocks`` draws the background: table first, the full inversion beyond it."""
    out = np.empty(size, dtype=np.int64)
    for i in range(size):
        u = kernels.uniform(state)
        k = kernels.poisson_from_table(u, table, row)
        if k == kernels.POISSON_TABLE_WIDTH or lam > kernels.INVERSION_MAX_MEAN:
            k = kernels.poisson_beyond_table(state, u, lam)
        out[i] = k
    return out


@numba.njit
def first_event_steps(state, vesicles_by_step, hazard_per_vesicle, size):
    """Step of the first event of a hazard clock (as ``step_blocks`` runs it), for ``size`` independent clocks."""
    out = np.empty(size, dtype=np.int64)
    for i in range(size):
        clock = kernels.exponential(state)
        step = 0
        while True:
            clock -= vesicles_by_step[step % vesicles_by_step.size] * hazard_per_vesicle
            if clock <= 0.0:
                break
            step += 1
        out[i] = step
    return out


def xoroshiro128plus(s0: int, s1: int, n: int) -> list[float]:
    """Reference: Blackman & Vigna's xoroshiro128+ (24, 16, 37), upper 53 bits as a double."""
    def rotl(x: int, k: int) -> int:
        return ((x << k) | (x >> (64 - k))) & MASK

    out = []
    for _ in range(n):
        result = (s0 + s1) & MASK
        s1 ^= s0
        s0 = rotl(s0, 24) ^ s1 ^ ((s1 << 16) & MASK)
        s1 = rotl(s1, 37)
        out.append((result >> 11) * 2.0**-53)
    return out


def test_uniform_stream_is_xoroshiro128plus():
    state = fresh_stream()
    s0, s1 = int(state[0]), int(state[1])
    assert kernels.uniforms(state, 1000).tolist() == xoroshiro128plus(s0, s1, 1000)


def xoroshiro_matrix() -> np.ndarray:
    """One xoroshiro128+ step as a 128 x 128 matrix over GF(2) (state bits: s0's 64, then s1's)."""
    columns = []
    for bit in range(128):
        word = 1 << bit
        s0, s1 = word & MASK, word >> 64
        s1 ^= s0
        s0 = (((s0 << 24) | (s0 >> 40)) & MASK) ^ s1 ^ ((s1 << 16) & MASK)
        s1 = ((s1 << 37) | (s1 >> 27)) & MASK
        columns.append([(s0 >> b) & 1 for b in range(64)] + [(s1 >> b) & 1 for b in range(64)])
    return np.array(columns, dtype=np.int64).T


def test_jump_moves_the_stream_2_to_the_64_draws_ahead():
    power = xoroshiro_matrix()
    for _ in range(64):  # T^(2^64) by squaring
        power = (power @ power) % 2
    state = fresh_stream()
    bits = np.array([(int(state[w]) >> b) & 1 for w in range(2) for b in range(64)])
    ahead = power @ bits % 2
    expected = [sum(int(ahead[w * 64 + b]) << b for b in range(64)) for w in range(2)]
    assert [int(x) for x in kernels.jump(state.copy())] == expected


def test_block_streams_start_with_the_seeded_stream_and_jump_apart():
    streams = kernels.seed_streams(np.random.default_rng(11), 3 * kernels.BLOCK_NEURONS + 1)
    assert streams.shape == (4, 2)
    assert np.array_equal(streams[0], kernels.seed_stream(np.random.default_rng(11)))
    for b in range(1, 4):
        assert np.array_equal(streams[b], kernels.jump(streams[b - 1].copy()))
    assert kernels.seed_streams(np.random.default_rng(11), kernels.BLOCK_NEURONS).shape == (1, 2)


def test_uniforms_are_uniform_and_seeded():
    draws = kernels.uniforms(fresh_stream(), N_DRAWS)
    assert stats.kstest(draws, "uniform").pvalue > P_FAIL
    assert draws.min() >= 0.0 and draws.max() < 1.0
    assert np.array_equal(draws, kernels.uniforms(fresh_stream(), N_DRAWS))
    assert not np.array_equal(draws, kernels.uniforms(fresh_stream(7), N_DRAWS))


def test_exponentials_have_mean_one():
    draws = kernels.exponentials(fresh_stream(), N_DRAWS)
    assert stats.kstest(draws, "expon").pvalue > P_FAIL


@pytest.mark.parametrize(("n", "p"), [(10, 0.2), (10, 0.8), (7, 0.5), (200, 0.001), (1000, 0.3), (5000, 0.97)])
def test_binomial_follows_its_law(n, p):
    draws = sample_of("binomial", N_DRAWS, n, p)
    assert chi_square_p(draws, lambda k: stats.binom.pmf(k, n, p)) > P_FAIL


@pytest.mark.parametrize(("n", "hazard"), [(30, 0.001), (60, 0.02), (5, 0.5), (40, 3.0)])
def test_binomial_hazard_follows_binomial_of_one_minus_exp(n, hazard):
    draws = sample_of("binomial_hazard", N_DRAWS, n, hazard)
    p = -math.expm1(-hazard)
    assert chi_square_p(draws, lambda k: stats.binom.pmf(k, n, p)) > P_FAIL


@pytest.mark.parametrize(("n", "p"), [(10, 0.0005), (10, 0.05), (3, 0.4), (10, 0.3)])
def test_binomial_given_some_is_the_binomial_without_zero(n, p):
    draws = sample_of("binomial_given_some", N_DRAWS, n, p)
    assert draws.min() >= 1
    some = 1.0 - stats.binom.pmf(0, n, p)
    assert chi_square_p(draws, lambda k: np.where(k > 0, stats.binom.pmf(k, n, p) / some, 0.0)) > P_FAIL


@pytest.mark.parametrize("lam", [0.05, 0.825, 1.7, 9.5, 25.0])
def test_poisson_follows_its_law(lam):
    draws = sample_of("poisson", N_DRAWS, lam)
    assert chi_square_p(draws, lambda k: stats.poisson.pmf(k, lam)) > P_FAIL


@pytest.mark.parametrize("lam", [0.825, 1.7, 6.0, 9.9, 14.0])
def test_poisson_from_table_follows_its_law_also_beyond_the_table(lam):
    table, rows = kernels.poisson_cdf_table(np.array([0.3, lam]))
    draws = many_poisson_from_table(fresh_stream(), table, int(rows[1]), lam, N_DRAWS)
    assert chi_square_p(draws, lambda k: stats.poisson.pmf(k, lam)) > P_FAIL
    if lam > 6:  # the table's width is reached often enough to exercise the fallback
        assert (draws >= kernels.POISSON_TABLE_WIDTH).any()


@pytest.mark.parametrize(("good", "total", "n"), [(40, 100, 10), (3, 200, 5), (150, 160, 20)])
def test_hypergeometric_follows_its_law(good, total, n):
    out = sample_of("hypergeometric", N_DRAWS, good, total, n)
    assert chi_square_p(out, lambda k: stats.hypergeom.pmf(k, total, good, n)) > P_FAIL


def test_hazard_clock_gives_each_step_the_binomial_chance_of_no_event():
    """With n vesicles in a step, the chance of no event is (1 - p)^n, p = 1 - exp(-rate dt): n varies by step."""
    vesicles = np.array([3, 7, 0, 10, 5], dtype=np.int64)
    hazard = 0.02
    steps = first_event_steps(fresh_stream(), vesicles, hazard, N_DRAWS)
    p = -math.expm1(-hazard)
    none_by_step = (1.0 - p) ** vesicles

    def pmf(k):
        k = np.asarray(k)
        survive = np.array([np.prod(none_by_step[np.arange(j) % vesicles.size]) for j in range(k.max() + 1)])
        return survive[k] * (1.0 - none_by_step[k % vesicles.size])

    assert chi_square_p(steps, pmf) > P_FAIL


def test_a_broken_sampler_is_detected():
    """The goodness-of-fit check itself rejects a sampler with a slightly wrong probability."""
    draws = sample_of("binomial", N_DRAWS, 10, 0.21)
    assert chi_square_p(draws, lambda k: stats.binom.pmf(k, 10, 0.2)) < P_FAIL


def test_binomial_with_a_vanishing_probability_draws_zero():
    assert not sample_of("binomial", 1000, 1_000_000, 1e-300).any()
    assert (sample_of("binomial", 1000, 50, 1.0 - 1e-17) == 50).all()
