"""Many fits of one network structure as one ``jax.vmap``-ed training loop.

The members of a batched run share a :class:`~skrobust._spec.NetworkSpec`
and a :class:`~skrobust.engine._loop.TrainConfig`; they differ in their initial
weights, hyperparameters (noise std, dropout rates, learning rate, momentum),
training rows and, optionally, seed. Each member's data holds only its own
training rows, first, padded with masked zero rows to the widest member.
They train with the epoch body of a plain fit (``_loop.make_epoch``, under
``jax.vmap`` in ``_loop.make_batched_run``): it sorts masked rows last, masks
every reduction, skips empty mini-batches and keys each row's shuffle draw by
its rank among the member's rows, so a member sees exactly the shuffles,
noise and dropout masks of a plain fit on its rows with the same seed: it
equals that fit up to float rounding (``tests/test_model_selection.py``).
This module groups members into runs within a memory budget, and runs them.

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

from skrobust.engine import _api, _core, _loop, _random
from skrobust.engine._api import used_hyper

# Bytes that one batched run may hold, by default: far below any machine's
# memory, far above what small tabular searches need.
DEFAULT_MEMORY_BUDGET = 2**30


def _compiled(spec, cfg, shared_key: bool):
    # The engine's one cache of compiled programs, which clear_cache empties.
    return _api.compiled_program(
        ("batched", spec, cfg, shared_key),
        lambda: _loop.make_batched_run(spec, cfg, shared_key),
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


def stack_members(datas, hypers):
    """``train_members``'s ``data`` and ``hyper`` from each member's own
    (``prepare_data``'s arrays and ``hyper_arrays``): every member's rows
    first, padded with masked zero rows to the widest member."""
    n_max = max(d["X"].shape[0] for d in datas)
    first = datas[0]
    M = len(datas)
    X = np.zeros((M, n_max, first["X"].shape[1]), np.float32)
    y = np.zeros((M, n_max, *first["y"].shape[1:]), first["y"].dtype)
    w = np.zeros((M, n_max), np.float32)
    mask = np.zeros((M, n_max), np.float32)
    y_ss = np.zeros(M, np.float32)
    for i, d in enumerate(datas):
        n = d["X"].shape[0]
        X[i, :n] = d["X"]
        y[i, :n] = d["y"]
        w[i, :n] = d["w"]
        mask[i, :n] = d["mask"]
        y_ss[i] = d["y_ss"]
    data = {"X": X, "y": y, "w": w, "mask": mask, "y_ss": y_ss}
    hyper = {k: np.stack([h[k] for h in hypers]) for k in hypers[0]}
    return data, hyper


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


def _stacked_state(spec, cfg, weights):
    """``init_state`` of every member, stacked: built once from the members'
    stacked weights, so its cost does not grow with the members (one eager
    operation per array, not one per array and member). Every scalar of a
    state is a counter, which each member keeps for itself."""
    stacked = jax.tree_util.tree_map(lambda *a: np.stack(a), *weights)
    state = _core.init_state(spec, cfg, stacked, _api.to_device)
    n = len(weights)
    return jax.tree_util.tree_map(
        lambda a: jnp.broadcast_to(a, (n,)) if jnp.ndim(a) == 0 else a, state
    )


def _member(tree, m):
    return jax.tree_util.tree_map(lambda a: a[m], tree)


def _train_run(spec, cfg, weights, data, hyper, seeds, shared, epochs):
    run = _compiled(spec, cfg, shared)
    state = _stacked_state(spec, cfg, weights)
    data = _api.to_device(_api.pad_rows(data, cfg, axis=1))
    hyper = _api.to_device(used_hyper(spec, cfg, hyper))
    if shared:
        key = _random.make_key(int(seeds[0]))
    else:
        key = jnp.stack([_random.make_key(int(s)) for s in seeds])
    last, rows = _loop.run_chunks(
        run, state, data, hyper, key, epochs, cfg, _api.to_numpy
    )
    return [
        _loop.to_result(cfg, _member(last, m), {k: v[:, m] for k, v in rows.items()})
        for m in range(len(weights))
    ]
