"""The engine's random streams (``skrobust.engine._random``).

Normal draws are the inverse normal CDF of hashed 32-bit words; the tests
check the transform against ``scipy.special.ndtri`` word by word, the
statistics of a million draws (mean, variance, tails, Kolmogorov-Smirnov),
that streams of different sites, mini-batches and epochs and neighbouring
elements are uncorrelated, that element i of a draw does not depend on how
many are drawn, that ``jax.vmap`` leaves the draws unchanged, and that a
noisy fit is reproducible from an integer ``random_state``.

The keys are fixed, so every statistic is one fixed number: the bounds are
about five standard errors wide and the suite never flakes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import stats
from scipy.special import ndtri

from skrobust import NoisyMLPClassifier
from skrobust.engine import _random

N = 1_000_000
# Five standard errors of a mean and of a correlation of N values.
SE5 = 5 / np.sqrt(N)


def _normal(key, site, shape):
    return np.asarray(jax.jit(lambda k: _random.Rng(k).normal(site, shape))(key))


def _uniform(key, site, shape):
    return np.asarray(jax.jit(lambda k: _random.Rng(k).uniform(site, shape))(key))


def _draws(draw, key, site, shapes):
    """Draws of several shapes from one stream, in one compiled call (op by
    op, every new shape would compile each operation)."""
    fn = jax.jit(lambda k: [getattr(_random.Rng(k), draw)(site, s) for s in shapes])
    return [np.asarray(a) for a in fn(key)]


@pytest.fixture(scope="module")
def million():
    return _normal(_random.make_key(20261203), 5, (N,)).astype(np.float64)


def test_normal_transform_is_the_normal_quantile_of_each_word():
    rng = np.random.default_rng(0)
    words = np.concatenate(
        [
            rng.integers(0, 2**32, 200_000, dtype=np.uint64),
            np.arange(2000),  # the largest negative values
            2**31 - 1 - np.arange(2000),  # just below zero
            2**31 + np.arange(2000),  # the largest positive values
            2**32 - 1 - np.arange(2000),  # just above zero
        ]
    ).astype(np.uint32)
    z = np.asarray(jax.jit(_random.normal_from_bits)(jnp.asarray(words)))
    # Word w is the cell k = w ^ 2**31 (sign bit set) or ~w (sign bit clear)
    # of 2**32 equal cells, and z the normal quantile of the cell's middle.
    k = np.where(words >> 31, words ^ np.uint32(0x80000000), ~words)
    exact = ndtri((k.astype(np.float64) + 0.5) / 2**32)
    err = np.abs(z - exact)
    assert err.max() < 2e-6
    assert (err / np.maximum(np.abs(exact), 1.0)).max() < 5e-7
    assert np.abs(z).max() == pytest.approx(-ndtri(2.0**-33), abs=1e-5)
    # The sign bit alone sets the sign: the distribution is exactly symmetric.
    flipped = jax.jit(_random.normal_from_bits)(jnp.asarray(words ^ np.uint32(2**31)))
    assert_array_equal(np.asarray(flipped), -z)


def test_normal_mean_and_variance(million):
    z = million
    assert abs(z.mean()) < SE5
    # The variance of a sample variance of normals is 2 / N.
    assert abs(z.var() - 1.0) < 5 * np.sqrt(2 / N)
    assert abs(stats.skew(z)) < 5 * np.sqrt(6 / N)
    assert abs(stats.kurtosis(z)) < 5 * np.sqrt(24 / N)


def test_normal_tails_have_the_normal_frequencies(million):
    z = million
    for x in (1.0, 2.0, 3.0, 4.0):
        p = 2 * stats.norm.sf(x)
        count = np.sum(np.abs(z) > x)
        assert abs(count - N * p) < 5 * np.sqrt(N * p * (1 - p)) + 1, x
    assert np.isfinite(z).all()


def test_normal_passes_kolmogorov_smirnov(million):
    assert stats.kstest(million, "norm").pvalue > 1e-3


def test_uniform_is_uniform_on_its_grid():
    u = _uniform(_random.make_key(7), 1, (N,)).astype(np.float64)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert_array_equal(u * 2**24, np.floor(u * 2**24))
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / N)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / N)
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def _corr(a, b):
    return np.corrcoef(a.ravel(), b.ravel())[0, 1]


def test_streams_of_sites_batches_and_epochs_are_uncorrelated():
    def streams(key, other_seed):
        ekey = _random.epoch_key(key, 0)
        return {
            "base": _random.batch_rng(ekey, 0).normal(2, (N,)),
            "next site": _random.batch_rng(ekey, 0).normal(3, (N,)),
            "next batch": _random.batch_rng(ekey, 1).normal(2, (N,)),
            "next epoch": _random.batch_rng(_random.epoch_key(key, 1), 0).normal(
                2, (N,)
            ),
            "other seed": _random.batch_rng(_random.epoch_key(other_seed, 0), 0).normal(
                2, (N,)
            ),
        }

    draws = jax.jit(streams)(_random.make_key(3), _random.make_key(4))
    base = np.asarray(draws.pop("base"))
    for name, z in draws.items():
        z = np.asarray(z)
        assert abs(_corr(base, z)) < SE5, name
        # Not just uncorrelated values: not even the squares (the size of
        # the noise) move together.
        assert abs(_corr(base**2, z**2)) < SE5, name
        assert not np.any(base == z), name


def test_neighbouring_elements_are_uncorrelated(million):
    z = million
    for lag in (1, 2, 500):
        assert abs(_corr(z[:-lag], z[lag:])) < SE5, lag
        assert abs(_corr(z[:-lag] ** 2, z[lag:] ** 2)) < SE5, lag
    # Sign of an element and size of its neighbour.
    assert abs(_corr(np.sign(z[:-1]), np.abs(z[1:]))) < SE5


@pytest.mark.parametrize("draw", ["normal", "uniform"])
def test_element_i_does_not_depend_on_how_many_are_drawn(draw):
    shapes = [(2000,), (1,), (7,), (999,), (30, 3), (4, 5, 6)]
    full, *parts = _draws(draw, _random.make_key(11), 4, shapes)
    for part in parts:
        assert_array_equal(part.ravel(), full[: part.size])


@pytest.mark.parametrize("draw", ["normal", "uniform"])
def test_vmap_leaves_the_draws_unchanged(draw):
    def one(key):
        return getattr(_random.Rng(key), draw)(2, (30, 8))

    key = _random.make_key(5)
    alone = np.asarray(jax.jit(one)(key))
    # An unbatched key inside vmap: every member sees the same draws.
    shared = jax.jit(jax.vmap(lambda x: x + one(key)))(jnp.zeros((3, 30, 8)))
    for member in np.asarray(shared):
        assert_array_equal(member, alone)
    # Batched keys: each member sees its own key's draws.
    keys = jnp.stack([_random.make_key(s) for s in range(3)])
    batched = np.asarray(jax.jit(jax.vmap(one))(keys))
    for s in range(3):
        assert_array_equal(batched[s], np.asarray(jax.jit(one)(keys[s])))


def test_noisy_fit_is_reproducible_with_an_integer_random_state():
    X, y = stats.norm.rvs(size=(40, 3), random_state=0), np.arange(40) % 2
    params = dict(
        hidden_layer_sizes=(8,),
        epochs=5,
        noise_std=0.5,
        dropout=0.2,
        batch_size=16,
        tol=None,
    )
    a = NoisyMLPClassifier(**params, random_state=0).fit(X, y).predict_proba(X)
    b = NoisyMLPClassifier(**params, random_state=0).fit(X, y).predict_proba(X)
    c = NoisyMLPClassifier(**params, random_state=1).fit(X, y).predict_proba(X)
    assert_array_equal(a, b)
    assert not np.array_equal(a, c)
