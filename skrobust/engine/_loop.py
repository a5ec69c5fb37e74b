"""The training loop, written once in JAX.

A fit is a compiled chunk program (:func:`make_run`): a ``lax.while_loop``
over epochs whose body (:func:`make_epoch`) runs every mini-batch of the
epoch in a ``lax.fori_loop``, records its loss and score (and the validation
metrics), rolls back a diverged epoch and updates early stopping.
:func:`make_batched_run` trains many members of one structure together with
the same epoch body under ``jax.vmap``. :func:`run_chunks` drives either
program chunk by chunk from the host, and :func:`to_result` turns the final
state into a :class:`TrainResult`. Random streams are ``_random.py``'s.

Every epoch sees whole mini-batches: the training rows are padded with
masked rows to ``n_batches * batch_size`` before the loop (``_api.pad_rows``),
and the mask keeps them out of every reduction.

The epoch is written so that ``jax.vmap`` over its member state (weights,
optimizer slots, hyperparameters, per-member row masks) trains many models at
once, while the random key can stay unbatched: members that share a seed then
share each random draw, which JAX computes once (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from skrobust.engine import _core, _optim, _random


def _where(cond, new, old):
    return jax.tree_util.tree_map(lambda a, b: jnp.where(cond, a, b), new, old)


@dataclass(frozen=True)
class TrainConfig:
    """Everything about a fit that is fixed at compile time."""

    optimizer: str
    batch_size: int
    n_batches: int
    shuffle: bool
    has_val: bool
    early_stopping: bool
    patience: int
    chunk: int
    history_keys: tuple[str, ...] = field(default=("loss", "score"))
    # The convergence stop on the training loss (scikit-learn's ``tol`` and
    # ``n_iter_no_change``); early stopping watches the validation loss
    # instead.
    convergence: bool = False


@dataclass
class TrainResult:
    weights: dict
    history: dict
    n_iter: int
    diverged: bool
    best_epoch: int | None
    # Whether the convergence stop or early stopping ended the fit.
    converged: bool = False
    # The optimizer's state and step count after the last epoch, to carry on
    # from (``partial_fit``, ``warm_start``).
    opt: dict | None = None
    step: int = 0


def make_epoch(spec, cfg):
    """One member's training epoch.

    ``epoch(st, data, hyper, ekey, u, e) -> (new_state, record)`` runs every
    mini-batch of epoch ``e`` in the row order given by the sort keys ``u``
    with the random stream ``ekey``, rolls back to the previous epoch's start
    on divergence, with ``cfg.early_stopping`` keeps the best weights, and
    with ``cfg.early_stopping`` or ``cfg.convergence`` stops when the
    monitored loss has stalled.
    """
    bs, nb = cfg.batch_size, cfg.n_batches
    loss_and_grads = jax.value_and_grad(
        lambda p, bn, xb, yb, wb, m, hyper, rng, rows: _core.batch_loss(
            spec, p, bn, xb, yb, wb, m, hyper, rng, penalty_rows=rows
        ),
        has_aux=True,
    )

    def epoch(st, data, hyper, ekey, u, e):
        X, y, w, mask = data["X"], data["y"], data["w"], data["mask"]
        n_active = jnp.maximum(jnp.sum(mask), 1.0)
        # The rows of this member's full mini-batch (fewer than bs where
        # every row fits in one padded batch).
        full_batch = jnp.minimum(jnp.float32(bs), n_active)
        # Masked rows (padding, or rows a batched member does not train on)
        # sort last, after the member's own rows.
        order = jnp.argsort(u + (1.0 - mask) * 2.0)

        def batch(b, carry):
            params, opt, bn, step, loss_sum, score_sum = carry
            idx = jax.lax.dynamic_slice(order, (b * bs,), (bs,))
            bm = mask[idx]
            rng = _random.batch_rng(ekey, b)
            (loss, (new_bn, score)), grads = loss_and_grads(
                params,
                bn,
                X[idx],
                y[idx],
                w[idx],
                bm,
                hyper,
                rng,
                full_batch,
            )
            if spec.gradient_noise:
                grads = _core.gradient_noise(spec, grads, step, hyper, rng)
            count = jnp.sum(bm)
            new_params, new_opt = _optim.apply_updates(
                cfg.optimizer,
                params,
                grads,
                opt,
                step + 1,
                hyper,
                spec,
                spec.max_norm,
            )
            # An empty batch (a member with fewer rows than the widest
            # member of a batched run) must not move its weights.
            has_rows = count > 0
            params, opt, bn = _where(
                has_rows, (new_params, new_opt, new_bn), (params, opt, bn)
            )
            step = step + jnp.astype(has_rows, step.dtype)
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
        finite = jnp.logical_and(_optim.all_finite(params), jnp.isfinite(ep_loss))
        this_start = (st["params"], st["opt"], st["bn"], st["step"])
        # Divergence: the weights this epoch started from may be what made
        # its losses non-finite, so go back to where the previous epoch
        # started (weights known to give finite losses) and stop.
        params, opt, bn, step = _where(finite, (params, opt, bn, step), st["prev"])
        new = dict(st, params=params, opt=opt, bn=bn, step=step)
        new["prev"] = _where(finite, this_start, st["prev"])
        new["diverged"] = jnp.logical_not(finite)
        new["n_iter"] = _where(
            finite, st["n_iter"] + 1, jnp.maximum(st["n_iter"] - 1, 0)
        )
        stopped = jnp.logical_not(finite)
        monitor = ep_loss
        if cfg.has_val:
            val_loss, vscore, nv = _core.validation_terms(spec, params, bn, data)
            record["val_loss"] = val_loss
            record["val_score"] = _core.train_score(spec, vscore, nv, data["y_val_ss"])
            monitor = val_loss
        if cfg.early_stopping or cfg.convergence:
            # scikit-learn's rule: an epoch counts as no improvement unless
            # it beats the best so far by at least ``tol``; the fit stops
            # once more than ``patience`` epochs in a row did not.
            best = jnp.logical_and(finite, monitor < st["best_loss"])
            improved = jnp.logical_and(finite, monitor < st["best_loss"] - hyper["tol"])
            new["best_loss"] = _where(best, monitor, st["best_loss"])
            new["wait"] = _where(improved, 0, st["wait"] + 1)
            converged = new["wait"] > cfg.patience
            new["converged"] = converged
            stopped = jnp.logical_or(stopped, converged)
        if cfg.early_stopping:
            new["best_params"], new["best_bn"] = _where(
                best, (params, bn), (st["best_params"], st["best_bn"])
            )
            new["best_epoch"] = _where(best, e, st["best_epoch"])
        new["stopped"] = stopped
        return new, record

    return epoch


def _chunk(cfg, epoch_fn, members=False):
    """``run(state, data, hyper, key, start_epoch, n_epochs) -> (state, hist,
    ran)``: up to ``n_epochs`` epochs of ``epoch_fn(data, hyper, key)``, a
    function ``(st, e) -> (new_state, record)``, stopping early once (every
    member's) ``state["stopped"]`` is set. ``hist`` holds one row per epoch
    of the chunk (``ran`` of them are filled)."""

    def run(state, data, hyper, key, start_epoch, n_epochs):
        step = epoch_fn(data, hyper, key)

        def body(carry):
            i, st, hist = carry
            new, record = step(st, start_epoch + i)
            return i + 1, new, {k: hist[k].at[i].set(record[k]) for k in hist}

        def cond(carry):
            i, st, _ = carry
            stopped = jnp.all(st["stopped"]) if members else st["stopped"]
            return jnp.logical_and(i < n_epochs, jnp.logical_not(stopped))

        lead = tuple(state["stopped"].shape)
        if not members:
            # A fit that stopped ends here (``run_chunks``): a chunk starts
            # with the constant False, which the compiler folds into the loop.
            state = dict(state, stopped=jnp.zeros((), "bool"))
        hist = {
            k: jnp.full((cfg.chunk, *lead), jnp.nan, jnp.float32)
            for k in cfg.history_keys
        }
        ran, state, hist = jax.lax.while_loop(cond, body, (0, state, hist))
        return state, hist, ran

    return run


def make_run(spec, cfg):
    """The (uncompiled) chunk program of one fit."""
    epoch = make_epoch(spec, cfg)

    def epoch_fn(data, hyper, key):
        rank = (jnp.cumsum(data["mask"]) - 1.0).astype(jnp.uint32)
        n = data["mask"].shape[0]

        def step(st, e):
            ekey = _random.epoch_key(key, e)
            u = _random.shuffle_keys(ekey, rank, n, cfg.shuffle)
            return epoch(st, data, hyper, ekey, u, e)

        return step

    return _chunk(cfg, epoch_fn)


def make_batched_run(spec, cfg, shared_key: bool):
    """The (uncompiled) chunk program of stacked members: the
    epoch body under ``jax.vmap``, the epoch loop outside it.

    ``jax.vmap(make_run(...))`` is correct but slow: the loop's stop flag
    depends on each member's weights, so vmap batches the whole loop carry,
    the epoch counter included, and every random draw derived from it is
    then drawn per member. Here the counter stays unbatched, members that
    stop (diverge) are frozen by ``where``, and draws from an unbatched key
    (members that share a seed) are made once for all members.
    """
    epoch = make_epoch(spec, cfg)

    def member_epoch(st, data, hyper, ekey, u, e):
        new, record = epoch(st, data, hyper, ekey, u, e)
        # A member that stopped earlier keeps its state, as a single fit
        # would have ended there.
        return _where(st["stopped"], st, new), record

    key_axis = None if shared_key else 0
    data_axes = {"X": 0, "y": 0, "w": 0, "mask": 0, "y_ss": 0}
    epoch_v = jax.vmap(
        member_epoch, in_axes=(0, data_axes, 0, key_axis, key_axis, None)
    )

    def epoch_fn(data, hyper, key):
        n = data["X"].shape[1]
        # Each member's own rows come first, so a row's index is its rank
        # among the member's rows.
        rank = jnp.arange(n, dtype=jnp.uint32)

        def draws(k, e):
            ekey = _random.epoch_key(k, e)
            return ekey, _random.shuffle_keys(ekey, rank, n, cfg.shuffle)

        def step(st, e):
            if shared_key:
                ekey, u = draws(key, e)
            else:
                ekey, u = jax.vmap(draws, in_axes=(0, None))(key, e)
            new, record = epoch_v(st, data, hyper, ekey, u, e)
            return new, record

        return step

    return _chunk(cfg, epoch_fn, members=True)


def run_chunks(program, state, data, hyper, key, epochs, cfg, to_numpy, progress=None):
    """Run ``program`` chunk by chunk (one host round trip per chunk) for up
    to ``epochs`` epochs; return the final state and the history rows, as
    NumPy arrays."""
    rows = {k: [] for k in cfg.history_keys}
    done = 0
    while done < epochs:
        n = min(cfg.chunk, epochs - done)
        state, hist, ran = program(state, data, hyper, key, np.int32(done), np.int32(n))
        hist = to_numpy(hist)
        stopped = to_numpy(state["stopped"])
        ran = int(to_numpy(ran))
        for k in rows:
            rows[k].append(hist[k][:ran])
        done += ran
        if progress is not None:
            progress(ran)
        if np.all(stopped) or ran == 0:
            break
    return to_numpy(state), {k: np.concatenate(v) for k, v in rows.items()}


def to_result(cfg, out, rows) -> TrainResult:
    """One member's :class:`TrainResult` from its final NumPy state and its
    history rows."""
    n_iter = int(out["n_iter"])
    # Every epoch counted in ``n_iter`` is in the history; a diverged epoch
    # and (in a batched run) the epochs after a member stopped are not.
    history = {k: [float(v) for v in rows[k][:n_iter]] for k in cfg.history_keys}
    best_epoch = None
    # After a divergence the history ends before an epoch that may have been
    # the best so far; only a best epoch that is still part of it counts.
    if cfg.early_stopping and 0 <= int(out["best_epoch"]) < n_iter:
        best_epoch = int(out["best_epoch"])
        weights = {"params": out["best_params"], "bn_state": out["best_bn"]}
    else:
        weights = {"params": out["params"], "bn_state": out["bn"]}
    return TrainResult(
        weights=weights,
        history=history,
        n_iter=n_iter,
        diverged=bool(out["diverged"]),
        best_epoch=best_epoch,
        converged=bool(out.get("converged", False)),
        opt=out["opt"],
        step=int(out["step"]),
    )
