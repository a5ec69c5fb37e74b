"""JAX realization of the training loop: every epoch of a chunk, every
mini-batch of an epoch, inside one ``jax.jit``-compiled ``lax.while_loop``.

The loop function is written so that ``jax.vmap`` over its member state
(weights, optimizer slots, hyperparameters, per-member row masks) trains many
models at once, while the random key stays unbatched: members that share a
seed then share each random draw, which JAX computes once (common random
numbers, see ``skrobust.model_selection``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from skrobust.engine import _core


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


def shuffle_keys(cfg, ekey, rank, n):
    """Per-row sort keys of an epoch's shuffle.

    A row's key depends only on its rank among the rows its member trains
    on, so a fit on ``X[train]`` and a member of a batched run that masks the
    other rows see the same mini-batches.
    """
    if cfg.shuffle:
        return _hash_uniform(jax.random.fold_in(ekey, _core.SITE_SHUFFLE), rank)
    return rank.astype(jnp.float32) / n


def make_epoch(spec, cfg, rng_class=_Rng):
    """One member's training epoch, shared by the single-fit loop below and
    the batched loop of ``_jax_batched.py`` (which ``jax.vmap``-s it).

    ``epoch(st, data, hyper, ekey, u) -> (new_state, record, finite)`` runs
    every mini-batch of the epoch with the row order given by the sort keys
    ``u``, and rolls back to the previous epoch's start on divergence.
    """
    bs, nb = cfg.batch_size, cfg.n_batches
    grad_fn = jax.value_and_grad(
        lambda p, bn, xb, yb, wb, m, hyper, rng: _core.batch_loss(
            spec, p, bn, xb, yb, wb, m, hyper, rng
        ),
        has_aux=True,
    )

    def epoch(st, data, hyper, ekey, u):
        X, y, w, mask = data["X"], data["y"], data["w"], data["mask"]
        n = X.shape[0]
        pad = nb * bs - n
        n_active = jnp.maximum(jnp.sum(mask), 1.0)
        valid = jnp.concatenate([jnp.ones(n), jnp.zeros(pad)]) if pad > 0 else None
        # Rows this member does not train on sort last, after its own rows.
        order = jnp.argsort(u + (1.0 - mask) * 2.0)
        if pad > 0:
            order = jnp.concatenate([order, jnp.zeros(pad, order.dtype)])

        def batch(b, c):
            params, opt, bn, step, loss_sum, score_sum = c
            idx = jax.lax.dynamic_slice(order, (b * bs,), (bs,))
            bm = mask[idx]
            if valid is not None:
                bm = bm * jax.lax.dynamic_slice(valid, (b * bs,), (bs,))
            rng = rng_class(jax.random.fold_in(ekey, b))
            (loss, (new_bn, score)), grads = grad_fn(
                params, bn, X[idx], y[idx], w[idx], bm, hyper, rng
            )
            if spec.gradient_noise:
                grads = _core.gradient_noise(spec, grads, step, hyper, rng)
            count = jnp.sum(bm)
            new_params, new_opt = _core.apply_updates(
                cfg.optimizer, params, grads, opt, step + 1, hyper, spec.max_norm
            )
            # An empty batch (a member with fewer rows than the widest
            # member of a batched run) must not move its weights.
            has_rows = count > 0
            params, opt, bn = _where(
                has_rows, (new_params, new_opt, new_bn), (params, opt, bn)
            )
            step = step + has_rows.astype(step.dtype)
            return params, opt, bn, step, loss_sum + loss * count, score_sum + score

        start = (st["params"], st["opt"], st["bn"], st["step"], 0.0, 0.0)
        params, opt, bn, step, loss_sum, score_sum = jax.lax.fori_loop(
            0, nb, batch, start
        )
        ep_loss = loss_sum / n_active
        record = {
            "loss": ep_loss,
            "score": _core.train_score(spec, score_sum, n_active, data["y_ss"]),
        }
        finite = _core.all_finite(params) & jnp.isfinite(ep_loss)
        this_start = (st["params"], st["opt"], st["bn"], st["step"])
        # Divergence: the weights this epoch started from may be what made
        # its losses non-finite, so go back to where the previous epoch
        # started (weights known to give finite losses) and stop.
        params, opt, bn, step = _where(finite, (params, opt, bn, step), st["prev"])
        new = dict(st, params=params, opt=opt, bn=bn, step=step)
        new["prev"] = _where(finite, this_start, st["prev"])
        new["diverged"] = ~finite
        new["n_iter"] = jnp.where(
            finite, st["n_iter"] + 1, jnp.maximum(st["n_iter"] - 1, 0)
        )
        new["stopped"] = ~finite
        return new, record, finite

    return epoch


def make_loop(spec, cfg):
    """The (uncompiled) chunk function for a structure and a configuration.

    ``run(state, data, hyper, key, start_epoch, n_epochs)`` trains up to
    ``n_epochs`` epochs (fewer when early stopping or divergence stops it) and
    returns the new state and this chunk's per-epoch history buffers.
    """
    train_epoch = make_epoch(spec, cfg)

    def run(state, data, hyper, key, start_epoch, n_epochs):
        mask = data["mask"]
        rank = (jnp.cumsum(mask) - 1.0).astype(jnp.uint32)

        def epoch(carry):
            i, st, hist = carry
            e = start_epoch + i
            ekey = jax.random.fold_in(key, e)
            u = shuffle_keys(cfg, ekey, rank, mask.shape[0])
            new, record, finite = train_epoch(st, data, hyper, ekey, u)
            monitor = record["loss"]
            if cfg.has_val:
                params, bn = new["params"], new["bn"]
                val_loss, vscore, nv = _core.validation_terms(spec, params, bn, data)
                record["val_loss"] = val_loss
                record["val_score"] = _core.train_score(
                    spec, vscore, nv, data["y_val_ss"]
                )
                monitor = val_loss
            if cfg.early_stopping:
                improved = finite & (monitor < st["best_loss"])
                new["best_loss"] = jnp.where(improved, monitor, st["best_loss"])
                new["best_params"], new["best_bn"] = _where(
                    improved,
                    (new["params"], new["bn"]),
                    (st["best_params"], st["best_bn"]),
                )
                new["best_epoch"] = jnp.where(improved, e, st["best_epoch"])
                new["wait"] = jnp.where(improved, 0, st["wait"] + 1)
                new["stopped"] = new["stopped"] | (new["wait"] >= cfg.patience)
            hist = {k: hist[k].at[i].set(v) for k, v in record.items()}
            return i + 1, new, hist

        def cond(carry):
            i, st, _ = carry
            return (i < n_epochs) & ~st["stopped"]

        hist = {k: jnp.full(cfg.chunk, jnp.nan, jnp.float32) for k in cfg.history_keys}
        state = dict(state, stopped=jnp.asarray(False))
        ran, state, hist = jax.lax.while_loop(cond, epoch, (0, state, hist))
        return state, hist, ran

    return run


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
