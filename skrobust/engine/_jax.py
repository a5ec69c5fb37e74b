"""The JAX engine: what the shared training loop (``_loop.py``) needs from
JAX, and how its programs are compiled. Every epoch of a chunk and every
mini-batch of an epoch run inside one ``jax.jit``-compiled
``lax.while_loop``; :class:`Backend` supplies that control flow,
``jax.value_and_grad`` and the random streams (``fold_in`` keys, and a
counter hash for bulk draws, :class:`_Rng`).

The loop's epoch is written so that ``jax.vmap`` over its member state
(weights, optimizer slots, hyperparameters, per-member row masks) trains many
models at once, while the random key stays unbatched: members that share a
seed then share each random draw, which JAX computes once (common random
numbers, ``_jax_batched.py``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from skrobust.engine import _core, _loop


class _Rng:
    """Draws for one mini-batch step, one independent stream per site.

    Bulk draws hash a counter with the step's key instead of running
    ``jax.random``'s threefry on every element: on the CPU this is about half
    the run time of the noise and a quarter of its compile time (measured in
    docs/benchmarks.md), and the noise is what W1's hidden-noise fit spends
    most of its time on. Keys themselves still come from ``jax.random``.
    """

    def __init__(self, key):
        self.key = key

    def normal(self, site, shape):
        u = _hash_uniform(jax.random.fold_in(self.key, site), _counter(shape))
        # Map [0, 1) to the open interval (-1, 1), then through the inverse
        # error function: an exact transform to a standard normal.
        u = u * 2.0 - 1.0 + jnp.float32(1.0 / (1 << 24))
        return (jnp.float32(np.sqrt(2.0)) * jax.lax.erf_inv(u)).reshape(shape)

    def uniform(self, site, shape):
        u = _hash_uniform(jax.random.fold_in(self.key, site), _counter(shape))
        return u.reshape(shape)


def _counter(shape):
    return jax.lax.iota(jnp.uint32, int(np.prod(shape)))


def _mix(x):
    # The 32-bit finalizer of MurmurHash3: a bijection that scrambles bits.
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x85EBCA6B)
    x = x ^ (x >> 13)
    x = x * jnp.uint32(0xC2B2AE35)
    return x ^ (x >> 16)


def _hash_uniform(key, counter):
    """Uniform numbers in [0, 1) on a 2**-24 grid, one per counter value,
    keyed by a PRNG key. Element i does not depend on how many are drawn."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    k = key.astype(jnp.uint32)
    x = _mix(counter * jnp.uint32(0x9E3779B9) + k[0])
    x = _mix(x ^ k[1])
    return (x >> 8).astype(jnp.float32) * jnp.float32(1.0 / (1 << 24))


def _where(cond, new, old):
    return jax.tree_util.tree_map(lambda a, b: jnp.where(cond, a, b), new, old)


class Backend:
    """What the JAX engine supplies to the shared loop of ``_loop.py``:
    ``lax`` control flow, ``jax.value_and_grad`` and ``fold_in`` random
    streams. An epoch's stream is ``fold_in(key, e)``; its mini-batch ``b``
    draws from ``fold_in(fold_in(key, e), b)`` and its shuffle from the
    epoch key folded with ``SITE_SHUFFLE``."""

    where = staticmethod(_where)

    def __init__(self, cfg):
        self.shuffle = cfg.shuffle

    @staticmethod
    def fori_loop(n, body, init):
        return jax.lax.fori_loop(0, n, body, init)

    while_loop = staticmethod(jax.lax.while_loop)

    @staticmethod
    def value_and_grad(fn):
        return jax.value_and_grad(fn, has_aux=True)

    argsort = staticmethod(jnp.argsort)

    @staticmethod
    def dynamic_slice(a, start, size):
        return jax.lax.dynamic_slice(a, (start,), (size,))

    @staticmethod
    def take(a, idx):
        return a[idx]

    @staticmethod
    def nan_buffer(shape):
        return jnp.full(shape, jnp.nan, jnp.float32)

    @staticmethod
    def set_row(buf, i, value):
        return buf.at[i].set(value)

    @staticmethod
    def row_rank(mask):
        return (jnp.cumsum(mask) - 1.0).astype(jnp.uint32)

    @staticmethod
    def row_index(n):
        return jnp.arange(n, dtype=jnp.uint32)

    epoch_key = staticmethod(jax.random.fold_in)

    def shuffle_keys(self, ekey, rank, n):
        """Per-row sort keys of an epoch's shuffle. A row's key depends only
        on its rank among the rows its member trains on, so a fit on
        ``X[train]`` and a member of a batched run that masks the other rows
        see the same mini-batches."""
        if self.shuffle:
            return _hash_uniform(jax.random.fold_in(ekey, _core.SITE_SHUFFLE), rank)
        return rank.astype(jnp.float32) / n

    @staticmethod
    def batch_rng(ekey, b):
        return _Rng(jax.random.fold_in(ekey, b))


def make_loop(spec, cfg):
    """The (uncompiled) chunk function of ``_loop.make_run`` on JAX."""
    return _loop.make_run(spec, cfg, Backend(cfg))


def compile_loop(spec, cfg):
    return jax.jit(make_loop(spec, cfg))


def make_key(seed: int):
    return jax.random.PRNGKey(seed)


def to_device(tree):
    return jax.tree_util.tree_map(jnp.asarray, tree)


def to_numpy(tree):
    return jax.tree_util.tree_map(np.asarray, jax.device_get(tree))


def compile_predict(spec):
    @jax.jit
    def predict(params, bn, X):
        logits, _ = _core.forward(spec, params, bn, X)
        return _core.output_activation(spec, logits)

    return predict
