"""The engine's random streams: keys from ``jax.random``, bulk draws from a
counter hash.

Every random draw of a fit is keyed by (seed, epoch, mini-batch, site): an
epoch's key is ``fold_in(key, e)``, its mini-batch ``b`` draws from
``fold_in(fold_in(key, e), b)``, and each site (a layer's noise, its dropout
mask, a label flip ...; ``_core.SITE_*``) folds in its own number, so every
stream is independent and equal seeds give equal streams. No generator state
is touched.

Bulk draws hash a counter with the step's key instead of running
``jax.random``'s threefry on every element: on the CPU this is about half the
run time of the noise and a quarter of its compile time (docs/benchmarks.md),
and the noise is what W1's hidden-noise fit spends most of its time on.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# The site of an epoch's row order (``shuffle_keys``); the other sites are
# ``_core.SITE_*``.
SITE_SHUFFLE = 1_000_003


def make_key(seed: int):
    return jax.random.PRNGKey(seed)


class Rng:
    """Draws for one mini-batch step, one independent stream per site."""

    def __init__(self, key):
        self.key = key

    def normal(self, site, shape):
        u = hash_uniform(jax.random.fold_in(self.key, site), _counter(shape))
        # Map [0, 1) to the open interval (-1, 1), then through the inverse
        # error function: an exact transform to a standard normal.
        u = u * 2.0 - 1.0 + jnp.float32(1.0 / (1 << 24))
        return (jnp.float32(np.sqrt(2.0)) * jax.lax.erf_inv(u)).reshape(shape)

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
    return jax.lax.iota(jnp.uint32, int(np.prod(shape)))


def _mix(x):
    # The 32-bit finalizer of MurmurHash3: a bijection that scrambles bits.
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x85EBCA6B)
    x = x ^ (x >> 13)
    x = x * jnp.uint32(0xC2B2AE35)
    return x ^ (x >> 16)


def hash_uniform(key, counter):
    """Uniform numbers in [0, 1) on a 2**-24 grid, one per counter value,
    keyed by a PRNG key. Element i does not depend on how many are drawn."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    k = key.astype(jnp.uint32)
    x = _mix(counter * jnp.uint32(0x9E3779B9) + k[0])
    x = _mix(x ^ k[1])
    return (x >> 8).astype(jnp.float32) * jnp.float32(1.0 / (1 << 24))
