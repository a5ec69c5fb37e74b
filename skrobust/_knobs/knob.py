"""What a knob is: :class:`Knob` (one constructor parameter) and
:class:`EngineValue` (one value the engine receives as data), the values some
knobs choose from, and the predicates of their constraints."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from skrobust._validation import Interval

NOISE_POSITIONS = ("input", "pre_activation", "post_activation")
NOISE_TYPES = ("additive", "multiplicative")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
# Keras's default learning rate of each optimizer (``learning_rate=None``).
DEFAULT_LEARNING_RATE = {"adam": 1e-3, "sgd": 1e-2, "rmsprop": 1e-3}
LR_SCHEDULES = ("constant", "cosine", "flat_cosine")
# ``decay_start`` of a schedule that never decays: no step reaches it.
NO_DECAY = float(np.finfo(np.float32).max)

CLASSIFIER = "classifier"
REGRESSOR = "regressor"
BOTH = (CLASSIFIER, REGRESSOR)


@dataclass(frozen=True)
class Knob:
    """One constructor parameter and what training does with it."""

    name: str
    default: object
    constraints: tuple  # as in _parameter_constraints: None allows None
    doc_type: str  # the type part of the docstring's "name : type, default=..."
    doc: str
    owners: tuple = BOTH
    # The NetworkSpec flag that a value above 0 (or one ``is_on`` accepts)
    # switches on. Knobs that share a flag switch it on together.
    switches: str | None = None
    # Shape of the value the engine receives under this name: "scalar" (one
    # float32), or None when the engine does not receive it as data.
    engine: str | None = None
    # When a compiled loop reads the value: a NetworkSpec flag or a key of
    # READ_WHEN. Defaults to ``switches``.
    read_when: str | None = None
    # Whether a value switches ``switches`` on; None: a value above 0.
    is_on: Callable | None = None
    # The knob naming where the layers this knob switches on sit (the spec's
    # ``noise_sites``): a value above 0 puts a layer at each of its sites.
    sites: str | None = None

    def __post_init__(self):
        if self.engine is not None and self.read_when is None:
            object.__setattr__(self, "read_when", self.switches)


@dataclass(frozen=True)
class EngineValue:
    """One entry of the engine's hyperparameters (``engine.hyper_arrays``)."""

    name: str
    shape: str  # "scalar", "features" (one per input feature), "targets"
    default: object
    read_when: str


# -- constraint predicates -----------------------------------------------------


def is_layer_sizes(value) -> bool:
    return (
        isinstance(value, tuple | list)
        and len(value) > 0
        and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
            for v in value
        )
    )


def is_noise_position(value) -> bool:
    if isinstance(value, str):
        return value in NOISE_POSITIONS
    return (
        isinstance(value, tuple | list)
        and len(value) > 0
        and all(isinstance(v, str) and v in NOISE_POSITIONS for v in value)
        and len(set(value)) == len(value)
        # One noise layer per hidden layer at most: pre and post would double
        # the same site's noise.
        and not {"pre_activation", "post_activation"} <= set(value)
    )


# Keras's element-wise activations the engine implements (the functions are
# ``engine._core.ACTIVATIONS``, built from this list), and scikit-learn's MLP
# names of activations with the Keras names they stand for.
ACTIVATIONS = (
    "relu",
    "sigmoid",
    "tanh",
    "linear",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "softplus",
    "softsign",
    "exponential",
    "leaky_relu",
    "relu6",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "mish",
    "celu",
    "log_sigmoid",
    "tanh_shrink",
    "squareplus",
    "sparse_plus",
)
SKLEARN_ACTIVATIONS = {"logistic": "sigmoid", "identity": "linear"}


def is_activation(value) -> bool:
    return isinstance(value, str) and (
        value in ACTIVATIONS or value in SKLEARN_ACTIVATIONS
    )


def is_initializer(value) -> bool:
    # Keras checks the name; imported here so the table loads without it.
    from skrobust._layers import keras_initializer

    return isinstance(value, str) and keras_initializer(value) is not None


def is_random_state(value) -> bool:
    return isinstance(value, np.random.RandomState | np.random.Generator)


def non_negative():
    return (Interval(numbers.Real, 0, None, closed="left"),)


def rate():
    return (Interval(numbers.Real, 0, 1, closed="left"),)
