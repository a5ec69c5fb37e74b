"""The optimizer step (``engine/_optim.py``): one table entry per optimizer
the ``optimizer`` knob accepts, each stepping as Keras's optimizer steps with
a learning-rate schedule and weight decay, with hyperparameters passed as
traced arrays and states that ``jax.vmap`` and the loop's carry can hold."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skrobust._knobs import OPTIMIZERS
from skrobust._spec import NetworkSpec
from skrobust.engine import _optim

LR = {"adam": 0.01, "sgd": 0.05, "rmsprop": 0.01}
KERAS = {
    "adam": keras.optimizers.Adam,
    "sgd": lambda **kw: keras.optimizers.SGD(momentum=0.9, **kw),
    "rmsprop": keras.optimizers.RMSprop,
}
# 10 steps: a warm-up of 2, then a cosine decay over 8.
SCHEDULE = {"warmup_steps": 2.0, "decay_start": 2.0, "decay_steps": 8.0}


def _hyper(name, schedule=False, weight_decay=None):
    hyper = {"learning_rate": LR[name], "momentum": 0.9 if name == "sgd" else 0.0}
    if schedule:
        hyper.update(SCHEDULE)
    if weight_decay is not None:
        hyper["weight_decay"] = weight_decay
    return {k: np.float32(v) for k, v in hyper.items()}


def _switches(schedule=False, weight_decay=None):
    """A spec whose flags switch the schedule and weight decay on, as
    ``_hyper(name, schedule, weight_decay)`` gives their values."""
    return NetworkSpec(
        3,
        (4,),
        4,
        "regression",
        weight_decay=weight_decay is not None,
        lr_schedule=schedule,
    )


def _keras_optimizer(name, schedule=False, weight_decay=None):
    lr = LR[name]
    if schedule:
        lr = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=8, warmup_target=lr, warmup_steps=2
        )
    return KERAS[name](learning_rate=lr, weight_decay=weight_decay)


def _weights(rng, scale=1.0):
    return {
        "kernels": [(scale * rng.normal(size=(3, 4))).astype("float32")],
        "biases": [(scale * rng.normal(size=4)).astype("float32")],
    }


def _containers(tree):
    if isinstance(tree, dict | list | tuple):
        items = tree.values() if isinstance(tree, dict) else tree
        return {type(tree)}.union(*(_containers(x) for x in items))
    return set()


def test_every_optimizer_the_knob_accepts_has_a_table_entry():
    assert set(_optim.OPTIMIZERS) == set(OPTIMIZERS)


@pytest.mark.parametrize("weight_decay", [None, 0.3])
@pytest.mark.parametrize("schedule", [False, True], ids=["constant", "warm_cosine"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_with_schedule_and_weight_decay_steps_as_keras(
    name, schedule, weight_decay, assert_steps_match_keras
):
    opt = _keras_optimizer(name, schedule, weight_decay)
    hyper = _hyper(name, schedule, weight_decay)
    # skrobust decays the kernels only.
    assert_steps_match_keras(
        name, opt, hyper, 10, _switches(schedule, weight_decay), decay_biases=False
    )


@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_epsilon_enters_as_in_keras_on_small_gradients(name):
    # Gradients of 1e-6, as late in a fit, where epsilon's place shows:
    # Keras's Adam adds it to sqrt(v) (optax.scale_by_adam: to the
    # bias-corrected sqrt(v_hat)), Keras's RMSprop inside the square root.
    rng = np.random.default_rng(0)
    params = _weights(rng)
    variables = [keras.Variable(p) for p in params["kernels"] + params["biases"]]
    opt = _keras_optimizer(name)
    state = _optim.init_optimizer(name, params)
    for step in range(1, 4):
        grads = _weights(rng, scale=1e-6)
        params, state = _optim.apply_updates(
            name, params, grads, state, step, _hyper(name), _switches()
        )
        opt.apply(grads["kernels"] + grads["biases"], variables)
        for ours, theirs in zip(
            params["kernels"] + params["biases"], variables, strict=True
        ):
            assert_allclose(
                np.asarray(ours),
                keras.ops.convert_to_numpy(theirs),
                rtol=1e-5,
                atol=1e-6,
            )


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_step_keeps_the_state_an_unchanged_tree_of_arrays(name):
    # The loop carries the state through lax.fori_loop and jnp.where.
    rng = np.random.default_rng(0)
    params = jax.tree.map(jnp.asarray, _weights(rng))
    state = _optim.init_optimizer(name, params)
    hyper = _hyper(name, schedule=True, weight_decay=0.1)
    _, new = jax.jit(_optim.apply_updates, static_argnums=(0, 6))(
        name, params, _weights(rng), state, jnp.int32(1), hyper, _switches(True, 0.1)
    )
    assert jax.tree.structure(new) == jax.tree.structure(state)
    leaves = jax.tree.leaves(state)
    assert leaves and all(isinstance(x, jax.Array) for x in leaves)
    # Plain containers: a fitted estimator pickles its optimizer state, and
    # optax's state classes live in its private modules.
    assert _containers(state) <= {dict, list}
    for before, after in zip(leaves, jax.tree.leaves(new), strict=True):
        assert (before.shape, before.dtype) == (after.shape, after.dtype)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_vmapped_members_with_their_own_values_step_as_each_alone(name):
    rng = np.random.default_rng(0)
    members = [
        (_weights(rng), _weights(rng), _hyper(name, True, wd)) for wd in (0.0, 0.3)
    ]
    members[1][2]["learning_rate"] = np.float32(3 * LR[name])
    members[1][2]["momentum"] = np.float32(0.5 if name == "sgd" else 0.0)

    def two_steps(params, grads, hyper):
        state = _optim.init_optimizer(name, params)
        for step in (1, 2):
            params, state = _optim.apply_updates(
                name, params, grads, state, step, hyper, _switches(True, 0.3)
            )
        return params

    stacked = jax.tree.map(lambda *a: np.stack(a), *members)
    together = jax.jit(jax.vmap(two_steps))(*stacked)
    for m, member in enumerate(members):
        alone = jax.jit(two_steps)(*member)
        for a, b in zip(jax.tree.leaves(alone), jax.tree.leaves(together), strict=True):
            assert_array_equal(np.asarray(b[m]), np.asarray(a))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_zero_weight_decay_changes_no_bit_of_a_step(name):
    # What lets a member without decay join a batched run that has it.
    rng = np.random.default_rng(1)
    params, grads = _weights(rng), _weights(rng)
    state = _optim.init_optimizer(name, params)
    for step in (1, 2, 1000):
        a, _ = _optim.apply_updates(
            name,
            params,
            grads,
            state,
            step,
            _hyper(name, weight_decay=0.0),
            _switches(weight_decay=0.0),
        )
        b, _ = _optim.apply_updates(
            name, params, grads, state, step, _hyper(name), _switches()
        )
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
            assert_array_equal(np.asarray(x), np.asarray(y))
