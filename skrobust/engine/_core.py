"""The engine's math, written once in ``jax.numpy``: the forward pass, the
losses and metrics, and the training-only noise kinds.

They are traced inside the compiled training loop (``_loop.py``); they never
touch Keras layer objects, so one compiled program serves every estimator
with the same :class:`~skrobust._spec.NetworkSpec`, and hyperparameters
(noise std, dropout rates, learning rate, momentum) are arrays, not Python
constants. The engine is JAX whatever Keras's backend is: Keras builds the
model users keep (``_network.py``) from the trained weights.

Semantics follow the Keras layers and optimizers the tutorials use: ``Dense``,
``BatchNormalization`` (momentum 0.99, epsilon 1e-3), inverted ``Dropout``,
additive Gaussian noise and ``GaussianDropout``, ``MaxNorm`` applied after each
update, Keras's activations (:data:`ACTIVATIONS`) and Keras's label smoothing
(the optimizer step is ``_optim.py``). ``tests/test_engine.py`` checks each
against Keras itself. The training-only noise kinds without a Keras
counterpart (weight noise, annealed gradient noise) are here too, label
flipping and target noise with their task (``_tasks.py``);
``tests/test_noise_kinds.py`` checks their definitions.
So is scikit-learn's L2 penalty (``alpha``; ``tests/test_regularizers.py``
checks it against scikit-learn).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from skrobust._knobs import ACTIVATIONS as KNOB_ACTIVATIONS
from skrobust.engine._optim import _flat, _unflat, init_optimizer
from skrobust.engine._tasks import TASKS

# Rows of a mini-batch that are padding (the last batch of an epoch, or rows a
# member of a batched search does not train on) carry mask 0; every reduction
# below is masked so they change nothing.

BN_MOMENTUM = 0.99
BN_EPSILON = 1e-3

# Sites of random draws, so that each layer's and each kind's noise is
# independent.
SITE_INPUT_NOISE = 0
SITE_INPUT_DROPOUT = 1
SITE_HIDDEN = 2  # hidden layer i uses SITE_HIDDEN + 2 * i (noise) and + 1 (dropout)
SITE_WEIGHT = 1 << 16  # + i: noise on hidden kernel i
SITE_GRADIENT = 2 << 16  # + j: noise on the gradient of parameter tensor j
# The label and target noise sites are ``_tasks.SITE_*``.
# The ranges stay apart for networks of fewer than 32,767 hidden layers; an
# epoch's row order has its own site (``_random.SITE_SHUFFLE``).


def _squareplus(x, b=4.0):
    return (x + jnp.sqrt(jnp.square(x) + b)) / 2.0


# Keras's element-wise activations by name, with Keras's default constants
# (``tests/test_engine.py`` checks each against ``keras.activations``), one
# for each name the ``activation`` knob accepts (``_knobs.ACTIVATIONS``).
# scikit-learn's names ("logistic", "identity") are mapped to these by
# ``_plan.network_spec``.
_ACTIVATION_FUNCTIONS = {
    "relu": jax.nn.relu,
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "linear": lambda x: x,
    "elu": jax.nn.elu,
    "selu": jax.nn.selu,
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
    "softplus": jax.nn.softplus,
    "softsign": jax.nn.soft_sign,
    "exponential": jnp.exp,
    "leaky_relu": lambda x: jax.nn.leaky_relu(x, negative_slope=0.2),
    "relu6": jax.nn.relu6,
    "hard_sigmoid": jax.nn.hard_sigmoid,
    "hard_silu": jax.nn.hard_silu,
    "hard_swish": jax.nn.hard_silu,
    "hard_tanh": jax.nn.hard_tanh,
    "mish": lambda x: x * jnp.tanh(jax.nn.softplus(x)),
    "celu": jax.nn.celu,
    "log_sigmoid": jax.nn.log_sigmoid,
    "tanh_shrink": lambda x: x - jnp.tanh(x),
    "squareplus": _squareplus,
    "sparse_plus": jax.nn.sparse_plus,
}
ACTIVATIONS = {name: _ACTIVATION_FUNCTIONS[name] for name in KNOB_ACTIVATIONS}


def _masked_moments(h, mask):
    """Mean and (biased) variance over the rows where mask is 1."""
    m = jnp.expand_dims(mask, -1)
    count = jnp.maximum(jnp.sum(mask), 1.0)
    mean = jnp.sum(h * m, axis=0) / count
    var = jnp.sum(jnp.square(h - mean) * m, axis=0) / count
    return mean, var


def forward(
    spec, params, bn_state, x, *, training=False, hyper=None, rng=None, mask=None
):
    """Output-layer pre-activations (logits) and the updated batch-norm state.

    ``rng`` is a backend object with ``normal(site, shape)`` and
    ``uniform(site, shape)``, already bound to the current step's key.
    """
    activation = ACTIVATIONS[spec.activation]
    new_bn = {"means": [], "vars": []} if spec.batchnorm else {}

    def noise(h, site, scale=None):
        eps = rng.normal(site, jnp.shape(h))
        if spec.noise_type == "multiplicative":
            # Gaussian dropout: h * N(1, std^2), whatever the scale of h.
            return h * (1.0 + hyper["noise_std"] * eps)
        std = hyper["noise_std"] if scale is None else hyper["noise_std"] * scale
        return h + std * eps

    def drop(h, rate, site):
        keep = jnp.astype(rng.uniform(site, jnp.shape(h)) >= rate, h.dtype)
        return h * keep / (1.0 - rate)

    def batchnorm(h, i):
        gamma, beta = params["gammas"][i], params["betas"][i]
        if training:
            mean, var = _masked_moments(h, mask)
            new_bn["means"].append(
                bn_state["means"][i] * BN_MOMENTUM + mean * (1 - BN_MOMENTUM)
            )
            new_bn["vars"].append(
                bn_state["vars"][i] * BN_MOMENTUM + var * (1 - BN_MOMENTUM)
            )
        else:
            mean, var = bn_state["means"][i], bn_state["vars"][i]
        return (h - mean) * jax.lax.rsqrt(var + BN_EPSILON) * gamma + beta

    kernels = params["kernels"]
    if training and spec.weight_noise:
        # Weight noise (Graves 2011): every mini-batch sees hidden kernels
        # perturbed by fresh Gaussian noise; the gradient at the perturbed
        # kernels updates the clean ones.
        kernels = [
            k + hyper["weight_noise_std"] * rng.normal(SITE_WEIGHT + i, jnp.shape(k))
            if i < len(kernels) - 1
            else k
            for i, k in enumerate(kernels)
        ]
    h = x
    if training and "input" in spec.noise_sites:
        # Only additive noise has a data unit to scale per feature
        # (``READ_WHEN["additive_input_noise"]``; direct callers may omit it).
        additive = spec.noise_type == "additive"
        scale = hyper.get("input_noise_scale", 1.0) if additive else None
        h = noise(h, SITE_INPUT_NOISE, scale)
    if training and spec.input_dropout:
        h = drop(h, hyper["input_dropout"], SITE_INPUT_DROPOUT)
    for i in range(len(spec.hidden_layer_sizes)):
        h = jnp.matmul(h, kernels[i]) + params["biases"][i]
        if spec.batchnorm == "before":
            h = batchnorm(h, i)
        if training and "pre_activation" in spec.noise_sites:
            h = noise(h, SITE_HIDDEN + 2 * i)
        h = activation(h)
        if spec.batchnorm == "after":
            h = batchnorm(h, i)
        if training and "post_activation" in spec.noise_sites:
            h = noise(h, SITE_HIDDEN + 2 * i)
        if training and spec.dropout:
            h = drop(h, hyper["dropout"], SITE_HIDDEN + 2 * i + 1)
    logits = jnp.matmul(h, kernels[-1]) + params["biases"][-1]
    if not training:
        new_bn = bn_state
    return logits, new_bn


def output_activation(spec, logits):
    """Probabilities (classifiers) or the regression values."""
    return TASKS[spec.task].output(logits)


def per_sample_loss(spec, logits, y):
    """Binary / categorical cross-entropy (from logits, the numerically stable
    form Keras also uses when it can see the logits) or mean squared error.

    Multiclass targets are class indices, or (after label noise) rows of
    class probabilities; binary targets may be probabilities too."""
    return TASKS[spec.task].loss(logits, y, spec.n_outputs)


def noisy_targets(spec, y, hyper, rng):
    """The targets one training mini-batch is fitted to: the task's label or
    target noise (``_tasks.py``), or ``y`` itself when none is on."""
    return TASKS[spec.task].noisy_targets(spec, y, hyper, rng)


def gradient_noise(spec, grads, step, hyper, rng):
    """Annealed Gaussian gradient noise (Neelakantan et al. 2015): every
    gradient entry gets noise of variance ``eta / (1 + t) ** gamma`` at
    training step ``t`` (counted from 0)."""
    t = jnp.astype(step, "float32")
    std = jnp.sqrt(
        hyper["gradient_noise_eta"] / jnp.power(1.0 + t, hyper["gradient_noise_gamma"])
    )
    flat = _flat(grads)
    noisy = [
        g + std * rng.normal(SITE_GRADIENT + j, jnp.shape(g))
        for j, g in enumerate(flat)
    ]
    return _unflat(grads, noisy)


def score_terms(spec, logits, y, mask):
    """Per-batch numerator of the score: correct predictions for classifiers,
    summed squared error for regressors."""
    return TASKS[spec.task].score_terms(logits, y, mask)


def validation_terms(spec, params, bn_state, data):
    """Mean loss, score numerator and row count on the validation rows.

    ``data["X_val"]`` is padded to a shared size (``engine.prepare_data``);
    ``data["val_mask"]`` keeps the padding out of every term."""
    logits, _ = forward(spec, params, bn_state, data["X_val"])
    mask = data["val_mask"]
    count = jnp.sum(mask)
    loss = jnp.sum(per_sample_loss(spec, logits, data["y_val"]) * mask) / count
    return loss, score_terms(spec, logits, data["y_val"], mask), count


def train_score(spec, score_sum, count, y_ss):
    """An epoch's score from its summed terms: accuracy for classifiers,
    R^2 (against the targets' summed squares ``y_ss``) for regressors."""
    return TASKS[spec.task].score(score_sum, count, y_ss)


def init_state(spec, cfg, weights, to_device, opt=None, step=0):
    """The training loop's state before the first epoch, its arrays made by
    ``to_device``: weights, optimizer slots (``opt`` and ``step`` carry on
    from an earlier fit; by default fresh), counters, the rollback point
    (``prev``) and, with a stop rule, the best loss so far (and with early
    stopping the best epoch's weights)."""
    params = to_device(weights["params"])
    bn = to_device(weights["bn_state"])
    opt = init_optimizer(cfg.optimizer, params) if opt is None else to_device(opt)
    counters = {
        "step": np.int32(step),
        "n_iter": np.int32(0),
        "diverged": np.bool_(False),
        "stopped": np.bool_(False),
    }
    state = {"params": params, "opt": opt, "bn": bn, **to_device(counters)}
    state["prev"] = (params, opt, bn, state["step"])
    if cfg.early_stopping or cfg.convergence:
        best = {
            "best_loss": np.float32(np.inf),
            "wait": np.int32(0),
            "converged": np.bool_(False),
        }
        state.update(to_device(best))
    if cfg.early_stopping:
        state.update(best_params=params, best_bn=bn, best_epoch=to_device(np.int32(-1)))
    return state


def batch_loss(spec, params, bn_state, xb, yb, wb, mask, hyper, rng, penalty_rows=None):
    """Mean weighted loss of one mini-batch (Keras's "sum_over_batch_size"),
    with the L2 penalty when ``spec.l2_penalty``, plus the auxiliary outputs
    the loop records.

    ``penalty_rows``: the rows of a full mini-batch of the fit. The penalty
    is divided by the larger of it and this batch's rows, so that a short
    last batch (2 rows of a 602-row table in batches of 200) does not take
    100 times a full batch's penalty, as scikit-learn's MLP gives it: at a
    large ``alpha`` that one step can undo the epoch, and a fit on a few rows
    more or fewer (a cross-validation fold and its refit) then trains
    another network."""
    logits, new_bn = forward(
        spec, params, bn_state, xb, training=True, hyper=hyper, rng=rng, mask=mask
    )
    count = jnp.maximum(jnp.sum(mask), 1.0)
    targets = noisy_targets(spec, yb, hyper, rng)
    loss = jnp.sum(per_sample_loss(spec, logits, targets) * wb * mask) / count
    if spec.l2_penalty:
        rows = count if penalty_rows is None else jnp.maximum(count, penalty_rows)
        loss = loss + l2_penalty(spec, params, hyper, rows)
    # The recorded training score compares with the clean targets.
    return loss, (new_bn, score_terms(spec, logits, yb, mask))


def l2_penalty(spec, params, hyper, count):
    """scikit-learn's MLP penalty, ``0.5 * alpha * sum(||W||^2) / n_rows``
    over every kernel (not the biases), for a mini-batch of ``count`` rows.

    scikit-learn adds it to a loss whose squared error is halved
    (``squared_error / 2``); the regressor's loss here is Keras's mean
    squared error, so its penalty is doubled too: the objective stays
    scikit-learn's up to a factor, and an ``alpha`` keeps its meaning."""
    total = None
    for k in params["kernels"]:
        sq = jnp.sum(jnp.square(k))
        total = sq if total is None else total + sq
    return TASKS[spec.task].penalty_scale * hyper["alpha"] * total / count
