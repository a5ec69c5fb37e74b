"""The network's structure: hidden layers, activation, initializer."""

from __future__ import annotations

from skrobust._knobs.knob import Knob, is_activation, is_initializer, is_layer_sizes
from skrobust._validation import Check

KNOBS = (
    Knob(
        "hidden_layer_sizes",
        (100,),
        (Check(is_layer_sizes, "a non-empty tuple of positive ints"),),
        "tuple of int",
        "Units of each hidden ``Dense`` layer.",
    ),
    Knob(
        "activation",
        "relu",
        (Check(is_activation, "an element-wise Keras activation name"),),
        "str",
        "Hidden-layer activation: an element-wise Keras activation "
        '(``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"gelu"``, ``"selu"``, '
        '``"silu"``, ``"elu"``, ``"linear"`` ...) or scikit-learn\'s '
        '``"logistic"`` (sigmoid) and ``"identity"`` (linear).',
    ),
    Knob(
        "kernel_initializer",
        "glorot_uniform",
        (Check(is_initializer, "a Keras initializer name"),),
        "str",
        'Initializer of every ``Dense`` kernel, e.g. ``"he_uniform"``.',
    ),
)
