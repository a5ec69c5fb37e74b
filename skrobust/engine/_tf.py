"""The TensorFlow engine: what the shared training loop (``_loop.py``) needs
from TensorFlow, and how its programs are compiled. Every epoch of a chunk
and every mini-batch of an epoch run inside one ``tf.function`` with
``tf.while_loop``; :class:`Backend` supplies that control flow,
``tf.GradientTape`` gradients and the random streams.

Random draws use TensorFlow's counter-based stateless generators, keyed by
(seed, epoch, batch, site), so no generator state is touched and equal seeds
give equal streams.

Two tiers, chosen per compiled program from its structure and configuration
alone (so equal parameters always give equal results):

* XLA (``jit_compile=True``) compiles the whole chunk into a few fused
  kernels per step: 2.5x to 8x faster per step than the graph tier on the
  benchmark workloads W1 to W3, the 1k to 50k-row tables and a 200-feature
  table, level with the JAX engine (``benchmarks/tf_tiers.py``,
  docs/benchmarks.md), at a compile cost of a few seconds per structure and
  process (``skrobust.enable_compilation_cache`` keeps it for later
  processes). It is chosen for fits of ``_XLA_MIN_STEPS`` mini-batch steps
  or more whose steps have at most ``_XLA_MAX_MACS`` multiply-adds.
* A TensorFlow graph compiles in about a second but pays TensorFlow's
  per-op dispatch, about half a millisecond per small step. It wins on short
  fits (the compile would not pay off: W3's 10 epochs, tests) and on steps
  of large matmuls (W4: 512 x 100 -> 256 -> 256), where TensorFlow's
  library kernels beat its XLA CPU code.

Both tiers trace with ``autograph=False``: the loops are explicit
``tf.while_loop`` calls and every Python ``if`` is on static structure, so
AutoGraph's source transformation (most of the tracing time) buys nothing.

Inside XLA, TensorFlow's Philox and its Gaussian transform are slow on the CPU
(60 M normals: several seconds); the Threefry generator with an inverse-CDF
transform (``ndtri`` of a uniform in (0, 1)) costs a fraction of that. The
graph tier keeps Philox (``stateless_normal``), the only algorithm TensorFlow's
CPU kernels implement. ``SKROBUST_TF_XLA=0`` / ``=1`` forces a tier.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import tensorflow as tf

from skrobust.engine import _core, _loop

# Seeds are (key, counter * _SITES + site): every site number _core uses is
# below _SITES, and counters (epochs times batches) stay far below 2**43.
_SITES = _core.SITES
# Steps of a fit from which XLA's compile time (a few seconds more than the
# graph's) pays off within the fit: 0.3 to 0.9 ms saved per step (W1, W2,
# the tables) recover it in 2,000 to 10,000 steps. ``cfg.fit_steps`` is
# rounded up to a power of two: W1 (4,000 steps) and W2 (1,600 -> 2,048) run
# on XLA, W3 (430) on the graph.
_XLA_MIN_STEPS = 2048
# Multiply-adds of one mini-batch's forward pass above which the graph tier
# wins per step: XLA won at 2.9 M (batch 32 through 100 -> 256 -> 256) and
# 11.7 M (batch 128), the graph at 47 M (W4, batch 512), measured with
# benchmarks/tf_tiers.py.
_XLA_MAX_MACS = 1 << 24
# Smallest uniform fed to ndtri: the draws stay finite (|z| < 5.2).
_TINY = 1e-7


def use_xla(spec, cfg) -> bool:
    """Whether the program for ``spec`` and ``cfg`` is compiled by XLA: a
    fit long enough to repay the compilation, of steps that are not large
    matmuls."""
    forced = os.environ.get("SKROBUST_TF_XLA", "").strip().lower()
    if forced in ("0", "false", "no"):
        return False
    if forced in ("1", "true", "yes"):
        return True
    sizes = spec.layer_sizes
    macs = cfg.batch_size * sum(
        a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    )
    return cfg.fit_steps >= _XLA_MIN_STEPS and macs <= _XLA_MAX_MACS


class _Rng:
    def __init__(self, seed, counter, xla):
        self.seed = seed  # int64 scalar
        self.counter = counter  # int64 scalar, unique per (epoch, batch)
        self.xla = xla

    def _seed(self, site):
        return tf.stack([self.seed, self.counter * _SITES + site])

    def normal(self, site, shape):
        if self.xla:
            u = tf.random.stateless_uniform(
                shape, self._seed(site), minval=_TINY, maxval=1.0, alg="threefry"
            )
            return tf.math.ndtri(u)
        return tf.random.stateless_normal(shape, self._seed(site), alg="philox")

    def uniform(self, site, shape):
        alg = "threefry" if self.xla else "philox"
        return tf.random.stateless_uniform(shape, self._seed(site), alg=alg)


def _where(cond, new, old):
    return tf.nest.map_structure(lambda a, b: tf.where(cond, a, b), new, old)


class Backend:
    """What the TensorFlow engine supplies to the shared loop of ``_loop.py``:
    ``tf.while_loop`` control flow, ``tf.GradientTape`` gradients and
    counter-based random streams. An epoch's stream is ``(key, e)``; the
    mini-batch ``b`` of epoch ``e`` draws with counter ``e * (nb + 1) + b +
    1``, the epoch's shuffle with counter ``e * (nb + 1)``."""

    where = staticmethod(_where)

    def __init__(self, cfg, xla):
        self.stride = cfg.n_batches + 1
        self.xla = xla
        self.alg = "threefry" if xla else "philox"
        self.shuffle = cfg.shuffle

    @staticmethod
    def fori_loop(n, body, init):
        out = tf.while_loop(
            lambda b, *_: b < n,
            lambda b, *c: (b + 1, *body(b, c)),
            (tf.constant(0), *init),
        )
        return out[1:]

    @staticmethod
    def while_loop(cond, body, init):
        return tf.while_loop(lambda *c: cond(c), lambda *c: body(c), init)

    @staticmethod
    def value_and_grad(fn):
        def loss_and_grads(params, *args):
            with tf.GradientTape() as tape:
                tape.watch(params)
                loss, aux = fn(params, *args)
            return (loss, aux), tape.gradient(loss, params)

        return loss_and_grads

    @staticmethod
    def argsort(u):
        return tf.argsort(u, stable=True)

    @staticmethod
    def dynamic_slice(a, start, size):
        # A slice of static size: ``order[b * bs:(b + 1) * bs]`` has a
        # run-time end, so XLA would only know that the batch holds at most
        # N rows, and every step would run forward and backward over all N
        # rows with all but ``bs`` masked out.
        return tf.slice(a, [start], [size])

    take = staticmethod(tf.gather)

    @staticmethod
    def nan_buffer(shape):
        return tf.fill(shape, np.float32(np.nan))

    @staticmethod
    def set_row(buf, i, value):
        return tf.tensor_scatter_nd_update(buf, [[i]], [value])

    @staticmethod
    def row_rank(mask):
        # A row's shuffle key depends only on its rank among the rows its
        # member trains on (as in the JAX engine).
        return tf.maximum(tf.cast(tf.cumsum(mask) - 1.0, tf.int32), 0)

    def epoch_key(self, key, e):
        return key, tf.cast(e, tf.int64) * self.stride

    def shuffle_keys(self, ekey, rank, n):
        if not self.shuffle:
            return tf.cast(rank, tf.float32) / n
        key, base = ekey
        u = tf.random.stateless_uniform(
            (n,), tf.stack([key, base * _SITES]), alg=self.alg
        )
        return tf.gather(u, rank)

    def batch_rng(self, ekey, b):
        key, base = ekey
        return _Rng(key, base + tf.cast(b, tf.int64) + 1, self.xla)


