"""The engine's random streams: keys from ``jax.random``, bulk draws from a
counter hash.

Every random draw of a fit is keyed by (seed, epoch, mini-batch, site): an
epoch's key is ``fold_in(key, e)``, its mini-batch ``b`` draws from
``fold_in(fold_in(key, e), b)``, and each site (a layer's noise, its dropout
mask, a label flip ...; ``_core.SITE_*``) folds in its own number, so every
stream is independent and equal seeds give equal streams. No generator state
is touched.

Bulk draws hash a counter with the step's key instead of running
``jax.random`` on every element (on the 2-core CPU, ``jax.random.normal``
made W1's hidden-noise fit 4.3x a noiseless one with threefry keys and 5x
with ``rbg``/``unsafe_rbg`` keys; docs/benchmarks.md, "Noise cost (issue 18
item 4)").

A normal draw is the inverse normal CDF of the hashed word, computed by one
rational function of ``sqrt(-log r)`` (:func:`normal_from_bits`). It ends in
a division, which XLA counts as expensive, so the compiled program computes
each draw once and the forward and backward passes read the stored array;
``lax.erf_inv`` of the previous version ended in cheap multiplies, and XLA
recomputed the whole hash in each of its three consumers.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# The site of an epoch's row order (``shuffle_keys``); the other sites are
# ``_core.SITE_*``.
SITE_SHUFFLE = 1_000_003

_U32 = jnp.uint32
_SIGN = 0x80000000


def make_key(seed: int):
    return jax.random.PRNGKey(seed)


class Rng:
    """Draws for one mini-batch step, one independent stream per site."""

    def __init__(self, key):
        self.key = key

    def normal(self, site, shape):
        bits = hash_bits(jax.random.fold_in(self.key, site), _counter(shape))
        return normal_from_bits(bits).reshape(shape)

    def uniform(self, site, shape):
        u = hash_uniform(jax.random.fold_in(self.key, site), _counter(shape))
        return u.reshape(shape)


def batch_rng(ekey, b) -> Rng:
    """The random stream of mini-batch ``b`` of the epoch keyed ``ekey``."""
    return Rng(jax.random.fold_in(ekey, b))


epoch_key = jax.random.fold_in


def shuffle_keys(ekey, rank, n, shuffle: bool):
    """Per-row sort keys of an epoch's row order. A row's key depends only on
    its rank among the rows its member trains on, so a fit on ``X[train]``
    and a member of a batched run that masks the other rows see the same
    mini-batches. Without ``shuffle`` the rows keep their order."""
    if shuffle:
        return hash_uniform(jax.random.fold_in(ekey, SITE_SHUFFLE), rank)
    return rank.astype(jnp.float32) / n


def _counter(shape):
    return jax.lax.iota(_U32, int(np.prod(shape)))


def _mix(x):
    # The 32-bit finalizer of MurmurHash3: a bijection that scrambles bits.
    x = x ^ (x >> 16)
    x = x * _U32(0x85EBCA6B)
    x = x ^ (x >> 13)
    x = x * _U32(0xC2B2AE35)
    return x ^ (x >> 16)


def hash_bits(key, counter):
    """32 random bits per counter value, keyed by a PRNG key: two rounds of
    the finalizer with a key word before each, so that the streams of two
    keys are not shifted copies of one another. Element i does not depend on
    how many are drawn."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    k = key.astype(_U32)
    return _mix(_mix(counter * _U32(0x9E3779B9) + k[0]) ^ k[1])


def hash_uniform(key, counter):
    """Uniform numbers in [0, 1) on a 2**-24 grid, one per counter value,
    keyed by a PRNG key. Element i does not depend on how many are drawn."""
    return (hash_bits(key, counter) >> 8).astype(jnp.float32) * jnp.float32(2.0**-24)


# z = x * P(x) / Q(x), x = sqrt(-log r) - sqrt(log 2), is the upper normal
# quantile of the tail probability r in (0, 1/2]: a weighted least-squares
# fit (towards minimax) of scipy.special.ndtri over the range the hashed
# words reach, r in [2**-33, 1/2]; its own error is below 1.2e-7 (absolute)
# and 2e-8 (relative, |z| > 1). One formula for the centre and both tails:
# no branch is evaluated and then thrown away.
_T0 = float(np.sqrt(np.log(2.0)))
_P = (2.086903707793415, 3.2114444281546977, 1.3548642199531855, 0.15156564590044821)
_Q = (1.0, 1.7708369736601117, 0.8721639983703766, 0.10709973617608284)
# log(1 + y) = y - y**2 / 2 + y**3 * L(y) on y in [sqrt(1/2) - 1, sqrt(2) - 1],
# absolute error 6.4e-8 (a fit in the same way).
_L = (
    0.33334688933815615,
    -0.24980584773705733,
    0.1991032398547214,
    -0.17166800712298713,
    0.16140358877336206,
    -0.10223561194655138,
)
_LN2 = float(np.log(2.0))


def _horner(coefs, x):
    out = jnp.float32(coefs[-1])
    for c in reversed(coefs[:-1]):
        out = out * x + jnp.float32(c)
    return out


def _neg_log(x):
    """``-log(x)`` for positive normal float32 ``x``: the exponent, and a
    polynomial on the mantissa reduced to [sqrt(1/2), sqrt(2)). No special
    values (zero, infinities, NaN, subnormals) are handled; the draws reach
    none of them."""
    bits = jax.lax.bitcast_convert_type(x, jnp.int32)
    e = (bits - jnp.int32(0x3F3504F3)) >> 23
    y = jax.lax.bitcast_convert_type(bits - (e << 23), jnp.float32) - 1.0
    y2 = y * y
    log_m = y - 0.5 * y2 + y2 * y * _horner(_L, y)
    return e.astype(jnp.float32) * jnp.float32(-_LN2) - log_m


def normal_from_bits(bits):
    """Standard normal numbers from uint32 words, one each.

    The top bit is the sign, the other 31 bits ``v`` give the tail
    probability ``r = (v + 1/2) / 2**32`` and the magnitude is the normal
    quantile of ``1 - r``. Word ``w`` thus gives ``Phi^-1((k + 1/2) / 2**32)``
    with ``k = w ^ 0x80000000`` if its sign bit is set, else ``k = ~w`` (a
    one-to-one map): the inverse-CDF transform of a uniform on the midpoints
    of 2**32 equal cells, so uniform words give a distribution function
    within 2**-33 of the normal's. It is exactly symmetric (the sign bit
    alone sets the sign), reaches ``|z| <= Phi^-1(1 - 2**-33) = 6.34``, and
    each value is the quantile to within float32 evaluation error: 1.5e-6,
    4.2e-7 relative where ``|z| > 1`` (tests/test_random.py checks it
    against ``scipy.special.ndtri``).
    """
    v = (bits & _U32(0x7FFFFFFF)).astype(jnp.int32).astype(jnp.float32)
    r = v * jnp.float32(2.0**-32) + jnp.float32(2.0**-33)
    x = jnp.sqrt(_neg_log(r)) - jnp.float32(_T0)
    num = x * _horner(_P, x)
    num = jax.lax.bitcast_convert_type(
        jax.lax.bitcast_convert_type(num, _U32) ^ (bits & _U32(_SIGN)), jnp.float32
    )
    # The division is last on purpose (module docstring).
    return num / _horner(_Q, x)
