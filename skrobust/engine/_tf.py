"""TensorFlow realization of the training loop: every epoch of a chunk and
every mini-batch of an epoch inside one ``tf.function`` with ``tf.while_loop``.

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

from skrobust.engine import _core

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


def make_loop(spec, cfg, xla=None):
    bs, nb, chunk = cfg.batch_size, cfg.n_batches, cfg.chunk
    xla = use_xla(spec, cfg) if xla is None else xla
    alg = "threefry" if xla else "philox"

    def run(state, data, hyper, key, start_epoch, n_epochs):
        X, y, w, mask = data["X"], data["y"], data["w"], data["mask"]
        n = X.shape[0]
        pad = nb * bs - n
        n_active = tf.maximum(tf.reduce_sum(mask), 1.0)
        valid = tf.concat([tf.ones(n), tf.zeros(pad)], 0) if pad > 0 else None
        start_epoch = tf.cast(start_epoch, tf.int64)
        # A row's shuffle key depends only on its rank among the rows its
        # member trains on (as in the JAX engine), so masked padding rows
        # never change which rows share a batch.
        rank = tf.cast(tf.cumsum(mask) - 1.0, tf.int32)
        rank = tf.maximum(rank, 0)

        def epoch(i, st, hist):
            e = start_epoch + tf.cast(i, tf.int64)
            if cfg.shuffle:
                u = tf.gather(
                    tf.random.stateless_uniform(
                        (n,), tf.stack([key, e * (nb + 1) * _SITES]), alg=alg
                    ),
                    rank,
                )
            else:
                u = tf.cast(rank, tf.float32) / n
            order = tf.argsort(u + (1.0 - mask) * 2.0, stable=True)
            if pad > 0:
                order = tf.concat([order, tf.zeros(pad, order.dtype)], 0)

            def batch(b, params, opt, bn, step, loss_sum, score_sum):
                # A slice of static size: ``order[b * bs:(b + 1) * bs]`` has
                # a run-time end, so XLA would only know that the batch holds
                # at most N rows, and every step would run forward and
                # backward over all N rows with all but ``bs`` masked out.
                idx = tf.slice(order, [b * bs], [bs])
                bm = tf.gather(mask, idx)
                if valid is not None:
                    bm = bm * tf.slice(valid, [b * bs], [bs])
                rng = _Rng(key, e * (nb + 1) + tf.cast(b, tf.int64) + 1, xla)
                with tf.GradientTape() as tape:
                    tape.watch(params)
                    loss, (new_bn, score) = _core.batch_loss(
                        spec,
                        params,
                        bn,
                        tf.gather(X, idx),
                        tf.gather(y, idx),
                        tf.gather(w, idx),
                        bm,
                        hyper,
                        rng,
                    )
                grads = tape.gradient(loss, params)
                if spec.gradient_noise:
                    grads = _core.gradient_noise(spec, grads, step, hyper, rng)
                count = tf.reduce_sum(bm)
                new_params, new_opt = _core.apply_updates(
                    cfg.optimizer, params, grads, opt, step + 1, hyper, spec.max_norm
                )
                has_rows = count > 0
                params, opt, bn = _where(
                    has_rows, (new_params, new_opt, new_bn), (params, opt, bn)
                )
                step = step + tf.cast(has_rows, step.dtype)
                return (
                    b + 1,
                    params,
                    opt,
                    bn,
                    step,
                    loss_sum + loss * count,
                    score_sum + score,
                )

            _, params, opt, bn, step, loss_sum, score_sum = tf.while_loop(
                lambda b, *_: b < nb,
                batch,
                (
                    tf.constant(0),
                    st["params"],
                    st["opt"],
                    st["bn"],
                    st["step"],
                    tf.constant(0.0),
                    tf.constant(0.0),
                ),
            )
            ep_loss = loss_sum / n_active
            record = {
                "loss": ep_loss,
                "score": _core.train_score(spec, score_sum, n_active, data["y_ss"]),
            }
            monitor = ep_loss
            if cfg.has_val:
                val_loss, vscore, nv = _core.validation_terms(spec, params, bn, data)
                record["val_loss"] = val_loss
                record["val_score"] = _core.train_score(
                    spec, vscore, nv, data["y_val_ss"]
                )
                monitor = val_loss
            finite = tf.logical_and(
                _core.all_finite(params), tf.math.is_finite(ep_loss)
            )
            this_start = (st["params"], st["opt"], st["bn"], st["step"])
            # Divergence: the weights this epoch started from may be what made
            # its losses non-finite, so go back to where the previous epoch
            # started (weights known to give finite losses) and stop.
            params, opt, bn, step = _where(finite, (params, opt, bn, step), st["prev"])
            new = dict(st, params=params, opt=opt, bn=bn, step=step)
            new["prev"] = _where(finite, this_start, st["prev"])
            new["diverged"] = tf.logical_not(finite)
            new["n_iter"] = tf.where(
                finite, st["n_iter"] + 1, tf.maximum(st["n_iter"] - 1, 0)
            )
            stopped = tf.logical_not(finite)
            if cfg.early_stopping:
                improved = tf.logical_and(finite, monitor < st["best_loss"])
                new["best_loss"] = tf.where(improved, monitor, st["best_loss"])
                new["best_params"], new["best_bn"] = _where(
                    improved, (params, bn), (st["best_params"], st["best_bn"])
                )
                new["best_epoch"] = tf.where(
                    improved, tf.cast(e, tf.int32), st["best_epoch"]
                )
                new["wait"] = tf.where(improved, 0, st["wait"] + 1)
                stopped = tf.logical_or(stopped, new["wait"] >= cfg.patience)
            new["stopped"] = stopped
            hist = {
                k: tf.tensor_scatter_nd_update(hist[k], [[i]], [record[k]])
                for k in hist
            }
            return i + 1, new, hist

        hist = {k: tf.fill([chunk], np.float32(np.nan)) for k in cfg.history_keys}
        state = dict(state, stopped=tf.constant(False))
        ran, state, hist = tf.while_loop(
            lambda i, st, _: tf.logical_and(
                i < n_epochs, tf.logical_not(st["stopped"])
            ),
            epoch,
            (tf.constant(0), state, hist),
        )
        return state, hist, ran

    return run


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