def make_loop(spec, cfg, xla=None):
    """The (uncompiled) chunk function of ``_loop.make_run`` on TensorFlow."""
    xla = use_xla(spec, cfg) if xla is None else xla
    return _loop.make_run(spec, cfg, Backend(cfg, xla))


class _Program:
    """A ``tf.function`` traced explicitly, once per input signature.

    skrobust builds one ``tf.function`` per network structure from the same
    Python code. Called directly, TensorFlow counts the first trace of each
    as a retrace of that code and warns about retracing after a few
    structures (a demo or a search over ``noise_position`` has several),
    although nothing is traced twice. Tracing explicitly with
    ``get_concrete_function`` and calling the concrete function runs the same
    program without that bookkeeping. ``relax`` (optional) maps the
    arguments to the signature to trace, to let some shapes vary.
    """

    def __init__(self, fn, relax=None):
        self._fn = fn
        self._relax = relax or _exact_signature
        self._concrete = {}
        self._lock = threading.Lock()

    def __call__(self, *args):
        signature = self._relax(*args)
        key = repr(signature)
        fn = self._concrete.get(key)
        if fn is None:
            with self._lock:
                fn = self._concrete.get(key)
                if fn is None:
                    fn = self._fn.get_concrete_function(*signature)
                    self._concrete[key] = fn
        return fn(*args)


def _exact_signature(*args):
    return tf.nest.map_structure(
        lambda a: tf.TensorSpec(np.shape(a), tf.as_dtype(a.dtype)), args
    )


def compile_loop(spec, cfg):
    xla = use_xla(spec, cfg)
    return _Program(
        tf.function(make_loop(spec, cfg, xla), autograph=False, jit_compile=xla)
    )


def make_key(seed: int):
    return tf.constant(int(seed), tf.int64)


def to_device(tree):
    return tf.nest.map_structure(tf.convert_to_tensor, tree)


def to_numpy(tree):
    return tf.nest.map_structure(lambda t: np.asarray(t), tree)


def compile_predict(spec):
    def predict(params, bn, X):
        logits, _ = _core.forward(spec, params, bn, X)
        return _core.output_activation(spec, logits)

    def relax(params, bn, X):
        # Any number of rows: one trace serves every input size.
        params, bn = _exact_signature(params, bn)
        return params, bn, tf.TensorSpec((None, spec.n_features), tf.float32)

    return _Program(tf.function(predict, autograph=False), relax)
