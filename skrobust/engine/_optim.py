"""The optimizer step of the training engine, traced inside the compiled loop
like ``_core.py``: Keras's optimizers, built from optax's transformations
where optax computes what Keras computes.

``OPTIMIZERS`` maps each name the ``optimizer`` knob accepts to an
``(init, update)`` pair; ``update`` returns the change Keras's optimizer makes
to the weights, its learning rate inside. Values a grid varies
(``learning_rate``, ``momentum``, ``weight_decay``, the schedule's steps)
arrive as traced arrays in ``hyper``, so that one compiled program serves a
grid and ``jax.vmap`` maps over members; optimizer states are dicts of
lists of arrays shaped like the weights. ``tests/test_optim.py``,
``tests/test_engine.py`` and ``tests/test_regularizers.py`` check each step
against Keras's ``optimizer.apply``.

Piece by piece against Keras 3, 100 steps on random gradients of sizes 1,
1e-3 and 1e-6, by ``max |a - b| / (1e-6 + 1e-5 |b|)`` over the steps (at most
1 passes the parity tests' tolerance):

* SGD: ``optax.scale(-lr)`` then ``optax.trace(momentum)``, Keras's
  ``m = momentum * m - lr * g; W += m`` (at most 0.65, the hand-written
  step's figure). ``optax.sgd`` scales after the trace, ``-lr * trace``:
  the same while the rate is constant, 1e6 under the warm cosine schedule.
* RMSprop: ``optax.scale_by_rms`` with ``eps_in_sqrt`` (Keras's
  ``g / sqrt(v + eps)``, ``rho`` 0.9, ``epsilon`` 1e-7) then ``-lr``: at most
  0.13, not bit for bit (``rsqrt`` times ``g`` for Keras's division).
* Decoupled weight decay: ``optax.add_decayed_weights`` on the kernels at
  ``-lr * weight_decay``, added to the change: Keras's
  ``W -= W * weight_decay * lr`` with the step's rate, which Keras takes
  before the update; no update reads the weights, so it is one step (at
  most 0.13 with Adam and RMSprop, not bit for bit). Not ``optax.adamw``'s
  place before the ``-lr`` scale: Keras's SGD has its rate inside the
  momentum.
* Adam: hand-written, Keras's ``W -= alpha * m / (sqrt(v) + eps)``,
  ``alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)``, ``eps`` 1e-7.
  ``optax.scale_by_adam`` adds its ``eps`` to the bias-corrected
  ``sqrt(v_hat)``, where Keras's is ``eps / sqrt(1 - beta_2^t)`` (3.2e-6 at
  the first step, near 1e-7 only after thousands): within 0.12 on gradients of
  size 1, but 60 to 120 on gradients of 1e-3 and 3e4 to 6e4 on 1e-6, the sizes
  late in a fit, where a user coming from Keras expects Keras's Adam. optax
  with that ``eps`` recomputed every step agrees (at most 0.1), but states
  Keras's rule only through the algebra, keeps a step counter beside the
  loop's, lies 4 to 10 times farther from Keras's values than this
  transcription and moves every default fit.
* The learning-rate schedule: ``learning_rate`` here. optax's schedules test
  their values in Python when built (``warmup_cosine_decay_schedule`` raises
  on traced ones) and have no flat stretch for ``"flat_cosine"``; given Python
  floats they are as close to Keras's ``CosineDecay`` as this one (3.9e-6
  relative).
* ``MaxNorm`` after the update: Keras's constraint; optax has none.

In the compiled loop only Adam without weight decay is bit for bit the
previous hand-written step; SGD (XLA rounds optax's
``-lr * g + momentum * m`` unlike ``momentum * m - lr * g``), RMSprop and
weight decay move a fit by float32 rounding per step, which a long fit
amplifies as it amplifies a one-ulp change of its data.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
RMSPROP = {"rho": 0.9, "epsilon": 1e-7}
MAXNORM_EPSILON = 1e-7


def learning_rate(hyper, step, schedule):
    """The learning rate of optimizer step ``step`` (counted from 1).

    Without a schedule (``schedule``: the spec's ``lr_schedule`` flag),
    ``hyper["learning_rate"]``. With one (``_plan.schedule_steps``), at
    ``t = step - 1`` (Keras's ``optimizer.iterations``): a linear warm-up
    ``lr * t / warmup_steps`` while ``t < warmup_steps``, then ``lr`` until
    ``decay_start``, then ``lr * 0.5 * (1 + cos(pi * (t - decay_start) /
    decay_steps))``, the form and values of
    ``keras.optimizers.schedules.CosineDecay``.
    """
    lr = hyper["learning_rate"]
    if not schedule:
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


# -- the optimizers: update(grads, state, lr, step, hyper) -> (change, state) --
# on the weights as one list (``_flat``). A fitted estimator keeps its
# optimizer state (``partial_fit``, ``warm_start``) and pickles it, so states
# stay plain: lists of arrays under "m" (Adam's and SGD's first moment,
# RMSprop's only slot) and "v" (Adam's second moment), not optax's state
# classes, which optax moves between its private modules.


def _zeros(params):
    return optax.tree_utils.tree_zeros_like(params)


def _adam_init(params):
    return {"m": _zeros(params), "v": _zeros(params)}


def _adam_update(grads, state, lr, step, hyper):
    # Keras's operations in Keras's order (see the module docstring for why
    # not optax.scale_by_adam).
    b1, b2, eps = ADAM["beta_1"], ADAM["beta_2"], ADAM["epsilon"]
    t = jnp.astype(step, "float32")
    alpha = lr * jnp.sqrt(1.0 - b2**t) / (1.0 - b1**t)
    m = jax.tree.map(lambda m, g: m + (g - m) * (1.0 - b1), state["m"], grads)
    v = jax.tree.map(
        lambda v, g: v + (jnp.square(g) - v) * (1.0 - b2), state["v"], grads
    )
    change = jax.tree.map(lambda m, v: -alpha * m / (jnp.sqrt(v) + eps), m, v)
    return change, {"m": m, "v": v}


def _sgd_init(params):
    return {"m": _zeros(params)}


def _sgd_update(grads, state, lr, step, hyper):
    # The rate enters the trace, as in Keras (m = momentum * m - lr * g).
    trace = optax.trace(decay=hyper["momentum"])
    change, new = trace.update(
        optax.tree_utils.tree_scale(-lr, grads), optax.TraceState(trace=state["m"])
    )
    return change, {"m": new.trace}


_SCALE_BY_RMS = optax.scale_by_rms(
    decay=RMSPROP["rho"],
    eps=RMSPROP["epsilon"],
    initial_scale=0.0,
    eps_in_sqrt=True,
    bias_correction=False,
)


def _rmsprop_init(params):
    return {"m": _zeros(params)}


def _rmsprop_update(grads, state, lr, step, hyper):
    scaled, new = _SCALE_BY_RMS.update(grads, optax.ScaleByRmsState(nu=state["m"]))
    return optax.tree_utils.tree_scale(-lr, scaled), {"m": new.nu}


OPTIMIZERS = {
    "adam": (_adam_init, _adam_update),
    "sgd": (_sgd_init, _sgd_update),
    "rmsprop": (_rmsprop_init, _rmsprop_update),
}


def init_optimizer(name, params):
    """The state of optimizer ``name`` before its first step on ``params``."""
    init, _ = OPTIMIZERS[name]
    return init(_flat(params))


def _kernels(tree):
    return {key: [key == "kernels"] * len(leaves) for key, leaves in tree.items()}


def apply_updates(name, params, grads, opt_state, step, hyper, switches, max_norm=None):
    """One optimizer step with Keras's update rule; ``step`` counts from 1.

    ``switches``: the spec (``NetworkSpec``), whose ``weight_decay`` and
    ``lr_schedule`` flags switch decoupled weight decay and the
    learning-rate schedule on. Weight decay is Keras's (``W - W *
    weight_decay * lr`` with the step's learning rate), on the kernels only.
    """
    decays, schedule = switches.weight_decay, switches.lr_schedule
    lr = learning_rate(hyper, step, schedule)
    _, update = OPTIMIZERS[name]
    change, opt_state = update(_flat(grads), opt_state, lr, step, hyper)
    change = _unflat(params, change)
    if decays:
        decay = optax.add_decayed_weights(-lr * hyper["weight_decay"], mask=_kernels)
        change, _ = decay.update(change, decay.init(params), params)
    new_params = optax.apply_updates(params, change)
    if max_norm is not None:
        # Keras applies kernel constraints after the optimizer step.
        new_params["kernels"] = [
            _max_norm(k, max_norm) if i < len(new_params["kernels"]) - 1 else k
            for i, k in enumerate(new_params["kernels"])
        ]
    return new_params, opt_state


def _max_norm(w, max_value):
    norms = jnp.sqrt(jnp.sum(jnp.square(w), axis=0, keepdims=True))
    desired = jnp.clip(norms, 0.0, max_value)
    return w * (desired / (MAXNORM_EPSILON + norms))


def _flat(params):
    return [p for key in sorted(params) for p in params[key]]


def _unflat(params, flat):
    out, i = {}, 0
    for key in sorted(params):
        n = len(params[key])
        out[key] = list(flat[i : i + n])
        i += n
    return out


def all_finite(params):
    ok = None
    for p in _flat(params):
        f = jnp.all(jnp.isfinite(p))
        ok = f if ok is None else jnp.logical_and(ok, f)
    return ok
