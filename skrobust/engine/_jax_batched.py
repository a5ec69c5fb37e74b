"""Many fits of one network structure as one ``jax.vmap``-ed training loop.

The members of a batched run share a :class:`~skrobust._network.NetworkSpec`
and a :class:`~skrobust.engine._api.TrainConfig`; they differ in their initial
weights, hyperparameters (noise std, dropout rates, learning rate, momentum),
training rows and, optionally, seed. Each member's data holds only its own
training rows, first, padded with masked zero rows to the widest member. The
loop of ``_jax.make_loop`` sorts masked rows last, masks every reduction,
skips empty mini-batches and keys each row's shuffle draw by its rank among
the member's rows, so a member sees exactly the shuffles, noise and dropout
masks of a plain fit on its rows with the same seed: it equals that fit up to
float rounding (``tests/test_model_selection.py`` checks it, and so catches
any drift between this loop and ``_jax.make_loop``).

Members that share a seed get an *unbatched* key: ``jax.vmap`` then computes
every random draw once for all of them (common random numbers, as
``GridSearchCV`` with an integer ``random_state`` gives every candidate and
fold the same seed). Members with distinct seeds run with a batched key.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from skrobust.engine import _api, _core, _jax
from skrobust.engine._api import used_hyper

# Bytes that one batched run may hold, by default: far below any machine's
# memory, far above what small tabular searches need.
DEFAULT_MEMORY_BUDGET = 2**30

_DATA_AXES = {"X": 0, "y": 0, "w": 0, "mask": 0, "y_ss": 0}


def _make_batched_loop(spec, cfg, shared_key: bool):
    """``run(state, data, hyper, key, start_epoch, n_epochs)`` over stacked
    members: ``_jax.make_loop``'s epoch, mini-batch and random-draw logic,
    with the epoch loop *outside* ``jax.vmap``.

    ``jax.vmap(make_loop(...))`` is correct but slow: the loop's stop flag
    depends on each member's weights, so vmap batches the whole
    ``while_loop`` carry, the epoch counter included, and every random draw
    derived from it is then drawn per member. Here the counter stays
    unbatched, members that stop (diverge) are frozen by ``where``, and
    draws from an unbatched key are made once for all members.
    """
    chunk = cfg.chunk
    train_epoch = _jax.make_epoch(spec, cfg)

    def member_epoch(st, data, hyper, ekey, u):
        new, record, finite = train_epoch(st, data, hyper, ekey, u)
        # A member that stopped earlier keeps its state, as a single fit
        # would have ended there.
        new = _jax._where(st["stopped"], st, new)
        record = {
            k: jnp.where(st["stopped"] | ~finite, jnp.nan, v) for k, v in record.items()
        }
        return new, record

    key_axis = None if shared_key else 0
    epoch_v = jax.vmap(member_epoch, in_axes=(0, _DATA_AXES, 0, key_axis, key_axis))

    def draws(ekey, n):
        # Each member's own rows come first, so a row's index is its rank
        # among the member's rows. Masked rows sort last whatever they draw.
        return _jax.shuffle_keys(cfg, ekey, jnp.arange(n, dtype=jnp.uint32), n)

    def run(state, data, hyper, key, start_epoch, n_epochs):
        n = data["X"].shape[1]
        n_members = data["X"].shape[0]

        def epoch(i, carry):
            st, hist = carry
            e = start_epoch + i
            if shared_key:
                ekey = jax.random.fold_in(key, e)
                u = draws(ekey, n)
            else:
                ekey = jax.vmap(lambda k: jax.random.fold_in(k, e))(key)
                u = jax.vmap(lambda k: draws(k, n))(ekey)
            st, record = epoch_v(st, data, hyper, ekey, u)
            hist = {k: hist[k].at[:, i].set(v) for k, v in record.items()}
            return st, hist

        hist = {
            k: jnp.full((n_members, chunk), jnp.nan, jnp.float32)
            for k in cfg.history_keys
        }
        return jax.lax.fori_loop(0, n_epochs, epoch, (state, hist))

    return run


def _compiled(spec, cfg, shared_key: bool):
    # The engine's one cache of compiled programs, which clear_cache empties.
    return _api.compiled_program(
        ("batched", spec, cfg, shared_key),
        lambda: jax.jit(_make_batched_loop(spec, cfg, shared_key)),
    )


def member_bytes(spec, cfg, n_rows: int) -> int:
    """A generous estimate of the memory one member adds to a batched run:
    weights with optimizer slots, gradients and copies, one mini-batch's
    activations through forward and backward pass, and its data."""
    sizes = spec.layer_sizes
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    if spec.batchnorm:
        n_params += 4 * sum(spec.hidden_layer_sizes)
    activations = cfg.batch_size * sum(sizes) * 8
    data = n_rows * (spec.n_features + spec.n_outputs + 4)
    return 4 * (8 * n_params + activations + data)


def members_per_run(spec, cfg, n_rows, memory_budget=None, max_members=None) -> int:
    budget = DEFAULT_MEMORY_BUDGET if memory_budget is None else memory_budget
    cap = max(1, int(budget // member_bytes(spec, cfg, n_rows)))
    if max_members is not None:
        cap = min(cap, int(max_members))
    return cap


def train_members(
    spec,
    cfg,
    weights,
    data,
    hyper,
    seeds,
    epochs,
    *,
    memory_budget=None,
    max_members=None,
):
    """Train members together; return one ``TrainResult`` per member.

    Parameters
    ----------
    weights : list of dict
        Each member's initial weights (``_network.init_weights`` layout).
    data : dict of ndarray
        ``X``, ``y``, ``w``, ``mask`` stacked over members (leading axis) and
        ``y_ss`` of shape (n_members,).
    hyper : dict of ndarray
        ``_api.hyper_arrays`` entries stacked over members.
    seeds : list of int
        Each member's training seed.

    Returns
    -------
    list of TrainResult
        As a plain fit's, without early stopping (``best_epoch`` is None).
    """
    n_members = len(weights)
    n_rows = data["X"].shape[1]
    cap = members_per_run(spec, cfg, n_rows, memory_budget, max_members)
    # Members that share a seed share every random draw; members whose seed
    # nobody shares run together with a batched key.
    by_seed: dict[int, list[int]] = {}
    for m, s in enumerate(seeds):
        by_seed.setdefault(int(s), []).append(m)
    runs = [idx for idx in by_seed.values() if len(idx) > 1]
    lonely = [idx[0] for idx in by_seed.values() if len(idx) == 1]
    if lonely:
        runs.append(lonely)
    results: list = [None] * n_members
    for idx in runs:
        shared = len({int(seeds[m]) for m in idx}) == 1
        # Even chunks, so one compiled shape serves them all.
        n_chunks = math.ceil(len(idx) / cap)
        size = math.ceil(len(idx) / n_chunks)
        for c in range(n_chunks):
            part = idx[c * size : (c + 1) * size]
            padded = part + [part[0]] * (size - len(part))
            out = _train_run(
                spec,
                cfg,
                [weights[m] for m in padded],
                {k: v[padded] for k, v in data.items()},
                {k: v[padded] for k, v in hyper.items()},
                [seeds[m] for m in padded],
                shared,
                epochs,
            )
            for m, r in zip(part, out, strict=False):
                results[m] = r
    return results


def _stack(trees):
    return jax.tree_util.tree_map(lambda *a: jnp.stack(a), *trees)


def _member(tree, m):
    return jax.tree_util.tree_map(lambda a: a[m], tree)


def _train_run(spec, cfg, weights, data, hyper, seeds, shared, epochs):
    n = len(weights)
    run = _compiled(spec, cfg, shared)
    state = _stack([_core.init_state(spec, cfg, w, _jax.to_device) for w in weights])
    data = _jax.to_device(data)
    hyper = _jax.to_device(used_hyper(spec, cfg, hyper))
    if shared:
        key = _jax.make_key(int(seeds[0]))
    else:
        key = jnp.stack([_jax.make_key(int(s)) for s in seeds])
    history = [{k: [] for k in cfg.history_keys} for _ in range(n)]
    state = dict(state)
    done = 0
    while done < epochs:
        steps = min(cfg.chunk, epochs - done)
        state, hist = run(state, data, hyper, key, np.int32(done), np.int32(steps))
        hist = _jax.to_numpy(hist)
        for m in range(n):
            for k in history[m]:
                h = hist[k][m, :steps]
                history[m][k].extend(float(v) for v in h[np.isfinite(h)])
        done += steps
        if bool(np.all(np.asarray(state["stopped"]))):
            break
    last = _jax.to_numpy(state)
    out = []
    for m in range(n):
        st = _member(last, m)
        diverged = bool(st["diverged"])
        n_iter = int(st["n_iter"])
        hist_m = history[m]
        if diverged:
            for k in hist_m:
                del hist_m[k][n_iter:]
        out.append(
            _api.TrainResult(
                weights={"params": st["params"], "bn_state": st["bn"]},
                history=hist_m,
                n_iter=n_iter,
                diverged=diverged,
                best_epoch=None,
            )
        )
    return out
