"""The optimizer step of the training engine, written in ``jax.numpy`` and
traced inside the compiled loop like ``_core.py``.

Keras's Adam / SGD / RMSprop update rules with Keras's default constants,
``MaxNorm`` applied after each update (``tests/test_engine.py`` checks them
against Keras), Keras's decoupled weight decay and learning-rate schedules of
Keras's ``CosineDecay`` form (``tests/test_regularizers.py`` checks them
against Keras's ``AdamW``, ``SGD`` and ``CosineDecay``).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
RMSPROP = {"rho": 0.9, "epsilon": 1e-7}
MAXNORM_EPSILON = 1e-7


def learning_rate(hyper, step):
    """The learning rate of optimizer step ``step`` (counted from 1).

    Without a schedule in ``hyper``, ``hyper["learning_rate"]``. With one
    (``_plan.schedule_steps``), at ``t = step - 1`` (Keras's
    ``optimizer.iterations``): a linear warm-up ``lr * t / warmup_steps``
    while ``t < warmup_steps``, then ``lr`` until ``decay_start``, then
    ``lr * 0.5 * (1 + cos(pi * (t - decay_start) / decay_steps))``, the
    form and values of ``keras.optimizers.schedules.CosineDecay``.
    """
    lr = hyper["learning_rate"]
    if "decay_start" not in hyper:
        return lr
    t = jnp.astype(step, "float32") - 1.0
    warmup = hyper["warmup_steps"]
    # max(., 1) changes no value used: t < warmup < 1 only at t = 0, and a
    # step t >= decay_start exists only when decay_steps >= 1.
    warm = jnp.where(t < warmup, t / jnp.maximum(warmup, 1.0), 1.0)
    done = jnp.clip(
        (t - hyper["decay_start"]) / jnp.maximum(hyper["decay_steps"], 1.0), 0.0, 1.0
    )
    return lr * warm * (0.5 * (1.0 + jnp.cos(np.float32(np.pi) * done)))


def init_optimizer(name, params):
    zeros = [jnp.zeros_like(p) for p in _flat(params)]
    if name == "adam":
        return {"m": zeros, "v": [jnp.zeros_like(p) for p in _flat(params)]}
    return {"m": zeros}


def _flat(params):
    return [p for key in sorted(params) for p in params[key]]


def _unflat(params, flat):
    out, i = {}, 0
    for key in sorted(params):
        n = len(params[key])
        out[key] = list(flat[i : i + n])
        i += n
    return out


def apply_updates(name, params, grads, opt_state, step, hyper, max_norm=None):
    """One optimizer step with Keras's update rule; ``step`` counts from 1.

    Weight decay and the learning-rate schedule act when ``hyper`` holds
    their values: the loops pass only the values their program reads
    (``engine._api.used_hyper``), so a spec without them runs the plain
    update. Weight decay is Keras's (``W - W * weight_decay * lr`` before the
    update, with the step's learning rate), on the kernels only.
    """
    lr = learning_rate(hyper, step)
    if "weight_decay" in hyper:
        wd = hyper["weight_decay"]
        params = dict(params, kernels=[k - k * wd * lr for k in params["kernels"]])
    flat_p, flat_g = _flat(params), _flat(grads)
    new_p, new_state = [], {k: [] for k in opt_state}
    if name == "adam":
        b1, b2, eps = ADAM["beta_1"], ADAM["beta_2"], ADAM["epsilon"]
        t = jnp.astype(step, "float32")
        alpha = lr * jnp.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        for p, g, m, v in zip(
            flat_p, flat_g, opt_state["m"], opt_state["v"], strict=True
        ):
            m = m + (g - m) * (1.0 - b1)
            v = v + (jnp.square(g) - v) * (1.0 - b2)
            new_p.append(p - alpha * m / (jnp.sqrt(v) + eps))
            new_state["m"].append(m)
            new_state["v"].append(v)
    elif name == "sgd":
        mom = hyper["momentum"]
        for p, g, m in zip(flat_p, flat_g, opt_state["m"], strict=True):
            m = mom * m - lr * g
            new_p.append(p + m)
            new_state["m"].append(m)
    elif name == "rmsprop":
        rho, eps = RMSPROP["rho"], RMSPROP["epsilon"]
        for p, g, v in zip(flat_p, flat_g, opt_state["m"], strict=True):
            v = rho * v + (1.0 - rho) * jnp.square(g)
            new_p.append(p - lr * g / jnp.sqrt(v + eps))
            new_state["m"].append(v)
    else:  # pragma: no cover - validated by the estimator
        raise ValueError(f"Unknown optimizer {name!r}.")
    new_params = _unflat(params, new_p)
    if max_norm is not None:
        # Keras applies kernel constraints after the optimizer step.
        new_params["kernels"] = [
            _max_norm(k, max_norm) if i < len(new_params["kernels"]) - 1 else k
            for i, k in enumerate(new_params["kernels"])
        ]
    return new_params, new_state


def _max_norm(w, max_value):
    norms = jnp.sqrt(jnp.sum(jnp.square(w), axis=0, keepdims=True))
    desired = jnp.clip(norms, 0.0, max_value)
    return w * (desired / (MAXNORM_EPSILON + norms))


def all_finite(params):
    ok = None
    for p in _flat(params):
        f = jnp.all(jnp.isfinite(p))
        ok = f if ok is None else jnp.logical_and(ok, f)
    return ok
