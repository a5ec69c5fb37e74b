"""What each task (``NetworkSpec.task``: binary, multiclass, regression)
does, as one row of :data:`TASKS`, the way scikit-learn's MLP keeps
``ACTIVATIONS`` and ``LOSS_FUNCTIONS``: the output activation, the
per-sample loss, a batch's score terms and an epoch's score, the factor of
scikit-learn's L2 penalty, and the task's label or target noise.

The engine (``_core.py``) reads the row named by the spec and never branches
on the task itself; a new task is a new row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp

# Random-stream sites of the label and target noise (the others are
# ``_core.SITE_*``; ``_random.py`` explains sites).
SITE_LABEL_FLIP = 3 << 16  # whether a label is flipped
SITE_LABEL_CLASS = (3 << 16) + 1  # which other class it becomes
SITE_TARGET = (3 << 16) + 2  # regression target noise


# -- losses (per sample, from logits) ------------------------------------------


def _binary_loss(logits, y, n_outputs):
    z = logits[:, 0]
    return jax.nn.relu(z) - z * y[:, 0] + jnp.log1p(jnp.exp(-jnp.abs(z)))


def _categorical_loss(logits, y, n_outputs):
    logp = jax.nn.log_softmax(logits, axis=-1)
    if len(y.shape) == 1:
        y = jax.nn.one_hot(jnp.astype(y, "int32"), n_outputs)
    return -jnp.sum(y * logp, axis=-1)


def _squared_error(logits, y, n_outputs):
    return jnp.mean(jnp.square(logits - y), axis=-1)


# -- scores: a batch's numerator, an epoch's value ----------------------------


def _binary_hits(logits, y, mask):
    pred = jnp.astype(logits[:, 0] > 0, "float32")
    return jnp.sum(jnp.astype(jnp.equal(pred, y[:, 0]), "float32") * mask)


def _multiclass_hits(logits, y, mask):
    pred = jnp.argmax(logits, axis=-1)
    hit = jnp.astype(jnp.equal(pred, jnp.astype(y, pred.dtype)), "float32")
    return jnp.sum(hit * mask)


def _summed_squared_error(logits, y, mask):
    return jnp.sum(jnp.sum(jnp.square(logits - y), axis=-1) * mask)


def _accuracy(score_sum, count, y_ss):
    return score_sum / count


def _r2(score_sum, count, y_ss):
    return 1.0 - score_sum / jnp.maximum(y_ss, 1e-12)


# -- label and target noise: the targets one training mini-batch is fitted to --
# ``label_flip``: each label is replaced, with probability ``label_flip_rate``
# and afresh every mini-batch, by one of the other classes chosen uniformly
# (binary: the other class); ``label_smoothing``: Keras's rule,
# ``y * (1 - s) + s / n_classes``; ``target_noise``: regression targets plus
# Gaussian noise with std ``target_noise_std`` (times each target column's
# scale). The spec's flags switch each on.


def _binary_labels(spec, y, hyper, rng):
    if spec.label_flip:
        flip = rng.uniform(SITE_LABEL_FLIP, (jnp.shape(y)[0], 1))
        y = jnp.where(flip < hyper["label_flip_rate"], 1.0 - y, y)
    if spec.label_smoothing:
        s = hyper["label_smoothing"]
        y = y * (1.0 - s) + 0.5 * s
    return y


def _multiclass_labels(spec, y, hyper, rng):
    if not (spec.label_flip or spec.label_smoothing):
        return y
    n, k = jnp.shape(y)[0], spec.n_outputs
    labels = jnp.astype(y, "int32")
    if spec.label_flip:
        flip = rng.uniform(SITE_LABEL_FLIP, (n,)) < hyper["label_flip_rate"]
        shift = 1 + jnp.astype(
            jnp.floor(rng.uniform(SITE_LABEL_CLASS, (n,)) * (k - 1)), "int32"
        )
        # u * (k - 1) can round up to k - 1 in float32 when k is large.
        shift = jnp.minimum(shift, k - 1)
        labels = jnp.where(flip, (labels + shift) % k, labels)
    onehot = jax.nn.one_hot(labels, k)
    if spec.label_smoothing:
        s = hyper["label_smoothing"]
        onehot = onehot * (1.0 - s) + s / k
    return onehot


def _noisy_regression_targets(spec, y, hyper, rng):
    if not spec.target_noise:
        return y
    eps = rng.normal(SITE_TARGET, jnp.shape(y))
    return y + hyper["target_noise_std"] * hyper["target_noise_scale"] * eps


@dataclass(frozen=True)
class Task:
    """What a task does: ``output(logits)``; ``loss(logits, y, n_outputs)``
    per sample; ``score_terms(logits, y, mask)`` (a batch's score
    numerator); ``score(score_sum, count, y_ss)`` (an epoch's score);
    ``penalty_scale``, the factor of ``alpha * sum(||W||^2) / n_rows``
    (``_core.l2_penalty`` says why it differs); ``noisy_targets(spec, y,
    hyper, rng)``, the targets a training mini-batch is fitted to."""

    output: Callable
    loss: Callable
    score_terms: Callable
    score: Callable
    penalty_scale: float
    noisy_targets: Callable


TASKS = {
    "binary": Task(
        jax.nn.sigmoid, _binary_loss, _binary_hits, _accuracy, 0.5, _binary_labels
    ),
    "multiclass": Task(
        lambda z: jax.nn.softmax(z, axis=-1),
        _categorical_loss,
        _multiclass_hits,
        _accuracy,
        0.5,
        _multiclass_labels,
    ),
    "regression": Task(
        lambda z: z,
        _squared_error,
        _summed_squared_error,
        _r2,
        1.0,
        _noisy_regression_targets,
    ),
}
